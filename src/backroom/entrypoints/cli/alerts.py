"""`backroom alerts …`: run the alert checks now, and list the alerts that are open."""

from __future__ import annotations

import typer

from backroom.adapters.db import alerts
from backroom.entrypoints.cli.common import backroom_app, print_rows

app = typer.Typer(help="Alerts (Slack, email): run the checks now, list open alerts.", no_args_is_help=True)


@app.command("check")
def check(as_json: bool = typer.Option(False, "--json")) -> None:
    """Run every alert check for every store now; print the notices sent (workers also do this on their own)."""
    with backroom_app() as br:
        sent = br.check_alerts() or []
    print_rows("Alert notices", [s.as_dict() for s in sent], ["store", "alert", "subject", "action", "title"],
               as_json)


@app.command("list")
def list_alerts(store: str = typer.Option(None, "--store", help="store slug"),
                include_closed: bool = typer.Option(False, "--all", help="closed alerts too"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """A store's open alerts (with --all, closed ones too)."""
    with backroom_app() as br:
        rows = alerts.list_alerts(br.engine, br.store_id(store), include_closed)
    print_rows("Alerts" if include_closed else "Open alerts", rows,
               ["alert", "subject", "title", "opened_at", "last_sent_at", "sent", "open"], as_json)
