"""The one evaluation both live runs and dry runs use: order, stop, limits, errors, and the dry-run report."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.unit.rules.helpers import compiled

from backroom.rules.dryrun import StoredEvent, dry_run
from backroom.rules.evaluation import MemoryLimiter, evaluate, needed_paths
from backroom.rules.expressions import prune
from backroom.rules.model import RuleMode
from backroom.rules.triggers import TRIGGERS, sample_context

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

RULES = """
rules:
  - name: big
    when: order_created
    if: order.total >= 100.0
    then: [tag_order(tags='big')]
    stop: true
  - name: any
    when: order_created
    if: 'true'
    then: [tag_order(tags='any')]
  - name: once_a_day
    when: order_created
    if: 'true'
    then: [tag_order(tags='daily')]
    limit: {per: rule, max: 1, window: 24h}
"""


def ctx(total: float, order_id: int = 1) -> dict[str, Any]:
    context = sample_context(TRIGGERS["order_created"])
    context["order"] = {**context["order"], "total": total, "id": order_id}
    return context


def names(firings: list[Any]) -> list[str]:
    return [f.rule.name for f in firings if f.fired]


def test_rules_run_in_order_and_a_live_stop_ends_the_evaluation() -> None:
    rules = compiled(RULES)
    limiter = MemoryLimiter()
    assert names(evaluate(rules, ctx(150.0), "order:1", T0, limiter)) == ["big"]
    assert names(evaluate(rules, ctx(50.0), "order:2", T0, limiter)) == ["any", "once_a_day"]


def test_a_shadow_rule_that_stops_never_silences_a_live_rule() -> None:
    big, anything, daily = compiled(RULES)
    rules = [replace(big, mode=RuleMode.SHADOW), replace(anything, mode=RuleMode.LIVE),
             replace(daily, mode=RuleMode.SHADOW)]
    assert names(evaluate(rules, ctx(150.0), "order:1", T0, MemoryLimiter())) == ["big", "any"]


def test_a_rate_limit_counts_firings_within_its_window() -> None:
    (_, _, daily) = compiled(RULES)
    limiter = MemoryLimiter()
    fired = [bool(names(evaluate([daily], ctx(1.0, n), f"order:{n}", T0 + timedelta(hours=h), limiter)))
             for n, h in enumerate((0, 1, 23, 24, 25, 49))]
    assert fired == [True, False, False, True, False, True]


def test_a_condition_error_is_reported_and_the_next_rules_still_run() -> None:
    rules = compiled("""
rules:
  - name: broken
    when: order_created
    if: order.lines[5].quantity > 1
    then: [tag_order(tags='x')]
  - name: fine
    when: order_created
    if: 'true'
    then: [tag_order(tags='y')]
""")
    firings = evaluate(rules, ctx(1.0), "order:1", T0, MemoryLimiter())
    assert [(f.rule.name, f.fired, f.error) for f in firings] == [
        ("broken", False, "IndexError: index out of bounds: 5"), ("fine", True, None)]


def test_a_firing_records_the_values_its_condition_read() -> None:
    (big, _, _) = compiled(RULES)
    (firing,) = evaluate([big], ctx(150.0), "order:1", T0, MemoryLimiter())
    assert firing.inputs == {"order.total": 150.0}


def test_a_dry_run_counts_and_shows_examples_per_rule() -> None:
    events = [StoredEvent(n, "order_created", T0 + timedelta(hours=n), "order", n, ctx(40.0 * n, n))
              for n in range(1, 6)]
    events.append(StoredEvent(9, "stock_low", T0, "sku", None, sample_context(TRIGGERS["stock_low"])))
    report = dry_run(compiled(RULES), events)
    assert report.events == 6
    assert {r.name: (r.evaluated, r.fired, r.limited, len(r.subjects)) for r in report.rules} == {
        "big": (5, 3, 0, 3), "any": (2, 2, 0, 2), "once_a_day": (2, 1, 1, 1)}
    big = next(r for r in report.rules if r.name == "big")
    assert big.examples[0] == {
        "event_id": 3, "at": "2026-11-27T12:00:00+00:00", "event": "order_created", "subject": "order:3",
        "order_number": "x", "inputs": {"order.total": 120.0},
        "would": [{"action": "tag_order", "params": {"tags": ["big"]}}]}


def test_only_the_paths_the_conditions_read_are_handed_to_cel() -> None:
    rules = compiled("""
rules:
  - name: a
    when: order_created
    if: order.shipping_address.country == 'GB' && order.shipping_address == order.billing_address
    then: [tag_order(tags='x')]
  - name: b
    when: order_created
    if: order.lines.exists(l, l.quantity > 1) && customer.orders_count > 0
    then: [tag_order(tags='y')]
""")
    paths = needed_paths(rules)
    assert paths == ("customer.orders_count", "order.billing_address", "order.lines", "order.shipping_address")
    context = ctx(10.0)
    assert prune(context, paths) == {
        "customer": {"orders_count": 1},
        "order": {k: context["order"][k] for k in ("billing_address", "lines", "shipping_address")}}
