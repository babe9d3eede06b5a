"""The alert checks over a store's snapshot: review queue size and age, a quiet store, an error rate that jumps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backroom.alerts import checks
from backroom.alerts.hours import BusinessHours
from backroom.alerts.model import (
    Alert,
    AlertKind,
    AlertPolicy,
    FailedEffects,
    RateCounts,
    ReviewHead,
    StoreSnapshot,
)

POLICY = AlertPolicy(BusinessHours.parse("Mon-Fri 09:00-18:00"))
FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def snapshot(now: datetime = FRIDAY_NOON, timezone: str = "UTC", **kw: Any) -> StoreSnapshot:
    return StoreSnapshot("demo", timezone, now, **kw)


# --- review queue size -----------------------------------------------------------------------------------------


def test_a_queue_at_its_clear_level_raises_nothing() -> None:
    assert checks.clear_level(50) == 40
    assert checks.review_queue_size(snapshot(open_reviews=40), POLICY) == []


def test_a_queue_over_its_limit_raises_one_alert() -> None:
    assert checks.review_queue_size(snapshot(open_reviews=51), POLICY) == [Alert(
        AlertKind.REVIEW_QUEUE_SIZE, "queue", "Review queue: 51 open items",
        "51 items wait for a human in the review queue (the limit is 50; the alert clears at 40 or fewer). "
        "See them with: backroom review list --store demo",
        {"open_items": 51, "limit": 50, "clears_at": 40})]


@pytest.mark.parametrize("size", [41, 50])
def test_a_queue_between_its_clear_level_and_its_limit_keeps_an_open_alert_but_opens_none(size: int) -> None:
    (alert,) = checks.review_queue_size(snapshot(open_reviews=size), POLICY)
    assert (alert.kind, alert.subject, alert.opens) == (AlertKind.REVIEW_QUEUE_SIZE, "queue", False)


@pytest.mark.parametrize(("limit", "clear"), [(1, 0), (2, 1), (5, 4), (10, 8), (51, 40)])
def test_the_clear_level_is_80_percent_of_the_limit_rounded_down(limit: int, clear: int) -> None:
    assert checks.clear_level(limit) == clear


def test_a_queue_limit_of_zero_turns_the_size_check_off() -> None:
    assert checks.review_queue_size(snapshot(open_reviews=10_000), replace(POLICY, review_queue_max=0)) == []


# --- review queue age ------------------------------------------------------------------------------------------


def test_an_item_younger_than_80_percent_of_the_limit_raises_nothing() -> None:
    head = ReviewHead(7, "address_invalid", FRIDAY_NOON - timedelta(hours=19, minutes=11))
    assert checks.review_queue_age(snapshot(open_reviews=1, oldest_review=head), POLICY) == []


@pytest.mark.parametrize("waited", [timedelta(hours=19, minutes=12), timedelta(hours=23, minutes=59)])
def test_an_item_between_80_percent_of_the_limit_and_the_limit_keeps_an_open_alert_but_opens_none(
    waited: timedelta,
) -> None:
    head = ReviewHead(7, "address_invalid", FRIDAY_NOON - waited)
    (alert,) = checks.review_queue_age(snapshot(open_reviews=1, oldest_review=head), POLICY)
    assert alert.opens is False


def test_the_oldest_item_reaching_the_age_limit_raises_an_alert_in_the_store_s_time() -> None:
    head = ReviewHead(7, "address_invalid", FRIDAY_NOON - timedelta(hours=26, minutes=30))
    found = checks.review_queue_age(
        snapshot(timezone="Europe/Berlin", open_reviews=3, overdue_reviews=2, oldest_review=head), POLICY)
    assert found == [Alert(
        AlertKind.REVIEW_QUEUE_AGE, "queue", "Review queue: item #7 has waited 26 h 30 min",
        "The oldest open review item, #7 (address_invalid), was opened 2026-11-26 10:30 Europe/Berlin. 2 open items "
        "have waited 24 h or longer. See it with: backroom review show 7 --store demo",
        {"oldest_item_id": 7, "reason_code": "address_invalid", "waited_h": 26.5, "overdue_items": 2,
         "limit_h": 24.0})]
    assert found[0].opens


def test_an_empty_queue_or_an_age_limit_of_zero_raises_nothing() -> None:
    head = ReviewHead(7, "backorder", FRIDAY_NOON - timedelta(days=30))
    assert checks.review_queue_age(snapshot(), POLICY) == []
    assert checks.review_queue_age(snapshot(oldest_review=head), replace(POLICY, review_age_max=timedelta(0))) == []


# --- quiet store -----------------------------------------------------------------------------------------------


def test_a_store_silent_for_less_than_the_quiet_period_raises_nothing() -> None:
    s = snapshot(now=datetime(2026, 11, 27, 10, 59, tzinfo=UTC), last_input_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert checks.store_quiet(s, POLICY) == []


def test_a_store_silent_for_the_quiet_period_in_business_hours_raises_an_alert() -> None:
    s = snapshot(now=datetime(2026, 11, 27, 11, 0, tzinfo=UTC), last_input_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert checks.store_quiet(s, POLICY) == [Alert(
        AlertKind.STORE_QUIET, "inputs", "No input from the store for 2 h of business hours",
        "No input from the store has been processed since 2026-11-27 09:00 UTC: 2 h within business hours "
        "(Mon-Fri 09:00-18:00, UTC), and the quiet period is 2 h. Check the store's webhooks and connection, and "
        "rejected inputs.",
        {"last_input_at": "2026-11-27T09:00:00+00:00", "silent_business_min": 120, "quiet_period_min": 120})]


def test_nights_and_weekends_do_not_count_as_silence() -> None:
    # last input Friday 17:00; by Monday 09:59 the store has been silent for 1 h 59 min of business hours
    last = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert checks.store_quiet(snapshot(now=datetime(2026, 11, 30, 9, 59, tzinfo=UTC), last_input_at=last), POLICY) == []
    (alert,) = checks.store_quiet(snapshot(now=datetime(2026, 11, 30, 10, 0, tzinfo=UTC), last_input_at=last), POLICY)
    assert alert.detail["silent_business_min"] == 120


def test_a_silent_store_outside_business_hours_is_not_checked_so_its_alert_stays_as_it_is() -> None:
    s = snapshot(now=datetime(2026, 11, 27, 19, 0, tzinfo=UTC), last_input_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert checks.store_quiet(s, POLICY) is None
    assert AlertKind.STORE_QUIET not in checks.run_checks(s, POLICY).checked


def test_a_store_that_spoke_again_is_checked_even_outside_business_hours() -> None:
    s = snapshot(now=datetime(2026, 11, 28, 19, 0, tzinfo=UTC), last_input_at=datetime(2026, 11, 28, 18, 0, tzinfo=UTC))
    assert checks.store_quiet(s, POLICY) == []
    assert AlertKind.STORE_QUIET in checks.run_checks(s, POLICY).checked


def test_business_hours_are_the_store_s_own() -> None:
    # New York: 09:00 EST is 14:00 UTC; at 16:00 UTC (11:00 there) two business hours have passed
    s = snapshot(now=datetime(2026, 11, 27, 16, 0, tzinfo=UTC), timezone="America/New_York",
                 last_input_at=datetime(2026, 11, 27, 13, 0, tzinfo=UTC))
    (alert,) = checks.store_quiet(s, POLICY) or []
    assert alert.text.startswith(
        "No input from the store has been processed since 2026-11-27 08:00 America/New_York: 2 h ")


def test_a_store_with_no_input_processed_ever_is_not_silent() -> None:
    assert checks.store_quiet(snapshot(now=datetime(2026, 11, 30, 17, 0, tzinfo=UTC)), POLICY) == []


# --- error rate ------------------------------------------------------------------------------------------------


def rates(**by_automation: RateCounts) -> StoreSnapshot:
    return snapshot(error_rates=by_automation)


def test_a_jump_to_at_least_three_times_the_baseline_and_the_floor_raises_an_alert() -> None:
    # 3 of 20 is exactly 3 × (10 of 200): at the threshold counts (compared exactly, not as floats)
    found = checks.error_rates(rates(fulfillment=RateCounts(20, 3, 200, 10)), POLICY)
    assert found == [Alert(
        AlertKind.ERROR_RATE, "fulfillment", "Error rate of fulfillment: 15%",
        "3 of 20 runs of fulfillment (15%) failed or needed a retry in the last 1 h, against 5% (10 of 200) in the "
        "24 h before.",
        {"automation": "fulfillment", "recent": 20, "recent_errors": 3, "rate": 0.15, "baseline": 200,
         "baseline_errors": 10, "baseline_rate": 0.05})]


@pytest.mark.parametrize("counts", [
    RateCounts(20, 2, 200, 10),  # 10 %: over the floor but only twice the baseline
    RateCounts(20, 0, 0, 0),  # no errors at all
    RateCounts(19, 19, 200, 0),  # too few recent runs to judge
    RateCounts(0, 0, 200, 100),  # nothing ran lately
    RateCounts(100, 4, 200, 0),  # 4 %: a jump from nothing, but under the 5 % floor
])
def test_no_alert_below_the_jump_the_floor_or_the_minimum_of_runs(counts: RateCounts) -> None:
    assert checks.error_rates(rates(fulfillment=counts), POLICY) == []


def test_a_rate_exactly_at_the_floor_with_no_errors_before_raises_an_alert() -> None:
    (alert,) = checks.error_rates(rates(customer_emails=RateCounts(20, 1, 500, 0)), POLICY)
    assert (alert.subject, alert.title) == ("customer_emails", "Error rate of customer_emails: 5%")


def test_a_baseline_with_too_few_runs_is_ignored_and_the_floor_alone_decides() -> None:
    # the 10 runs before failed half the time; that says nothing, so 15 % over the 5 % floor is an alert
    (alert,) = checks.error_rates(rates(rules=RateCounts(20, 3, 10, 5)), POLICY)
    assert alert.text == ("3 of 20 runs of rules (15%) failed or needed a retry in the last 1 h, with too few runs "
                          "to compare (10) in the 24 h before.")
    assert alert.detail["baseline_rate"] is None


def test_alert_deliveries_never_raise_an_error_rate_alert_and_others_come_in_name_order() -> None:
    everything_failed = RateCounts(50, 50, 0, 0)
    found = checks.error_rates(rates(rules=everything_failed, alerts=everything_failed,
                                     fulfillment=everything_failed), POLICY)
    assert [a.subject for a in found] == ["fulfillment", "rules"]


def test_an_error_rate_window_of_zero_turns_the_check_off() -> None:
    policy = replace(POLICY, error_rate_window=timedelta(0))
    assert checks.error_rates(rates(fulfillment=RateCounts(50, 50, 0, 0)), policy) == []


# --- all checks together, and the effect that gave up ----------------------------------------------------------


def test_run_checks_reports_every_alert_and_every_kind_it_checked() -> None:
    s = snapshot(open_reviews=60, error_rates={"fulfillment": RateCounts(20, 20, 0, 0)},
                 input_rates=RateCounts(20, 20, 0, 0),
                 failed_effects={"customer_emails:email": FailedEffects("customer_emails", "email", 3, 9, "X")})
    result = checks.run_checks(s, POLICY)
    assert [(a.kind, a.subject) for a in result.alerts] == [
        (AlertKind.EFFECT_FAILED, "customer_emails:email"), (AlertKind.REVIEW_QUEUE_SIZE, "queue"),
        (AlertKind.ERROR_RATE, "fulfillment"), (AlertKind.INPUTS_FAILING, "inputs")]
    assert result.checked == set(AlertKind)


def test_an_effect_that_gave_up_names_its_group_the_effect_the_order_and_the_review_item() -> None:
    alert = checks.effect_failed(effect_id=12, kind="fulfillment_request", automation="fulfillment", attempts=5,
                                 error_type="EffectFailed", review_item_id=4, order_id=42, store="demo")
    assert alert == Alert(
        AlertKind.EFFECT_FAILED, "fulfillment:fulfillment_request", "fulfillment: fulfillment_request failed after 5 "
        "attempts",
        "Effect 12 (fulfillment_request of fulfillment, order 42) gave up after 5 attempts (EffectFailed). It waits "
        "in the review queue as item #4: backroom review show 4 --store demo. Further fulfillment_request failures "
        "of fulfillment are counted in this alert, not announced one by one, until none of them waits in the review "
        "queue.",
        {"effect_id": 12, "kind": "fulfillment_request", "automation": "fulfillment", "attempts": 5,
         "review_item_id": 4, "order_id": 42, "error_type": "EffectFailed"})
    assert alert.opens


SECRET_ERROR = ("SMTPRecipientsRefused: {'ada@example.com': (550, b'unknown user, see "
                "https://mx.example.net/help?token=s3cr3t')}")


def test_an_effect_alert_names_the_error_s_type_but_never_its_text() -> None:
    alert = checks.effect_failed(effect_id=12, kind="email", automation="customer_emails", attempts=3,
                                 error_type=SECRET_ERROR, review_item_id=4, order_id=None, store="demo")
    (group,) = checks.effect_failures(snapshot(failed_effects={
        "customer_emails:email": FailedEffects("customer_emails", "email", 1, 4, SECRET_ERROR)}))
    for text in (alert.title, alert.text, str(alert.detail), group.title, group.text, str(group.detail)):
        assert "ada@example.com" not in text
        assert "https://" not in text
        assert "s3cr3t" not in text
    assert "(SMTPRecipientsRefused)" in alert.text
    assert "(SMTPRecipientsRefused)" in group.text


@pytest.mark.parametrize(("error", "name"), [
    ("EffectFailed: warehouse answered 503", "EffectFailed"), ("smtplib.SMTPDataError", "smtplib.SMTPDataError"),
    ("ada@example.com refused", "error"), ("Refused by ada@example.com", "error"), (": nothing", "error"),
    ("", "error"),
])
def test_only_the_leading_type_name_of_an_error_is_kept(error: str, name: str) -> None:
    assert checks.error_type_name(error) == name


def test_failed_effects_waiting_for_review_keep_their_group_s_alert_open_but_never_open_one() -> None:
    s = snapshot(failed_effects={
        "customer_emails:email": FailedEffects("customer_emails", "email", 100, 310, "SMTPServerDisconnected: x"),
        "alerts:slack_message": FailedEffects("alerts", "slack_message", 3, 311, "EffectFailed"),
    })
    assert checks.effect_failures(s) == [Alert(
        AlertKind.EFFECT_FAILED, "customer_emails:email", "customer_emails: 100 failed email effects wait for review",
        "100 email effects of customer_emails gave up and wait in the review queue; the latest is item #310 "
        "(SMTPServerDisconnected). See them with: backroom review list --store demo",
        {"automation": "customer_emails", "kind": "email", "open_items": 100, "latest_review_item_id": 310,
         "error_type": "SMTPServerDisconnected"}, opens=False)]


# --- inputs failing --------------------------------------------------------------------------------------------


def test_inputs_rejected_or_failed_at_a_jumped_rate_raise_an_alert() -> None:
    found = checks.inputs_failing(snapshot(input_rates=RateCounts(20, 16, 400, 4)), POLICY)
    assert found == [Alert(
        AlertKind.INPUTS_FAILING, "inputs", "Inputs failing: 80% rejected or failed",
        "16 of 20 inputs received from the store (80%) were rejected or failed in the last 1 h, against 1% (4 of "
        "400) in the 24 h before. Check the store's webhook secret and payloads; the errors are kept in the inbox.",
        {"recent": 20, "recent_errors": 16, "rate": 0.8, "baseline": 400, "baseline_errors": 4,
         "baseline_rate": 0.01})]


@pytest.mark.parametrize("counts", [
    RateCounts(19, 19, 0, 0),  # too few inputs lately
    RateCounts(20, 0, 0, 0),  # all processed
    RateCounts(100, 30, 100, 20),  # 30 % against 20 %: not a jump
    RateCounts(100, 4, 0, 0),  # under the floor
])
def test_inputs_failing_needs_the_minimum_of_inputs_the_floor_and_the_jump(counts: RateCounts) -> None:
    assert checks.inputs_failing(snapshot(input_rates=counts), POLICY) == []
    assert checks.inputs_failing(snapshot(input_rates=RateCounts(20, 20, 0, 0)),
                                 replace(POLICY, error_rate_window=timedelta(0))) == []


@pytest.mark.parametrize(("minutes", "text"), [
    (0, "0 min"), (59, "59 min"), (60, "1 h"), (61, "1 h 1 min"), (47 * 60 + 59, "47 h 59 min"), (48 * 60, "2 d"),
    (49 * 60 + 30, "2 d 1 h"),
])
def test_durations_read_naturally(minutes: int, text: str) -> None:
    assert checks.duration(timedelta(minutes=minutes)) == text
