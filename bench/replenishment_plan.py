"""The nightly replenishment plan at 5,000 SKUs: read a year of demand and stock from the database, classify and
forecast every SKU, draft the POs, record the decisions. Target: < 60 s on this machine.

    python bench/replenishment_plan.py [--skus 5000] [--days 365] [--database-url URL] [--out FILE]

Seeds a fresh store (embedded PostgreSQL in a temporary home unless --database-url): SKUs spread over 8 suppliers
(weekday order days on two of them), a year of history simulated day by day per SKU — smooth, erratic, intermittent
and lumpy demand, some SKUs dead for the last 4 months — with orders (one order per day holding that day's lines),
shipments and fortnightly receipts in the stock ledger, so stockout days exist. Then times ``RunReplenishmentPlan``
(the nightly job's command) three ways: a dry run (read + plan), the first real run (drafts POs, decisions, events,
plan lines), and a second run the same day (idempotent: nothing changes). Prints ``name value`` lines and writes JSON
to bench/results/replenishment_plan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from backroom.adapters.db import catalog_admin
from backroom.adapters.db.bulk import Col, insert_rows
from backroom.bootstrap import build
from backroom.config import Settings
from backroom.replenishment.commands import AssignSupplierItems, RecordSupplier, RunReplenishmentPlan
from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.shared.clock import SimulatedClock

RESULTS = Path(__file__).resolve().parent / "results" / "replenishment_plan.json"
TODAY = date(2026, 11, 27)  # a Friday
SEED = 20261127

_ORDER_COLUMNS = (Col("id", "bigint"), Col("store_id", "integer"), Col("channel", "text"),
                  Col("external_id", "text"), Col("number", "text"), Col("email", "text"),
                  Col("customer_name", "text"), Col("status", "text"), Col("payment_state", "text"),
                  Col("currency", "text"), Col("total", "numeric"), Col("shipping_address", "jsonb"),
                  Col("fingerprint", "text"), Col("placed_at", "timestamptz"), Col("created_at", "timestamptz"),
                  Col("updated_at", "timestamptz"))
_LINE_COLUMNS = (Col("store_id", "integer"), Col("order_id", "bigint"), Col("line_no", "integer"),
                 Col("sku", "text"), Col("title", "text"), Col("quantity", "integer"), Col("unit_price", "numeric"))
_LEDGER_COLUMNS = (Col("store_id", "integer"), Col("sku", "text"), Col("location_id", "integer"),
                   Col("delta_on_hand", "integer"), Col("delta_reserved", "integer"), Col("reason", "text"),
                   Col("reference", "text"), Col("at", "timestamptz"))


def demand_matrix(skus: int, days: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    kinds = rng.choice(["smooth", "erratic", "intermittent", "lumpy", "dead"], size=skus,
                       p=[0.3, 0.15, 0.3, 0.15, 0.1])
    out = np.zeros((skus, days), dtype=np.int64)
    for n, kind in enumerate(kinds):
        if kind == "smooth":
            out[n] = rng.poisson(rng.uniform(1, 20), days)
        elif kind == "erratic":
            out[n] = rng.poisson(rng.uniform(1, 6), days) * rng.choice([1, 1, 1, 5], days)
        elif kind in ("intermittent", "lumpy", "dead"):
            p = rng.uniform(0.05, 0.4)
            sizes = rng.integers(1, 4, days) if kind != "lumpy" else rng.integers(1, 40, days)
            out[n] = (rng.random(days) < p) * sizes
            if kind == "dead":
                out[n, -120:] = 0
    return out, [str(k) for k in kinds]


def seed(app: Any, store_id: int, skus: int, days: int) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    names = [f"SKU-{n:05d}" for n in range(skus)]
    location = catalog_admin.upsert_location(app.engine, store_id, "MAIN", "Main", priority=10)
    catalog_admin.upsert_products(app.engine, store_id, [
        (f"p-{n // 5}", f"Product {n // 5}", [catalog_admin.VariantSpec(s, s, Decimal("9.99"))
                                              for s in names[n:n + 5]]) for n in range(0, skus, 5)])
    suppliers = [Supplier(f"SUP{n}", f"Supplier {n}", f"orders@sup{n}.example", lead_time_days=float(7 + 3 * n),
                          lead_time_sd_days=float(1 + n % 3), moq=(1, 6, 12, 24)[n % 4],
                          pack_multiple=(1, 6, 12, 1)[n % 4], order_days=((0, 3) if n in (2, 5) else ()))
                 for n in range(8)]
    for supplier in suppliers:
        app.handle(RecordSupplier(supplier))
    app.handle(AssignSupplierItems(tuple(
        SupplierItem(s, suppliers[n % 8].code, Decimal(str(round(float(rng.uniform(0.5, 40)), 2))))
        for n, s in enumerate(names))))
    demand, kinds = demand_matrix(skus, days, rng)
    first = TODAY - timedelta(days=days)
    # forward simulation per SKU: ship what the shelf holds, a receipt every 14 days tops it up to 30 days of demand
    stock = np.ceil(demand[:, :30].sum(axis=1) * 1.0).astype(np.int64)
    ledger: list[tuple[Any, ...]] = []
    opening = stock.copy()
    for d in range(days):
        at = datetime.combine(first + timedelta(days=d), datetime.min.time(), UTC) + timedelta(hours=18)
        if d % 14 == 13:
            target = np.ceil(demand[:, max(0, d - 30):d + 1].mean(axis=1) * 30).astype(np.int64)
            top_up = np.maximum(0, target - stock)
            for n in np.nonzero(top_up)[0]:
                ledger.append((store_id, names[n], location, int(top_up[n]), 0, "received", f"po-{d}", at))
            stock += top_up
        shipped = np.minimum(stock, demand[:, d])
        for n in np.nonzero(shipped)[0]:
            ledger.append((store_id, names[n], location, -int(shipped[n]), 0, "shipped", f"day-{d}", at))
        stock -= shipped
    with app.engine.begin() as conn:
        conn.execute(text("INSERT INTO stock_levels (store_id, sku, location_id, on_hand, reserved)"
                          " SELECT :s, unnest(CAST(:skus AS text[])), :loc, unnest(CAST(:qty AS int[])), 0"),
                     {"s": store_id, "skus": names, "loc": location, "qty": [int(q) for q in stock]})
        insert_rows(conn, "stock_ledger", _LEDGER_COLUMNS, [
            (store_id, names[n], location, int(opening[n]), 0, "received", "opening", datetime.combine(
                first, datetime.min.time(), UTC)) for n in range(skus) if opening[n]])
        insert_rows(conn, "stock_ledger", _LEDGER_COLUMNS, ledger)
        ids = [int(i) for i in conn.execute(text("SELECT nextval('orders_id_seq') FROM generate_series(1, :n)"),
                                            {"n": days}).scalars()]
        orders, lines = [], []
        for d in range(days):
            at = datetime.combine(first + timedelta(days=d), datetime.min.time(), UTC) + timedelta(hours=12)
            sold = np.nonzero(demand[:, d])[0]
            orders.append((ids[d], store_id, "bench", f"day-{d}", f"#{d}", "b@x.example", "Bench", "shipped", "paid",
                           "GBP", Decimal("0"), {"country": "GB"}, f"fp-{d}", at, at, at))
            lines += [(store_id, ids[d], k, names[n], names[n], int(demand[n, d]), Decimal("9.99"))
                      for k, n in enumerate(sold, 1)]
        insert_rows(conn, "orders", _ORDER_COLUMNS, orders)
        insert_rows(conn, "order_lines", _LINE_COLUMNS, lines)
        conn.execute(text("ANALYZE"))
    return {"skus": skus, "days": days, "order_lines": len(lines), "ledger_rows": len(ledger) + skus,
            "kinds": dict(Counter(kinds)), "stockout_sku_days": int((stock == 0).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--database-url", default=os.environ.get("BACKROOM_BENCH_DATABASE_URL"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="backroom-bench-plan-"))
    clock = SimulatedClock(datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=2))
    app = build(Settings(database_url=args.database_url, home=home, store=f"bench-plan-{os.getpid()}"), clock=clock)
    try:
        store_id = app.store_id()
        started = time.perf_counter()
        seeded = seed(app, store_id, args.skus, args.days)
        seed_s = time.perf_counter() - started
        timings = {}
        for name, command in (("dry_run", RunReplenishmentPlan(dry_run=True)),
                              ("first_run", RunReplenishmentPlan(trigger="nightly")),
                              ("second_run", RunReplenishmentPlan(trigger="nightly"))):
            started = time.perf_counter()
            outcome = app.handle(command)
            timings[name] = round(time.perf_counter() - started, 2)
            if name == "first_run":
                first = outcome
        with app.engine.connect() as conn:
            pos = conn.execute(text("SELECT count(*), coalesce(sum((SELECT count(*) FROM purchase_order_lines l"
                                    " WHERE l.po_id = p.id)), 0) FROM purchase_orders p WHERE p.store_id = :s"),
                               {"s": store_id}).one()
        methods = Counter(p.method.value for p in first.plan.skus)
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "seeded": seeded, "seed_s": round(seed_s, 1), "plan_s": timings, "summary": first.plan.summary(),
            "purchase_orders": {"count": int(pos[0]), "lines": int(pos[1]), "first_run": first.purchase_orders},
            "methods": dict(methods), "second_run_changed_nothing": outcome.purchase_orders == {
                n: "unchanged" for n in first.purchase_orders if first.purchase_orders[n] == "drafted"},
        }
    finally:
        app.close()
        shutil.rmtree(home, ignore_errors=True)
    print(f"# seeded {seeded['skus']} SKUs × {seeded['days']} days: {seeded['order_lines']} order lines, "
          f"{seeded['ledger_rows']} ledger rows in {seed_s:.0f} s")
    print(f"plan_dry_run_s {timings['dry_run']}")
    print(f"plan_{args.skus}_skus_s {timings['first_run']}")
    print(f"plan_rerun_s {timings['second_run']}")
    print(f"purchase_orders {result['purchase_orders']['count']}")
    print(f"po_lines {result['purchase_orders']['lines']}")
    print(f"second_run_changed_nothing {result['second_run_changed_nothing']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
