"""Rules on real PostgreSQL: firing from real events, effects landing once, shadow recording only, a broken action
ending in review, versions, rate limits, and a dry run agreeing with a live run over the same history."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TEMPLATE, HttpReceiver, make_settings, rows, scalar, seed_catalog

from backroom.adapters.db import rules as rules_db
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build
from backroom.config import RulesSettings, SlackSettings
from backroom.orders import commands
from backroom.orders.model import Address, OrderLine, PaymentState
from backroom.rules.model import RuleInvalid, RuleMode, parse_rules_text
from backroom.shared.clock import SimulatedClock
from backroom.shared.hashing import sign

pytestmark = pytest.mark.integration

FRAUD_SHAPE = """
rules:
  - name: first_order_high_value
    when: order_created
    if: >-
      order.total > 500 && customer.orders_count == 0
      && order.shipping_address.country != order.billing_address.country
    then:
      - hold_fulfillment(reason='first_order_high_value', note='{{ order.total }} {{ order.currency }}')
      - notify_slack(channel='#ops', text='Order {{ order.number }} held for a look')
    mode: {mode}
"""


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, slack: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    settings = make_settings(database_url, tmp_path, mail, warehouse).model_copy(
        update={"slack": SlackSettings(webhook_url=slack.url)})  # type: ignore[arg-type]
    backroom = build(settings, clock=clock, migrate_schema=False)
    yield backroom
    backroom.close()


def body(ext: str, lines: dict[str, int], *, email: str | None = None, price: str = "20.00",
         ship_to: str = "GB", bill_to: str = "GB") -> bytes:
    def address(country: str) -> dict[str, str]:
        city, postal_code = {"GB": ("London", "SW1A 2AA"), "FR": ("Paris", "75001")}[country]
        return {"name": "Ada Lovelace", "line1": "1 High Street", "city": city, "postal_code": postal_code,
                "country": country}

    return json.dumps({
        "id": ext, "number": f"#{ext}", "email": email or f"{ext}@example.com", "customer_name": "Ada Lovelace",
        "currency": "GBP", "payment_state": "paid", "placed_at": "2026-11-27T09:00:00+00:00",
        "shipping_address": address(ship_to), "billing_address": address(bill_to),
        "lines": [{"sku": sku, "quantity": qty, "unit_price": price} for sku, qty in lines.items()],
    }).encode()


def apply(app: Backroom, text: str, store: str | None = None) -> list[rules_db.SaveResult]:
    return rules_db.save_rules(app.engine, app.store_id(store), parse_rules_text(text), "test", app.clock.now())


def order_id(app: Backroom, ext: str) -> int:
    return int(scalar(app, "SELECT id FROM orders WHERE external_id = :e", e=ext))


def firings(app: Backroom, rule: str) -> list[Any]:
    return rows(app, "SELECT d.subject_id, d.policy_version, d.inputs, d.outcome, d.shadow FROM decisions d"
                     " WHERE d.policy = :p ORDER BY d.id", p=f"rule:{rule}")


def test_a_live_hold_on_order_created_keeps_the_order_from_the_warehouse_and_slack_hears_once(
        app: Backroom, warehouse: HttpReceiver, slack: HttpReceiver, mail: MailCatcher) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, FRAUD_SHAPE.replace("{mode}", "live"))

    held = app.ingest_order(body("9001", {"LAMP": 1}, price="650.00", ship_to="FR"), {}, source="api")
    normal = app.ingest_order(body("9002", {"LAMP": 1}, price="650.00"), {}, source="api")
    app.drain()
    app.drain()

    assert (held.status, normal.status) == ("on_hold", "fulfillment_requested")
    assert scalar(app, "SELECT holds FROM orders WHERE id = :i", i=held.order_id) == ["rule_hold"]
    assert scalar(app, "SELECT count(*) FROM effects WHERE subject_id = :i AND kind = 'fulfillment_request'",
                  i=held.order_id) == 0
    assert [b["order_number"] for b in warehouse.bodies()] == ["#9002"]
    review = rows(app, "SELECT reason_code, allowed_actions, context->>'detail' FROM review_items"
                       " WHERE subject_id = :i", i=held.order_id)
    assert [tuple(r) for r in review] == [("first_order_high_value", ["approve", "cancel_order"], "650.0 GBP")]
    assert slack.bodies() == [{"text": "Order #9001 held for a look", "channel": "#ops"}]
    (fired,) = firings(app, "first_order_high_value")
    assert fired.subject_id == held.order_id
    assert fired.policy_version == "1"
    assert fired.inputs == {"order.total": 650.0, "customer.orders_count": 0,
                            "order.shipping_address.country": "FR", "order.billing_address.country": "GB"}
    assert fired.outcome["actions"] == [{"action": "hold_fulfillment", "result": "held"},
                                        {"action": "notify_slack", "result": "slack_message queued"}]
    assert fired.shadow is False
    # no confirmation email for the held order until a human approves it
    assert sorted(m["To"] for m in mail.messages) == ["9002@example.com"]

    outcome = app.handle(commands.ResolveReviewItem(
        int(scalar(app, "SELECT id FROM review_items WHERE subject_id = :i", i=held.order_id)), "approve", "ops"))
    app.drain()
    assert outcome == "hold cleared; fulfillment requested"
    assert sorted(b["order_number"] for b in warehouse.bodies()) == ["#9001", "#9002"]
    assert len(slack.requests) == 1


def test_shadow_records_what_it_would_do_and_does_nothing(app: Backroom, warehouse: HttpReceiver,
                                                          slack: HttpReceiver) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, FRAUD_SHAPE.replace("{mode}", "shadow"))

    result = app.ingest_order(body("9001", {"LAMP": 1}, price="650.00", ship_to="FR"), {}, source="api")
    app.drain()

    assert result.status == "fulfillment_requested"
    assert scalar(app, "SELECT count(*) FROM effects WHERE kind = 'slack_message'") == 0
    assert scalar(app, "SELECT count(*) FROM review_items") == 0
    assert slack.requests == []
    assert [b["order_number"] for b in warehouse.bodies()] == ["#9001"]
    (fired,) = firings(app, "first_order_high_value")
    assert fired.shadow is True
    assert fired.outcome == {"mode": "shadow", "subject": f"order:{result.order_id}", "would": [
        {"action": "hold_fulfillment", "params": {"reason": "first_order_high_value", "note": "650.0 GBP"}},
        {"action": "notify_slack", "params": {"channel": "#ops", "text": "Order #9001 held for a look"}}]}


def test_a_slack_webhook_that_keeps_failing_ends_in_the_review_queue(app: Backroom, slack: HttpReceiver) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, FRAUD_SHAPE.replace("{mode}", "live"))
    slack.status = 500

    app.ingest_order(body("9001", {"LAMP": 1}, price="650.00", ship_to="FR"), {}, source="api")
    app.drain()

    keys = slack.keys()
    rule_posts = [k for k in keys if k.startswith("rule:")]  # the alert about it goes to Slack too
    assert len(rule_posts) == 3  # max_attempts in the test settings
    assert len(set(rule_posts)) == 1
    assert scalar(app, "SELECT status FROM effects WHERE kind = 'slack_message'") == "failed"
    failed = rows(app, "SELECT reason_code, subject_type, allowed_actions FROM review_items"
                       " WHERE reason_code = 'action_failed' AND context->>'key' LIKE 'rule:%'")
    assert [tuple(r) for r in failed] == [("action_failed", "effect", ["retry", "dismiss"])]


def test_a_rule_that_fails_on_real_data_is_recorded_and_the_order_goes_on(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, """
rules:
  - name: needs_third_line
    when: order_created
    if: order.lines[2].quantity > 1
    then: [tag_order(tags='odd')]
    mode: live
""")
    result = app.ingest_order(body("9001", {"LAMP": 1}), {}, source="api")

    assert result.status == "fulfillment_requested"
    (fired,) = firings(app, "needs_third_line")
    assert fired.outcome == {"mode": "live", "error": "IndexError: index out of bounds: 2",
                             "subject": f"order:{result.order_id}"}
    assert scalar(app, "SELECT tags FROM orders WHERE id = :i", i=result.order_id) == []


def test_every_change_is_a_new_version_and_firings_name_the_version_that_fired(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    v1 = """
rules:
  - name: tag_big
    when: order_created
    if: order.item_count >= {n}
    then: [tag_order(tags='big')]
    mode: live
"""
    assert [(r.version, r.change) for r in apply(app, v1.format(n=3))] == [(1, "created")]
    assert [(r.version, r.change) for r in apply(app, v1.format(n=3))] == [(1, "unchanged")]
    app.ingest_order(body("a", {"LAMP": 3}), {}, source="api")
    assert [(r.version, r.change) for r in apply(app, v1.format(n=2))] == [(2, "new version")]
    app.ingest_order(body("b", {"LAMP": 2}), {}, source="api")
    rules_db.set_rule_mode(app.engine, app.store_id(), "tag_big", RuleMode.OFF, app.clock.now())
    app.ingest_order(body("c", {"LAMP": 5}), {}, source="api")

    history = rules_db.rule_history(app.engine, app.store_id(), "tag_big")
    assert [(h["version"], h["subject"], h["inputs"]) for h in history] == [
        (2, f"order:{order_id(app, 'b')}", {"order.item_count": 2}),
        (1, f"order:{order_id(app, 'a')}", {"order.item_count": 3}),
    ]
    detail = rules_db.rule_detail(app.engine, app.store_id(), "tag_big")
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["definition"]["if"] == "order.item_count >= 2"
    tags = dict(rows(app, "SELECT external_id, tags FROM orders"))
    assert tags == {"a": ["big"], "b": ["big"], "c": []}


def test_nothing_is_saved_when_one_rule_of_a_file_is_invalid(app: Backroom) -> None:
    with pytest.raises(RuleInvalid) as caught:
        apply(app, """
rules:
  - name: fine
    when: order_created
    then: [tag_order(tags='x')]
  - name: typo
    when: order_created
    if: order.totl > 5
    then: [tag_order(tags='x')]
""")
    assert caught.value.problems == {"typo": [
        "unknown field 'order.totl' (order has: billing_address, channel, currency, email, email_domain, holds, id, "
        "item_count, line_count, lines, number, payment_state, placed_at, priority, shipping_address, skus, status, "
        "tags, total); did you mean 'order.total'?"]}
    assert scalar(app, "SELECT count(*) FROM rules") == 0


def test_customer_history_counts_earlier_orders_in_and_across_batches(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (50, 0)})
    apply(app, """
rules:
  - name: count
    when: order_created
    if: 'true'
    then: [tag_order(tags='seen')]
    mode: shadow
""")
    app.ingest_order(body("1", {"LAMP": 1}, email="ada@example.com"), {}, source="api")
    batch = [commands.IncomingOrder(
        channel="api", external_id=ext, number=f"#{ext}", email="ada@example.com", customer_name="Ada",
        currency="GBP", payment_state=PaymentState.PAID,
        shipping_address=Address("Ada", "1 High Street", "London", "SW1A 2AA", "GB"), billing_address=None,
        lines=(OrderLine("LAMP", 1, Decimal("30.00")),), placed_at=app.clock.now())
        for ext in ("2", "3")]
    app.handle(commands.ImportOrders(tuple(batch)))
    app.ingest_order(body("4", {"LAMP": 1}, email="ada@example.com"), {}, source="api")

    seen = [(f.inputs, f.outcome["subject"]) for f in firings(app, "count")]
    assert [s for _, s in seen] == [f"order:{order_id(app, e)}" for e in "1234"]
    contexts = rows(app, "SELECT context->'customer' FROM events WHERE name = 'order_created' ORDER BY id")
    assert [(c[0]["orders_count"], c[0]["total_spent"], c[0]["first_order"]) for c in contexts] == [
        (0, 0.0, True), (1, 20.0, False), (2, 50.0, False), (3, 80.0, False)]


def test_a_per_order_limit_lets_a_rule_fire_once_per_order(app: Backroom, slack: HttpReceiver) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, """
rules:
  - name: review_ping
    when: review_item_created
    if: 'true'
    then:
      - "notify_slack(text='{{ order.number }}: {{ review.reason_code }}')"
    limit: {per: subject, max: 1}
    mode: live
""")
    # unknown SKU and a bad postal code: two review items for one order
    app.ingest_order(body("9001", {"NOPE": 1}).replace(b"SW1A 2AA", b"??"), {}, source="api")
    app.ingest_order(body("9002", {"NOPE": 1}), {}, source="api")
    app.drain()

    assert scalar(app, "SELECT count(*) FROM review_items WHERE subject_id = :i", i=order_id(app, "9001")) == 2
    assert sorted(b["text"] for b in slack.bodies()) == ["#9001: unknown_sku", "#9002: unknown_sku"]


def test_stock_low_fires_once_when_a_sku_crosses_its_threshold(app: Backroom, slack: HttpReceiver) -> None:
    seed_catalog(app, {"LAMP": (7, 0)})
    apply(app, """
rules:
  - name: low
    when: stock_low
    if: stock.available <= stock.threshold
    then:
      - notify_slack(text='{{ stock.sku }} {{ stock.available }}/{{ stock.threshold }}')
    mode: live
""")
    for n in range(4):
        app.ingest_order(body(f"o{n}", {"LAMP": 1}), {}, source="api")
    app.drain()

    assert [b["text"] for b in slack.bodies()] == ["LAMP 5/5"]


def test_a_dry_run_over_a_replayed_history_gives_the_firings_of_a_live_run(
        pg_server: str, template_db: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver) -> None:
    from backroom.adapters.db.engine import create_database, drop_database

    rule_file = """
rules:
  - name: repeat_buyer
    when: order_created
    if: customer.orders_count >= 1
    then: [tag_order(tags='repeat')]
    stop: true
  - name: big_order
    when: order_created
    if: order.item_count >= 3
    then: [set_priority(priority=5)]
  - name: low_stock
    when: stock_low
    if: 'true'
    then:
      - notify_slack(text='{{ stock.sku }}')
    limit: {per: subject, max: 1, window: 2h}
"""
    history = [(f"h{n}", {"LAMP": 1 + n % 4, "DESK": 1} if n % 2 else {"LAMP": 1 + n % 4}, f"buyer{n % 7}@example.com")
               for n in range(60)]

    def replay(db: str, rules_mode: str | None) -> tuple[Backroom, list[tuple[str, str, str]]]:
        url = create_database(pg_server, db, template=TEMPLATE)
        start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        clock = SimulatedClock(start)
        app = build(make_settings(url, tmp_path / db, mail, warehouse), clock=clock, migrate_schema=False)
        seed_catalog(app, {"LAMP": (120, 0), "DESK": (25, 0)})
        if rules_mode is not None:
            apply(app, rule_file.replace("    then:", f"    mode: {rules_mode}\n    then:"))
        for i, (ext, lines, email) in enumerate(history):
            clock.set(start + timedelta(minutes=7 * i))
            app.ingest_order(body(ext, lines, email=email), {}, source="api")
        fired = [(r.policy[5:], r.trigger, r.outcome["subject"]) for r in rows(
            app, "SELECT policy, trigger, outcome FROM decisions WHERE policy LIKE 'rule:%' ORDER BY id")]
        return app, fired

    tag = uuid.uuid4().hex[:8]
    plain, _ = replay(f"replay_plain_{tag}", None)
    shadow, shadow_fired = replay(f"replay_shadow_{tag}", "shadow")
    live, live_fired = replay(f"replay_live_{tag}", "live")
    try:
        report = rules_db.dry_run_rules(plain.engine, plain.store_id(), parse_rules_text(rule_file), since=None)
        dry = [(rule, event, subject) for rule, event, subject in report.firings]
        assert sorted(dry) == sorted(shadow_fired) == sorted(live_fired)
        # 60 orders from 7 buyers: all but each buyer's first is a repeat (and stops the rules after it); 5 first
        # orders have 3+ items; LAMP and DESK each cross the low-stock threshold once
        assert {r.name: (r.fired, r.limited, r.errors) for r in report.rules} == {
            "repeat_buyer": (53, 0, 0), "big_order": (5, 0, 0), "low_stock": (2, 0, 0)}
        assert len(dry) == 60
    finally:
        for app_, db in ((plain, "plain"), (shadow, "shadow"), (live, "live")):
            app_.close()
            drop_database(pg_server, f"replay_{db}_{tag}")


# -- consistency when rules act inside the transaction that raised the event ---------------------------------------


def stock_consistent(app: Backroom) -> list[Any]:
    """Per stock row: reserved as stored, and the sum of the reservations that claim it."""
    return [tuple(r) for r in rows(app, "SELECT s.sku, s.on_hand, s.reserved, coalesce(sum(r.quantity), 0)"
                                        " FROM stock_levels s LEFT JOIN reservations r ON r.sku = s.sku"
                                        " AND r.location_id = s.location_id GROUP BY s.id ORDER BY s.id")]


def import_batch(app: Backroom, *orders: tuple[str, int]) -> None:
    app.handle(commands.ImportOrders(tuple(commands.IncomingOrder(
        channel="api", external_id=ext, number=f"#{ext}", email=f"{ext}@example.com", customer_name="Ada",
        currency="GBP", payment_state=PaymentState.PAID,
        shipping_address=Address("Ada", "1 High Street", "London", "SW1A 2AA", "GB"), billing_address=None,
        lines=(OrderLine("LAMP", qty, Decimal("20.00")),), placed_at=app.clock.now()) for ext, qty in orders)))


def test_a_hold_released_in_the_same_batch_never_oversells(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    apply(app, """
rules:
  - name: hold_b
    when: order_created
    if: order.number == '#b'
    then: [hold_fulfillment(reason='check_b')]
    mode: live
  - name: release_b
    when: order_held
    if: 'true'
    then: [release_fulfillment]
    mode: live
""")
    import_batch(app, ("a", 3), ("b", 3))

    statuses = dict(rows(app, "SELECT external_id, status FROM orders"))
    assert statuses == {"a": "fulfillment_requested", "b": "backordered"}
    assert stock_consistent(app) == [("LAMP", 5, 5, 5), ("LAMP", 0, 0, 0)]
    assert scalar(app, "SELECT count(*) FROM review_items WHERE status = 'open' AND reason_code = 'check_b'") == 0


@pytest.mark.parametrize("trigger", ["stock_reserved", "fulfillment_requested"])
def test_a_rule_cancelling_later_in_the_transaction_releases_stock_and_sends_nothing(
        app: Backroom, warehouse: HttpReceiver, mail: MailCatcher, trigger: str) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    app.ingest_order(body("early", {"LAMP": 3}), {}, source="api")
    apply(app, f"""
rules:
  - name: cancel_big
    when: {trigger}
    if: order.item_count >= 2
    then: [cancel_order(reason='too many', confirm='auto')]
    mode: live
""")
    import_batch(app, ("late", 2))
    app.drain()

    late = order_id(app, "late")
    assert scalar(app, "SELECT status FROM orders WHERE id = :i", i=late) == "cancelled"
    assert stock_consistent(app) == [("LAMP", 10, 3, 3), ("LAMP", 0, 0, 0)]
    assert [b["order_number"] for b in warehouse.bodies()] == ["#early"]
    kinds = [tuple(r) for r in rows(app, "SELECT kind, payload->>'template' FROM effects WHERE subject_id = :i"
                                         " ORDER BY id", i=late)]
    assert kinds == [("email", "order_cancelled")]


def test_a_template_failing_on_real_data_fails_the_action_not_the_order(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, """
rules:
  - name: per_item
    when: order_created
    if: 'true'
    then:
      - "add_order_note(note='{{ order.total / (order.item_count - 2) }} per extra item')"
    mode: live
""")
    result = app.ingest_order(body("two", {"LAMP": 2}), {}, source="api")

    assert result.status == "fulfillment_requested"
    (fired,) = firings(app, "per_item")
    assert fired.outcome["actions"] == [
        {"action": "add_order_note", "result": "failed: ZeroDivisionError: float division by zero"}]
    review = rows(app, "SELECT reason_code, allowed_actions FROM review_items WHERE subject_id = :i",
                  i=result.order_id)
    assert [tuple(r) for r in review] == [("action_failed", ["dismiss"])]


def test_approving_a_rule_item_that_holds_nothing_does_not_lift_another_rules_hold(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, """
rules:
  - name: fraud
    when: order_created
    if: 'true'
    then: [hold_fulfillment(reason='fraud_check')]
    mode: live
  - name: fyi
    when: order_created
    if: 'true'
    then: [create_review_item(reason='big_order_fyi')]
    mode: live
""")
    result = app.ingest_order(body("x", {"LAMP": 1}), {}, source="api")
    items = dict(rows(app, "SELECT reason_code, id FROM review_items WHERE subject_id = :i", i=result.order_id))

    assert app.handle(commands.ResolveReviewItem(items["big_order_fyi"], "approve", "ops")) == "acknowledged"
    assert scalar(app, "SELECT status FROM orders WHERE id = :i", i=result.order_id) == "on_hold"
    assert app.handle(commands.ResolveReviewItem(items["fraud_check"], "approve", "ops")) == \
        "hold cleared; fulfillment requested"
    app.handle(commands.CancelOrder(result.order_id, "changed mind", "customer"))
    assert scalar(app, "SELECT count(*) FROM review_items WHERE status = 'open'") == 0


def test_approving_one_rule_hold_closes_the_other_hold_items_of_the_order(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    apply(app, """
rules:
  - name: plain_hold
    when: order_created
    if: 'true'
    then: [hold_fulfillment]
    mode: live
  - name: fraud
    when: order_created
    if: 'true'
    then: [hold_fulfillment(reason='fraud_check')]
    mode: live
""")
    result = app.ingest_order(body("x", {"LAMP": 1}), {}, source="api")
    items = dict(rows(app, "SELECT reason_code, id FROM review_items WHERE subject_id = :i", i=result.order_id))
    assert set(items) == {"rule_hold", "fraud_check"}

    assert app.handle(commands.ResolveReviewItem(items["rule_hold"], "approve", "ops")) == \
        "hold cleared; fulfillment requested"
    assert scalar(app, "SELECT count(*) FROM review_items WHERE status = 'open'") == 0
    assert scalar(app, "SELECT holds FROM orders WHERE id = :i", i=result.order_id) == []


def test_a_rule_may_not_borrow_a_system_reason_code(app: Backroom) -> None:
    with pytest.raises(RuleInvalid) as caught:
        apply(app, "rules:\n  - {name: r, when: order_created, then: [\"hold_fulfillment(reason='high_value')\"]}")
    assert caught.value.problems == {"r": [
        "hold_fulfillment: reason: Value error, 'high_value' is one of backroom's own reason codes;"
        " give the rule's reason its own name"]}


def test_saving_a_file_again_in_another_order_changes_the_order_rules_run_in(app: Backroom) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    rule = "  - {{name: {n}, when: order_created, stop: true, mode: live, then: [\"tag_order(tags='{n}')\"]}}\n"
    apply(app, "rules:\n" + rule.format(n="first") + rule.format(n="second"))
    app.ingest_order(body("a", {"LAMP": 1}), {}, source="api")
    apply(app, "rules:\n" + rule.format(n="second") + rule.format(n="first"))
    app.ingest_order(body("b", {"LAMP": 1}), {}, source="api")

    assert dict(rows(app, "SELECT external_id, tags FROM orders")) == {"a": ["first"], "b": ["second"]}


@pytest.mark.parametrize("allow_private", [True, False])
def test_call_webhook_posts_the_context_signed_and_refuses_private_addresses_unless_allowed(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, slack: HttpReceiver,
        clock: SimulatedClock, allow_private: bool) -> None:
    hook = slack  # any local receiver
    settings = make_settings(database_url, tmp_path, mail, warehouse).model_copy(update={"rules": RulesSettings(
        webhook_secret="hook-secret", webhook_allow_private=allow_private)})  # type: ignore[arg-type]
    app = build(settings, clock=clock, migrate_schema=False)
    try:
        seed_catalog(app, {"LAMP": (10, 0)})
        apply(app, f"""
rules:
  - name: hook
    when: order_created
    if: 'true'
    then:
      - "call_webhook(url='{hook.url}?token=abc')"
    mode: live
""")
        result = app.ingest_order(body("9001", {"LAMP": 1}), {}, source="api")
        app.drain()

        if allow_private:
            (request,) = hook.requests
            raw = request["body"]
            assert request["headers"]["X-Backroom-Signature"] == sign("hook-secret", raw)
            assert request["headers"]["Idempotency-Key"].startswith("rule:hook:v1:")
            assert request["headers"]["X-Backroom-Event"] == "order_created"
            sent = json.loads(raw)
            assert (sent["rule"], sent["version"], sent["subject_id"]) == ("hook", 1, result.order_id)
            assert sent["context"]["order"]["number"] == "#9001"
        else:
            assert hook.requests == []
            error = scalar(app, "SELECT last_error FROM effects WHERE kind = 'webhook_call'")
            assert error == ("EffectFailed: refused: 127.0.0.1 resolves to a non-public address (127.0.0.1); set "
                             "BACKROOM_RULES__WEBHOOK_ALLOW_PRIVATE=true to allow it")
            assert "token" not in error
            assert scalar(app, "SELECT status FROM effects WHERE kind = 'webhook_call'") == "failed"
    finally:
        app.close()


def test_stockout_expected_from_the_nightly_plan_reaches_a_rule_once_per_episode(
        app: Backroom, slack: HttpReceiver) -> None:
    from backroom.replenishment.commands import AssignSupplierItems, RecordSupplier, RunReplenishmentPlan
    from backroom.replenishment.suppliers import Supplier, SupplierItem

    seed_catalog(app, {"LAMP": (0, 0)})
    app.handle(RecordSupplier(Supplier("ACME", "Acme", "orders@acme.example", 7)))
    app.handle(AssignSupplierItems((SupplierItem("LAMP", "ACME", Decimal("4")),)))
    apply(app, """
rules:
  - name: stockout_heads_up
    when: stockout_expected
    if: event.late_on_order > 0 || event.on_order == 0
    then:
      - notify_slack(text='{{ stock.sku }} runs out on {{ event.stockout_on }} (order by {{ event.last_order_day }})')
    mode: live
""")
    yesterday = json.loads(body("o1", {"LAMP": 2}))
    yesterday["placed_at"] = "2026-11-26T10:00:00+00:00"
    app.ingest_order(json.dumps(yesterday).encode(), {}, source="api")  # backordered: nothing on hand
    app.handle(RunReplenishmentPlan())
    app.handle(RunReplenishmentPlan())  # the same episode: no second heads-up
    app.drain()

    assert [b["text"] for b in slack.bodies()] == ["LAMP runs out on 2026-11-27 (order by 2026-11-20)"]
