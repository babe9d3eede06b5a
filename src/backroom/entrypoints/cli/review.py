"""`backroom review …`: the queue where every exception ends, and the actions a human can take."""

from __future__ import annotations

import json

import typer

from backroom.adapters.db import queries
from backroom.entrypoints.cli.common import backroom_app, console, print_json, print_rows
from backroom.orders.commands import ResolveReviewItem
from backroom.orders.model import Address

app = typer.Typer(help="Review queue: list, show, resolve, retry.", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("list")
def list_items(status: str = typer.Option("open", help="open, resolved, dismissed or 'all'"), store: str = STORE,
               as_json: bool = typer.Option(False, "--json")) -> None:
    with backroom_app() as br:
        rows = queries.list_review(br.engine, br.store_id(store), None if status == "all" else status)
    print_rows(f"Review queue ({status})", rows,
               ["id", "reason_code", "title", "status", "allowed_actions", "assignee", "created_at"], as_json)


@app.command("show")
def show(item_id: int, store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    with backroom_app() as br:
        item = queries.review_detail(br.engine, br.store_id(store), item_id)
    if as_json:
        print_json(item)
        return
    console.print(f"[bold]#{item['id']} {item['title']}[/] — {item['status']} ({item['reason_code']})")
    console.print_json(json.dumps(item["context"], default=str))
    console.print(f"actions: {', '.join(item['allowed_actions'])}")


@app.command("resolve")
def resolve(item_id: int, action: str = typer.Argument(..., help="approve, cancel_order, edit_address, dismiss"),
            note: str = "", actor: str = typer.Option("cli", help="who decided"),
            address: str = typer.Option(None, help="JSON address for edit_address"), store: str = STORE) -> None:
    new_address = Address.from_dict(json.loads(address)) if address else None
    with backroom_app() as br:
        outcome = br.handle(ResolveReviewItem(item_id, action, actor, note, new_address), store)
    console.print(f"#{item_id}: {outcome}")


@app.command("retry")
def retry(item_id: int, actor: str = "cli", store: str = STORE) -> None:
    """Re-queue the failed effect behind this item with a fresh attempt budget."""
    with backroom_app() as br:
        outcome = br.handle(ResolveReviewItem(item_id, "retry", actor), store)
    console.print(f"#{item_id}: {outcome}")


@app.command("assign")
def assign(item_id: int, assignee: str, store: str = STORE) -> None:
    with backroom_app() as br:
        queries.assign_review(br.engine, br.store_id(store), item_id, assignee)
    console.print(f"#{item_id} assigned to {assignee}")
