"""`backroom returns …`: the returns customers started (through the support agent), and receiving them back."""

from __future__ import annotations

import typer

from backroom.adapters.db import queries
from backroom.entrypoints.cli.common import backroom_app, console, print_rows
from backroom.orders.commands import ReceiveReturn

app = typer.Typer(help="Returns: list the authorisations, receive a parcel back into stock.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("list")
def list_returns(status: str = typer.Option("all", help="requested, received, refunded, rejected or 'all'"),
                 store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    with backroom_app() as br:
        rows = queries.list_returns(br.engine, br.store_id(store), None if status == "all" else status)
    for row in rows:
        row["items"] = ", ".join(f"{line['quantity']} × {line['title']}" for line in row.pop("lines"))
    print_rows(f"Returns ({status})", rows, ["number", "order", "status", "items", "actor", "requested_at"], as_json)


@app.command("receive")
def receive(number: str, location: str = typer.Option(..., help="the location the items go back into"),
            restock: bool = typer.Option(True, "--restock/--no-restock", help="fit to sell again?"),
            actor: str = typer.Option("cli", help="who received it"), store: str = STORE) -> None:
    """The parcel arrived: mark the return received and put its items back into stock (backorders served first)."""
    with backroom_app() as br:
        allocated = br.handle(ReceiveReturn(number, location, restock, actor), store)
    console.print(f"{number}: received{', restocked' if restock else ''}"
                  + (f"; {allocated} backordered order(s) allocated" if allocated else ""))
