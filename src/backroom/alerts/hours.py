"""Business hours in a store's own timezone: ``Mon-Fri 09:00-18:00``, several spans joined by ``;``
(``Mon-Fri 09:00-18:00; Sat 10:00-14:00``), day lists with ``,`` (``Mon,Wed,Fri``), ``24:00`` as an end."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backroom.errors import ConfigurationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EXAMPLE = "'Mon-Fri 09:00-18:00' or 'Mon-Fri 09:00-18:00; Sat 10:00-14:00'"
_SPAN = re.compile(r"^(?P<days>\S+)\s+(?P<start>\d\d:\d\d)-(?P<end>\d\d:\d\d)$")
_DAY = 24 * 60


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, up to 1440 (24:00)


@dataclass(frozen=True)
class BusinessHours:
    spec: str
    spans: tuple[Span, ...]

    @classmethod
    def parse(cls, spec: str) -> BusinessHours:
        parts = [p.strip() for p in spec.split(";") if p.strip()]
        if not parts:
            raise _invalid(spec, "it is empty")
        return cls(spec, tuple(_span(spec, part) for part in parts))

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        local = moment.astimezone(tz)
        minute = local.hour * 60 + local.minute
        return any(local.weekday() in s.days and s.start <= minute < s.end for s in self.spans)

    def time_within(self, start: datetime, end: datetime, tz: ZoneInfo) -> timedelta:
        """How much of [start, end) falls within business hours (local days, so DST changes are counted right)."""
        total = timedelta()
        day = start.astimezone(tz).date()
        while day <= end.astimezone(tz).date():
            for span in self.spans:
                if day.weekday() in span.days:
                    overlap = min(end, _at(day, span.end, tz)) - max(start, _at(day, span.start, tz))
                    total += max(overlap, timedelta())
            day += timedelta(days=1)
        return total


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Local wall time on ``day`` (24:00 is the next midnight), in UTC so that subtraction is real elapsed time."""
    moment = datetime.combine(day + timedelta(days=minute // _DAY), time(minute % _DAY // 60, minute % 60), tz)
    return moment.astimezone(UTC)


def _span(spec: str, part: str) -> Span:
    match = _SPAN.match(part)
    if match is None:
        raise _invalid(spec, f"{part!r} is not '<days> HH:MM-HH:MM'")
    start, end = _minute(spec, match["start"]), _minute(spec, match["end"])
    if start >= end:
        raise _invalid(spec, f"{part!r} ends before it starts; split a span that passes midnight in two "
                             "('Fri 22:00-24:00; Sat 00:00-02:00')")
    days: set[int] = set()
    for item in match["days"].split(","):
        first, _, last = item.partition("-")
        a, b = _day(spec, first), _day(spec, last or first)
        days.update(d % 7 for d in range(a, a + (b - a) % 7 + 1))  # Fri-Mon wraps over the weekend
    return Span(frozenset(days), start, end)


def _day(spec: str, name: str) -> int:
    if name.lower() not in DAYS:
        raise _invalid(spec, f"{name!r} is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
    return DAYS.index(name.lower())


def _minute(spec: str, hhmm: str) -> int:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise _invalid(spec, f"{hhmm!r} is not a time between 00:00 and 24:00")
    return hours * 60 + minutes


def _invalid(spec: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"business hours {spec!r}: {problem} (expected e.g. {EXAMPLE})",
                              code="business_hours_invalid")
