"""Flow files are data: the shipped ones load as written, and a broken one is refused with every problem named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.marketing.flow_fixtures import DAY, HOUR

from backroom.marketing.consent import MessageKind
from backroom.marketing.model import (
    Branch,
    CreateDiscount,
    Exit,
    FlowInvalid,
    SendEmail,
    Wait,
    builtin_flows,
    load_flows_text,
)


def problems(text: str) -> dict[str, list[str]]:
    with pytest.raises(FlowInvalid) as caught:
        load_flows_text(text)
    assert caught.value.code == "flow_invalid"
    return caught.value.problems


def test_shipped_flows_load_with_their_triggers_priorities_and_cooldowns() -> None:
    flows = builtin_flows()
    assert [(f.name, f.trigger.name, f.priority, f.reentry_cooldown) for f in flows] == [
        ("abandoned_checkout", "checkout_abandoned", 30, 7 * DAY),
        ("post_purchase", "order_delivered", 20, 14 * DAY),
        ("win_back", "customer_lapsed", 10, 30 * DAY),
    ]


def test_abandoned_checkout_reminds_after_an_hour_then_offers_an_expiring_discount_a_day_later() -> None:
    abandoned = builtin_flows()[0]
    assert abandoned.steps == (
        Wait(HOUR),
        SendEmail("abandoned_checkout_reminder", MessageKind.MARKETING),
        Wait(23 * HOUR),
        CreateDiscount(10, 72 * HOUR),
        SendEmail("abandoned_checkout_discount", MessageKind.MARKETING),
    )
    assert abandoned.exit.source == "enrollment.ordered_since || checkout.completed || customer.unsubscribed"
    assert abandoned.exit.paths == ("enrollment.ordered_since", "checkout.completed", "customer.unsubscribed")


def test_post_purchase_asks_for_a_review_then_cross_sells_unless_the_customer_ordered_again() -> None:
    post = builtin_flows()[1]
    assert post.steps[:3] == (Wait(7 * DAY), SendEmail("review_request", MessageKind.MARKETING), Wait(14 * DAY))
    branch = post.steps[3]
    assert isinstance(branch, Branch)
    assert (branch.condition.source, branch.then, branch.otherwise) == ("!enrollment.ordered_since", 4, None)
    assert post.steps[4] == SendEmail("cross_sell", MessageKind.MARKETING)


@pytest.mark.parametrize(("interval", "expected"), [
    (timedelta(days=20), timedelta(days=30)),  # 1.5 × the customer's own interval
    (timedelta(days=4), timedelta(days=21)),  # never sooner than three weeks
    (timedelta(days=200), timedelta(days=180)),  # never later than six months
    (None, timedelta(days=60)),  # one-time buyers
])
def test_win_back_waits_for_the_customers_own_repurchase_interval(interval: timedelta | None,
                                                                  expected: timedelta) -> None:
    wait = builtin_flows()[2].steps[0]
    assert isinstance(wait, Wait)
    assert wait.length(interval) == expected


def test_shorthand_steps_read_as_typed_steps() -> None:
    (flow,) = load_flows_text("""
flows:
  - name: thanks
    trigger: order_placed
    filter: true
    steps:
      - wait: 15m
      - id: check
        if: order.total >= 50.0
        else: bye
      - send_email: {template: thank_you, kind: transactional}
      - id: bye
        exit: too_small
""")
    assert flow.filter.source == "true"
    assert flow.exit.source == "false"
    assert flow.reentry_cooldown == timedelta(days=30)
    assert flow.steps[0] == Wait(timedelta(minutes=15))
    assert isinstance(flow.steps[1], Branch)
    assert (flow.steps[1].then, flow.steps[1].otherwise) == (2, 3)
    assert flow.steps[2:] == (SendEmail("thank_you", MessageKind.TRANSACTIONAL), Exit("too_small"))


def test_every_problem_of_every_flow_is_reported_at_once() -> None:
    found = problems("""
flows:
  - name: typo_trigger
    trigger: checkout_abandonned
    steps: [{wait: 5m}]
  - name: many_problems
    trigger: order_placed
    filter: order.total
    exit: order.totl > 1.0
    steps:
      - {id: start, wait: 5m}
      - {if: "order.total > 1.0", else: nowhere}
      - {if: "true", then: start}
      - {create_discount: {percent: 5, expires_in: 1d}}
      - {create_discount: {percent: 5, expires_in: 1d}}
""")
    assert found == {
        "typo_trigger": ["unknown trigger 'checkout_abandonned'; did you mean 'checkout_abandoned'?"],
        "many_problems": [
            "filter: condition must be true or false, but gives a float",
            "exit: unknown field 'order.totl' (order has: billing_address, channel, currency, email, email_domain, "
            "holds, id, item_count, line_count, lines, number, payment_state, placed_at, priority, "
            "shipping_address, skus, status, tags, total); did you mean 'order.total'?",
            "a flow creates at most one discount",
            "step 2: no step with id 'nowhere'",
            "step 3: 'start' is not a later step (jumps only go forward)",
        ],
    }


def test_malformed_fields_are_refused_before_compiling() -> None:
    found = problems("""
flows:
  - name: bad
    trigger: order_placed
    reentry_cooldown: a week
    steps:
      - wait: 5 min
      - wait: {repurchase_interval: 1.0}
      - create_discount: {percent: 95, expires_in: 1d}
  - name: bad
    trigger: order_placed
    steps: [{exit: done}]
  - name: bad
    trigger: order_placed
    steps: [{exit: done}]
""")
    assert found == {"bad": [
        "reentry_cooldown: Value error, 'a week' is not a duration like 15m, 24h or 90d",
        "steps.0.wait.duration: Value error, '5 min' is not a duration like 15m, 24h or 90d",
        "steps.1.wait: Value error, wait: a repurchase_interval wait needs `otherwise:` for customers with one order",
        "steps.2.create_discount.percent: Input should be less than or equal to 90",
        "the same name is used twice",
    ]}


def test_a_lapsed_customer_flow_reads_the_customer_and_has_no_order() -> None:
    (flow,) = load_flows_text("""
flows:
  - name: lapsed
    trigger: customer_lapsed
    filter: customer.days_since_last_order > customer.repurchase_interval_days
    steps: [{send_email: {template: miss_you}}]
""")
    assert flow.filter.paths == ("customer.days_since_last_order", "customer.repurchase_interval_days")
    found = problems("flows: [{name: lapsed, trigger: customer_lapsed, filter: 'order.total > 1.0', "
                     "steps: [{exit: done}]}]")
    assert found["lapsed"][0].startswith("filter: unknown field 'order' (the context has: customer, enrollment, "
                                         "event)")


def test_an_unknown_step_kind_is_named() -> None:
    found = problems("flows: [{name: typo, trigger: order_placed, steps: [{send_mail: {template: x}}]}]")
    assert found == {"typo": ["steps.0: Input tag 'send_mail' found using 'type' does not match any of the expected "
                              "tags: 'wait', 'condition', 'send_email', 'create_discount', 'exit'"]}


def test_a_file_without_a_flow_list_is_refused() -> None:
    assert problems("name: lonely\n") == {"file": ["expected a list of flows under 'flows:'"]}
    assert problems("flows: [")["file"][0].startswith("not valid YAML: ")
