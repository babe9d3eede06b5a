"""`backroom suppliers …`: who supplies what, with lead times, MOQs, pack multiples, costs and order days."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from backroom.entrypoints.cli.common import backroom_app, console, exit_with_error, print_rows
from backroom.errors import InvalidInput
from backroom.replenishment.commands import AssignSupplierItems, RecordSupplier
from backroom.replenishment.suppliers import Supplier, SupplierItem, format_order_days, parse_order_days

app = typer.Typer(help="Suppliers: add, list, assign SKUs (one by one or from a CSV).", no_args_is_help=True)
STORE = typer.Option(None, "--store", help="store slug")


@app.command("add")
def add(code: str, name: str = typer.Option(..., help="the supplier's name"),
        email: str = typer.Option(..., help="where purchase orders are emailed"),
        lead_time: float = typer.Option(..., "--lead-time", help="mean days from order to delivery"),
        lead_time_sd: float = typer.Option(0.0, "--lead-time-sd", help="standard deviation of the lead time, days"),
        moq: int = typer.Option(1, help="minimum order quantity per SKU"),
        multiple: int = typer.Option(1, help="pack multiple: order quantities are rounded up to it"),
        order_days: str = typer.Option("", "--order-days", help="days they take orders, e.g. mon,thu (default any)"),
        cycle: float = typer.Option(14.0, "--cycle", help="days of demand one order covers"),
        currency: str = "GBP", store: str = STORE) -> None:
    """Add a supplier, or change the one with this code."""
    with backroom_app() as br:
        supplier = Supplier(code, name, email, lead_time, lead_time_sd, moq, multiple, parse_order_days(order_days),
                            cycle, currency.upper())
        br.handle(RecordSupplier(supplier), store)
    console.print(f"supplier {supplier.code}: {lead_time:g} ± {lead_time_sd:g} days, MOQ {moq}, multiple {multiple}, "
                  f"orders on {format_order_days(supplier.order_days)}")


@app.command("list")
def list_suppliers(store: str = STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    from backroom.adapters.db.purchasing import supplier_rows

    with backroom_app() as br, br.engine.connect() as conn:
        rows = supplier_rows(conn, br.store_id(store))
    print_rows("Suppliers", rows, ["code", "name", "email", "lead_time_days", "lead_time_sd_days", "moq",
                                   "pack_multiple", "order_days", "order_cycle_days", "skus"], as_json)


@app.command("assign")
def assign(sku: str, supplier: str, unit_cost: Decimal = typer.Option(..., "--unit-cost"),
           supplier_sku: str = typer.Option(None, "--supplier-sku"), moq: int = typer.Option(None),
           multiple: int = typer.Option(None), lead_time: float = typer.Option(None, "--lead-time"),
           store: str = STORE) -> None:
    """Make SUPPLIER the source of SKU (MOQ, multiple and lead time default to the supplier's)."""
    with backroom_app() as br:
        br.handle(AssignSupplierItems((SupplierItem(sku, supplier, unit_cost, supplier_sku, moq, multiple,
                                                    lead_time),)), store)
    console.print(f"{sku} ← {supplier} at {unit_cost}")


ITEM_COLUMNS = ("sku", "supplier", "unit_cost", "supplier_sku", "moq", "pack_multiple", "lead_time_days")


@app.command("import")
def import_items(path: Path, store: str = STORE) -> None:
    """Assign SKUs from a CSV: sku, supplier, unit_cost and optionally supplier_sku, moq, pack_multiple,
    lead_time_days. Every bad row is reported with its line; nothing is saved unless every row is good."""
    items, problems = read_items(path)
    if problems:
        exit_with_error("; ".join(problems[:20]) + (f" … and {len(problems) - 20} more" if len(problems) > 20 else ""),
                        5)
    with backroom_app() as br:
        count = br.handle(AssignSupplierItems(tuple(items)), store)
    console.print(f"{count} SKUs assigned")


def read_items(path: Path) -> tuple[list[SupplierItem], list[str]]:
    items: list[SupplierItem] = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"sku", "supplier", "unit_cost"} - set(reader.fieldnames or ())
        if missing:
            return [], [f"{path.name}: missing column(s) {', '.join(sorted(missing))}"]
        for line, row in enumerate(reader, 2):
            try:
                items.append(SupplierItem(
                    row["sku"].strip(), row["supplier"].strip(), Decimal(row["unit_cost"]),
                    (row.get("supplier_sku") or "").strip() or None, _int(row.get("moq")),
                    _int(row.get("pack_multiple")), _float(row.get("lead_time_days"))))
            except InvalidInput as err:
                problems.append(f"line {line}: {err.message}")
            except (InvalidOperation, ValueError):
                problems.append(f"line {line}: unit_cost, moq, pack_multiple and lead_time_days must be numbers")
    return items, problems


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip() else None


def _float(value: str | None) -> float | None:
    return float(value) if value and value.strip() else None
