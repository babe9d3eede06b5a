"""`backroom connections …`: the stores connected with `backroom connect`, and their reconciliation polls."""

from __future__ import annotations

from typing import Any

import typer

from backroom.adapters.db.connections import Connection, list_connections
from backroom.entrypoints.cli.common import backroom_app, print_rows

app = typer.Typer(help="Connected stores (Shopify, WooCommerce): list them, poll them now.", no_args_is_help=True)

COLUMNS = ["platform", "account", "store_id", "callback_url", "last_polled_at", "last_poll"]


@app.command("list")
def list_all(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every connection, with when it was last polled and what that poll found."""
    with backroom_app() as br:
        rows = [_row(c) for c in list_connections(br.engine)]
    print_rows("Connections", rows, COLUMNS, as_json)


@app.command("poll")
def poll(as_json: bool = typer.Option(False, "--json")) -> None:
    """Run every connection's reconciliation poll now (workers do it every BACKROOM_CONNECTORS__RECONCILE_EVERY_S)."""
    with backroom_app() as br:
        done = br.reconcile_all()
    rows = [{"platform": c.platform, "account": c.account,
             **(r.as_dict() | {"error": ""} if not isinstance(r, str) else {"error": r})} for c, r in done]
    print_rows("Reconciliation polls", rows,
               ["platform", "account", "read", "created", "changed", "rejected", "skipped_numbers", "error"], as_json)


def _row(c: Connection) -> dict[str, Any]:
    return {"platform": c.platform, "account": c.account, "store_id": c.store_id, "callback_url": c.callback_url,
            "last_polled_at": c.last_polled_at.isoformat() if c.last_polled_at else None,
            "last_poll": c.last_poll, "reconcile_cursor": c.reconcile_cursor.isoformat() if c.reconcile_cursor
            else None}
