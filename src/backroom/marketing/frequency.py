"""A cross-flow frequency cap that defers by priority instead of dropping.

Given one customer's recent marketing sends and every message due for them now, ``pace`` gives each message a
time: the most important goes now if the cap and quiet hours allow, the others are deferred one cap apart, in
order of priority (higher first), then of when they fell due. Nothing is dropped; at its deferred time a message
is decided again (its flow's exit re-checked) and paced again with whatever else is due then. Transactional
mail is not capped and not held by quiet hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from backroom.marketing.consent import MessageKind
from backroom.marketing.quiet_hours import QuietHours

DEFAULT_CAP = timedelta(hours=16)


class Held(StrEnum):
    FREQUENCY_CAP = "frequency_cap"
    QUIET_HOURS = "quiet_hours"


@dataclass(frozen=True)
class Due:
    message_key: str
    flow: str
    priority: int
    kind: MessageKind
    due_at: datetime


@dataclass(frozen=True)
class Slot:
    message_key: str
    send_at: datetime
    held: Held | None = None  # None: send now

    @property
    def now(self) -> bool:
        return self.held is None


def pace(due: Sequence[Due], recent_sends: Sequence[datetime], now: datetime, zone: ZoneInfo,
         cap: timedelta = DEFAULT_CAP, quiet: QuietHours | None = None) -> list[Slot]:
    """One slot per due message, in the order they will go. ``recent_sends``: this customer's marketing sends."""
    slots = [Slot(d.message_key, now) for d in due if d.kind is MessageKind.TRANSACTIONAL]
    free = max([now, *(t + cap for t in recent_sends)])
    for d in sorted((d for d in due if d.kind is MessageKind.MARKETING),
                    key=lambda d: (-d.priority, d.due_at, d.message_key)):
        at = quiet.next_allowed(free, zone) if quiet else free
        held = None if at <= now else Held.QUIET_HOURS if at > free else Held.FREQUENCY_CAP
        slots.append(Slot(d.message_key, max(at, now), held))
        free = max(at, now) + cap
    return slots
