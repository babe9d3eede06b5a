"""No marketing mail at night in the customer's own time zone: a message due in quiet hours waits for their end.

Local times are turned back into UTC through ``zoneinfo``, so "08:00 local" is right on both sides of a daylight
saving change (and an end that falls in a spring-forward gap lands just after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # the window crosses midnight

    def next_allowed(self, at: datetime, zone: ZoneInfo) -> datetime:
        """``at`` itself when outside quiet hours, else the end of this quiet period (UTC)."""
        local = at.astimezone(zone)
        if not self.contains(local.time()):
            return at
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
