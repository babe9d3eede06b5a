"""Shared CLI plumbing: one way to build the app, print JSON or tables, and exit with an error."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from backroom.bootstrap import Backroom, build
from backroom.config import Settings
from backroom.errors import BackroomError, ConfigurationError, Conflict, InvalidInput, NotFound

console = Console()
err_console = Console(stderr=True)

EXIT_CODES = {NotFound: 3, Conflict: 4, InvalidInput: 5, ConfigurationError: 2}


def exit_with_error(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def backroom_app() -> Iterator[Backroom]:
    try:
        app = build(Settings())
    except BackroomError as err:
        exit_with_error(err.message, 2)
    try:
        yield app
    except BackroomError as err:
        code = next((c for cls, c in EXIT_CODES.items() if isinstance(err, cls)), 1)
        exit_with_error(f"{err.message} [{err.code}]", code)
    finally:
        app.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def print_status_and_exceptions(summary: dict[str, Any]) -> None:
    """The two tables every run report starts with (queries.summary): orders by status, exceptions by reason."""
    print_table("Orders by status", [{"status": k, "orders": v} for k, v in summary["orders_by_status"].items()],
                ["status", "orders"])
    print_table("Exceptions by reason code", [
        {"reason": k, "raised": v, "still open": summary["review_open_by_reason"].get(k, 0)}
        for k, v in summary["exceptions_by_reason"].items()], ["reason", "raised", "still open"])


def print_rows(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool) -> None:
    """What every list command prints: JSON for machines, a table for people."""
    if as_json:
        print_json(rows)
    else:
        print_table(title, rows, columns)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
