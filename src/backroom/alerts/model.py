"""What the alert checks see (a snapshot of one store) and what they raise (alerts), as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from backroom.alerts.hours import BusinessHours

#: The automation that delivers alerts: its own failures never raise an alert (no loops).
ALERTS_AUTOMATION = "alerts"


class AlertKind(StrEnum):
    """Stable names, shown in the CLI and used in effect keys; never change once shipped."""

    EFFECT_FAILED = "effect_failed"
    REVIEW_QUEUE_SIZE = "review_queue_size"
    REVIEW_QUEUE_AGE = "review_queue_age"
    STORE_QUIET = "store_quiet"
    ERROR_RATE = "error_rate"


@dataclass(frozen=True)
class Alert:
    """A condition that is true now. ``subject`` tells apart alerts of one kind (an automation, an effect id)."""

    kind: AlertKind
    subject: str
    title: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertPolicy:
    """The thresholds (settings.alerts); a threshold or window of 0 turns its check off."""

    business_hours: BusinessHours
    review_queue_max: int = 50
    review_age_max: timedelta = timedelta(hours=24)
    quiet_period: timedelta = timedelta(minutes=120)
    error_rate_window: timedelta = timedelta(minutes=60)
    error_rate_baseline: timedelta = timedelta(hours=24)
    error_rate_min_events: int = 20
    error_rate_floor: float = 0.05
    error_rate_jump: float = 3.0
    repeat_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ReviewHead:
    """The oldest open review item."""

    id: int
    reason_code: str
    created_at: datetime


@dataclass(frozen=True)
class RateCounts:
    """Runs of one automation: all of them and the troubled ones, in the recent window and in the baseline."""

    recent: int = 0
    recent_errors: int = 0
    baseline: int = 0
    baseline_errors: int = 0

    def __add__(self, other: RateCounts) -> RateCounts:
        return RateCounts(self.recent + other.recent, self.recent_errors + other.recent_errors,
                          self.baseline + other.baseline, self.baseline_errors + other.baseline_errors)


@dataclass(frozen=True)
class StoreSnapshot:
    slug: str
    timezone: str
    now: datetime
    open_reviews: int = 0
    overdue_reviews: int = 0  # open for review_age_max or longer
    oldest_review: ReviewHead | None = None
    last_input_at: datetime | None = None  # None: the store has never sent anything
    error_rates: Mapping[str, RateCounts] = field(default_factory=dict)  # by automation


@dataclass(frozen=True)
class CheckResult:
    """The alerts whose condition holds, and the kinds that were checked: an open alert of a checked kind that is
    not raised again has cleared. A kind left unchecked (a store's quiet check outside business hours) keeps its
    alerts as they are."""

    alerts: tuple[Alert, ...]
    checked: frozenset[AlertKind]
