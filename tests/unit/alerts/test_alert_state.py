"""The life of an alert: opened once, repeated after repeat_after while it holds, resolved when it clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backroom.alerts.model import Alert, AlertKind, CheckResult
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
