"""`backroom replenish …`: the plan (what to order, when and why), purchase orders from draft to received, and
the stock that earns nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from backroom.entrypoints.cli.common import backroom_app, console, print_json, print_rows, print_table
from backroom.errors import InvalidInput
from backroom.replenishment.commands import (
    ApprovePurchaseOrder,
    CancelPurchaseOrder,
    ReceivePurchaseOrder,
    RunReplenishmentPlan,
    receipt_entry,
)
from backroom.replenishment.service import PlanOutcome
from backroom.service_layer.messagebus import DuplicateDelivery

app = typer.Typer(help="Replenishment: plan, health, purchase orders.", no_args_is_help=True)
po_app = typer.Typer(help="Purchase orders: list, show, approve, cancel, receive.", no_args_is_help=True)
app.add_typer(po_app, name="po")
STORE = typer.Option(None, "--store", help="store slug")

#: the people's table: (heading, plan field); every field is in --json, and each SKU's reason is printed below
PLAN_COLUMNS = (("SKU", "sku"), ("supplier", "supplier"), ("class", "demand_class"), ("per day", "forecast_per_day"),
                ("safety", "safety_stock"), ("reorder at", "reorder_point"), ("stock", "net_stock"),
                ("on order", "on_order"), ("cover d", "days_of_cover"), ("runs out", "stockout_on"),
                ("order by", "last_order_day"), ("order", "order"))


@app.command("plan")
def plan(dry_run: bool = typer.Option(False, "--dry-run", help="compute and show; change nothing"),
         show_all: bool = typer.Option(False, "--all", help="every SKU, not only those to order or at risk"),
         service_level: float = typer.Option(None, "--service-level", help="e.g. 0.995 (default from settings)"),
         day: str = typer.Option(None, "--day", help="another date (YYYY-MM-DD; with --dry-run)"),
         store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    """Plan every SKU and bring today's draft purchase orders up to date (one per supplier; running it again the
    same day changes nothing). Drafts wait in the review queue for approval."""
    with backroom_app() as br:
        outcome: PlanOutcome = br.handle(RunReplenishmentPlan(_day(day), service_level, dry_run), store)
    rows = [p.as_dict() for p in outcome.plan.skus]
    if as_json:
        print_json({"summary": outcome.plan.summary(), "purchase_orders": outcome.purchase_orders,
                    "events": outcome.events, "skus": rows})
        return
    shown = rows if show_all else [r for r in rows if r["order"] or r["stockout_expected"]]
    print_table(f"Replenishment plan {outcome.plan.day} (service level {outcome.plan.settings.service_level:g}): "
                f"{len(shown)} of {len(rows)} SKUs" + ("" if show_all else " to order or at risk"),
                [{heading: _short(r[field]) for heading, field in PLAN_COLUMNS} for r in shown],
                [heading for heading, _ in PLAN_COLUMNS])
    for r in shown[:50]:
        console.print(f"[bold]{r['sku']}[/]: {r['reason']}")
    s = outcome.plan.summary()
    console.print(f"to order: {s['to_order']} SKUs worth {s['order_value']}; stockout expected: "
                  f"{s['stockout_expected']}; without a supplier: {s['no_supplier']}; late on order: "
                  f"{s['late_on_order']} units")
    for number, what in outcome.purchase_orders.items():
        console.print(f"  {number}: {what}")
    if dry_run:
        console.print("[dim]dry run: nothing was saved[/]")
    elif outcome.purchase_orders:
        console.print("approve with [bold]backroom replenish po approve NUMBER[/] (or in the review queue)")


@app.command("health")
def health(store: str = STORE, limit: int = typer.Option(30, help="rows per list"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Dead stock (no sale in the dead-stock window), slow movers (more cover than the slow-mover limit) and stock
    above the order-up-to level, by value, from the last plan."""
    from backroom.adapters.db.purchasing import last_plan

    with backroom_app() as br, br.engine.connect() as conn:
        rows = last_plan(conn, br.store_id(store))
    report = health_report(rows)
    if as_json:
        print_json(report)
        return
    if not rows:
        console.print("no plan yet: run [bold]backroom replenish plan[/]")
        return
    console.print(f"plan of {rows[0]['day']}: dead stock {report['dead_value']}, "
                  f"slow movers {report['slow_value']}, above order-up-to {report['excess_value']}")
    cols = ["sku", "title", "on_hand", "unit_cost", "stock_value", "forecast_per_day", "days_of_cover"]
    print_table("Dead stock", report["dead"][:limit], cols)
    print_table("Slow movers", report["slow"][:limit], cols)
    print_table("Above the order-up-to level", report["excess"][:limit],
                ["sku", "title", "on_hand", "order_up_to", "excess_units", "excess_value"])


def health_report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def valued(r: dict[str, Any]) -> dict[str, Any]:
        cost = float(r["unit_cost"]) if r["unit_cost"] is not None else None
        return {**r, "stock_value": None if cost is None else round(cost * r["on_hand"], 2)}

    def total(items: list[dict[str, Any]], key: str) -> float:
        return round(sum(float(r[key]) for r in items if r[key] is not None), 2)

    dead = sorted((valued(r) for r in rows if r["dead"]), key=lambda r: -(r["stock_value"] or 0))
    slow = sorted((valued(r) for r in rows if r["slow"]), key=lambda r: -(r["stock_value"] or 0))
    excess = sorted((r for r in rows if r["excess_units"] and not r["dead"]),
                    key=lambda r: -float(r["excess_value"] or 0))
    return {"dead": dead, "dead_value": total(dead, "stock_value"), "slow": slow,
            "slow_value": total(slow, "stock_value"), "excess": excess, "excess_value": total(excess, "excess_value")}


@po_app.command("list")
def po_list(status: str = typer.Option(None, help="draft, ordered, partially_received, received, cancelled"),
            store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    from backroom.adapters.db.purchasing import purchase_orders

    with backroom_app() as br, br.engine.connect() as conn:
        rows = purchase_orders(conn, br.store_id(store), status)
    print_rows("Purchase orders", rows, ["number", "supplier", "status", "lines", "units", "received", "total",
                                         "currency", "expected_on", "email"], as_json)


@po_app.command("show")
def po_show(number: str, store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    from backroom.adapters.db.purchasing import purchase_order_lines, purchase_orders

    with backroom_app() as br, br.engine.connect() as conn:
        store_id = br.store_id(store)
        head = [r for r in purchase_orders(conn, store_id) if r["number"] == number]
        lines = purchase_order_lines(conn, store_id, number)
    if not head:
        raise typer.Exit(_missing(number))
    if as_json:
        print_json({**head[0], "lines": lines})
        return
    h = head[0]
    console.print(f"[bold]{number}[/] — {h['supplier']}, {h['status']}, {h['total']} {h['currency']}, expected "
                  f"{h['expected_on'] or '-'}, email {h['email'] or '-'}")
    print_table("Lines", lines, ["line_no", "sku", "supplier_sku", "quantity", "received", "unit_cost", "reason"])


@po_app.command("approve")
def po_approve(number: str, actor: str = typer.Option("cli", help="who approved"), store: str = STORE) -> None:
    """Order it: the PO is emailed to the supplier (CSV attached) and counts as on order from now on."""
    with backroom_app() as br:
        po = br.handle(ApprovePurchaseOrder(number, actor), store)
    console.print(f"{po.number} ordered ({po.total:.2f} {po.currency}); expected {po.expected_on}; the email goes "
                  "out with the next worker run")


@po_app.command("cancel")
def po_cancel(number: str, reason: str = "", actor: str = "cli", store: str = STORE) -> None:
    with backroom_app() as br:
        po = br.handle(CancelPurchaseOrder(number, actor, reason), store)
    console.print(f"{po.number} cancelled")


@po_app.command("receive")
def po_receive(number: str, location: str = typer.Option(..., help="location code the goods arrived at"),
               line: list[str] = typer.Option(None, "--line", help="SKU=QTY received (repeat; default: everything "
                                                                     "still to come)"),
               delivery_note: str = typer.Option(None, "--delivery-note",
                                                 help="the delivery's own reference: booking it twice is a no-op"),
               store: str = STORE) -> None:
    """Book a delivery against a PO, in full or in part: stock rises and backordered orders are served first."""
    lines = tuple(_line(x) for x in line or ())
    with backroom_app() as br:
        try:
            outcome = br.handle(ReceivePurchaseOrder(number, location, lines), store,
                                receipt_entry(number, delivery_note, lines))
        except DuplicateDelivery:
            console.print(f"{number}: delivery {delivery_note} was already received; nothing changed")
            return
    console.print(f"{number}: {outcome.applied} SKUs received at {location}; {outcome.allocated} backordered "
                  "orders now complete")


def _short(value: Any) -> Any:
    """Numbers as a person reads them in a table: one decimal, dates without the year's noise."""
    if isinstance(value, float):
        return f"{value:.1f}"
    return value


def _line(text: str) -> tuple[str, int]:
    sku, sep, qty = text.rpartition("=")
    if not sep or not sku or not qty.strip().isdigit():
        raise typer.BadParameter(f"{text!r}: use SKU=QTY")
    return sku, int(qty)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise InvalidInput(f"--day {text!r} is not YYYY-MM-DD") from err


def _missing(number: str) -> int:
    console.print(f"[bold red]error:[/] no purchase order {number}")
    return 3
