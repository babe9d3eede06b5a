"""`backroom flows …`: the marketing flows, whether they run, their funnel, a template preview, and a tick."""

from __future__ import annotations

from pathlib import Path

import typer
from jinja2 import TemplateError

from backroom.adapters.email.smtp import TemplateRenderer
from backroom.bootstrap import all_flows, flow_rows
from backroom.config import Settings
from backroom.entrypoints.cli.common import backroom_app, console, exit_with_error, print_json, print_rows
from backroom.errors import BackroomError
from backroom.marketing.lifecycle import Links, sample_extras
from backroom.marketing.model import Flow, SendEmail
from backroom.marketing.service import sample_context

app = typer.Typer(help="Marketing flows: which run, their funnel, preview their emails.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")
JSON = typer.Option(False, "--json")


def _flows(settings: Settings) -> list[Flow]:
    try:
        return all_flows(settings)
    except BackroomError as err:
        exit_with_error(err.message, 5)


@app.command("list")
def list_flows(as_json: bool = JSON) -> None:
    """Every flow, whether it is enabled (BACKROOM_MARKETING__ENABLED_FLOWS) and whether its trigger is wired."""
    try:
        rows = flow_rows(Settings())
    except BackroomError as err:
        exit_with_error(err.message, 5)
    print_rows("Marketing flows", rows, ["flow", "trigger", "enabled", "trigger_wired", "priority", "emails"], as_json)


@app.command("funnel")
def show_funnel(flow: str = typer.Option(None, "--flow", help="one flow only"), store: str = STORE,
                as_json: bool = JSON) -> None:
    """Per flow: enrolled, emails sent, skipped and deferred (by reason), exits (by reason), completed,
    unsubscribed, orders attributed (last touch within 5 days) and their revenue. A flow nobody entered shows
    zeros; a name that is no flow is refused (exit 3)."""
    with backroom_app() as br:
        rows = br.flow_funnel(flow, store)
    print_rows("Flow funnel", rows, ["flow", "enrolled", "sent", "skipped", "deferred", "exited", "completed",
                                     "unsubscribed", "converted", "revenue"], as_json)


@app.command("preview")
def preview(name: str = typer.Argument(..., help="a flow, or a template name"),
            step: int = typer.Option(1, "--step", help="which of the flow's emails (1 = the first)"),
            html: bool = typer.Option(False, "--html", help="print the HTML part instead of the text"),
            as_json: bool = JSON) -> None:
    """Render a flow's email with sample data (a two-line cart, a 10 % code), from your templates folder
    (BACKROOM_SMTP__TEMPLATES_DIR) where it has the file, else the shipped template — edit and look again."""
    settings = Settings()
    renderer = _renderer(settings)
    template = _template(settings, renderer, name, step)
    try:
        sample = sample_context()
        links = Links(settings.marketing.product_url, settings.marketing.review_url)
        subject, text, page = renderer.render(template, {**sample, **sample_extras(links, sample["lines"])})
    except TemplateError as err:  # a typo in an edited template: say where, before a customer's email fails
        exit_with_error(f"{template}: {type(err).__name__}: {err}", 5)
    if as_json:
        print_json({"template": template, "subject": subject, "text": text, "html": page})
        return
    console.print(f"[bold]{template}[/] — Subject: {subject}\n")
    typer.echo(page if html else text)


@app.command("templates")
def templates(export: Path = typer.Option(None, "--export", help="copy the shipped templates into this folder"),
              as_json: bool = JSON) -> None:
    """The email templates: which are shipped and which your folder (BACKROOM_SMTP__TEMPLATES_DIR) replaces.
    ``--export DIR`` copies the shipped ones there to start from (an existing file is never overwritten)."""
    settings = Settings()
    if export is not None:
        export.mkdir(parents=True, exist_ok=True)
        plain = TemplateRenderer()
        written = []
        for name in plain.shipped():
            target = export / name
            if not target.exists():
                target.write_text(plain.source(name))
                written.append(name)
        console.print(f"copied {len(written)} template file(s) to {export}; set BACKROOM_SMTP__TEMPLATES_DIR={export}")
        return
    renderer = _renderer(settings)
    own = renderer.directory
    rows = [{"file": name, "yours": own is not None and (own / name).is_file()} for name in renderer.shipped()]
    print_rows("Email templates", rows, ["file", "yours"], as_json)


def _renderer(settings: Settings) -> TemplateRenderer:
    try:
        return TemplateRenderer(settings.smtp.templates_dir)
    except BackroomError as err:
        exit_with_error(err.message, 5)


def _template(settings: Settings, renderer: TemplateRenderer, name: str, step: int) -> str:
    flow = next((f for f in _flows(settings) if f.name == name), None)
    if flow is None:
        if not renderer.missing(name):
            return name
        exit_with_error(f"no flow or template named {name}", 3)
    emails = [s.template for s in flow.steps if isinstance(s, SendEmail)]
    if not 1 <= step <= len(emails):
        exit_with_error(f"{name} has {len(emails)} email(s): --step 1..{len(emails)}", 5)
    template = emails[step - 1]
    lacking = renderer.missing(template)
    if lacking:
        exit_with_error(f"{name}'s email {step} ({template}) has no {', '.join(lacking)}", 3)
    return template


@app.command("tick")
def tick(as_json: bool = JSON) -> None:
    """Advance every due enrollment now (what a worker does every marketing.tick_every_s seconds)."""
    with backroom_app() as br:
        done = br.advance_flows()
    summary = {"taken": done.taken, "sent": done.sent, "deferred": done.deferred, "discounts": done.discounts,
               "finished": done.finished, "outcomes": done.outcomes}
    if as_json:
        print_json(summary)
        return
    console.print(" ".join(f"{k} {v}" for k, v in summary.items() if k != "outcomes")
                  + "".join(f"\n  {label}: {n}" for label, n in sorted(done.outcomes.items())))


@app.command("scan")
def scan(as_json: bool = JSON) -> None:
    """Enroll lapsed customers in the enabled customer_lapsed flows now (what a worker does once a day); the next
    tick sends."""
    with backroom_app() as br:
        entered = br.scan_lapsed_customers()
    if as_json:
        print_json({"entered": len(entered)})
        return
    console.print(f"entered {len(entered)}")
