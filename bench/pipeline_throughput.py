"""Ingest-to-decision throughput of the order pipeline, then the drain of the effects it asked for.

    python bench/pipeline_throughput.py [--orders 20000] [--batch 100] [--workers 2] [--database-url URL]

Starts a private embedded PostgreSQL in a temporary BACKROOM_HOME (unless --database-url is given, in which case a
fresh store in that database is used), seeds ~500 SKUs across two locations (plenty of stock, plus a few scarce SKUs
so some orders backorder) and pre-generates N realistic order payloads (1-3 KB JSON, 1-5 lines, demo addresses,
repeat customers).

Timed ingest: micro-batches of --batch orders, each parsed (``parse_order``) and sent through
``bus.handle(ImportOrders(...), store_id, inbox)`` in one transaction — validated, reserved, effects enqueued,
committed — by --workers threads concurrently. An order is decided when its batch commits, so an order's latency is
its batch's latency. Then every effect is drained (``backroom.drain()``: procrastinate worker, wait=False) against a
local SMTP catcher and a CSV warehouse folder.

Prints one ``name value`` line per figure and writes the same (plus machine info and correctness checks) as JSON to
bench/results/pipeline_throughput.json (or --out).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import logging
import math
import multiprocessing
import os
import platform
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from backroom.adapters.db import catalog_admin
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build, default_executors
from backroom.config import EffectSettings, Settings, SmtpSettings, WarehouseSettings, WorkerSettings
from backroom.connectors.generic import parse_order
from backroom.demo.generator import ADDRESSES, FIRST, LAST
from backroom.orders.commands import ImportOrders
from backroom.service_layer.messagebus import InboxEntry

RESULTS = Path(__file__).resolve().parent / "results" / "pipeline_throughput.json"
SOURCE = "bench"

# -- catalog ----------------------------------------------------------------------------------------------------

FAMILIES = [
    ("tee", "Merino Crew Tee", Decimal("38.00")), ("hoodie", "Loopback Hoodie", Decimal("74.00")),
    ("sock", "Wool Socks", Decimal("12.00")), ("beanie", "Rib Beanie", Decimal("22.00")),
    ("tote", "Canvas Tote", Decimal("18.00")), ("mug", "Stoneware Mug", Decimal("14.50")),
    ("apron", "Linen Apron", Decimal("42.00")), ("throw", "Wool Throw", Decimal("120.00")),
    ("skillet", "Cast Iron Skillet", Decimal("65.00")), ("candle", "Beeswax Candle", Decimal("16.00")),
]
COLOURS = ["BLK", "OAT", "NAVY", "SAGE", "RUST", "SAND", "CHAR", "MOSS", "INK", "SKY"]
SIZES = ["XS", "S", "M", "L", "XL"]
SCARCE = [("limited-print", "Limited Print", Decimal("55.00"), ["NO1", "NO2", "NO3", "NO4", "NO5"])]
COUNTRY_CURRENCY = {"GB": "GBP", "US": "USD"}
USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]


@dataclass(frozen=True)
class Sku:
    sku: str
    title: str
    variant_title: str
    price: Decimal
    vendor: str


def catalog(skus: int) -> tuple[list[tuple[str, str, list[Sku]]], list[Sku]]:
    """~`skus` regular SKUs (families × colour × size) and a handful of scarce ones."""
    products: list[tuple[str, str, list[Sku]]] = []
    per_product = len(SIZES)
    for n in range(max(1, skus // per_product)):
        handle, title, price = FAMILIES[n % len(FAMILIES)]
        colour = COLOURS[(n // len(FAMILIES)) % len(COLOURS)]
        series = n // (len(FAMILIES) * len(COLOURS))
        stem = f"{handle.upper()}-{colour}" + (f"-{series}" if series else "")
        name = f"{title} {colour.title()}" + (f" S{series}" if series else "")
        variants = [Sku(f"{stem}-{size}", f"{name} — {size}", size, price + series, "Backroom Goods")
                    for size in SIZES]
        products.append((f"{handle}-{colour.lower()}-{series}", name, variants))
    scarce = [Sku(f"LTD-{v}", f"{title} — {v}", v, price, "Studio Edition")
              for _, title, price, names in SCARCE for v in names]
    products.extend((h, title, list(scarce)) for h, title, _, _ in SCARCE)
    return products, scarce


def seed(app: Backroom, store_id: int, products: list[tuple[str, str, list[Sku]]], scarce: list[Sku],
         orders: int) -> dict[str, int]:
    main = catalog_admin.upsert_location(app.engine, store_id, "MAIN", "Main warehouse", priority=10)
    shop = catalog_admin.upsert_location(app.engine, store_id, "SHOP", "Shop stockroom", priority=20)
    for handle, title, variants in products:
        catalog_admin.upsert_product(app.engine, store_id, handle, title, [
            catalog_admin.VariantSpec(v.sku, v.title, v.price) for v in variants])
    scarce_skus = {s.sku for s in scarce}
    plenty = 200 + orders  # more than the whole run can ask of any one SKU
    levels: list[tuple[str, int, int]] = []
    for n, sku in enumerate(v.sku for _, _, variants in products for v in variants):
        if sku in scarce_skus:
            levels += [(sku, main, 2), (sku, shop, 1)]
        elif n % 10 == 3:  # thin at the main warehouse: some orders split across both locations
            levels += [(sku, main, 5), (sku, shop, plenty)]
        else:
            levels += [(sku, main, plenty), (sku, shop, 20)]
    catalog_admin.set_opening_stock(app.engine, store_id, levels)
    return {"MAIN": main, "SHOP": shop}


# -- payloads ----------------------------------------------------------------------------------------------------


def payloads(n: int, products: list[tuple[str, str, list[Sku]]], scarce: list[Sku], seed_: int,
             run: str, customer_count: int) -> list[tuple[str, bytes]]:
    """(source_id, body) for n orders: Zipf-ish SKU popularity, repeat customers (a pool of `customer_count`,
    a few regulars ordering often; `customer_count` >= n means every order is a new customer), a few scarce lines
    and failed payments — the mix a real shop sees in a busy hour."""
    rng = random.Random(seed_)
    regular = [v for _, _, variants in products for v in variants if v not in scarce]
    rng.shuffle(regular)
    cum = list(itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(regular))))
    customers = []
    for i in range(max(1, min(customer_count, n))):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        address = dict(rng.choice(ADDRESSES))
        if rng.random() < 0.3:
            address["line2"] = f"Flat {rng.randint(1, 40)}"
        address["phone"] = f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
        customers.append((f"{first} {last}", f"{first.lower()}.{last.lower()}.{i}@example.com", address))
    cust_cum = list(itertools.accumulate(1 / (rank + 1) ** 0.5 for rank in range(len(customers))))
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        if customer_count >= n:
            name, email, address = customers[i]
        else:
            name, email, address = rng.choices(customers, cum_weights=cust_cum)[0]
        count = rng.choices([1, 2, 3, 4, 5], weights=[40, 25, 17, 10, 8])[0]
        picked: dict[str, Sku] = {}
        while len(picked) < count:
            sku = rng.choices(regular, cum_weights=cum)[0]
            picked[sku.sku] = sku
        if rng.random() < 0.015:
            sku = rng.choice(scarce)
            picked[sku.sku] = sku
        payment = rng.choices(["paid", "authorized", "failed"], weights=[975, 20, 5])[0]
        ext = f"{run}-{i:07d}"
        placed = now - timedelta(seconds=rng.randint(0, 3600))
        body = order_json(ext, i, email, name, address, payment, picked, rng, placed)
        out.append((f"dlv-{run}-{i:07d}", body))
    return out


def order_json(ext: str, i: int, email: str, name: str, address: dict[str, str], payment: str,
               lines: dict[str, Sku], rng: random.Random, placed: datetime) -> bytes:
    currency = COUNTRY_CURRENCY.get(address["country"], "EUR")
    items = []
    subtotal = Decimal("0")
    for sku in lines.values():
        qty = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
        subtotal += sku.price * qty
        items.append({
            "sku": sku.sku, "quantity": qty, "unit_price": str(sku.price), "title": sku.title,
            "variant_title": sku.variant_title, "vendor": sku.vendor, "grams": rng.choice([180, 250, 400, 900]),
            "requires_shipping": True, "taxable": True, "fulfillment_service": "manual",
            "properties": [{"name": "_origin", "value": "collection"}] if rng.random() < 0.3 else [],
        })
    shipping = Decimal("4.95") if subtotal < 50 else Decimal("0.00")
    payload: dict[str, Any] = {
        "id": ext, "number": f"#B{i + 100000}", "email": email, "customer_name": name, "currency": currency,
        "payment_state": payment, "placed_at": placed.isoformat(),
        "shipping_address": {"name": name, **address},
        "billing_address": {"name": name, **address},
        "lines": items,
        "subtotal_price": str(subtotal), "total_shipping": str(shipping), "total_tax": str(subtotal * Decimal("0.2")),
        "gateway": rng.choice(["stripe", "paypal", "shopify_payments"]), "source_name": "web",
        "landing_site": f"/collections/new-in?utm_source=newsletter&utm_campaign=wk{rng.randint(1, 52)}",
        "referring_site": rng.choice(["https://www.google.com/", "https://www.instagram.com/", ""]),
        "client_details": {"browser_ip": f"81.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}",
                           "user_agent": rng.choice(USER_AGENTS), "accept_language": "en-GB,en;q=0.9"},
        "shipping_lines": [{"title": "Standard", "code": "STD", "price": str(shipping)}],
        "discount_codes": [{"code": "WELCOME10", "amount": "10.00"}] if rng.random() < 0.1 else [],
        "note": rng.choice(["", "", "Please leave with the neighbour if out.", "Gift — no receipt please."]),
        "tags": "bench, web",
    }
    return json.dumps(payload).encode()


# -- measuring --------------------------------------------------------------------------------------------------


@dataclass
class BatchTiming:
    orders: int
    seconds: float
    parse_seconds: float
    started: float  # perf_counter at the start of the batch


@dataclass
class TimedExecutors:
    """Wraps the real effect executors to split drain time between the outside call and everything else."""

    inner: dict[str, Callable[[dict[str, Any], str], dict[str, Any] | None]]
    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrapped(self) -> dict[str, Callable[[dict[str, Any], str], dict[str, Any] | None]]:
        return {kind: self._timed(kind, fn) for kind, fn in self.inner.items()}

    def _timed(self, kind: str, fn: Callable[[dict[str, Any], str], dict[str, Any] | None]) -> Any:
        def run(payload: dict[str, Any], key: str) -> dict[str, Any] | None:
            started = time.perf_counter()
            try:
                return fn(payload, key)
            finally:
                spent = time.perf_counter() - started
                with self.lock:
                    self.seconds[kind] = self.seconds.get(kind, 0.0) + spent
                    self.calls[kind] = self.calls.get(kind, 0) + 1
        return run


class ThreadProfiles:
    """One cProfile per thread around a function (the drain runs effects in procrastinate's worker threads)."""

    def __init__(self) -> None:
        self.profiles: dict[int, cProfile.Profile] = {}

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            profile = self.profiles.setdefault(threading.get_ident(), cProfile.Profile())
            profile.enable()
            try:
                return fn(*args, **kwargs)
            finally:
                profile.disable()
        return run


def dump_profiles(profiles: list[cProfile.Profile], path: Path, say: Callable[[str], None]) -> None:
    if not profiles:
        return
    stats = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        stats.add(p)
    stats.dump_stats(str(path))
    for order in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(str(path), stream=buf).sort_stats(order).print_stats(30)
        print(buf.getvalue(), file=sys.stderr)
    say(f"wrote {path}")


def _serve_mail(conn: Connection) -> None:
    with MailCatcher() as catcher:
        conn.send(catcher.port)
        conn.recv()
        conn.send(len(catcher.messages))


class MailServer:
    """The local SMTP catcher, in a process of its own unless in_process (a real relay never shares the sender's
    process; in-process, aiosmtpd competes with the drain for the GIL)."""

    def __init__(self, in_process: bool = False) -> None:
        self.in_process = in_process
        self.port = 0
        self._catcher: MailCatcher | None = None
        self._conn: Connection | None = None
        self._proc: Any = None

    def __enter__(self) -> MailServer:
        if self.in_process:
            self._catcher = MailCatcher().__enter__()
            self.port = self._catcher.port
        else:
            ctx = multiprocessing.get_context("spawn")
            self._conn, child = ctx.Pipe()
            self._proc = ctx.Process(target=_serve_mail, args=(child,), daemon=True)
            self._proc.start()
            self.port = int(self._conn.recv())
        return self

    def caught(self) -> int:
        """Stops the server and returns how many messages it received."""
        if self._catcher is not None:
            count = len(self._catcher.messages)
            self._catcher.__exit__(None, None, None)
            self._catcher = None
            return count
        if self._conn is not None:
            self._conn.send("stop")
            count = int(self._conn.recv())
            self._proc.join(10)
            self._conn = None
            return count
        return 0

    def __exit__(self, *exc: object) -> None:
        self.caught()


class RetryCounter(logging.Handler):
    """Counts the bus's transient-conflict retries (it logs each one at INFO)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def ingest(app: Backroom, store_id: int, bodies: list[tuple[str, bytes]], batch: int, workers: int,
           profilers: list[cProfile.Profile] | None) -> tuple[float, list[BatchTiming], dict[str, int]]:
    batches = [bodies[i : i + batch] for i in range(0, len(bodies), batch)]
    next_batch = itertools.count()
    timings: list[BatchTiming] = []
    statuses: dict[str, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(workers + 1)

    def work() -> None:
        profiler = cProfile.Profile() if profilers is not None else None
        mine: list[BatchTiming] = []
        seen: dict[str, int] = {}
        start.wait()
        try:
            if profiler is not None:
                profiler.enable()
            while (i := next(next_batch)) < len(batches):
                t0 = time.perf_counter()
                cmds, entries = [], []
                for source_id, body in batches[i]:
                    cmds.append(parse_order(body, channel=SOURCE, source_ref=f"{SOURCE}:{source_id}"))
                    entries.append(InboxEntry(SOURCE, source_id, "order", body.decode("utf-8"), {}))
                t1 = time.perf_counter()
                results = app.bus.handle(ImportOrders(tuple(cmds)), store_id, entries)
                t2 = time.perf_counter()
                mine.append(BatchTiming(len(cmds), t2 - t0, t1 - t0, t0))
                for r in results:
                    key = r.status if r.created else "existing"
                    seen[key] = seen.get(key, 0) + 1
        except BaseException as err:
            errors.append(err)
        finally:
            if profiler is not None:
                profiler.disable()
            with lock:
                timings.extend(mine)
                for k, v in seen.items():
                    statuses[k] = statuses.get(k, 0) + v
                if profiler is not None and profilers is not None:
                    profilers.append(profiler)

    threads = [threading.Thread(target=work, name=f"ingest-{n}") for n in range(workers)]
    for th in threads:
        th.start()
    start.wait()
    began = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - began
    if errors:
        raise errors[0]
    return wall, timings, statuses


# -- facts about the run ----------------------------------------------------------------------------------------


def scalar(app: Backroom, sql: str, **params: Any) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def machine(app: Backroom, embedded: bool) -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with app.engine.connect() as conn:
        pg = {name: conn.execute(text(f"SHOW {name}")).scalar()
              for name in ("server_version", "shared_buffers", "synchronous_commit", "fsync", "max_connections")}
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "platform": platform.platform(),
        "postgres_version": pg.pop("server_version"),
        "postgres_settings": pg,
        "postgres_embedded": embedded,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty_src": bool(git("status", "--porcelain", "--", ":/src")),  # the repository's src, from bench/
    }


def git(*args: str) -> str:
    try:
        found = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True, text=True,
                               timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return found.stdout.strip()


def checks(app: Backroom, store_id: int, expected: int) -> dict[str, Any]:
    s = {"s": store_id}
    orders = int(scalar(app, "SELECT count(*) FROM orders WHERE store_id = :s", **s))
    inbox = int(scalar(app, "SELECT count(*) FROM inbox WHERE store_id = :s AND source = 'bench'", **s))
    negative = int(scalar(app, "SELECT count(*) FROM stock_levels WHERE store_id = :s AND"
                               " (on_hand < 0 OR reserved < 0 OR reserved > on_hand)", **s))
    reserved = int(scalar(app, "SELECT coalesce(sum(reserved), 0) FROM stock_levels WHERE store_id = :s", **s))
    held = int(scalar(app, "SELECT coalesce(sum(quantity), 0) FROM reservations WHERE store_id = :s", **s))
    ledger = int(scalar(app, "SELECT coalesce(sum(delta_reserved), 0) FROM stock_ledger WHERE store_id = :s", **s))
    return {
        "orders_count": orders, "orders_ok": orders == expected,
        "inbox_count": inbox, "inbox_ok": inbox == expected,
        "negative_stock_rows": negative, "no_negative_stock": negative == 0,
        "reserved_matches_reservations": reserved == held == ledger,
        "reserved_units": reserved,
    }


def effect_counts(app: Backroom, store_id: int) -> dict[str, int]:
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind || ':' || status AS k, count(*) AS n FROM effects"
                                 " WHERE store_id = :s GROUP BY 1 ORDER BY 1"), {"s": store_id})
        return {r.k: int(r.n) for r in rows}


# -- main -------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--orders", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skus", type=int, default=500)
    ap.add_argument("--customers", type=int, default=None,
                    help="size of the customer pool (default orders/4: repeat customers; >= orders: all new)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--database-url", default=None, help="use this PostgreSQL (a fresh store in it) instead of a "
                                                         "temporary embedded server")
    ap.add_argument("--drain-concurrency", type=int, default=WorkerSettings().concurrency)
    ap.add_argument("--no-drain", action="store_true", help="skip the effect drain")
    ap.add_argument("--profile", type=Path, default=None,
                    help="cProfile the ingest threads (merged pstats here) and the drain's effect runs (.drain.pstats)")
    ap.add_argument("--mail-in-process", action="store_true",
                    help="run the SMTP catcher in this process (default: a child process)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary BACKROOM_HOME")
    args = ap.parse_args(argv)
    if args.orders < 1 or args.batch < 1 or args.workers < 1:
        ap.error("--orders, --batch and --workers must be positive")

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    retries = RetryCounter()
    bus_log = logging.getLogger("backroom.service_layer.messagebus")
    bus_log.setLevel(logging.INFO)
    bus_log.addHandler(retries)
    bus_log.propagate = False

    home = Path(tempfile.mkdtemp(prefix="backroom-bench-"))
    run = uuid.uuid4().hex[:8]
    say = lambda msg: print(f"# {msg}", file=sys.stderr, flush=True)  # noqa: E731
    with MailServer(in_process=args.mail_in_process) as mail:
        settings = Settings(
            database_url=args.database_url,
            home=home,
            store=f"bench-{run}",
            smtp=SmtpSettings(host="127.0.0.1", port=mail.port),
            warehouse=WarehouseSettings(mode="csv", csv_dir=home / "warehouse"),
            worker=WorkerSettings(concurrency=args.drain_concurrency),
            effects=EffectSettings(max_attempts=3, backoff_base_s=0.0),
        )
        executors = TimedExecutors(default_executors(settings))
        t = time.perf_counter()
        app = build(settings, executors=executors.wrapped())
        try:
            say(f"PostgreSQL ready in {time.perf_counter() - t:.1f}s "
                f"({'embedded under ' + str(home) if app.embedded else 'external'})")
            store_id = app.store_id()
            products, scarce = catalog(args.skus)
            t = time.perf_counter()
            seed(app, store_id, products, scarce, args.orders)
            skus = sum(len(v) for _, _, v in products)
            say(f"seeded {skus} SKUs x 2 locations in {time.perf_counter() - t:.1f}s")
            t = time.perf_counter()
            customer_count = args.customers if args.customers is not None else max(1, args.orders // 4)
            bodies = payloads(args.orders, products, scarce, args.seed, run, customer_count)
            sizes = sorted(len(b) for _, b in bodies)
            say(f"generated {len(bodies)} payloads in {time.perf_counter() - t:.1f}s "
                f"(bytes min {sizes[0]} / median {sizes[len(sizes) // 2]} / max {sizes[-1]})")

            statements = itertools.count()
            event.listen(app.engine, "before_cursor_execute", lambda *_: next(statements))
            profilers: list[cProfile.Profile] | None = [] if args.profile else None
            drain_profiles = ThreadProfiles() if args.profile else None
            say(f"ingesting {args.orders} orders, batch {args.batch}, {args.workers} worker(s)")
            wall, timings, statuses = ingest(app, store_id, bodies, args.batch, args.workers, profilers)
            statement_count = next(statements)
            latencies = sorted(itertools.chain.from_iterable([tm.seconds] * tm.orders for tm in timings))
            parse_s = sum(tm.parse_seconds for tm in timings)
            busy_s = sum(tm.seconds for tm in timings)
            ingest_retries = retries.count
            by_start = sorted(timings, key=lambda tm: tm.started)
            tenth = max(1, len(by_start) // 10)
            first_p50 = percentile(sorted(tm.seconds for tm in by_start[:tenth]), 0.5)
            last_p50 = percentile(sorted(tm.seconds for tm in by_start[-tenth:]), 0.5)

            drain_s = 0.0
            done = 0
            if not args.no_drain:
                pending = int(scalar(app, "SELECT count(*) FROM effects WHERE store_id = :s AND status = 'pending'",
                                     s=store_id))
                say(f"draining {pending} effects (procrastinate, concurrency {args.drain_concurrency})")
                if drain_profiles is not None:
                    app.runner.run = drain_profiles.wrap(app.runner.run)  # type: ignore[method-assign]
                t = time.perf_counter()
                app.drain()
                drain_s = time.perf_counter() - t
                done = int(scalar(app, "SELECT count(*) FROM effects WHERE store_id = :s AND status = 'done'",
                                  s=store_id))
            effects = effect_counts(app, store_id)
            verdict = checks(app, store_id, args.orders)
            info = machine(app, app.embedded is not None)
        finally:
            app.close()
            if not args.keep:
                shutil.rmtree(home, ignore_errors=True)
        emails_caught = mail.caught()

    figures: dict[str, Any] = {
        "orders_per_s": round(args.orders / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "effects_per_s": round(done / drain_s, 1) if drain_s else None,
        "orders": args.orders,
        "batch": args.batch,
        "workers": args.workers,
    }
    extra: dict[str, Any] = {
        "ingest_s": round(wall, 3),
        "p90_ms": round(percentile(latencies, 0.90) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "p50_first_tenth_ms": round(first_p50 * 1000, 2),
        "p50_last_tenth_ms": round(last_p50 * 1000, 2),
        "parse_us_per_order": round(parse_s / args.orders * 1e6, 1),
        "parse_share": round(parse_s / busy_s, 4) if busy_s else None,
        "statements_per_batch": round(statement_count / len(timings), 1),
        "conflict_retries": ingest_retries,
        "drain_s": round(drain_s, 3),
        "effects_done": done,
        "emails_caught": emails_caught,
    }
    for name, value in {**figures, **extra}.items():
        print(f"{name} {value}")
    for name in ("orders_ok", "no_negative_stock", "reserved_matches_reservations"):
        print(f"{name} {str(verdict[name]).lower()}")

    report = {
        **figures,
        "details": {
            **extra,
            "payload_bytes": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]},
            "skus": skus, "scarce_skus": len(scarce), "customer_pool": min(customer_count, args.orders),
            "order_outcomes": statuses,
            "effects": effects,
            "drain_concurrency": args.drain_concurrency,
            "executor_seconds": {k: round(v, 3) for k, v in executors.seconds.items()},
            "executor_calls": executors.calls,
            "profiled": bool(args.profile),
            "mail_catcher": "in-process" if args.mail_in_process else "child process",
        },
        "checks": verdict,
        "machine": info,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    say(f"wrote {args.out}")

    if args.profile:
        dump_profiles(profilers or [], args.profile, say)
        if drain_profiles is not None:
            dump_profiles(list(drain_profiles.profiles.values()), args.profile.with_suffix(".drain.pstats"), say)

    ok = verdict["orders_ok"] and verdict["no_negative_stock"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
