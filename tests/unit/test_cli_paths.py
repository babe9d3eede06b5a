"""The demo tells the user where its mailbox and warehouse files are, as a path they can use from where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from backroom.entrypoints.cli.main import _shown


def test_a_path_under_the_working_directory_is_shown_relative_and_any_other_in_full(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shop").mkdir()
    monkeypatch.chdir(tmp_path / "shop")
    assert _shown(Path(".backroom") / "demo-mail") == ".backroom/demo-mail"  # the default BACKROOM_HOME
    assert _shown(tmp_path / "shop" / "home" / "demo-mail") == "home/demo-mail"
    assert _shown(tmp_path / "elsewhere" / "demo-mail") == str((tmp_path / "elsewhere" / "demo-mail").resolve())
