"""An enrollment walks its flow one decision at a time, and stops the moment it should."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.unit.marketing.flow_fixtures import CHECKOUT, DAY, HOUR, ORDER, T0, facts, flow, started, tick

from backroom.errors import Conflict
from backroom.marketing.consent import Consent, MessageKind
from backroom.marketing.enrollment import Enrollment, EntryRefused, Happened, Refused, State, enroll
from backroom.marketing.model import load_flows_text
from backroom.marketing.steps import (
    Complete,
    ExitFlow,
    MakeDiscount,
    MoveOn,
    Send,
    Skip,
    WaitUntil,
    apply,
    decide,
    defer,
    message_key,
    run,
)

ABANDONED = flow("abandoned_checkout")


def sent_keys(enrollment: Enrollment) -> list[str]:
    return [e.key for e in enrollment.history if e.what is Happened.SENT]


def test_the_full_abandoned_checkout_sequence_with_a_single_use_discount() -> None:
    e, d = tick(started(), ABANDONED, facts(), T0)
    assert d == WaitUntil(0, T0 + HOUR)
    assert (e.state, e.until) == (State.WAITING, T0 + HOUR)

    e, d = tick(e, ABANDONED, facts(), T0 + HOUR)
    assert d == Send(1, "flow:abandoned_checkout:enr-7:step-2", "abandoned_checkout_reminder", MessageKind.MARKETING)

    e, d = tick(e, ABANDONED, facts(), T0 + HOUR)
    assert d == WaitUntil(2, T0 + 24 * HOUR)

    e, d = tick(e, ABANDONED, facts(), T0 + 24 * HOUR)
    assert d == MakeDiscount(3, "flow:abandoned_checkout:enr-7:discount", 10, T0 + 24 * HOUR + 72 * HOUR)

    e, d = tick(e, ABANDONED, facts(), T0 + 24 * HOUR)
    assert d == Send(4, "flow:abandoned_checkout:enr-7:step-5", "abandoned_checkout_discount",
                     MessageKind.MARKETING, "flow:abandoned_checkout:enr-7:discount")

    e, d = tick(e, ABANDONED, facts(), T0 + 24 * HOUR)
    assert d == Complete()
    assert e.state is State.COMPLETED
    assert [(h.what, h.step) for h in e.history] == [
        (Happened.ENROLLED, 0), (Happened.WAITING, 0), (Happened.PASSED, 0), (Happened.SENT, 1),
        (Happened.WAITING, 2), (Happened.PASSED, 2), (Happened.DISCOUNT_CREATED, 3), (Happened.SENT, 4),
        (Happened.COMPLETED, 5),
    ]


def test_an_order_thirty_minutes_after_abandoning_means_no_email_at_all() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    e, d = tick(e, ABANDONED, facts(orders=1), T0 + HOUR)
    assert d == ExitFlow("exit_condition", ABANDONED.exit.source)
    assert e.state is State.EXITED
    assert e.exit_reason == "exit_condition"
    assert sent_keys(e) == []
    with pytest.raises(Conflict) as caught:
        decide(e, ABANDONED, facts(), T0 + 24 * HOUR)
    assert caught.value.code == "enrollment_finished"


def test_an_order_after_the_first_reminder_stops_the_second_and_the_discount() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    e, _ = tick(e, ABANDONED, facts(), T0 + HOUR)
    e, _ = tick(e, ABANDONED, facts(), T0 + HOUR)
    e, d = tick(e, ABANDONED, facts(orders=1), T0 + 24 * HOUR)
    assert d == ExitFlow("exit_condition", ABANDONED.exit.source)
    assert sent_keys(e) == ["flow:abandoned_checkout:enr-7:step-2"]
    assert e.discount_key == ""
    assert [h.what for h in e.history].count(Happened.DISCOUNT_CREATED) == 0


def test_a_checkout_completed_on_the_platform_also_ends_the_flow() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    done = facts(checkout={**CHECKOUT, "completed": True})
    assert tick(e, ABANDONED, done, T0 + HOUR)[1] == ExitFlow("exit_condition", ABANDONED.exit.source)


def test_unsubscribing_between_steps_means_nothing_more() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    e, _ = tick(e, ABANDONED, facts(), T0 + HOUR)
    e, _ = tick(e, ABANDONED, facts(), T0 + HOUR)
    e, d = tick(e, ABANDONED, facts(Consent.UNSUBSCRIBED), T0 + 24 * HOUR)
    assert d == ExitFlow("unsubscribed")
    assert (e.state, e.exit_reason, e.discount_key) == (State.EXITED, "unsubscribed", "")
    assert sent_keys(e) == ["flow:abandoned_checkout:enr-7:step-2"]


def test_a_hard_bounce_ends_the_flow() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    e, d = tick(e, ABANDONED, facts(bounced=True), T0 + HOUR)
    assert d == ExitFlow("bounced")
    assert sent_keys(e) == []


def test_without_marketing_consent_every_marketing_step_is_skipped_with_its_reason() -> None:
    e, _ = tick(started(), ABANDONED, facts(Consent.NEVER), T0)
    e, d = tick(e, ABANDONED, facts(Consent.NEVER), T0 + HOUR)
    assert d == WaitUntil(2, T0 + 24 * HOUR)
    e, d = tick(e, ABANDONED, facts(Consent.NEVER), T0 + 24 * HOUR)
    assert d == Complete()
    skipped = [(h.step, h.reason) for h in e.history if h.what is Happened.SKIPPED]
    assert skipped == [(1, "no_marketing_consent"), (3, "no_marketing_consent"), (4, "no_marketing_consent")]
    assert sent_keys(e) == []


def test_transactional_mail_ignores_marketing_consent_but_not_a_bounce() -> None:
    (notice,) = load_flows_text("""
flows:
  - name: delivery_notice
    trigger: order_delivered
    steps:
      - send_email: {template: delivered, kind: transactional}
""")
    for consent in Consent:
        d = decide(started("delivery_notice"), notice, facts(consent), T0)
        assert d == Send(0, "flow:delivery_notice:enr-7:step-1", "delivered", MessageKind.TRANSACTIONAL)
    assert decide(started("delivery_notice"), notice, facts(bounced=True), T0) == ExitFlow("bounced")


def test_the_filter_is_rechecked_right_before_a_message() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    emptied = facts(checkout={**CHECKOUT, "total": 0.0})
    e, d = tick(e, ABANDONED, emptied, T0 + HOUR)
    assert d == ExitFlow("filter_no_longer_matches", ABANDONED.filter.source)
    assert sent_keys(e) == []


def test_polling_before_a_wait_ends_records_nothing_new() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    again, d = tick(e, ABANDONED, facts(), T0 + 30 * timedelta(minutes=1))
    assert d == WaitUntil(0, T0 + HOUR)
    assert again == e


def test_waits_count_from_when_the_previous_wait_ended_not_from_a_late_timer() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    late = T0 + HOUR + timedelta(minutes=7)
    e, d = run(e, ABANDONED, facts(), late)
    assert isinstance(d, Send)
    assert e.step_since == T0 + HOUR
    e = apply(e, d, late)
    assert tick(e, ABANDONED, facts(), late)[1] == WaitUntil(2, late + 23 * HOUR)


def test_a_deferred_message_keeps_its_key_and_is_rechecked_when_it_comes_back() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    e, d = run(e, ABANDONED, facts(), T0 + HOUR)
    assert isinstance(d, Send)
    e = defer(e, d, T0 + 17 * HOUR, "frequency_cap", T0 + HOUR)
    assert (e.state, e.until, e.history[-1].reason) == (State.DEFERRED, T0 + 17 * HOUR, "frequency_cap")
    assert run(e, ABANDONED, facts(), T0 + 17 * HOUR)[1] == d
    assert run(e, ABANDONED, facts(orders=1), T0 + 17 * HOUR)[1] == ExitFlow("exit_condition",
                                                                             ABANDONED.exit.source)


def test_post_purchase_cross_sell_is_dropped_for_a_customer_who_ordered_again() -> None:
    post = flow("post_purchase")
    e, _ = tick(started("post_purchase"), post, facts(), T0)
    e, d = tick(e, post, facts(), T0 + 7 * DAY)
    assert d == Send(1, "flow:post_purchase:enr-7:step-2", "review_request", MessageKind.MARKETING)
    e, _ = tick(e, post, facts(), T0 + 7 * DAY)
    e, d = tick(e, post, facts(orders=1), T0 + 21 * DAY)
    assert d == ExitFlow("condition_chose_exit", "!enrollment.ordered_since")
    assert sent_keys(e) == ["flow:post_purchase:enr-7:step-2"]


def test_post_purchase_stops_for_a_refunded_order() -> None:
    post = flow("post_purchase")
    e, _ = tick(started("post_purchase"), post, facts(), T0)
    refunded = facts(order={**ORDER, "status": "refunded"})
    assert tick(e, post, refunded, T0 + 7 * DAY)[1] == ExitFlow("exit_condition", post.exit.source)


def test_win_back_waits_for_the_customers_interval_then_offers_a_discount() -> None:
    win = flow("win_back")
    e, d = tick(started("win_back"), win, facts(interval=timedelta(days=40)), T0)
    assert d == WaitUntil(0, T0 + 60 * DAY)
    e, d = tick(e, win, facts(interval=timedelta(days=40)), T0 + 60 * DAY)
    assert d == MakeDiscount(1, "flow:win_back:enr-7:discount", 15, T0 + 74 * DAY)
    e, d = tick(e, win, facts(interval=timedelta(days=40)), T0 + 60 * DAY)
    assert d == Send(2, "flow:win_back:enr-7:step-3", "win_back", MessageKind.MARKETING,
                     "flow:win_back:enr-7:discount")


def test_the_discount_is_created_at_most_once_per_enrollment() -> None:
    e, _ = tick(started(), ABANDONED, facts(), T0)
    e, _ = tick(e, ABANDONED, facts(), T0 + HOUR)
    e, _ = tick(e, ABANDONED, facts(), T0 + HOUR)
    e, d = run(e, ABANDONED, facts(), T0 + 24 * HOUR)
    assert isinstance(d, MakeDiscount)
    created = apply(e, d, T0 + 24 * HOUR)
    replayed = replace(created, step=3)  # a retried job that saw the discount made but not the step moved
    assert decide(replayed, ABANDONED, facts(), T0 + 24 * HOUR) == MoveOn(3, 4, T0 + 24 * HOUR,
                                                                          "discount already created")


def test_message_keys_are_stable_and_name_flow_enrollment_and_step() -> None:
    assert message_key("abandoned_checkout", "42", 0) == "flow:abandoned_checkout:enr-42:step-1"


def test_a_skip_records_its_reason_and_moves_on() -> None:
    e = apply(started(), Skip(1, "no_marketing_consent"), T0)
    assert (e.step, e.state, e.history[-1].reason) == (2, State.ACTIVE, "no_marketing_consent")


# --- entry and re-entry -------------------------------------------------------------------------------------------


def context() -> dict[str, object]:
    return {"checkout": CHECKOUT}


def test_a_customer_is_enrolled_with_the_first_step_ahead() -> None:
    e = enroll(ABANDONED, "7", "c-1", context(), T0, subject_id="501")
    assert e == started()
    assert [h.what for h in e.history] == [Happened.ENROLLED]


def test_re_entry_within_the_cooldown_is_refused_and_says_when_it_ends() -> None:
    finished = apply(started(), ExitFlow("exit_condition"), T0 + HOUR)
    assert enroll(ABANDONED, "8", "c-1", context(), T0 + 6 * DAY, [finished]) == Refused(EntryRefused.COOLDOWN,
                                                                                        T0 + 7 * DAY)
    again = enroll(ABANDONED, "8", "c-1", context(), T0 + 7 * DAY, [finished])
    assert isinstance(again, Enrollment)
    assert (again.id, again.enrolled_at) == ("8", T0 + 7 * DAY)


def test_a_customer_already_in_the_flow_is_not_enrolled_twice() -> None:
    assert enroll(ABANDONED, "8", "c-1", context(), T0 + 30 * DAY, [started()]) == Refused(
        EntryRefused.ALREADY_ENROLLED)


def test_another_customer_or_another_flow_does_not_count_towards_the_cooldown() -> None:
    other_customer = started(customer_id="c-2")
    other_flow = started("post_purchase")
    assert isinstance(enroll(ABANDONED, "8", "c-1", context(), T0, [other_customer, other_flow]), Enrollment)


def test_a_checkout_the_filter_rejects_is_not_enrolled() -> None:
    no_email = {"checkout": {**CHECKOUT, "email": ""}}
    assert enroll(ABANDONED, "8", "c-1", no_email, T0) == Refused(EntryRefused.FILTER)
