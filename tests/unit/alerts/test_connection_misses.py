"""What reconciliation polls found stays in view for a day: one alert while webhooks keep missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backroom.alerts.model import misses_within, remember_misses

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_poll_that_found_nothing_adds_nothing_and_old_polls_fall_out() -> None:
    old = [(NOW - timedelta(hours=25)).isoformat(), 3, 0, [1003]]
    kept = [(NOW - timedelta(hours=2)).isoformat(), 1, 2, []]
    assert remember_misses([old, kept], NOW, 0, 0, ()) == [kept]
    assert remember_misses([kept], NOW, 2, 0, (1010, 1011)) == [kept, [NOW.isoformat(), 2, 0, [1010, 1011]]]


def test_the_window_sums_what_its_polls_found() -> None:
    recent = [[(NOW - timedelta(hours=23)).isoformat(), 2, 1, [1003]], [NOW.isoformat(), 1, 0, [1003, 1007]]]
    assert misses_within(recent, NOW) == (3, 1, (1003, 1007))
    assert misses_within(recent, NOW + timedelta(hours=2)) == (1, 0, (1003, 1007))
    assert misses_within(recent, NOW + timedelta(hours=25)) == (0, 0, ())
