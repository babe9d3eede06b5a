"""A customer's own repurchase interval (the median gap between purchases) and when a win-back flow counts them as
lapsed: the flow's first wait, counted from their last order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from tests.unit.marketing.flow_fixtures import DAY, HOUR, T0, facts, flow, started

from backroom.marketing.consent import MessageKind
from backroom.marketing.lapse import customer_object, lapse_after, lapsed_at, repurchase_interval, shortest_lapse
from backroom.marketing.model import load_flows_text
from backroom.marketing.steps import Send, Skip, decide


def test_the_interval_is_the_median_gap_and_orders_a_day_apart_are_one_purchase() -> None:
    assert repurchase_interval([]) is None
    assert repurchase_interval([T0]) is None
    assert repurchase_interval([T0, T0 + 2 * HOUR]) is None  # a forgotten item, not a second purchase
    assert repurchase_interval([T0 + 90 * DAY, T0, T0 + 30 * DAY, T0 + 40 * DAY]) == 30 * DAY  # gaps 30, 10, 50
    assert repurchase_interval([T0, T0 + 10 * DAY, T0 + 30 * DAY]) == 15 * DAY


@pytest.mark.parametrize(("orders", "lapsed"), [
    ([T0 - 100 * DAY, T0 - 70 * DAY, T0 - 40 * DAY], T0 + 5 * DAY),  # 1.5 x 30 days after the last
    ([T0 - 10 * DAY, T0 - 5 * DAY], T0 + 16 * DAY),  # 1.5 x 5 = 7.5 days: never sooner than 21
    ([T0 - 400 * DAY, T0 - 100 * DAY], T0 + 80 * DAY),  # 1.5 x 300 days: never later than 180
    ([T0 - 59 * DAY], T0 + DAY),  # one-time buyers: 60 days
])
def test_win_back_counts_a_customer_lapsed_at_their_own_time(orders: list[datetime], lapsed: datetime) -> None:
    assert lapsed_at(flow("win_back"), orders) == lapsed


def test_the_scan_reads_only_customers_quiet_for_the_shortest_possible_lapse() -> None:
    assert shortest_lapse(flow("win_back")) == 21 * DAY
    (plain,) = load_flows_text("flows: [{name: quiet, trigger: customer_lapsed, steps: [{send_email: {template: x}}]}]")
    assert shortest_lapse(plain) == timedelta(0)
    assert lapse_after(plain, 10 * DAY) == 10 * DAY
    assert lapse_after(plain, None) == 60 * DAY


def test_the_customer_object_conditions_read() -> None:
    assert customer_object("ada@example.com", [T0 - 40 * DAY, T0 - 10 * DAY], 60.0, T0) == {
        "email": "ada@example.com", "orders_count": 2, "total_spent": 60.0, "first_order": False,
        "repurchase_interval_days": 30.0, "days_since_last_order": 10.0}


def test_a_cross_sell_with_nothing_to_recommend_is_skipped_with_its_reason() -> None:
    post = flow("post_purchase")
    at_cross_sell = replace(started("post_purchase"), step=4)
    base = facts()
    none = replace(base, recommendations=())
    some = replace(base, recommendations=({"sku": "BULB", "title": "Bulb", "buyers": 2},))
    assert decide(at_cross_sell, post, none, T0) == Skip(4, "nothing_to_recommend")
    assert decide(at_cross_sell, post, some, T0) == Send(4, "flow:post_purchase:enr-7:step-5", "cross_sell",
                                                         MessageKind.MARKETING)
    assert isinstance(decide(at_cross_sell, post, base, T0), Send)  # not read: not skipped
