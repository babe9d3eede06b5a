"""`backroom suppressions …`: the addresses that hard-bounced, which marketing never mails, and lifting one."""

from __future__ import annotations

import typer

from backroom.entrypoints.cli.common import backroom_app, console, print_rows

app = typer.Typer(help="Email suppressions: addresses that hard-bounced (marketing skips them).",
                  no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("list")
def list_suppressions(store: str = STORE, limit: int = typer.Option(1000, min=1, help="at most this many"),
                      as_json: bool = typer.Option(False, "--json")) -> None:
    """Suppressed addresses, newest first: why (hard_bounce), from where (smtp, dsn, operator), the server's
    reply or the bounce report's status, and when."""
    with backroom_app() as br:
        rows = br.list_suppressions(store, limit)
    print_rows("Email suppressions", rows, ["email", "reason", "source", "detail", "at"], as_json)


@app.command("remove")
def remove(email: str = typer.Argument(..., help="the address to mail again"), store: str = STORE) -> None:
    """Lift a suppression (the address was fixed, or the bounce was a mistake): marketing may reach it again.
    Enrollments that already ended ``bounced`` stay ended. Exit 3 when the address is not suppressed."""
    with backroom_app() as br:
        br.lift_suppression(email, store, via="cli")
    console.print("suppression lifted")
