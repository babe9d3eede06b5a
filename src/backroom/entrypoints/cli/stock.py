"""`backroom stock …`: levels per SKU and location; receiving stock serves the backorder queue first."""

from __future__ import annotations

import typer

from backroom.adapters.db import queries
from backroom.entrypoints.cli.common import backroom_app, console, print_rows
from backroom.orders.commands import ReceiveStock

app = typer.Typer(help="Stock: list, receive.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("list")
def list_stock(sku: str = typer.Option(None), store: str = STORE,
               as_json: bool = typer.Option(False, "--json")) -> None:
    with backroom_app() as br:
        rows = queries.list_stock(br.engine, br.store_id(store), sku)
    print_rows("Stock", rows, ["sku", "location", "on_hand", "reserved", "available"], as_json)


@app.command("receive")
def receive(sku: str, location: str, quantity: int, reference: str = "manual", store: str = STORE) -> None:
    with backroom_app() as br:
        allocated = br.handle(ReceiveStock(sku, location, quantity, reference), store)
    console.print(f"received {quantity} × {sku} at {location}; {allocated} backordered orders now complete")
