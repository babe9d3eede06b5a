"""`backroom replay online-retail PATH`: a real retailer's year through the whole pipeline, on a simulated clock.

Each business day of the file, in order:

- 07:00 on Mondays, a supplier delivery tops every SKU up to four weeks of its recent sales plus what customers are
  waiting for (a deliberately plain policy; `backroom replenish` replaces it);
- the day's invoices arrive in order as orders (consecutive ones imported together), validated, reserved and sent
  to the warehouse; ``C`` invoices cancel the order they match while it is unshipped, otherwise their goods come back as
  returns;
- 18:00: the day's returns and the warehouse's stock notes are booked, the warehouse ships everything it was sent,
  the carrier delivers what shipped two days earlier (five abroad), and every effect due runs.

Effects (warehouse requests, customer emails) run through the real effect runner into recorders: nothing leaves the
machine. What the file does not say (addresses, stock, the warehouse) is simulated, and said so in the report.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text

from backroom.adapters.db import catalog_admin, queries
from backroom.adapters.db.inbox import record_input
from backroom.bootstrap import Backroom, build
from backroom.config import Settings
from backroom.connectors.generic import order_from
from backroom.demo.online_retail import COUNTRIES, UK, Invoice, Kind, read_invoices
from backroom.errors import BackroomError
from backroom.orders import commands
from backroom.orders.handlers import BatchOutcome, ImportResult
from backroom.service_layer.messagebus import InboxEntry
from backroom.shared.clock import SimulatedClock

STORE = "online-retail"
CHANNEL = "online-retail"
LOCATION = "MAIN"
COVER_DAYS = 28
HOME_COUNTRY = "GB"

#: a plausible address per country (the file gives only the country): city, postal code, area
_PLACES: dict[str, tuple[str, str, str]] = {
    "GB": ("London", "EC1A 1BB", ""), "DE": ("Berlin", "10115", ""), "FR": ("Paris", "75001", ""),
    "IE": ("Dublin", "D02 X285", ""), "ES": ("Madrid", "28001", "M"), "NL": ("Amsterdam", "1012 AB", ""),
    "BE": ("Brussels", "1000", ""), "CH": ("Zürich", "8001", ""), "PT": ("Lisboa", "1100-148", ""),
    "AU": ("Sydney", "2000", "NSW"), "NO": ("Oslo", "0150", ""), "IT": ("Roma", "00184", "RM"),
    "JE": ("St Helier", "JE2 3AB", ""), "FI": ("Helsinki", "00100", ""), "CY": ("Nicosia", "1010", ""),
    "SE": ("Stockholm", "111 22", ""), "AT": ("Wien", "1010", ""), "DK": ("København", "1050", ""),
    "JP": ("Tokyo", "100-0001", "東京都"), "PL": ("Warszawa", "00-001", ""), "IL": ("Tel Aviv", "6100000", ""),
    "US": ("New York", "10001", "NY"), "HK": ("Kowloon City", "", "Kowloon"), "SG": ("Singapore", "018956", ""),
    "IS": ("Reykjavík", "101", ""), "CA": ("Toronto", "M5H 2N2", "ON"), "GR": ("Athens", "105 57", ""),
    "MT": ("Valletta", "VLT 1117", ""), "AE": ("", "", "Dubai"), "ZA": ("Cape Town", "8001", ""),
    "LB": ("Beirut", "1107 2020", ""), "LT": ("Vilnius", "01100", ""), "BR": ("São Paulo", "01310-100", "SP"),
    "CZ": ("Praha", "110 00", ""), "BH": ("Manama", "317", ""), "SA": ("Riyadh", "12211", ""),
}


class Recorder:
    """Plays the world outside (warehouse, mail server): accepts every effect once per key and counts it."""

    batch_safe = True

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.by_kind: Counter[str] = Counter()

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        if key not in self.keys:
            self.keys.add(key)
            self.by_kind[str(payload.get("template") or payload.get("type") or "request")] += 1
        return {"recorded": True}


@dataclass
class ReplayReport:
    path: str
    first_day: str = ""
    last_day: str = ""
    business_days: int = 0
    invoices: dict[str, int] = field(default_factory=dict)
    orders_sent: int = 0
    orders_rejected: dict[str, int] = field(default_factory=dict)
    non_product_lines: dict[str, int] = field(default_factory=dict)
    cancellations: dict[str, int] = field(default_factory=dict)
    stock_notes: Counter[str] = field(default_factory=Counter)
    supplier_deliveries: int = 0
    units_delivered: int = 0
    shipped: int = 0
    delivered: int = 0
    effects_recorded: dict[str, int] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    not_settled: int = 0  # orders in a state that is neither terminal nor waiting (must be 0)
    wall_s: float = 0.0
    phases_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Bought:
    order_id: int
    codes: dict[str, int]


class _Replay:
    def __init__(self, app: Backroom, clock: SimulatedClock, report: ReplayReport) -> None:
        self.app, self.clock, self.report = app, clock, report
        self.store_id = app.store_id(STORE)
        self.bought: dict[str, list[_Bought]] = defaultdict(list)  # customer → their orders, oldest first
        self.order_ids: dict[str, int] = {}
        self.returns: list[tuple[str, int]] = []
        self.notes: list[tuple[str, int]] = []
        self.sales: dict[str, list[tuple[datetime, int]]] = defaultdict(list)  # sku → (at, units), for top-ups
        self.cancelled = Counter[str]()
        self.rejected = Counter[str]()
        self.non_product = Counter[str]()
        self.timer: defaultdict[str, float] = defaultdict(float)

    # -- the day ---------------------------------------------------------------------------------------------

    def day(self, day: datetime, invoices: list[Invoice]) -> None:
        if day.weekday() == 0:
            self._at(day.replace(hour=7), self.top_up)
        for batch in _runs(invoices):
            self.clock.set(batch[-1].at)
            if batch[0].kind == Kind.SALE:
                self._timed("import", partial(self.import_sales, batch))
            elif batch[0].kind == Kind.CANCELLATION:
                self._timed("cancellations", partial(self.cancellation, batch[0]))
            elif batch[0].kind == Kind.ADJUSTMENT:
                self.notes.extend((ln.code, ln.quantity) for b in batch for ln in b.lines if ln.quantity)
        self._at(max(day.replace(hour=18), invoices[-1].at), self.close_day)

    def _at(self, moment: datetime, action: Callable[[], None]) -> None:
        self.clock.set(moment)
        self._timed(action.__name__, action)

    def _timed(self, phase: str, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        action()
        self.timer[phase] += time.perf_counter() - started

    # -- orders ----------------------------------------------------------------------------------------------

    def import_sales(self, invoices: list[Invoice]) -> None:
        orders, entries, kept = [], [], []
        for inv in invoices:
            body = _order_json(inv)
            entry = InboxEntry.from_raw(CHANNEL, inv.number, "order", body.encode(), {})
            for ln in inv.lines:
                if ln.non_product is not None:
                    self.non_product[ln.non_product] += 1
            try:
                order = order_from(json.loads(body), CHANNEL, f"{CHANNEL}:{inv.number}", f"invoice {inv.number}")
            except BackroomError as err:
                self.rejected[_why_rejected(inv)] += 1
                record_input(self.app.engine, self.store_id, entry, "rejected", f"{err.code}: {err.message}")
                continue
            orders.append(order)
            entries.append(entry)
            kept.append(inv)
        if not orders:
            return
        results: list[ImportResult] = self.app.handle(commands.ImportOrders(tuple(orders)), STORE, entries)
        for inv, result in zip(kept, results, strict=True):
            self.order_ids[inv.number] = result.order_id
            codes: Counter[str] = Counter()
            for ln in inv.product_lines():
                if ln.quantity > 0:
                    codes[ln.code] += ln.quantity
                    self.sales[ln.code].append((inv.at, ln.quantity))
            if inv.customer_id:
                self.bought[inv.customer_id].append(_Bought(result.order_id, dict(codes)))
        self.report.orders_sent += len(orders)

    def cancellation(self, inv: Invoice) -> None:
        """A C invoice names no order: it cancels the customer's latest order with exactly these goods while it is
        unshipped; otherwise (shipped, partial, a guest, bought before the file starts) its goods are returned."""
        goods = {ln.code: -ln.quantity for ln in inv.product_lines() if ln.quantity < 0}
        if not goods:
            self.cancelled["no goods (fees, discounts, manual lines)"] += 1
            return
        match = next((b for b in reversed(self.bought.get(inv.customer_id or "", [])) if b.codes == goods), None)
        if match is not None:
            try:
                self.app.handle(commands.CancelOrder(match.order_id, f"cancellation invoice {inv.number}",
                                                     "online-retail"), STORE)
                self.cancelled["cancelled before shipping"] += 1
                return
            except BackroomError:
                pass  # already shipped: the goods come back
        self.cancelled["returned to stock"] += 1
        self.returns.extend(goods.items())

    # -- stock -----------------------------------------------------------------------------------------------

    def opening_stock(self, invoices: list[Invoice]) -> None:
        """Each SKU starts with what it sold in its first four selling weeks (the file has no stock counts)."""
        first_sale: dict[str, datetime] = {}
        cover: Counter[str] = Counter()
        for inv in invoices:
            if inv.kind != Kind.SALE:
                continue
            for ln in inv.product_lines():
                if ln.quantity > 0:
                    start = first_sale.setdefault(ln.code, inv.at)
                    if inv.at - start < timedelta(days=COVER_DAYS):
                        cover[ln.code] += ln.quantity
        location = catalog_admin.upsert_location(self.app.engine, self.store_id, LOCATION, "Main warehouse", 10)
        catalog_admin.set_opening_stock(self.app.engine, self.store_id,
                                        [(sku, location, qty) for sku, qty in sorted(cover.items())])

    def top_up(self) -> None:
        now = self.clock.now()
        since = now - timedelta(days=COVER_DAYS)
        wanted: dict[str, int] = {}
        for sku, sold in self.sales.items():
            recent = [qty for at, qty in sold if at >= since]
            self.sales[sku] = [(at, qty) for at, qty in sold if at >= since]
            if recent:
                wanted[sku] = sum(recent)
        with self.app.engine.connect() as conn:
            available = {str(sku): int(n) for sku, n in conn.execute(text(
                "SELECT sku, sum(on_hand - reserved) FROM stock_levels WHERE store_id = :s GROUP BY sku"),
                {"s": self.store_id})}
            waiting = {str(sku): int(n) for sku, n in conn.execute(text(
                "SELECT l.sku, sum(l.quantity - coalesce(r.held, 0)) FROM orders o"
                " JOIN order_lines l ON l.order_id = o.id"
                " LEFT JOIN (SELECT order_id, sku, sum(quantity) AS held FROM reservations GROUP BY 1, 2) r"
                "   ON r.order_id = o.id AND r.sku = l.sku"
                " WHERE o.store_id = :s AND o.status = 'backordered' GROUP BY l.sku"), {"s": self.store_id})}
        lines = []
        for sku in sorted(set(wanted) | set(waiting)):
            quantity = wanted.get(sku, 0) + max(0, int(waiting.get(sku, 0))) - max(0, int(available.get(sku, 0)))
            if quantity > 0:
                lines.append((sku, quantity))
        if lines:
            reference = f"supplier delivery {now.astimezone(UK).date().isoformat()}"
            self._deliver(reference, lines)
            self.report.supplier_deliveries += 1
            self.report.units_delivered += sum(q for _, q in lines)

    def _deliver(self, reference: str, lines: list[tuple[str, int]]) -> BatchOutcome:
        result: BatchOutcome = self.app.handle(commands.ReceiveDelivery(LOCATION, reference, tuple(lines)), STORE)
        return result

    # -- the end of the day -----------------------------------------------------------------------------------

    def close_day(self) -> None:
        local_day = self.clock.now().astimezone(UK).date().isoformat()
        if self.returns:
            self._deliver(f"returns {local_day}", _summed(self.returns))
            self.returns = []
        if self.notes:
            outcome = self._deliver(f"stock notes {local_day}", _summed(self.notes))
            self.report.stock_notes["applied"] += outcome.applied
            for _, why in outcome.refused:
                key = "refused: unknown SKU" if why == "unknown SKU" else "refused: more than on hand"
                self.report.stock_notes[key] += 1
            self.notes = []
        self._timed("drain", self.app.drain)  # the warehouse gets today's requests (and yesterday's emails go)
        self._timed("warehouse", self.warehouse)

    def warehouse(self) -> None:
        now = self.clock.now()
        with self.app.engine.connect() as conn:
            to_ship = conn.execute(text(
                "SELECT o.id, o.shipping_address->>'country' FROM orders o WHERE o.store_id = :s"
                " AND o.status = 'fulfillment_requested' AND NOT EXISTS (SELECT 1 FROM effects e"
                "  WHERE e.store_id = o.store_id AND e.subject_id = o.id AND e.kind = 'fulfillment_request'"
                "  AND e.status <> 'done') ORDER BY o.id"), {"s": self.store_id}).all()
            to_deliver = conn.execute(text(
                "SELECT o.id FROM orders o JOIN shipments sh ON sh.order_id = o.id WHERE o.store_id = :s"
                " AND o.status = 'shipped' AND sh.shipped_at <= :cut -"
                "  CASE WHEN o.shipping_address->>'country' = :home THEN interval '2 days' ELSE interval '5 days' END"
                " ORDER BY o.id"), {"s": self.store_id, "cut": now, "home": HOME_COUNTRY}).scalars().all()
        if to_ship:
            shipments = tuple(_shipment(int(oid), country) for oid, country in to_ship)
            outcome: BatchOutcome = self.app.handle(commands.RecordShipments(shipments), STORE)
            self.report.shipped += outcome.applied
        if to_deliver:
            done: BatchOutcome = self.app.handle(commands.RecordDeliveries(tuple(int(i) for i in to_deliver)), STORE)
            self.report.delivered += done.applied


def _why_rejected(inv: Invoice) -> str:
    if not any(ln.quantity > 0 for ln in inv.product_lines()):
        return "nothing to ship (only postage, fees or vouchers)"
    if inv.country not in COUNTRIES:
        return f"no country ({inv.country})"
    return "invalid order"


def _shipment(order_id: int, country: str) -> commands.RecordShipment:
    if country == HOME_COUNTRY:
        number = f"RM{order_id:09d}GB"
        return commands.RecordShipment(order_id, "Royal Mail", number,
                                       f"https://www.royalmail.com/track-your-item#/tracking-results/{number}")
    number = f"{order_id:010d}"
    return commands.RecordShipment(order_id, "DHL", number,
                                   f"https://www.dhl.com/gb-en/home/tracking.html?tracking-id={number}")


def _summed(lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
    total: Counter[str] = Counter()
    for sku, qty in lines:
        total[sku] += qty
    return sorted((sku, qty) for sku, qty in total.items() if qty)


def _runs(invoices: list[Invoice]) -> Iterator[list[Invoice]]:
    """The day's invoices in order, consecutive sales imported together (a store's webhooks arriving while the
    last batch commits): a cancellation waits for the sales before it and comes before the sales after it."""
    batch: list[Invoice] = []
    for inv in invoices:
        if batch and (inv.kind != Kind.SALE or batch[0].kind != Kind.SALE):
            yield batch
            batch = []
        batch.append(inv)
    if batch:
        yield batch


def _days(invoices: list[Invoice]) -> Iterator[tuple[datetime, list[Invoice]]]:
    by_day: dict[datetime, list[Invoice]] = defaultdict(list)
    for inv in invoices:
        by_day[inv.at.replace(hour=0, minute=0, second=0, microsecond=0)].append(inv)
    yield from sorted(by_day.items())


def _order_json(inv: Invoice) -> str:
    """The invoice as our own order format (what a connector would send); validation happens on the way in."""
    country = COUNTRIES.get(inv.country, "")
    city, postal_code, area = _PLACES.get(country, ("", "", ""))
    who = f"customer {inv.customer_id}" if inv.customer_id else f"guest {inv.number}"
    email = f"c{inv.customer_id}@online-retail.test" if inv.customer_id else f"guest-{inv.number}@online-retail.test"
    number = int(inv.customer_id or inv.number)
    lines = [{"sku": ln.code, "quantity": ln.quantity, "unit_price": str(ln.unit_price), "title": ln.description}
             for ln in inv.product_lines() if ln.quantity > 0]
    return json.dumps({
        "id": inv.number, "number": inv.number, "email": email, "customer_name": who.title(), "currency": "GBP",
        "payment_state": "paid", "placed_at": inv.at.isoformat(), "lines": lines,
        "shipping_address": {"name": who.title(), "line1": f"{number % 97 + 1} Market Street", "city": city,
                             "postal_code": postal_code, "area": area, "country": country},
    })


def _catalog(app: Backroom, store_id: int, invoices: list[Invoice]) -> None:
    """Every product code sold, titled by its most common description and priced at its most common price."""
    titles: dict[str, Counter[str]] = defaultdict(Counter)
    prices: dict[str, Counter[Decimal]] = defaultdict(Counter)
    for inv in invoices:
        if inv.kind != Kind.SALE:
            continue
        for ln in inv.lines:
            if ln.non_product is None and ln.quantity > 0:
                titles[ln.code][ln.description or ln.code] += 1
                prices[ln.code][ln.unit_price] += 1
    catalog_admin.upsert_products(app.engine, store_id, [
        (code, titles[code].most_common(1)[0][0],
         [catalog_admin.VariantSpec(code, "", prices[code].most_common(1)[0][0])]) for code in sorted(titles)])


def replay_online_retail(settings: Settings, path: Path, *, days: int | None = None,
                         progress: Callable[[str], None] | None = None) -> ReplayReport:
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    report = ReplayReport(str(path))
    invoices = read_invoices(path)
    report.phases_s["read"] = round(time.perf_counter() - started, 2)
    report.invoices = dict(Counter(inv.kind.value for inv in invoices))
    by_day = list(_days(invoices))[:days]
    report.first_day, report.last_day = by_day[0][0].date().isoformat(), by_day[-1][0].date().isoformat()
    report.business_days = len(by_day)
    replayed = [inv for _, day in by_day for inv in day]
    say(f"read {len(invoices)} invoices; replaying {report.first_day} → {report.last_day}, {len(by_day)} days")
    recorder = Recorder()
    clock = SimulatedClock(by_day[0][0])
    app = build(settings, clock=clock, executors={kind: recorder for kind in (
        "email", "fulfillment_request", "fulfillment_cancel", "slack_message", "webhook_call")})
    try:
        store_id = app.store_id(STORE)
        catalog_admin.reset_store(app.engine, store_id)
        _catalog(app, store_id, replayed)
        run = _Replay(app, clock, report)
        run.opening_stock(replayed)
        report.phases_s["setup"] = round(time.perf_counter() - started, 2)
        for n, (day, todays) in enumerate(by_day, 1):
            run.day(day, todays)
            if n % 25 == 0:
                say(f"{day.date().isoformat()}: {report.orders_sent} orders so far")
        run._timed("drain", app.drain)  # the last day's shipping emails
        report.orders_rejected = dict(run.rejected)
        report.non_product_lines = dict(run.non_product)
        report.cancellations = dict(run.cancelled)
        report.effects_recorded = dict(recorder.by_kind)
        report.phases_s.update({k: round(v, 2) for k, v in run.timer.items()})
        report.summary = queries.summary(app.engine, store_id)
        with app.engine.connect() as conn:
            report.not_settled = int(conn.execute(text(
                "SELECT count(*) FROM orders WHERE store_id = :s AND status NOT IN"
                " ('delivered', 'cancelled', 'shipped', 'fulfillment_requested', 'on_hold', 'backordered')"),
                {"s": store_id}).scalar_one())
    finally:
        app.close()
    report.wall_s = round(time.perf_counter() - started, 2)
    return report


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"

