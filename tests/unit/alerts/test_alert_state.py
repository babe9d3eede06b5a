"""The life of an alert: opened once, repeated after repeat_after while it holds, resolved when it clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backroom.alerts.checks import run_checks
from backroom.alerts.hours import BusinessHours
from backroom.alerts.model import Alert, AlertKind, AlertPolicy, CheckResult, ReviewHead, StoreSnapshot
from backroom.alerts.state import AlertState, Notice, NoticeAction, plan

OPENED_AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
QUEUE = Alert(AlertKind.REVIEW_QUEUE_SIZE, "queue", "Review queue: 61 open items", "61 items wait.", {"open_items": 61})
ALL_KINDS = frozenset(AlertKind)
KEY = "alert:review_queue_size:queue:2026-11-27T09:00:00+00:00"


def state(last_sent_at: datetime = OPENED_AT, sent: int = 1, kind: AlertKind = AlertKind.REVIEW_QUEUE_SIZE,
          subject: str = "queue") -> dict[tuple[AlertKind, str], AlertState]:
    return {(kind, subject): AlertState(kind, subject, OPENED_AT, last_sent_at, sent, "Review queue: 55 open items")}


def raised(*alerts: Alert, checked: frozenset[AlertKind] = ALL_KINDS) -> CheckResult:
    return CheckResult(alerts, checked)


def test_a_new_condition_is_announced_once() -> None:
    (notice,) = plan({}, raised(QUEUE), OPENED_AT, DAY)
    assert notice == Notice(NoticeAction.OPENED, QUEUE, OPENED_AT, 1)
    assert notice.key == KEY
    assert notice.message("demo") == ("[demo] Review queue: 61 open items", "61 items wait.")


def test_a_condition_still_true_is_not_announced_again_before_repeat_after() -> None:
    assert plan(state(), raised(QUEUE), OPENED_AT + DAY - timedelta(seconds=1), DAY) == []


def test_a_condition_still_true_after_repeat_after_is_announced_again_with_its_reminder_number() -> None:
    # given an alert opened at 09:00 and repeated once the next day
    (notice,) = plan(state(last_sent_at=OPENED_AT + DAY, sent=2), raised(QUEUE), OPENED_AT + 2 * DAY, DAY)
    assert notice == Notice(NoticeAction.REPEATED, QUEUE, OPENED_AT, 3)
    assert notice.key == f"{KEY}:repeat-2"
    assert notice.message("demo") == (
        "[demo] Still: Review queue: 61 open items",
        "61 items wait.\n\nFirst reported 2026-11-27 09:00 UTC; reminder 2.")


def test_repeat_after_zero_never_repeats() -> None:
    assert plan(state(), raised(QUEUE), OPENED_AT + 100 * DAY, timedelta(0)) == []


def test_a_checked_condition_that_no_longer_holds_is_resolved_once() -> None:
    (notice,) = plan(state(sent=2), raised(), OPENED_AT + timedelta(hours=26, minutes=5), DAY)
    assert (notice.action, notice.opened_at, notice.sent, notice.key) == (
        NoticeAction.RESOLVED, OPENED_AT, 3, f"{KEY}:resolved")
    assert notice.message("demo") == (
        "[demo] Resolved: review queue size",
        "Cleared at 2026-11-28 11:05 UTC, 26 h 5 min after it was first reported. "
        "Last reported: Review queue: 55 open items.")


def test_an_alert_of_a_kind_that_was_not_checked_is_left_open() -> None:
    quiet = state(kind=AlertKind.STORE_QUIET, subject="inputs")
    assert plan(quiet, raised(checked=ALL_KINDS - {AlertKind.STORE_QUIET}), OPENED_AT + 2 * DAY, DAY) == []


def test_only_the_subject_that_cleared_is_resolved() -> None:
    states = {**state(kind=AlertKind.ERROR_RATE, subject="rules"),
              **state(kind=AlertKind.ERROR_RATE, subject="fulfillment")}
    still = Alert(AlertKind.ERROR_RATE, "rules", "Error rate of rules: 50%", "…")
    (notice,) = plan(states, raised(still), OPENED_AT + timedelta(hours=1), DAY)
    assert (notice.action, notice.alert.subject, notice.alert.title) == (
        NoticeAction.RESOLVED, "fulfillment", "error rate of fulfillment")


def test_a_condition_that_returns_after_it_cleared_opens_a_new_alert_with_a_new_key() -> None:
    later = OPENED_AT + 3 * DAY
    (notice,) = plan({}, raised(QUEUE), later, DAY)
    assert notice.key == "alert:review_queue_size:queue:2026-11-30T09:00:00+00:00"


# --- hysteresis: a queue moving around its limit ---------------------------------------------------------------


def apply(states: dict[tuple[AlertKind, str], AlertState], notices: list[Notice],
          now: datetime) -> dict[tuple[AlertKind, str], AlertState]:
    """What the database adapter does with the notices it records."""
    states = dict(states)
    for n in notices:
        key = (n.alert.kind, n.alert.subject)
        if n.action == NoticeAction.RESOLVED:
            del states[key]
        else:
            states[key] = AlertState(n.alert.kind, n.alert.subject, n.opened_at, now, n.sent, n.alert.title)
    return states


def test_a_queue_alternating_between_51_and_50_opens_once_and_neither_resolves_nor_repeats_within_a_day() -> None:
    policy = AlertPolicy(BusinessHours.parse("Mon-Fri 09:00-18:00"))  # limit 50, clears at 40, reminds after 24 h
    states: dict[tuple[AlertKind, str], AlertState] = {}
    sent: list[tuple[NoticeAction, int]] = []
    for check, size in enumerate([51, 50, 51, 50, 51, 50]):
        now = OPENED_AT + check * timedelta(hours=4)  # six checks over 20 hours
        snapshot = StoreSnapshot("demo", "UTC", now, open_reviews=size)
        notices = plan(states, run_checks(snapshot, policy), now, policy.repeat_after)
        sent += [(n.action, size) for n in notices]
        states = apply(states, notices, now)
    assert sent == [(NoticeAction.OPENED, 51)]
    assert list(states) == [(AlertKind.REVIEW_QUEUE_SIZE, "queue")]

    # back to the clear level (80 % of 50): resolved once
    now = OPENED_AT + timedelta(hours=21)
    notices = plan(states, run_checks(StoreSnapshot("demo", "UTC", now, open_reviews=40), policy), now, DAY)
    assert [n.action for n in notices] == [NoticeAction.RESOLVED]


def test_an_oldest_item_moving_around_the_age_limit_opens_once_and_resolves_under_80_percent_of_it() -> None:
    policy = AlertPolicy(BusinessHours.parse("Mon-Fri 09:00-18:00"), review_age_max=timedelta(hours=10))
    states: dict[tuple[AlertKind, str], AlertState] = {}
    actions = []
    # the oldest item is handled and the next oldest is a little younger, again and again
    for check, waited_h in enumerate([10, 9, 10.5, 8, 10, 7.9]):
        now = OPENED_AT + check * timedelta(hours=1)
        head = ReviewHead(check, "backorder", now - timedelta(hours=waited_h))
        snapshot = StoreSnapshot("demo", "UTC", now, open_reviews=1, oldest_review=head)
        notices = plan(states, run_checks(snapshot, policy), now, policy.repeat_after)
        actions += [(n.action, waited_h) for n in notices]
        states = apply(states, notices, now)
    assert actions == [(NoticeAction.OPENED, 10), (NoticeAction.RESOLVED, 7.9)]


def test_a_condition_that_only_keeps_an_alert_open_never_opens_one() -> None:
    band = Alert(AlertKind.REVIEW_QUEUE_SIZE, "queue", "Review queue: 45 open items", "…", opens=False)
    assert plan({}, raised(band), OPENED_AT, DAY) == []
    (notice,) = plan(state(), raised(band), OPENED_AT + DAY, DAY)
    assert (notice.action, notice.alert) == (NoticeAction.REPEATED, band)


# --- failed effects, one alert per automation and kind ---------------------------------------------------------

GROUP = (AlertKind.EFFECT_FAILED, "customer_emails:email")
WAITING = Alert(AlertKind.EFFECT_FAILED, "customer_emails:email",
                "customer_emails: 100 failed email effects wait for review", "100 email effects … wait.",
                {"open_items": 100}, opens=False)


def failures(failed: int, unsent: int) -> dict[tuple[AlertKind, str], AlertState]:
    return {GROUP: AlertState(*GROUP, OPENED_AT, OPENED_AT, 1, "customer_emails: email failed after 3 attempts",
                              failed, unsent)}


def test_failed_effects_waiting_for_review_are_not_announced_again_before_repeat_after() -> None:
    assert plan(failures(100, 99), raised(WAITING), OPENED_AT + timedelta(hours=23), DAY) == []


def test_a_reminder_about_failed_effects_says_how_many_more_failed_since_the_last_notice() -> None:
    (notice,) = plan(failures(100, 99), raised(WAITING), OPENED_AT + DAY, DAY)
    assert (notice.action, notice.key) == (
        NoticeAction.REPEATED, "alert:effect_failed:customer_emails:email:2026-11-27T09:00:00+00:00:repeat-1")
    assert notice.message("demo") == (
        "[demo] Still: customer_emails: 100 failed email effects wait for review",
        "100 email effects … wait.\n99 more failed since the last notice, 100 since it opened.\n\n"
        "First reported 2026-11-27 09:00 UTC; reminder 1.")
    assert notice.alert.detail == {"open_items": 100, "failed_since_last_notice": 99, "failed": 100}


def test_failed_effects_resolve_once_none_waits_for_review() -> None:
    (notice,) = plan(failures(100, 0), raised(), OPENED_AT + timedelta(hours=2), DAY)
    assert notice.message("demo") == (
        "[demo] Resolved: customer_emails: email failures",
        "Cleared at 2026-11-27 11:00 UTC, 2 h after it was first reported. Last reported: customer_emails: email "
        "failed after 3 attempts. 100 gave up while it was open; none waits in the review queue now.")
