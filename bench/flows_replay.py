"""The UCI Online Retail year replayed with synthetic checkout abandonment on top, the three shipped marketing flows
on, a simulated clock, and a real local SMTP server; then the funnel, and six checks over the whole replay.

    python bench/flows_replay.py [--months N] [--customers N] [--seed S] [--tick-minutes M] [--database-url URL]

By default the whole file (Dec 2010 - Dec 2011, replayed to 1 Jan 2012 so the last flows run out) for a seeded
sample of 1,000 of its 4,372 customers (``--customers 0``: all of them, about four times as long).

What is real and what is made up (every made-up figure is a parameter, printed and written to the JSON):

- **Orders** are the file's own: only customers with a CustomerID (guest invoices, the warehouse's stock notes and
  bookkeeping entries are left out), each customer ``c<CustomerID>@online-retail.test`` (the address the pipeline
  replay already gives them). Sales go through the order pipeline exactly as ``backroom replay online-retail`` sends
  them (``backroom.demo.replay``: validated, reserved, sent to the warehouse); ``C`` invoices cancel the customer's
  matching unshipped order, else their goods come back as returns (the same rules); the warehouse ships every
  evening and the carrier delivers two days later (five abroad), which records the delivery and so enrolls the buyer
  in ``post_purchase``. Supplier top-ups every Monday 07:00.
- **Customers and consent** (made up): every customer arrives as a Shopify ``customers/create`` webhook at the
  start, ``subscribed`` with probability ``subscribed_share``, else ``not_subscribed`` (never subscribed); of the
  subscribed, a share ``unsubscribe_share`` unsubscribes at a uniformly random moment of the window through the
  signed one-click link's own code (``Backroom.unsubscribe(token)``, what ``POST /unsubscribe/TOKEN`` calls).
- **Checkouts** (made up), each a Shopify ``checkouts/create`` webhook through the app's inbound path
  (``Backroom.ingest_webhook`` with the Shopify mapper: recorded in the inbox, mapped and recorded in one
  transaction, which enrolls the buyer in ``abandoned_checkout`` as in production):
  - before each real order, with probability ``recovered_checkout_p``, a checkout of the same lines by the same
    customer ``lead`` minutes earlier (log-uniform between ``lead_min_minutes`` and ``lead_max_minutes``); the order
    then arrives (without the checkout's token, so the flow sees it as "an order since you entered");
  - extra checkouts that never convert: for each customer and each month from their first purchase on, one with
    probability ``abandoned_per_customer_month``, at a uniformly random time of that month, 1-3 random catalogue
    items.
- **The clock**: events in time order; before each, the worker's tick (``Backroom.advance_flows``) runs at every
  ``--tick-minutes`` slot in which an enrollment is due, followed by a drain (``Backroom.drain``) so the email
  reaches SMTP at that simulated instant; the lapsed-customer scan (``Backroom.scan_lapsed_customers``) runs daily at
  06:00 UTC. The store's zone is set to Europe/London (the file's zone); quiet hours are kept in each customer's zone
  (their latest order's shipping country, the store's zone without one), as the tick keeps them.
- **SMTP**: marketing email (the effects that carry ``List-Unsubscribe``) goes through the real SMTP sender to a
  local aiosmtpd server in its own process (the one ``bench/flows_scale.py`` starts), which logs every message's
  Message-ID, recipients and the simulated time at its arrival. Transactional email (order confirmations, shipping
  notices) and warehouse requests are recorded, not sent (as in the pipeline replay), to keep the run short.

Prints ``name value`` lines (parameters, the funnel per flow as ``backroom flows funnel --json`` computes it, totals,
each check's violations and the runtime) and writes them as JSON to bench/results/flows_replay.json (or --out).
Exits 1 if any check finds a violation.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import text

from backroom.adapters.email.smtp import SmtpSender
from backroom.bootstrap import Backroom, build
from backroom.config import EffectSettings, MarketingConfig, Settings, SmtpSettings, WarehouseSettings
from backroom.connectors.webhook_mappers import MAPPERS
from backroom.customers.timezones import zone_for
from backroom.demo.online_retail import COLUMNS, UK, Invoice, Kind, open_text, parse_rows
from backroom.demo.replay import STORE, Recorder, ReplayReport, _catalog, _days, _Replay, _runs
from backroom.marketing.quiet_hours import QuietHours
from backroom.marketing.unsubscribe import unsubscribe_token
from backroom.shared.clock import SimulatedClock
from flows_scale import _MESSAGE_ID, MailServer, _Counter  # the local SMTP server of the scale bench
from replay_online_retail import SHARED  # where the UCI file is (BACKROOM_SHARED_DATA)

RESULTS = Path(__file__).resolve().parent / "results" / "flows_replay.json"
UCI = Path("online_retail") / "online_retail_2010-12_2011-12.csv.gz"
FLOWS = ["abandoned_checkout", "post_purchase", "win_back"]
SECRET = "flows-replay-secret"
PUBLIC_URL = "https://shop.example.com"
SHOP = "online-retail.myshopify.com"
STORE_ZONE = "Europe/London"
SCAN_HOUR = 6  # the daily lapsed-customer scan, UTC
CAP = timedelta(hours=16)  # MarketingConfig's default frequency cap
QUIET = QuietHours()  # MarketingConfig's default quiet hours, 21:00-08:00
DEFAULT_CUSTOMERS = 1000  # every customer (4,372) takes about 4x as long: over an hour on the 2-core machine


@dataclass(frozen=True)
class Parameters:
    """The synthetic part of the replay: every made-up number, stated."""

    seed: int = 7
    months: int | None = None  # None: the whole file (Dec 2010 - Dec 2011, 13 calendar months)
    customers: int | None = None  # None: every customer with a CustomerID
    tick_minutes: int = 15  # the worker's tick: due enrollments are taken at the next multiple of this
    subscribed_share: float = 0.6
    unsubscribe_share: float = 0.05  # of the subscribed, unsubscribing at a random moment of the window
    recovered_checkout_p: float = 0.3  # a checkout before a real order, completed by it
    lead_min_minutes: float = 5.0
    lead_max_minutes: float = 720.0
    abandoned_per_customer_month: float = 0.1  # extra checkouts that never convert


# -- the SMTP server: the scale bench's, logging recipients and the simulated time of arrival ----------------------


class _Log(_Counter):
    def __init__(self) -> None:
        super().__init__()
        self.now = ""  # the simulated time the bench last announced
        self.log: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        content = envelope.original_content or envelope.content
        found = _MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
        self.log.append((found.group(1).decode() if found else "", [str(r).lower() for r in envelope.rcpt_tos],
                         self.now))
        return answer

    def answer(self, ask: Any) -> Any:
        if isinstance(ask, tuple):  # ("at", simulated time)
            self.now = ask[1]
            return True
        if ask == "log":
            return list(self.log)
        return super().answer(ask)


class LoggingMailServer(MailServer):
    """``flows_scale.MailServer`` whose server also logs (Message-ID, recipients, simulated arrival time)."""

    def __init__(self) -> None:
        super().__init__(_Log)

    def at(self, when: datetime) -> None:
        self._conn.send(("at", when.isoformat()))
        self._conn.recv()

    def log(self) -> list[tuple[str, list[str], datetime]]:
        self._conn.send("log")
        return [(mid, rcpts, datetime.fromisoformat(at)) for mid, rcpts, at in self._conn.recv()]


class MarketingOverSmtp:
    """The email executor: marketing email (it carries List-Unsubscribe) through the real SMTP sender, the rest
    recorded like the pipeline replay does."""

    def __init__(self, smtp: SmtpSender, recorder: Recorder) -> None:
        self.smtp, self.recorder = smtp, recorder

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        if "List-Unsubscribe" in (payload.get("headers") or {}):
            return self.smtp(payload, key)
        return self.recorder(payload, key)

    def close(self) -> None:
        self.smtp.close()


# -- the synthetic world ----------------------------------------------------------------------------------------


def email_of(customer_id: str) -> str:
    return f"c{customer_id}@online-retail.test"  # what backroom.demo.replay puts on the customer's orders


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: Any = field(compare=False, default=None)


@dataclass
class World:
    invoices: list[Invoice]
    days: list[tuple[datetime, list[Invoice]]]
    start: datetime
    end: datetime
    customers: dict[str, str] = field(default_factory=dict)  # customer id → consent given at the start
    unsubscribes: dict[str, datetime] = field(default_factory=dict)  # email → when
    checkouts: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def _month_start(at: datetime) -> datetime:
    return at.astimezone(UK).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(at: datetime) -> datetime:
    local = at.astimezone(UK)
    return (local.replace(year=local.year + 1, month=1) if local.month == 12
            else local.replace(month=local.month + 1))


def _customer(row: list[str]) -> str:
    customer = row[6].strip()
    return customer[:-2] if customer.endswith(".0") else customer  # as online_retail reads it


def read_slice(path: Path, p: Parameters, rng: random.Random) -> tuple[list[Invoice], datetime, datetime]:
    """The invoices of customers with a CustomerID in the first ``p.months`` calendar months (UK time), of a seeded
    sample of ``p.customers`` of them; and the window. Rows are filtered before the file's own parser reads them
    (``online_retail.parse_rows``, so every rule of the pipeline replay applies), which keeps a small slice quick."""
    with open_text(path) as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for r in reader if len(r) != len(COLUMNS) or _customer(r)]  # a malformed row still fails below
    first = min(r[4].strip()[:7] for r in rows if len(r) == len(COLUMNS))  # "2010-12"
    year, month = int(first[:4]), int(first[5:7])
    last = max(r[4].strip()[:7] for r in rows if len(r) == len(COLUMNS))
    end = first
    for _ in range(p.months or 10_000):
        if end > last:
            break
        month += 1
        if month == 13:
            year, month = year + 1, 1
        end = f"{year:04d}-{month:02d}"
    in_window = [r for r in rows if len(r) != len(COLUMNS) or first <= r[4].strip()[:7] < end]
    ids = sorted({_customer(r) for r in in_window if len(r) == len(COLUMNS)})
    if p.customers is not None and p.customers < len(ids):
        ids = sorted(rng.sample(ids, p.customers))
    chosen = set(ids)
    invoices = parse_rows(iter([header, *(r for r in in_window if len(r) != len(COLUMNS) or _customer(r) in chosen)]))
    start = datetime(int(first[:4]), int(first[5:7]), 1, tzinfo=UK)
    stop = datetime(year, month, 1, tzinfo=UK)
    return invoices, start.astimezone(UTC), stop.astimezone(UTC)


def make_world(path: Path, p: Parameters) -> World:
    """The file's invoices of the chosen customers and window, and the synthetic consent and checkouts on top.
    Kept: sales and cancellations (``C`` invoices) of customers with a CustomerID; left out: guests, the
    warehouse's stock notes and bookkeeping entries (fees, bad debt)."""
    rng = random.Random(p.seed)
    chosen, start, end = read_slice(path, p, rng)
    invoices = [inv for inv in chosen if inv.kind in (Kind.SALE, Kind.CANCELLATION)]
    world = World(invoices, list(_days(invoices)), start, end)
    world.counts["invoices_sales"] = sum(inv.kind == Kind.SALE for inv in invoices)
    world.counts["invoices_cancellations"] = sum(inv.kind == Kind.CANCELLATION for inv in invoices)
    ids = sorted({inv.customer_id for inv in chosen if inv.customer_id})
    span = (world.end - world.start).total_seconds()
    for cid in ids:
        subscribed = rng.random() < p.subscribed_share
        world.customers[cid] = "subscribed" if subscribed else "not_subscribed"
        if subscribed and rng.random() < p.unsubscribe_share:
            # at a whole second plus a half, never on a tick slot (ticks fall on whole minutes)
            at = world.start + timedelta(seconds=int(rng.random() * span) + 0.5)
            world.unsubscribes[email_of(cid)] = at
    catalogue: dict[str, tuple[str, Decimal]] = {}
    first_purchase: dict[str, datetime] = {}
    n = 0
    for inv in invoices:
        if inv.kind != Kind.SALE or inv.customer_id is None:
            continue
        lines = [ln for ln in inv.product_lines() if ln.quantity > 0]
        if not lines:
            continue
        first_purchase.setdefault(inv.customer_id, inv.at)
        for ln in lines:
            catalogue.setdefault(ln.code, (ln.description or ln.code, ln.unit_price))
        if rng.random() < p.recovered_checkout_p:
            lead = math.exp(rng.uniform(math.log(p.lead_min_minutes), math.log(p.lead_max_minutes)))
            at = inv.at - timedelta(minutes=lead)
            if at >= world.start:
                n += 1
                world.checkouts.append(_checkout(n, inv.customer_id, at, [
                    (ln.code, ln.description or ln.code, ln.quantity, ln.unit_price) for ln in lines], "recovered"))
    codes = sorted(catalogue)
    for cid, since in sorted(first_purchase.items()):
        month = _month_start(since)
        while month < world.end:
            following = _next_month(month)
            if rng.random() < p.abandoned_per_customer_month:
                start = max(month.astimezone(UTC), since)
                at = start + timedelta(seconds=int(rng.random() * (following - start).total_seconds()))
                picked = rng.sample(codes, min(len(codes), rng.choice([1, 1, 2, 3])))
                if at < world.end:
                    n += 1
                    world.checkouts.append(_checkout(n, cid, at, [
                        (code, catalogue[code][0], rng.choice([1, 1, 2, 6, 12]), catalogue[code][1])
                        for code in picked], "abandoned"))
            month = following
    world.checkouts.sort(key=lambda c: (c["at"], c["n"]))
    world.counts["checkouts_recovered"] = sum(c["why"] == "recovered" for c in world.checkouts)
    world.counts["checkouts_abandoned"] = sum(c["why"] == "abandoned" for c in world.checkouts)
    return world


def _checkout(n: int, customer_id: str, at: datetime, lines: list[tuple[str, str, int, Decimal]],
              why: str) -> dict[str, Any]:
    total = sum((q * price for _, _, q, price in lines), Decimal(0))
    stamp = at.astimezone(UTC).isoformat()
    gid = 7_000_000_000 + n
    payload = {
        "id": gid, "admin_graphql_api_id": f"gid://shopify/AbandonedCheckout/{gid}", "token": f"tok-{n}",
        "email": email_of(customer_id), "currency": "GBP", "total_price": f"{total:.2f}",
        "created_at": stamp, "updated_at": stamp, "completed_at": None,
        "abandoned_checkout_url": f"https://{SHOP}/checkouts/{gid}/recover?key=k{n:08x}",
        "customer": {"first_name": "Customer", "last_name": customer_id, "email": email_of(customer_id)},
        "line_items": [{"sku": code, "title": title, "quantity": q, "price": f"{price:.2f}"}
                       for code, title, q, price in lines]}
    return {"n": n, "at": at, "customer_id": customer_id, "why": why, "payload": payload}


def timeline(world: World) -> list[Event]:
    """Every event of the replay in time order (ties: in the order they were added)."""
    events: list[Event] = []

    def add(at: datetime, kind: str, data: Any = None) -> None:
        events.append(Event(at, len(events), kind, data))

    for c in world.checkouts:
        add(c["at"], "checkout", c)
    for email, at in world.unsubscribes.items():
        add(at, "unsubscribe", email)
    day = world.start.replace(hour=SCAN_HOUR)
    while day < world.end:
        add(day, "scan")
        day += timedelta(days=1)
    for day_start, todays in world.days:  # as backroom.demo.replay's day(), step by step
        if day_start.weekday() == 0:
            add(day_start.replace(hour=7), "top_up")
        for batch in _runs(todays):
            add(batch[-1].at, "sales" if batch[0].kind == Kind.SALE else "cancellation", batch)
        add(max(day_start.replace(hour=18), todays[-1].at), "close_day")
    events.sort()
    return events


# -- the replay ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    app: Backroom
    clock: SimulatedClock
    mail: LoggingMailServer
    world: World
    p: Parameters
    replay: _Replay
    store_id: int
    timer: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    ticks: int = 0
    tick_taken: int = 0
    drains: int = 0

    def timed(self, phase: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return action()
        finally:
            self.timer[phase] += time.perf_counter() - started

    def next_due(self) -> datetime | None:
        with self.app.engine.connect() as conn:
            found: datetime | None = conn.execute(text(
                "SELECT min(wake_at) FROM marketing_enrollments WHERE store_id = :s AND wake_at IS NOT NULL"),
                {"s": self.store_id}).scalar()
        return found

    def slot(self, at: datetime) -> datetime:
        """The first tick at or after ``at``: a worker ticking every ``tick_minutes``."""
        step = self.p.tick_minutes * 60
        seconds = math.ceil(at.timestamp() / step) * step
        return datetime.fromtimestamp(seconds, UTC)

    def catch_up(self, until: datetime) -> None:
        """Every tick that falls before ``until`` and has something due, each followed by its sends."""
        while True:
            due = self.next_due()
            if due is None:
                return
            at = max(self.clock.now(), self.slot(due))
            if at >= until:
                return
            self.clock.set(at)
            done = self.timed("tick", self.app.advance_flows)
            self.ticks += 1
            self.tick_taken += done.taken
            if done.sent or done.discounts:
                self.send_now()
            elif done.taken == 0:  # due but not taken (a lock held elsewhere): never spin
                raise RuntimeError(f"an enrollment due at {due} was not taken at {at}")

    def send_now(self) -> None:
        self.mail.at(self.clock.now())
        self.timed("drain", self.app.drain)
        self.drains += 1

    def at(self, event: Event) -> None:
        self.catch_up(event.at)
        self.clock.set(max(self.clock.now(), event.at))
        self.timed(event.kind, partial(self.apply, event))

    def apply(self, event: Event) -> None:
        if event.kind == "checkout":
            c = event.data
            self.webhook("checkouts/create", f"checkout-{c['n']}", c["payload"])
        elif event.kind == "unsubscribe":
            token = unsubscribe_token(SECRET.encode(), self.store_id, event.data)
            email, changed = self.app.unsubscribe(token)
            assert email == event.data, email
            assert changed, email
        elif event.kind == "scan":
            self.app.scan_lapsed_customers()
        elif event.kind == "top_up":
            self.replay.top_up()
        elif event.kind == "sales":
            self.replay.import_sales(event.data)
        elif event.kind == "cancellation":
            self.replay.cancellation(event.data[0])
        elif event.kind == "close_day":
            self.mail.at(self.clock.now())
            self.replay.close_day()  # returns, the warehouse's drain, shipments and deliveries
        else:
            raise ValueError(event.kind)

    def webhook(self, topic: str, delivery: str, payload: dict[str, Any]) -> None:
        out = self.app.ingest_webhook("shopify", delivery, topic, json.dumps(payload).encode(),
                                      {"X-Shopify-Shop-Domain": SHOP}, STORE, MAPPERS["shopify"])
        assert out.outcome == "processed", out


def build_app(home: Path, database_url: str | None, mail: LoggingMailServer, clock: SimulatedClock,
              p: Parameters) -> tuple[Backroom, Recorder]:
    settings = Settings(
        database_url=database_url, home=home, store=STORE,
        smtp=SmtpSettings(host="127.0.0.1", port=mail.port),
        warehouse=WarehouseSettings(mode="csv", csv_dir=home / "warehouse"),
        effects=EffectSettings(max_attempts=3, backoff_base_s=0.0),
        marketing=MarketingConfig(enabled_flows=FLOWS, unsubscribe_secret=SecretStr(SECRET), public_url=PUBLIC_URL,
                                  tick_every_s=0))
    recorder = Recorder()
    email = MarketingOverSmtp(SmtpSender(settings.smtp), recorder)
    executors: dict[str, Any] = {kind: recorder for kind in (
        "fulfillment_request", "fulfillment_cancel", "slack_message", "webhook_call")}
    return build(settings, clock=clock, executors={**executors, "email": email}), recorder


SmtpLog = list[tuple[str, list[str], datetime]]  # (Message-ID, recipients, simulated arrival) per message


def replay(path: Path, p: Parameters, *, database_url: str | None = None, home: Path | None = None,
           say: Callable[[str], None] = lambda _m: None,
           tamper: Callable[[SmtpLog], SmtpLog] | None = None) -> dict[str, Any]:
    """The whole run: the world, the replay, the funnel and the checks, as one report (see ``main``). ``tamper``:
    the checks are run again over the SMTP log it returns (``checks_of_tampered_log``), to show they catch what
    they look for."""
    started = time.perf_counter()
    world = make_world(path, p)
    read_s = time.perf_counter() - started
    say(f"{len(world.customers)} customers, {world.counts['invoices_sales']} sales, "
        f"{len(world.checkouts)} checkouts, {world.start:%Y-%m-%d} → {world.end:%Y-%m-%d}")
    own_home = home is None
    home = home or Path(tempfile.mkdtemp(prefix="backroom-flows-replay-"))
    mail = LoggingMailServer()
    clock = SimulatedClock(world.start)
    app, recorder = build_app(home, database_url, mail, clock, p)
    try:
        store_id = app.store_id(STORE)
        with app.engine.begin() as conn:  # the file's zone: quiet hours are in it (the store's setting)
            conn.execute(text("UPDATE stores SET timezone = :z WHERE id = :s"), {"z": STORE_ZONE, "s": store_id})
        _catalog(app, store_id, world.invoices)
        run = Run(app, clock, mail, world, p, _Replay(app, clock, ReplayReport(str(path))), store_id)
        run.replay.opening_stock(world.invoices)
        for cid, consent in world.customers.items():  # the store's customers, as Shopify tells backroom of them
            email = email_of(cid)
            run.webhook("customers/create", f"customer-{cid}", {
                "id": 6_000_000_000 + int(cid), "email": email, "first_name": "Customer", "last_name": cid,
                "email_marketing_consent": {"state": consent}, "updated_at": world.start.isoformat()})
        setup_s = time.perf_counter() - started
        say(f"set up in {setup_s:.1f}s")
        events = timeline(world)
        month = None
        for event in events:
            if event.at >= world.end:
                break
            run.at(event)
            if month != (event.at.year, event.at.month):
                month = (event.at.year, event.at.month)
                say(f"{event.at:%Y-%m}: {time.perf_counter() - started:.0f}s")
        run.catch_up(world.end)
        clock.set(max(clock.now(), world.end))
        mail.at(clock.now())
        run.timed("drain", app.drain)  # the last day's transactional mail
        replay_s = time.perf_counter() - started - setup_s
        rows = app.flow_funnel(store=STORE)  # what `backroom flows funnel --json` prints
        checks = check(app, store_id, world, mail.log())
        tampered = check(app, store_id, world, tamper(mail.log())) if tamper is not None else None
        server = mail.stats()
        recorded = dict(recorder.by_kind)
    finally:
        app.close()
        mail.stop()
        if own_home:
            shutil.rmtree(home, ignore_errors=True)
    wall_s = time.perf_counter() - started
    return {
        "parameters": asdict(p),
        "window": {"start": world.start.isoformat(), "end": world.end.isoformat()},
        "world": {"customers": len(world.customers),
                  "subscribed_at_start": sum(c == "subscribed" for c in world.customers.values()),
                  "never_subscribed": sum(c != "subscribed" for c in world.customers.values()),
                  "unsubscribed_mid_window": len(world.unsubscribes), **world.counts,
                  "orders_imported": run.replay.report.orders_sent,
                  "orders_rejected": dict(run.replay.rejected), "cancellations": dict(run.replay.cancelled),
                  "shipped": run.replay.report.shipped, "delivered": run.replay.report.delivered,
                  "transactional_and_warehouse_recorded": recorded},
        "funnel": rows,
        "totals": totals(rows),
        "checks": checks,
        **({"checks_of_tampered_log": tampered} if tampered is not None else {}),
        "smtp_server": {"received": server["received"], "unique": server["unique"]},
        "runtime": {"wall_s": round(wall_s, 1), "read_s": round(read_s, 1), "setup_s": round(setup_s - read_s, 1),
                    "replay_s": round(replay_s, 1), "ticks": run.ticks, "tick_wakes": run.tick_taken,
                    "drains_after_ticks": run.drains,
                    "phases_s": {k: round(v, 1) for k, v in sorted(run.timer.items())}},
    }


# -- the funnel ---------------------------------------------------------------------------------------------------


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {name: sum(r[name] for r in rows) for name in (
        "enrolled", "sent", "completed", "unsubscribed", "converted")}
    for name in ("skipped", "deferred", "exited"):
        counted: Counter[str] = Counter()
        for r in rows:
            counted.update(r[name])
        total[name] = dict(sorted(counted.items()))
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        for currency, amount in r["revenue"].items():
            revenue[currency] += Decimal(amount)
    total["revenue"] = {c: str(a) for c, a in revenue.items()}
    return total


# -- the checks ---------------------------------------------------------------------------------------------------


@dataclass
class Zones:
    """The zone quiet hours are kept in for a customer at a given moment, as the tick saw it then: the zone of the
    shipping address of their latest order (by placed_at, then id) among the orders recorded by that moment
    (``backroom.customers.timezones.zone_for``, as ``adapters/db/customer_zones.py`` reads it for the tick), else the
    store's zone. To check against the store's zone only (before per-customer zones), make ``zone`` return
    ``self.store``."""

    store: ZoneInfo
    orders: dict[str, list[tuple[datetime, datetime, int, str, str]]]  # email → (created, placed, id, country, area)

    def zone(self, email: str, at: datetime) -> ZoneInfo:
        seen = [o for o in self.orders.get(email, []) if o[0] <= at]
        if not seen:
            return self.store
        _, _, _, country, area = max(seen, key=lambda o: (o[1], o[2]))
        name = zone_for(country, area)
        return ZoneInfo(name) if name is not None else self.store


def key_of(message_id: str) -> str:
    """``<flow.abandoned_checkout.enr-12.step-2@backroom>`` → ``flow:abandoned_checkout:enr-12:step-2``."""
    return message_id.strip("<>").split("@", 1)[0].replace(".", ":")


def check(app: Backroom, store_id: int, world: World,
          log: list[tuple[str, list[str], datetime]]) -> dict[str, dict[str, Any]]:
    """The six checks over the whole replay, from what reached the SMTP server and what is stored."""
    def q(sql: str) -> list[Any]:
        with app.engine.connect() as conn:
            return list(conn.execute(text(sql), {"s": store_id, "end": world.end}).all())

    sends = {r.message_key: r for r in q(
        "SELECT message_key, email, flow, enrollment_id, sent_at, kind, shadow FROM marketing_sends"
        " WHERE store_id = :s")}
    consent = {r.email: r.marketing_consent for r in q(
        "SELECT email, marketing_consent FROM customers WHERE store_id = :s")}
    unsubscribed_at: dict[str, datetime] = {}
    for r in q("SELECT data->>'email' AS email, min(at) AS at FROM events WHERE store_id = :s"
               " AND name = 'customer_unsubscribed' GROUP BY 1"):
        unsubscribed_at[r.email] = r.at
    enrolled = {int(r.id): r for r in q(
        "SELECT id, flow, email, subject_type, subject_id, state, wake_at, enrolled_at, value"
        " FROM marketing_enrollments WHERE store_id = :s")}
    orders: dict[str, list[datetime]] = defaultdict(list)
    addresses: dict[str, list[tuple[datetime, datetime, int, str, str]]] = defaultdict(list)
    for r in q("SELECT id, lower(email) AS email, created_at, placed_at, coalesce(shipping_address->>'country', '')"
               " AS country, coalesce(shipping_address->>'area', '') AS area FROM orders WHERE store_id = :s"
               " ORDER BY created_at"):
        orders[r.email].append(r.created_at)
        addresses[r.email].append((r.created_at, r.placed_at, int(r.id), r.country, r.area))
    (store_zone,) = q("SELECT timezone FROM stores WHERE id = :s")[0]
    zones = Zones(ZoneInfo(store_zone), addresses)

    # what reached SMTP, once per Message-ID (the first arrival: a receiver dedupes on the Message-ID)
    arrived: dict[str, tuple[list[str], datetime]] = {}
    raw: Counter[str] = Counter()
    for message_id, rcpts, at in log:
        raw[message_id] += 1
        arrived.setdefault(message_id, (rcpts, at))
    marketing = sorted(((key_of(mid), rcpts, at) for mid, (rcpts, at) in arrived.items()), key=lambda m: m[2])
    v: dict[str, list[str]] = defaultdict(list)  # check → examples of violations
    last_to: dict[str, tuple[str, datetime]] = {}
    for key, rcpts, at in marketing:
        sent = sends.get(key)
        for email in rcpts:
            # (1) consent at that moment
            if consent.get(email) in (None, "not_subscribed", "unknown", "pending") or (
                    email in unsubscribed_at and unsubscribed_at[email] <= at):
                v["consent"].append(f"{key} to {email} at {at:%Y-%m-%d %H:%M} ({consent.get(email)})")
            # (2) the frequency cap, across flows
            previous = last_to.get(email)
            if previous is not None and at - previous[1] < CAP:
                v["frequency_cap"].append(f"{previous[0]} then {key} to {email}, {at - previous[1]} apart")
            last_to[email] = (key, at)
            # (3) quiet hours in the customer's zone
            zone = zones.zone(email, at)
            if QUIET.contains(at.astimezone(zone).time()):
                v["quiet_hours"].append(f"{key} to {email} at {at.astimezone(zone):%Y-%m-%d %H:%M %Z}")
        # (4) no abandoned-checkout email once an order by that customer arrived after the checkout enrolled them
        if sent is not None and sent.flow == "abandoned_checkout":
            enrollment = enrolled[int(sent.enrollment_id)]
            if any(enrollment.enrolled_at <= placed < at for placed in orders.get(enrollment.email, [])):
                v["exit_after_order"].append(f"{key} to {enrollment.email} at {at:%Y-%m-%d %H:%M}")
        # (5) every message that reached SMTP is one the ledger recorded, to the ledger's address
        if sent is None or sent.shadow or rcpts != [sent.email]:
            v["message_once"].append(f"{key}: not in the ledger as sent to {rcpts}")
    reached = {key for key, _, _ in marketing}
    for key, sent in sends.items():  # (5) … and every message the ledger recorded reached SMTP
        if not sent.shadow and key not in reached:
            v["message_once"].append(f"{key}: in the ledger, never reached SMTP")
    # (6) nothing dropped or stuck: no enrollment due and not taken, no email effect left undone, every deferral
    # followed by the message it held (or a skip, or the enrollment's end), or still ahead of the end
    for r in enrolled.values():
        if r.wake_at is not None and r.wake_at <= world.end:
            v["nothing_stuck"].append(f"enrollment {r.id} ({r.flow}) due {r.wake_at} and not taken")
        history = r.value["history"]
        for i, h in enumerate(history):
            if h["what"] != "deferred":
                continue
            later = history[i + 1:]
            resolved = any(x["what"] in ("sent", "skipped", "exited", "completed") and x.get("step") in (
                h.get("step"), None) for x in later) or any(x["what"] in ("exited", "completed") for x in later)
            if not resolved and not (r.state == "deferred" and r.wake_at is not None and r.wake_at > world.end):
                v["nothing_stuck"].append(f"enrollment {r.id} ({r.flow}): deferral at {h['at']} never resolved")
        if r.state in ("active",):
            v["nothing_stuck"].append(f"enrollment {r.id} ({r.flow}) left active")
    for r in q("SELECT key, status FROM effects WHERE store_id = :s AND kind = 'email' AND status <> 'done'"):
        v["nothing_stuck"].append(f"email effect {r.key} left {r.status}")

    counts = {
        "consent": len(marketing),
        "frequency_cap": len(marketing),
        "quiet_hours": len(marketing),
        "exit_after_order": sum(1 for key, _, _ in marketing
                                if (s := sends.get(key)) is not None and s.flow == "abandoned_checkout"),
        "message_once": len(sends),
        "nothing_stuck": len(enrolled),
    }
    return {name: {"checked": counts[name], "violations": len(v[name]), "examples": v[name][:5],
                   **({"raw_duplicates": sum(n - 1 for n in raw.values())} if name == "message_once" else {})}
            for name in counts}


# -- main ---------------------------------------------------------------------------------------------------------


def lines(report: dict[str, Any]) -> Iterator[str]:
    """The report as ``name value`` lines."""
    for name, value in report["parameters"].items():
        yield f"param.{name} {value}"
    for name, value in report["world"].items():
        if isinstance(value, dict):
            for k, n in value.items():
                yield f"world.{name}.{k.replace(' ', '_')} {n}"
        else:
            yield f"world.{name} {value}"
    for row in [*report["funnel"], {"flow": "total", **report["totals"]}]:
        flow = row["flow"]
        for name, value in row.items():
            if name == "flow":
                continue
            if name == "revenue":
                yield f"{flow}.revenue_gbp {value.get('GBP', '0')}"
            elif isinstance(value, dict):
                yield f"{flow}.{name} {sum(value.values())}"
                for reason, n in sorted(value.items()):
                    yield f"{flow}.{name}.{reason} {n}"
            else:
                yield f"{flow}.{name} {value}"
    for name, result in report["checks"].items():
        yield f"check.{name}.checked {result['checked']}"
        yield f"check.{name}.violations {result['violations']}"
        if "raw_duplicates" in result:
            yield f"check.{name}.raw_duplicates {result['raw_duplicates']}"
    yield f"checks_ok {str(report['checks_ok']).lower()}"
    for name, value in report["runtime"].items():
        if isinstance(value, dict):
            for k, n in value.items():
                yield f"runtime.{name}.{k} {n}"
        else:
            yield f"runtime.{name} {value}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawTextHelpFormatter)
    defaults = Parameters()
    ap.add_argument("--path", type=Path, default=SHARED / UCI)
    ap.add_argument("--months", type=int, default=None, help="the first N calendar months (default: all 13)")
    ap.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS,
                    help=f"a seeded sample of N customers (default {DEFAULT_CUSTOMERS}, about a quarter of the "
                         "4,372: the whole year in ~20 min here); 0: every customer")
    ap.add_argument("--seed", type=int, default=defaults.seed)
    ap.add_argument("--tick-minutes", type=int, default=defaults.tick_minutes)
    ap.add_argument("--database-url", default=os.environ.get("BACKROOM_DATABASE_URL"),
                    help="use this PostgreSQL instead of a temporary embedded server")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    p = Parameters(seed=args.seed, months=args.months, customers=args.customers or None,
                   tick_minutes=args.tick_minutes)

    def say(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    report = replay(args.path, p, database_url=args.database_url, say=say)
    report["checks_ok"] = all(c["violations"] == 0 for c in report["checks"].values())
    for line in lines(report):
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        **report, "command": " ".join(["python", *sys.argv]), "machine": {
            "cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "run": uuid.uuid4().hex[:8], "at": datetime.now(UTC).isoformat(timespec="seconds")},
        indent=2, default=str) + "\n")
    say(f"wrote {args.out}")
    return 0 if report["checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
