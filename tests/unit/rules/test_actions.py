"""Every action, through the real order handlers and the real engine, on an in-memory unit of work."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.unit.rules.helpers import FR, GB, import_with_rules, incoming

from backroom.orders.model import CustomerStats, OrderLine, OrderStatus, Reservation


def rule(then: str, when: str = "order_created", condition: str = "true", mode: str = "live") -> str:
    return f"""
rules:
  - name: r
    when: {when}
    if: '{condition}'
    then:
{then}
    mode: {mode}
"""


def test_tag_order_adds_only_missing_tags() -> None:
    uow = import_with_rules(rule("      - tag_order(tags=['vip', 'gift'])\n      - tag_order(tags='vip')"))
    order = uow.orders.get(1)
    assert order.tags == ("vip", "gift")
    (decision,) = uow.rule_decisions()
    assert decision.outcome["actions"] == [{"action": "tag_order", "result": "tagged vip, gift"},
                                           {"action": "tag_order", "result": "already tagged"}]
    assert decision.policy == "rule:r"
    assert decision.policy_version == "1"
    assert decision.shadow is False


def test_hold_fulfillment_on_order_created_stops_the_warehouse_request_and_confirmation() -> None:
    uow = import_with_rules(rule("      - hold_fulfillment(reason='manual_check', note='over {{ order.total }}')"))
    order = uow.orders.get(1)
    assert order.status == OrderStatus.ON_HOLD
    assert {h.value for h in order.holds} == {"rule_hold"}
    assert uow.kinds() == []
    (review,) = uow.reviews
    assert (review.reason_code, review.allowed_actions, review.context["detail"]) == (
        "manual_check", ("approve", "cancel_order"), "over 25.0")
    assert review.title == "Order #1001: held by rule r (over 25.0)"
    assert order.reservations == [Reservation("MUG", 1, 2)]  # the stock stays reserved for it
    assert uow.stock.levels["MUG"][0].reserved == 2
    assert uow.event_names() == ["order_created", "review_item_created", "order_held", "stock_reserved"]


def test_hold_fulfillment_later_in_the_same_transaction_withdraws_the_unsent_request() -> None:
    uow = import_with_rules(rule("      - hold_fulfillment", when="fulfillment_requested"))
    order = uow.orders.get(1)
    assert order.status == OrderStatus.ON_HOLD
    assert uow.kinds() == []  # the request and the confirmation email were never written
    assert uow.event_names()[-2:] == ["review_item_created", "order_held"]


def test_release_fulfillment_lifts_a_rule_hold_and_sends_the_order_on() -> None:
    text = """
rules:
  - name: hold
    when: order_created
    if: 'true'
    then: [hold_fulfillment(reason='check')]
    mode: live
  - name: release
    when: order_held
    if: event.reason == 'check'
    then: [release_fulfillment]
    mode: live
"""
    uow = import_with_rules(text)
    order = uow.orders.get(1)
    assert order.status == OrderStatus.FULFILLMENT_REQUESTED
    assert order.holds == set()
    assert uow.kinds() == ["fulfillment_request", "email"]
    assert uow.resolved == [("order", 1, None, True)]
    assert uow.reviews == []  # the hold's review item was closed before it was ever written


def test_release_fulfillment_never_lifts_a_system_hold() -> None:
    uow = import_with_rules(rule("      - release_fulfillment"),
                            incoming(payment_state=incoming().payment_state.FAILED))
    order = uow.orders.get(1)
    assert order.status == OrderStatus.ON_HOLD
    assert {h.value for h in order.holds} == {"payment_failed"}
    assert uow.rule_decisions()[0].outcome["actions"] == [
        {"action": "release_fulfillment", "result": "not held by a rule"}]


def test_add_order_note_renders_its_template() -> None:
    uow = import_with_rules(rule("      - add_order_note(note='{{ customer.orders_count }} earlier orders')"),
                            history={"ada@example.com": CustomerStats(4, Decimal("80"))})
    assert uow.orders.get(1).notes == [{"at": "2026-11-27T10:00:00+00:00", "by": "rule:r", "text": "4 earlier orders"}]


def test_create_review_item_puts_the_order_in_the_queue_without_holding_it() -> None:
    uow = import_with_rules(rule("      - create_review_item(reason='big_spender', title='{{ order.number }} spends')"))
    (review,) = uow.reviews
    assert (review.reason_code, review.subject_type, review.subject_id, review.title, review.allowed_actions) == (
        "big_spender", "order", 1, "#1001 spends", ("approve", "cancel_order", "dismiss"))
    assert uow.orders.get(1).status == OrderStatus.FULFILLMENT_REQUESTED
    assert "review_item_created" in uow.event_names()


def test_send_email_to_the_customer_is_an_effect_with_a_stable_key_prefix() -> None:
    uow = import_with_rules(rule(
        "      - send_email(to='customer', subject='About {{ order.number }}', body='Hello {{ order.email }}')"))
    email = [e for e in uow.effects_requested if e.automation == "rules"]
    assert [(e.kind, e.payload) for e in email] == [("email", {
        "template": "message", "to": "ada@example.com",
        "context": {"subject": "About #1001", "body": "Hello ada@example.com"}})]
    assert re.fullmatch(r"rule:r:v1:[0-9a-f]{12}-1:0", email[0].key)
    assert email[0].subject_id == 1


def test_notify_slack_and_call_webhook_are_effects() -> None:
    uow = import_with_rules(rule("      - notify_slack(channel='#ops', text='{{ order.number }}')\n"
                                 "      - call_webhook(url='https://example.com/hook')"))
    slack, hook = [e for e in uow.effects_requested if e.automation == "rules"]
    assert (slack.kind, slack.payload) == ("slack_message", {"channel": "#ops", "text": "#1001"})
    assert hook.kind == "webhook_call"
    assert hook.payload["url"] == "https://example.com/hook"
    assert hook.payload["body"]["event"] == "order_created"
    assert hook.payload["body"]["context"]["order"]["number"] == "#1001"
    assert slack.key != hook.key


def test_set_priority() -> None:
    uow = import_with_rules(rule("      - set_priority(priority=7)"))
    assert uow.orders.get(1).priority == 7


def test_cancel_order_goes_to_review_unless_the_rule_says_auto() -> None:
    uow = import_with_rules(rule("      - cancel_order(reason='looks odd')"))
    order = uow.orders.get(1)
    assert order.status == OrderStatus.ON_HOLD
    (review,) = uow.reviews
    assert (review.reason_code, review.allowed_actions) == ("cancel_requested", ("cancel_order", "approve"))

    uow = import_with_rules(rule("      - cancel_order(reason='looks odd', confirm='auto')"))
    order = uow.orders.get(1)
    assert order.status == OrderStatus.CANCELLED
    assert order.reservations == []
    assert uow.stock.levels["MUG"][0].reserved == 0
    assert "fulfillment_request" not in uow.kinds()


def test_shadow_runs_no_action_and_records_what_it_would_have_done() -> None:
    uow = import_with_rules(rule("      - hold_fulfillment\n      - notify_slack(text='{{ order.number }}')",
                                 mode="shadow"))
    order = uow.orders.get(1)
    assert order.status == OrderStatus.FULFILLMENT_REQUESTED
    assert order.holds == set()
    assert [e.automation for e in uow.effects_requested] == ["fulfillment", "customer_emails"]
    (decision,) = uow.rule_decisions()
    assert decision.shadow is True
    assert decision.outcome == {"mode": "shadow", "subject": "order:1", "would": [
        {"action": "hold_fulfillment", "params": {"reason": "rule_hold", "note": ""}},
        {"action": "notify_slack", "params": {"channel": "", "text": "#1001"}}]}


def test_the_condition_sees_the_order_and_the_customers_history() -> None:
    history = {"ada@example.com": CustomerStats(2, Decimal("40.00"))}
    condition = ("order.total > 500 && customer.orders_count == 0 "
                 "&& order.shipping_address.country != order.billing_address.country")
    big = (OrderLine("MUG", 1, Decimal("600.00")),)
    fired = import_with_rules(rule("      - tag_order(tags='x')", condition=condition),
                              incoming(lines=big, shipping_address=FR, billing_address=GB))
    not_first = import_with_rules(rule("      - tag_order(tags='x')", condition=condition),
                                  incoming(lines=big, shipping_address=FR, billing_address=GB), history=history)
    same_country = import_with_rules(rule("      - tag_order(tags='x')", condition=condition), incoming(lines=big))
    assert [len(u.rule_decisions()) for u in (fired, not_first, same_country)] == [1, 0, 0]
    assert fired.rule_decisions()[0].inputs == {"order.total": 600.0, "customer.orders_count": 0,
                                         "order.shipping_address.country": "FR",
                                         "order.billing_address.country": "GB"}


def test_two_orders_of_a_new_customer_in_one_batch_see_each_other() -> None:
    uow = import_with_rules(rule("      - tag_order(tags='x')"), incoming(external_id="a"), incoming(external_id="b"))
    contexts = [ctx for e, ctx in uow.events if e.name == "order_created"]
    assert [c["customer"]["orders_count"] for c in contexts if c] == [0, 1]
    assert [c["customer"]["total_spent"] for c in contexts if c] == [0.0, 25.0]


def test_a_condition_error_is_recorded_and_the_order_goes_on() -> None:
    uow = import_with_rules(rule("      - tag_order(tags='x')", condition="order.lines[3].quantity > 1"))
    (decision,) = uow.rule_decisions()
    assert decision.outcome["error"] == "IndexError: index out of bounds: 3"
    assert uow.orders.get(1).status == OrderStatus.FULFILLMENT_REQUESTED
    assert uow.orders.get(1).tags == ()


def test_events_raised_by_rules_cascade_no_deeper_than_the_limit() -> None:
    text = """
rules:
  - name: loop
    when: review_item_created
    if: 'true'
    then: [create_review_item(reason='again')]
    mode: live
"""
    uow = import_with_rules(text, incoming(lines=(OrderLine("NOPE", 1, Decimal("5")),)))
    # unknown SKU opens one item; the rule answers it, and each of its items raises the event again, 3 deep
    assert [r.reason_code for r in uow.reviews] == ["unknown_sku", "again", "again", "again"]


def test_stock_low_is_raised_once_when_available_falls_to_the_threshold() -> None:
    text = rule("      - notify_slack(text='{{ stock.sku }} {{ stock.available }}')", when="stock_low")
    uow = import_with_rules(text, incoming(external_id="a"), incoming(external_id="b"), incoming(external_id="c"),
                            stock={"MUG": 8}, thresholds={"MUG": 4})
    slack = [e.payload["text"] for e in uow.effects_requested if e.kind == "slack_message"]
    assert slack == ["MUG 4"]
