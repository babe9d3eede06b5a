"""`backroom replay`: real history through the pipeline on a simulated clock."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from backroom.config import Settings
from backroom.entrypoints.cli.common import (
    console,
    exit_with_error,
    print_json,
    print_status_and_exceptions,
    print_table,
)

app = typer.Typer(help="Replay real history through the whole pipeline on a simulated clock.", no_args_is_help=True)

DEFAULT_FILE = Path("online_retail") / "online_retail_2010-12_2011-12.csv.gz"


def default_path() -> Path:
    return Path(os.environ.get("BACKROOM_SHARED_DATA", "../shared/data")) / DEFAULT_FILE


@app.command("online-retail")
def online_retail(
    path: Path = typer.Argument(None, help="the UCI Online Retail file (.xlsx as UCI serves it, .csv or .csv.gz); "
                                           "default: the copy in BACKROOM_SHARED_DATA"),
    days: int = typer.Option(None, "--days", help="replay only the first N trading days"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A UK gift retailer's year (25,900 invoices, 541,909 lines) as orders, cancellations, returns and stock notes,
    into the store 'online-retail' (reset first)."""
    from backroom.demo.online_retail import MalformedFile
    from backroom.demo.replay import STORE, replay_online_retail, share

    path = path or default_path()
    if not path.is_file():
        exit_with_error(f"no file at {path}: download 'Online Retail' from the UCI repository "
                        "(archive.ics.uci.edu, dataset 352) and pass its path", 2)
    try:
        r = replay_online_retail(Settings(), path, days=days,
                                 progress=None if as_json else lambda m: console.print(f"[dim]• {m}[/]"))
    except MalformedFile as err:
        exit_with_error(str(err), 5)
    if as_json:
        print_json(r.as_dict())
        return
    s = r.summary
    orders = s["orders_imported"]
    console.print(f"\n[bold]Online Retail replay[/] — {r.first_day} → {r.last_day}, {r.business_days} trading days, "
                  f"{r.wall_s:.1f} s wall time, store '{STORE}'\n")
    console.print(f"invoices             {sum(r.invoices.values())}  " + ", ".join(
        f"{k} {v}" for k, v in sorted(r.invoices.items())))
    console.print(f"orders imported      {orders}  (rejected at the door: {sum(r.orders_rejected.values())})")
    console.print(f"touchless            {s['touchless_orders']}  ({share(s['touchless_orders'], orders)} reached the "
                  "warehouse with no human touch)")
    console.print(f"shipped / delivered  {r.shipped} / {r.delivered}")
    console.print(f"supplier deliveries  {r.supplier_deliveries}  ({r.units_delivered} units)")
    console.print(f"negative stock rows  {s['negative_stock_rows']}   orders not settled: {r.not_settled}")
    print_status_and_exceptions(s)
    print_table("Rejected invoices", [{"why": k, "invoices": v} for k, v in r.orders_rejected.items()],
                ["why", "invoices"])
    print_table("Cancellation invoices (C…)", [{"became": k, "invoices": v} for k, v in r.cancellations.items()],
                ["became", "invoices"])
    print_table("Non-product lines (no stock taken)", [
        {"code": k, "lines": v} for k, v in sorted(r.non_product_lines.items(), key=lambda kv: -kv[1])],
        ["code", "lines"])
    print_table("Warehouse stock notes", [{"note": k, "lines": v} for k, v in r.stock_notes.items()],
                ["note", "lines"])
    print_table("Effects", [{"effect": k, "count": v} for k, v in s["effects_by_status"].items()],
                ["effect", "count"])
    console.print("\nAddresses, stock levels, the supplier and the warehouse are simulated (the file has none); "
                  "emails and warehouse requests went to in-memory recorders. "
                  "Look around: [bold]backroom orders list --store online-retail[/]")
