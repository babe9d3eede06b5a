"""Rule evaluation throughput: 50 rules × 100,000 events through the engine's own evaluation.

    python bench/rules_throughput.py [--rules 50] [--events 100000] [--out PATH]

The 50 rules are real compiled rules (CEL conditions of the shapes owners write: thresholds, country checks, list
macros, string tests, customer history; some with rate limits, one with ``stop``), all listening to
``order_created``, so every event is evaluated against every rule: the worst case. The events are contexts built by
``rules.context`` from synthetic orders (1-5 lines, 12 countries, repeat customers), the same shape the live engine
stores with each event.

Timed: ``rules.evaluation.evaluate`` over every event (the function both the live engine and dry runs call: one CEL
context per event, then each rule's compiled program, limits, stop), and separately the whole ``dry_run`` (the same
plus the per-rule report). Prints ``name value`` lines and writes them (plus machine info) as JSON to
bench/results/rules_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backroom.orders.model import Address, CustomerStats, Order, OrderLine, PaymentState
from backroom.rules.context import customer_context, event_context, order_context
from backroom.rules.dryrun import StoredEvent, dry_run
from backroom.rules.evaluation import MemoryLimiter, evaluate, needed_paths
from backroom.rules.model import CompiledRule, compile_all, parse_rules
from backroom.rules.triggers import TRIGGERS

RESULTS = Path(__file__).resolve().parent / "results" / "rules_throughput.json"
COUNTRIES = ["GB", "FR", "DE", "US", "NL", "IE", "ES", "IT", "SE", "DK", "BE", "AT"]
SKUS = [f"SKU-{i:03d}" for i in range(200)]

CONDITION_SHAPES = [
    "order.total > {n}.0",
    "order.total > {n}.0 && customer.orders_count == 0",
    "order.total > {n}.0 && customer.orders_count == 0 "
    "&& order.shipping_address.country != order.billing_address.country",
    "order.item_count >= {k}",
    "order.shipping_address.country == '{c}'",
    "order.shipping_address.country in ['{c}', 'GB', 'IE']",
    "'{sku}' in order.skus",
    "order.lines.exists(l, l.quantity >= {k})",
    "order.lines.exists(l, l.sku == '{sku}' && l.quantity > 1)",
    "customer.total_spent > {n}.0 || customer.orders_count >= {k}",
    "order.email_domain == 'example.com' && order.total < {n}.0",
    "order.email.endsWith('.{c_lower}') || order.payment_state != 'paid'",
    "size(order.lines) > {k} && order.currency == 'GBP'",
    "event.hour >= 22 || event.hour < 6",
    "customer.first_order && order.item_count >= {k}",
]


def make_rules(count: int, rng: random.Random) -> list[CompiledRule]:
    raw: list[dict[str, Any]] = []
    for i in range(count):
        shape = CONDITION_SHAPES[i % len(CONDITION_SHAPES)]
        country = rng.choice(COUNTRIES)
        condition = shape.format(n=rng.choice([50, 100, 250, 500, 1000]), k=rng.randint(2, 6), c=country,
                                 c_lower=country.lower(), sku=rng.choice(SKUS))
        rule: dict[str, Any] = {"name": f"rule_{i:02d}", "when": "order_created", "if": condition,
                                "then": [f"tag_order(tags='r{i}')"], "mode": "live"}
        if i % 7 == 3:
            rule["limit"] = {"per": "subject", "max": 1}
        if i % 10 == 9:
            rule["limit"] = {"per": "rule", "max": 100, "window": "1h"}
        if i == count - 1:
            rule["stop"] = True
        raw.append(rule)
    return compile_all(parse_rules(raw))


def make_events(count: int, rng: random.Random) -> list[StoredEvent]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    tz = ZoneInfo("Europe/London")
    history: dict[str, CustomerStats] = {}
    events = []
    for n in range(count):
        email = f"buyer{rng.randint(1, count // 3)}@{rng.choice(['example.com', 'mail.fr', 'post.de'])}"
        ship, bill = rng.choice(COUNTRIES), rng.choice(COUNTRIES) if rng.random() < 0.1 else None
        lines = tuple(OrderLine(rng.choice(SKUS), rng.randint(1, 4), Decimal(rng.randint(5, 300)), "Thing")
                      for _ in range(rng.randint(1, 5)))
        order = Order(store_id=1, channel="bench", external_id=str(n), number=f"#{n}", email=email,
                      customer_name="Bench", currency="GBP", payment_state=PaymentState.PAID,
                      shipping_address=Address("B", "1 St", "Town", "00000", ship),
                      billing_address=Address("B", "1 St", "Town", "00000", bill) if bill else None,
                      lines=lines, placed_at=start, id=n + 1, customer_id=hash(email) % 10**9)
        stats = history.get(email, CustomerStats())
        at = start + timedelta(seconds=30 * n)
        context = {"order": order_context(order), "customer": customer_context(order, stats),
                   "event": event_context("order_created", at, tz, {})}
        history[email] = CustomerStats(stats.orders_count + 1, stats.total_spent + order.total)
        events.append(StoredEvent(n + 1, "order_created", at, "order", n + 1, context))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    rules = make_rules(args.rules, rng)
    compile_s = time.perf_counter() - t0
    events = make_events(args.events, rng)
    assert all(r.trigger is TRIGGERS["order_created"] for r in rules)

    limiter = MemoryLimiter()
    tried: list[str] = []
    fired = 0
    paths = needed_paths(rules)
    t0 = time.perf_counter()
    for ev in events:
        for firing in evaluate(rules, ev.context, f"order:{ev.subject_id}", ev.at, limiter, tried, paths):
            fired += firing.fired
    evaluate_s = time.perf_counter() - t0
    evaluations = len(tried)

    t0 = time.perf_counter()
    report = dry_run(rules, events)
    dry_run_s = time.perf_counter() - t0
    assert sum(r.fired for r in report.rules) == fired, "dry run and evaluate disagree"

    figures = {
        "rules": len(rules),
        "events": len(events),
        "evaluations": evaluations,
        "firings": fired,
        "compile_ms_per_rule": round(compile_s * 1000 / len(rules), 2),
        "events_per_s": round(len(events) / evaluate_s),
        "evaluations_per_s": round(evaluations / evaluate_s),
        "dry_run_events_per_s": round(len(events) / dry_run_s),
        "dry_run_evaluations_per_s": round(evaluations / dry_run_s),
    }
    for name in ("events_per_s", "evaluations_per_s", "dry_run_events_per_s", "dry_run_evaluations_per_s",
                 "firings", "compile_ms_per_rule"):
        print(f"{name} {figures[name]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        **figures,
        "target_evaluations_per_s": 20_000,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
