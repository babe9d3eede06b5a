"""Business hours: parsing, membership in a store's timezone, and business time between two moments."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backroom.alerts.hours import BusinessHours, Span
from backroom.errors import ConfigurationError

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessHours.parse("Mon-Fri 09:00-18:00")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """2026-11-27 is a Friday, 2026-11-30 a Monday."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# --- parse -----------------------------------------------------------------------------------------------------


def test_the_default_parses_to_weekdays_from_nine_to_six() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-18:00")
    assert hours.spans == (Span(frozenset({0, 1, 2, 3, 4}), 540, 1080),)
    assert hours.spec == "Mon-Fri 09:00-18:00"


def test_several_spans_day_lists_wrapping_ranges_and_any_case() -> None:
    hours = BusinessHours.parse("mon,WED 08:30-12:00; Fri-Mon 10:00-24:00")
    assert hours.spans == (Span(frozenset({0, 2}), 510, 720), Span(frozenset({4, 5, 6, 0}), 600, 1440))


@pytest.mark.parametrize(("spec", "problem"), [
    ("", "it is empty"),
    ("Mon-Fri", "'Mon-Fri' is not '<days> HH:MM-HH:MM'"),
    ("Mon-Fri 9:00-18:00", "'Mon-Fri 9:00-18:00' is not '<days> HH:MM-HH:MM'"),
    ("Mon-Fry 09:00-18:00", "'Fry' is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun"),
    ("Mon-Fri 09:00-24:30", "'24:30' is not a time between 00:00 and 24:00"),
    ("Mon-Fri 09:60-18:00", "'09:60' is not a time between 00:00 and 24:00"),
    ("Mon-Fri 22:00-06:00", "'Mon-Fri 22:00-06:00' ends before it starts; split a span that passes midnight in two "
                            "('Fri 22:00-24:00; Sat 00:00-02:00')"),
    ("Mon-Fri 09:00-09:00", "'Mon-Fri 09:00-09:00' ends before it starts"),
])
def test_malformed_business_hours_are_refused_with_what_is_wrong(spec: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"business hours {spec!r}: {problem}")) as err:
        BusinessHours.parse(spec)
    assert err.value.code == "business_hours_invalid"
    assert err.value.message.endswith("(expected e.g. 'Mon-Fri 09:00-18:00' or 'Mon-Fri 09:00-18:00; Sat 10:00-14:00')")


# --- contains --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "inside"), [
    (at(27, 8, 59), False), (at(27, 9, 0), True), (at(27, 17, 59), True), (at(27, 18, 0), False),
    (at(28, 12, 0), False), (at(29, 12, 0), False), (at(30, 9, 0), True),
])
def test_weekdays_from_nine_until_six_are_inside(moment: datetime, inside: bool) -> None:
    assert OFFICE.contains(moment, UTC_ZONE) is inside


def test_hours_are_the_store_s_local_hours() -> None:
    # 08:30 UTC is 09:30 in Berlin in winter; 17:30 UTC is 18:30 there
    assert OFFICE.contains(at(27, 8, 30), BERLIN) is True
    assert OFFICE.contains(at(27, 17, 30), BERLIN) is False
    # in summer London is UTC+1: 08:30 UTC is 09:30 BST
    assert OFFICE.contains(datetime(2026, 7, 1, 8, 30, tzinfo=UTC), ZoneInfo("Europe/London")) is True
    # Friday 23:30 UTC is already Saturday in Tokyo
    assert BusinessHours.parse("Fri 00:00-24:00").contains(at(27, 23, 30), ZoneInfo("Asia/Tokyo")) is False


def test_all_week_all_day_contains_every_hour_of_the_week() -> None:
    always = BusinessHours.parse("Mon-Sun 00:00-24:00")
    assert all(always.contains(at(23, 0) + timedelta(minutes=30 * n), UTC_ZONE) for n in range(7 * 48))


# --- time_within -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "expected"), [
    (at(27, 10, 0), at(27, 10, 30), timedelta(minutes=30)),
    (at(27, 7, 0), at(27, 9, 15), timedelta(minutes=15)),
    (at(27, 17, 0), at(30, 10, 0), timedelta(hours=2)),  # Friday's last hour and Monday's first
    (at(28, 8, 0), at(30, 9, 45), timedelta(minutes=45)),  # a weekend counts for nothing
    (at(27, 19, 0), at(27, 20, 0), timedelta(0)),
    (at(30, 10, 0), at(27, 10, 0), timedelta(0)),  # end before start
])
def test_business_time_between_two_moments(start: datetime, end: datetime, expected: timedelta) -> None:
    assert OFFICE.time_within(start, end, UTC_ZONE) == expected


def test_business_time_is_counted_in_the_store_s_timezone() -> None:
    # Berlin: 09:00-18:00 local is 08:00-17:00 UTC in winter
    assert OFFICE.time_within(at(27, 7, 0), at(27, 9, 0), BERLIN) == timedelta(hours=1)


def test_business_time_over_a_clock_change_is_real_elapsed_time() -> None:
    # Berlin springs forward on Sunday 2026-03-29: midnight to midnight lasts 23 hours
    always = BusinessHours.parse("Mon-Sun 00:00-24:00")
    start, end = datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert always.time_within(start, end, BERLIN) == timedelta(hours=23)
    assert BusinessHours.parse("Sun 00:00-04:00").time_within(start, end, BERLIN) == timedelta(hours=3)
