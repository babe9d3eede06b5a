"""`backroom import …` and `backroom export …`: orders, products and stock as CSV files (docs/connectors.md).

Import reports every problem with its file line and column, imports what is good, and exits 5 if anything was
rejected. Orders enter the pipeline through the inbox once each; products go to the catalog; stock counts go
through the ledger as CountStock changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, ParamSpec, TextIO, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from sqlalchemy import Engine

from backroom.adapters.db import catalog_admin, csv_export
from backroom.bootstrap import Backroom
from backroom.connectors.csv import orders, products, stock
from backroom.connectors.csv.columns import ORDERS, PRODUCTS, STOCK, CsvInvalid, Problem
from backroom.customers.timezones import known_zones
from backroom.entrypoints.cli.common import (
    EXIT_CODES,
    backroom_app,
    console,
    err_console,
    exit_with_error,
    print_json,
)
from backroom.errors import BackroomError, InvalidInput
from backroom.orders.commands import CountStock
from backroom.shared.csv_cells import csv_lines
from backroom.shared.hashing import content_hash

import_app = typer.Typer(help="Import orders, products or stock from a CSV file (columns: docs/connectors.md).",
                         no_args_is_help=True)
export_app = typer.Typer(help="Export orders, products or stock as CSV, in the columns import reads.",
                         no_args_is_help=True)

STORE = typer.Option(None, "--store", help="store slug (default: BACKROOM_STORE or 'default')")
DRY_RUN = typer.Option(False, "--dry-run", help="check the file and report; write nothing (reads no database)")
JSON = typer.Option(False, "--json", help="the report as JSON")
OUTPUT = typer.Option(None, "-o", "--output", help="file to write (default: standard output)")
EXIT_REJECTED = EXIT_CODES[InvalidInput]  # 5, as for any input we cannot accept

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class Outcome:
    subject: str  # 'order 1001 (lines 2-3)', 'product tee (line 4)', 'stock TEE-M at MAIN (line 2)'
    outcome: str
    detail: str = ""
    problems: tuple[str, ...] = ()
    order_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject": self.subject, "outcome": self.outcome, "detail": self.detail,
                               "problems": list(self.problems)}
        if self.order_id is not None:
            out["order_id"] = self.order_id
        return out


def rejected(subject: str, problems: Iterable[Problem | str]) -> Outcome:
    return Outcome(subject, "rejected", problems=tuple(map(str, problems)))


@dataclass
class Report:
    kind: str
    outcomes: tuple[str, ...]  # every outcome an import of this kind can have, in the order they are counted
    dry_run: bool
    warnings: list[str] = field(default_factory=list)
    results: list[Outcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.outcomes, 0)
        for result in self.results:
            counts[result.outcome] += 1
        return counts

    def finish(self, as_json: bool) -> None:
        """Print the report; exit 5 if anything was rejected."""
        counts = self.counts()
        if as_json:
            print_json({"kind": self.kind, "dry_run": self.dry_run, "counts": counts, "warnings": self.warnings,
                        "results": [r.as_dict() for r in self.results]})
        else:
            self._print(counts)
        if counts["rejected"]:
            raise typer.Exit(EXIT_REJECTED)

    def _print(self, counts: dict[str, int]) -> None:
        for warning in self.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        for result in self.results:
            if result.problems:
                console.print(f"[red]rejected[/] {escape(result.subject)}", soft_wrap=True)
                for problem in result.problems:
                    console.print(f"  {escape(problem)}", soft_wrap=True)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        console.print(f"{self.kind}: {summary}" + (" (dry run: nothing was written)" if self.dry_run else ""),
                      soft_wrap=True)


# -- import -----------------------------------------------------------------------------------------------------


@import_app.command("orders")
def import_orders(path: Path, store: str | None = STORE,
                  timezone: str | None = typer.Option(None, "--timezone",
                                               help="IANA zone of placed_at values written without a UTC offset"),
                  dry_run: bool = DRY_RUN, as_json: bool = JSON) -> None:
    """Orders, one row per order line; each enters the pipeline once, oldest first.

    Importing the same rows again does nothing; an edited order already known answers 'existing'.
    """
    parsed = _parsed(orders.parse_orders, _read(path), _zone(timezone) if timezone else None)
    report = Report("orders", ("valid", "rejected") if dry_run else ("created", "existing", "duplicate", "rejected"),
                    dry_run, list(parsed.warnings), [rejected(f"line {p.lines[0]}", [p]) for p in parsed.stray])
    if dry_run:
        report.results += [_checked(order) for order in parsed.orders]
    else:
        with backroom_app() as br:
            report.results += [_ingested(br, store, order) for order in parsed.orders]
    report.finish(as_json)


@import_app.command("products")
def import_products(path: Path, store: str | None = STORE, dry_run: bool = DRY_RUN, as_json: bool = JSON) -> None:
    """Products, one row per variant (SKU), grouped by handle: created, or updated in place by handle and SKU."""
    parsed = _parsed(products.parse_products, _read(path))
    report = Report("products", ("valid", "rejected") if dry_run else ("saved", "rejected"), dry_run,
                    [*parsed.warnings, *_unstored(parsed)],
                    [rejected(f"line {p.lines[0]}", [p]) for p in parsed.stray])
    if dry_run:
        report.results += [rejected(p.subject, p.problems) if p.problems else Outcome(p.subject, "valid")
                           for p in parsed.products]
    else:
        with backroom_app() as br:
            store_id = br.store_id(store)
            owners = csv_export.product_of(br.engine, store_id, {v.sku for p in parsed.products for v in p.variants})
            outcomes = [_checked_product(p, owners) for p in parsed.products]
            catalog_admin.upsert_products(br.engine, store_id, [
                (p.handle, p.title, [catalog_admin.VariantSpec(v.sku, v.title, v.price, v.low_stock_threshold)
                                     for v in p.variants])
                for p, outcome in zip(parsed.products, outcomes, strict=True) if outcome.outcome == "saved"])
            report.results += outcomes
    report.finish(as_json)


@import_app.command("stock")
def import_stock(path: Path, store: str | None = STORE, dry_run: bool = DRY_RUN, as_json: bool = JSON) -> None:
    """Stock counts, one row per SKU and location; each level is set to its count through the ledger.

    The difference is received or adjusted; stock that arrives serves backordered orders first.
    """
    raw = _read(path)
    parsed = _parsed(stock.parse_stock, raw)
    report = Report("stock", ("valid", "rejected") if dry_run else ("changed", "unchanged", "rejected"), dry_run,
                    list(parsed.warnings))
    if dry_run:
        report.results += [rejected(lv.subject, lv.problems) if lv.problems else Outcome(lv.subject, "valid")
                           for lv in parsed.levels]
    else:
        with backroom_app() as br:
            counts = StockCounts.load(br, store, parsed, reference=f"csv:{content_hash(raw)[:12]}")
            report.results += [counts.apply(level) for level in parsed.levels]
    report.finish(as_json)


def _checked(order: orders.CsvOrder) -> Outcome:
    try:
        order.as_command(orders.TOPIC, order.body, f"{orders.SOURCE}:{order.source_id}")
    except CsvInvalid as err:
        return rejected(order.subject, err.problems)
    return Outcome(order.subject, "valid")


def _ingested(br: Backroom, store: str | None, order: orders.CsvOrder) -> Outcome:
    try:
        out = br.ingest_webhook(orders.SOURCE, order.source_id, orders.TOPIC, order.body, {}, store,
                                order.as_command)
    except CsvInvalid as err:
        return rejected(order.subject, err.problems)
    except BackroomError as err:
        return rejected(order.subject, [f"{err.code}: {err.message}"])
    return Outcome(order.subject, out.outcome, out.detail, order_id=out.order_id)


def _checked_product(product: products.CsvProduct, owners: dict[str, str]) -> Outcome:
    """'saved' (for the caller to save) unless the product has problems or a SKU of another product."""
    taken = [Problem((v.line,), "sku", f"{v.sku} belongs to product {owners[v.sku]}")
             for v in product.variants if owners.get(v.sku, product.handle) != product.handle]
    if product.problems or taken:
        return rejected(product.subject, [*product.problems, *taken])
    return Outcome(product.subject, "saved", f"{len(product.variants)} variants")


def _unstored(parsed: products.ProductsFile) -> list[str]:
    """Columns the catalog cannot keep yet: said out loud rather than dropped in silence."""
    variants = [v for p in parsed.products for v in p.variants]
    return [f"{column}: backroom does not store this yet; the column was ignored"
            for column, given in (("barcode", any(v.barcode for v in variants)),) if given]


@dataclass
class StockCounts:
    """Sets counted levels: the difference from what the store holds goes through CountStock (ledger, events,
    backorder queue); a location the store does not have yet is created first."""

    br: Backroom
    store: str | None
    store_id: int
    reference: str
    known: set[str]
    levels: dict[tuple[str, str], csv_export.StockRecord]
    location_ids: dict[str, int]
    locations: dict[str, stock.CsvLocation]

    @classmethod
    def load(cls, br: Backroom, store: str | None, parsed: stock.StockFile, reference: str) -> StockCounts:
        store_id = br.store_id(store)
        skus = {lv.sku for lv in parsed.levels if not lv.problems}
        return cls(br, store, store_id, reference, set(csv_export.product_of(br.engine, store_id, skus)),
                   csv_export.stock_of(br.engine, store_id, skus), csv_export.location_ids(br.engine, store_id),
                   parsed.locations)

    def apply(self, level: stock.CsvStockLevel) -> Outcome:
        if level.problems:
            return rejected(level.subject, level.problems)
        if level.sku not in self.known:
            return rejected(level.subject, [Problem((level.line,), "sku", f"unknown SKU {level.sku} (import it "
                                                                          "with `backroom import products` first)")])
        current = self.levels.get((level.sku, level.location))
        on_hand, reserved = (current.on_hand, current.reserved) if current else (0, 0)
        if level.on_hand < reserved:
            return rejected(level.subject, [Problem((level.line,), "on_hand", f"{level.on_hand} is fewer than the "
                                                                              f"{reserved} units reserved for orders")])
        if level.on_hand == on_hand:
            if current is None:  # a count of 0 where the store has no row yet: the row is all there is to write
                location_id = self._location_id(level.location)
                catalog_admin.set_opening_stock(self.br.engine, self.store_id, [(level.sku, location_id, 0)])
            return Outcome(level.subject, "unchanged", str(on_hand))
        self._location_id(level.location)
        try:  # the count is applied under the row lock: what was read above is only the report's guess
            before = self.br.handle(CountStock(level.sku, level.location, level.on_hand, self.reference), self.store)
        except BackroomError as err:
            return rejected(level.subject, [Problem((level.line,), "on_hand", f"{err.code}: {err.message}")])
        if before == level.on_hand:
            return Outcome(level.subject, "unchanged", str(before))
        return Outcome(level.subject, "changed", f"{before} → {level.on_hand}")

    def _location_id(self, code: str) -> int:
        """The location's id, creating it (with the file's name and priority) if the store does not have it."""
        if code not in self.location_ids:
            wanted = self.locations[code]
            engine = self.br.engine
            self.location_ids[code] = (
                catalog_admin.upsert_location(engine, self.store_id, code, wanted.name) if wanted.priority is None
                else catalog_admin.upsert_location(engine, self.store_id, code, wanted.name, wanted.priority))
        return self.location_ids[code]


# -- export -----------------------------------------------------------------------------------------------------


@export_app.command("orders")
def export_orders(store: str | None = STORE,
                  since: str | None = typer.Option(
                      None, "--since", help="only orders placed from this date (YYYY-MM-DD, midnight in --timezone) "
                                            "or time (ISO 8601)"),
                  timezone: str = typer.Option("UTC", "--timezone", help="IANA zone for placed_at and --since"),
                  output: Path | None = OUTPUT) -> None:
    """Orders, one row per order line, plus read-only columns that import ignores.

    The read-only columns: backroom_order_id, status, channel, carrier, tracking_number.
    """
    zone = _zone(timezone)
    start = _since(since, zone) if since else None
    _export(store, output, ORDERS.header, "order lines", lambda engine, store_id: (
        row for r in csv_export.orders(engine, store_id, start)
        for row in orders.export_rows(r.order, orders.ReadOnly(r.id, r.status, r.carriers, r.tracking_numbers), zone)))


@export_app.command("products")
def export_products(store: str | None = STORE, output: Path | None = OUTPUT) -> None:
    """Products, one row per variant."""
    _export(store, output, PRODUCTS.header, "variants", lambda engine, store_id: (
        products.export_row(products.ProductRow(v.handle, v.product_title, v.sku, v.title, v.price,
                                                v.low_stock_threshold))
        for v in csv_export.variants(engine, store_id)))


@export_app.command("stock")
def export_stock(store: str | None = STORE, output: Path | None = OUTPUT) -> None:
    """Stock levels, one row per SKU and location, with read-only reserved and available columns."""
    _export(store, output, STOCK.header, "stock levels", lambda engine, store_id: (
        stock.export_row(stock.StockRow(s.sku, s.location, s.on_hand, s.location_name, s.location_priority,
                                        s.reserved))
        for s in csv_export.stock(engine, store_id)))


# -- plumbing ---------------------------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        exit_with_error(f"cannot read {path}: {err.strerror}", EXIT_REJECTED)


def _parsed(parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """The parsed file, or its header's problems printed and exit 5 before anything is imported."""
    try:
        return parse(*args, **kwargs)
    except CsvInvalid as err:
        for problem in err.problems:
            err_console.print(f"[bold red]error:[/] {escape(str(problem))}", soft_wrap=True)
        raise typer.Exit(EXIT_REJECTED) from err


def _zone(name: str) -> tzinfo:
    if name not in known_zones():
        exit_with_error(f"unknown timezone {name!r} (an IANA name such as Europe/London)", EXIT_REJECTED)
    return ZoneInfo(name)


def _since(text: str, zone: tzinfo) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time(), zone)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        exit_with_error(f"--since {text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time", EXIT_REJECTED)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@contextlib.contextmanager
def _opened(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file that appears whole: written beside it, then renamed over it."""
    if path is None:
        yield sys.stdout
        return
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _export(store: str | None, output: Path | None, header: Sequence[str], what: str,
            rows: Callable[[Engine, int], Iterable[Sequence[object]]]) -> None:
    """The header and the store's rows to the output, then how many rows to standard error."""
    with backroom_app() as br, _opened(output) as out:
        written = _write(out, header, rows(br.engine, br.store_id(store)))
    err_console.print(f"exported {written} {what}")


def _write(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    out.writelines(csv_lines([header]))
    written = 0
    for line in csv_lines(rows):
        out.write(line)
        written += 1
    return written
