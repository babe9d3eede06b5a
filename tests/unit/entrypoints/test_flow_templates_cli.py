"""Your own email templates: a folder whose files replace the shipped ones by name (and add new ones), checked at
start and previewed from the command line before any customer gets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backroom.adapters.email.smtp import TemplateRenderer
from backroom.bootstrap import flow_settings
from backroom.config import MarketingConfig, Settings, SmtpSettings
from backroom.entrypoints.cli.main import app as cli_root
from backroom.errors import ConfigurationError
from backroom.marketing.model import load_flows_text
from backroom.marketing.service import sample_context

LAST_CALL = """
flows:
  - name: last_call
    trigger: checkout_abandoned
    steps:
      - wait: 2h
      - send_email: {template: last_call}
"""


def _own(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "abandoned_checkout_reminder.txt").write_text("Hi {{ customer_name }}, still {{ total }} {{ currency }}.")
    (folder / "abandoned_checkout_reminder.subject").write_text("{{ customer_name }},\n your cart")
    return folder


def test_a_file_in_your_folder_replaces_the_shipped_one_and_the_rest_stay_shipped(tmp_path: Path) -> None:
    renderer = TemplateRenderer(_own(tmp_path))
    subject, text, html = renderer.render("abandoned_checkout_reminder", sample_context())
    assert (subject, text) == ("Ada Lovelace, your cart", "Hi Ada Lovelace, still 64.00 GBP.")
    shipped_html = TemplateRenderer().render("abandoned_checkout_reminder", sample_context())[2]
    assert html == shipped_html
    assert renderer.missing("abandoned_checkout_reminder") == []
    assert renderer.missing("last_call") == ["last_call.txt", "last_call.html", "last_call.subject"]


def test_a_templates_dir_that_is_not_a_folder_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        TemplateRenderer(tmp_path / "nowhere")
    assert refused.value.message == f"smtp.templates_dir {tmp_path / 'nowhere'} is not a folder"


def test_an_enabled_flow_whose_email_has_no_template_stops_the_start_naming_the_files(tmp_path: Path) -> None:
    folder = _own(tmp_path)
    (folder / "last_call.txt").write_text("Last call, {{ customer_name }}")
    settings = Settings(smtp=SmtpSettings(templates_dir=folder), marketing=MarketingConfig(
        enabled_flows=["last_call"], unsubscribe_secret="s"))
    flows = load_flows_text(LAST_CALL)
    with pytest.raises(ConfigurationError) as refused:
        flow_settings(settings, flows)
    assert refused.value.message == (
        "marketing.enabled_flows send emails with no template: last_call: last_call (last_call.html, "
        "last_call.subject) (add the files to BACKROOM_SMTP__TEMPLATES_DIR; docs/flows.md)")
    (folder / "last_call.html").write_text("<p>Last call</p>")
    (folder / "last_call.subject").write_text("Last call")
    assert flow_settings(settings, flows).enabled == frozenset({"last_call"})


def test_export_then_edit_then_preview_shows_your_version(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    runner = CliRunner()
    exported = runner.invoke(cli_root, ["flows", "templates", "--export", str(folder)], env={"COLUMNS": "200"})
    assert exported.exit_code == 0, exported.output
    assert (folder / "win_back.html").read_text() == TemplateRenderer().source("win_back.html")
    assert sorted(p.name for p in folder.iterdir()) == TemplateRenderer().shipped()
    (folder / "abandoned_checkout_reminder.txt").write_text("Your cart misses you, {{ customer_name }}.")
    env = {"BACKROOM_SMTP__TEMPLATES_DIR": str(folder), "COLUMNS": "200"}
    shown = runner.invoke(cli_root, ["flows", "preview", "abandoned_checkout", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["text"] == "Your cart misses you, Ada Lovelace."
    listed = json.loads(runner.invoke(cli_root, ["flows", "templates", "--json"], env=env).stdout)
    assert [r["file"] for r in listed if r["yours"]] == sorted(p.name for p in folder.iterdir())

    (folder / "abandoned_checkout_reminder.txt").write_text("Hello {{ custmer_name }}")  # a typo
    broken = runner.invoke(cli_root, ["flows", "preview", "abandoned_checkout"], env=env)
    assert broken.exit_code == 5
    assert "abandoned_checkout_reminder: UndefinedError: 'custmer_name' is undefined" in broken.output
