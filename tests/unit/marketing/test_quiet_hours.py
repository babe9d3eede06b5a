"""No marketing mail between 21:00 and 08:00 in the customer's own time zone, daylight saving included."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from backroom.marketing.consent import MessageKind
from backroom.marketing.frequency import Due, Held, Slot, pace
from backroom.marketing.quiet_hours import QuietHours

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
QUIET = QuietHours(time(21), time(8))


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("at", "expected"), [
    (utc(2026, 1, 14, 19, 59), utc(2026, 1, 14, 19, 59)),  # 20:59 CET: still allowed
    (utc(2026, 1, 14, 20, 0), utc(2026, 1, 15, 7, 0)),  # 21:00 CET: to 08:00 CET tomorrow
    (utc(2026, 1, 14, 22, 30), utc(2026, 1, 15, 7, 0)),  # 23:30 CET
    (utc(2026, 1, 15, 3, 0), utc(2026, 1, 15, 7, 0)),  # 04:00 CET: to 08:00 the same day
    (utc(2026, 1, 15, 7, 0), utc(2026, 1, 15, 7, 0)),  # 08:00 CET: quiet hours are over
])
def test_a_message_in_quiet_hours_waits_for_eight_local(at: datetime, expected: datetime) -> None:
    assert QUIET.next_allowed(at, BERLIN) == expected


def test_across_the_autumn_change_eight_local_is_an_hour_later_in_utc() -> None:
    # 2026-10-24 22:30 CEST (UTC+2); the clocks go back at 03:00 on the 25th, so 08:00 is CET (UTC+1)
    assert QUIET.next_allowed(utc(2026, 10, 24, 20, 30), BERLIN) == utc(2026, 10, 25, 7, 0)


def test_across_the_spring_change_eight_local_is_an_hour_earlier_in_utc() -> None:
    # 2026-03-28 22:00 CET (UTC+1); the clocks go forward at 02:00 on the 29th, so 08:00 is CEST (UTC+2)
    assert QUIET.next_allowed(utc(2026, 3, 28, 21, 0), BERLIN) == utc(2026, 3, 29, 6, 0)


def test_the_same_utc_moment_is_quiet_in_one_zone_and_not_in_another() -> None:
    at = utc(2026, 3, 9, 2, 0)  # 03:00 in Berlin; 22:00 in New York, the day after its spring change (UTC-4)
    assert QUIET.next_allowed(at, BERLIN) == utc(2026, 3, 9, 7, 0)
    assert QUIET.next_allowed(at, NEW_YORK) == utc(2026, 3, 9, 12, 0)
    assert QUIET.next_allowed(utc(2026, 3, 9, 16, 0), NEW_YORK) == utc(2026, 3, 9, 16, 0)  # noon there


def test_a_window_that_does_not_cross_midnight() -> None:
    lunch = QuietHours(time(12), time(14))
    assert lunch.next_allowed(utc(2026, 6, 1, 11, 30), ZoneInfo("UTC")) == utc(2026, 6, 1, 11, 30)
    assert lunch.next_allowed(utc(2026, 6, 1, 12, 30), ZoneInfo("UTC")) == utc(2026, 6, 1, 14, 0)
    assert lunch.next_allowed(utc(2026, 6, 1, 14, 0), ZoneInfo("UTC")) == utc(2026, 6, 1, 14, 0)


def test_the_cap_and_quiet_hours_together_defer_to_morning_then_one_cap_later() -> None:
    now = utc(2026, 10, 24, 20, 30)  # 22:30 CEST, the night the clocks go back
    due = [Due("abandoned:1", "abandoned", 30, MessageKind.MARKETING, now),
           Due("post:1", "post", 20, MessageKind.MARKETING, now),
           Due("receipt:1", "receipt", 0, MessageKind.TRANSACTIONAL, now)]
    assert pace(due, [], now, BERLIN, quiet=QUIET) == [
        Slot("receipt:1", now),
        Slot("abandoned:1", utc(2026, 10, 25, 7, 0), Held.QUIET_HOURS),  # 08:00 CET
        Slot("post:1", utc(2026, 10, 26, 7, 0), Held.QUIET_HOURS),  # 16 h later is 00:00 CET: quiet, so 08:00
    ]
