"""`backroom orders …`: list, show and cancel orders."""

from __future__ import annotations

import typer
from rich.markup import escape

from backroom.adapters.db import queries
from backroom.entrypoints.cli.common import backroom_app, console, print_json, print_rows, print_table
from backroom.orders.commands import CancelOrder

app = typer.Typer(help="Orders: list, show, cancel.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug (default: BACKROOM_STORE or 'default')")


@app.command("list")
def list_orders(status: str = typer.Option(None, help="only this status"), limit: int = 50,
                store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    with backroom_app() as br:
        rows = queries.list_orders(br.engine, br.store_id(store), status, limit)
    print_rows("Orders", rows, ["id", "number", "status", "payment_state", "total", "currency", "holds", "placed_at"],
               as_json)


@app.command("show")
def show(order_id: int, store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    """An order with its lines, reservations, effects, review items and every decision taken on it."""
    with backroom_app() as br:
        detail = queries.order_detail(br.engine, br.store_id(store), order_id)
    if as_json:
        print_json(detail)
        return
    console.print(f"[bold]Order {escape(detail['number'])}[/] (id {detail['id']}) — {detail['status']}, "
                  f"{detail['total']} {detail['currency']}, payment {detail['payment_state']}")
    extras = [f"holds: {', '.join(detail['holds'])}" if detail["holds"] else "",
              f"tags: {', '.join(detail['tags'])}" if detail["tags"] else "",
              f"priority {detail['priority']}" if detail["priority"] else ""]
    if any(extras):
        console.print(escape("; ".join(x for x in extras if x)))
    for note in detail["notes"]:
        console.print(escape(f"note ({note['by']}, {note['at']}): {note['text']}"))
    print_table("Lines", detail["lines"], ["sku", "title", "quantity", "unit_price"])
    print_table("Reservations", detail["reservations"], ["sku", "location_id", "quantity"])
    print_table("Effects", detail["effects"], ["id", "kind", "status", "attempts", "key"])
    print_table("Review items", detail["review_items"], ["id", "reason_code", "status"])
    for d in detail["decisions"]:
        console.print(f"[dim]{d['at']}[/] " + escape(f"{d['policy']} v{d['policy_version']} ← {d['trigger']}: "
                                                     f"saw {d['inputs']} → {d['outcome']}"))


@app.command("cancel")
def cancel(order_id: int, reason: str = "cancelled by the store", store: str = STORE) -> None:
    """Cancel an order that has not shipped: its stock is released and offered to the backorder queue."""
    with backroom_app() as br:
        br.handle(CancelOrder(order_id, reason, "cli"), store)
    console.print(f"order {order_id} cancelled")
