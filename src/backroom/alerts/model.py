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
#: The subject of the alerts about a store's inputs (quiet store, failing inputs).
INPUTS = "inputs"


class AlertKind(StrEnum):
    """Stable names, shown in the CLI and used in effect keys; never change once shipped."""

    EFFECT_FAILED = "effect_failed"
    REVIEW_QUEUE_SIZE = "review_queue_size"
    REVIEW_QUEUE_AGE = "review_queue_age"
    STORE_QUIET = "store_quiet"
    ERROR_RATE = "error_rate"
    INPUTS_FAILING = "inputs_failing"
    WEBHOOKS_MISSED = "webhooks_missed"
    ORDER_NUMBERS_SKIPPED = "order_numbers_skipped"
    RECONCILE_FAILING = "reconcile_failing"


@dataclass(frozen=True)
class Alert:
    """A condition that is true now. ``subject`` tells apart alerts of one kind (an automation, an effect group).

    ``opens`` False: the condition keeps an alert that is already open from resolving (and it is still reminded
    about) but does not open one: a review queue between its clear level and its limit (hysteresis), or failed
    effects still waiting for review (their alert is opened by the runner when an effect gives up)."""

    kind: AlertKind
    subject: str
    title: str
    text: str
    detail: dict[str, Any] = field(default_factory=dict)
    opens: bool = True


def effect_group(automation: str, kind: str) -> str:
    """The subject of an effect_failed alert: one per automation and effect kind, e.g. ``customer_emails:email``."""
    return f"{automation}:{kind}"


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
class FailedEffects:
    """Effects of one automation and kind that gave up and whose review items are still open."""

    automation: str
    kind: str
    open_items: int
    latest_item_id: int
    latest_error_type: str  # the exception's type only: the error text may hold secrets or personal data


#: what reconciliation polls found stays in view this long: one alert while webhooks keep missing, not one per poll
MISSED_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class ConnectionPoll:
    """A connected platform account and what its reconciliation polls found within ``MISSED_WINDOW`` (see
    connectors/reconcile.py)."""

    platform: str
    account: str
    created: int = 0  # orders the polls imported: their webhooks never arrived
    changed: int = 0  # cancellations and shipments the polls applied
    skipped_numbers: tuple[int, ...] = ()
    error: str = ""  # the last poll failed: the error's type only

    @property
    def subject(self) -> str:
        return f"{self.platform}:{self.account}"


#: a poll that found something: [polled at (ISO), orders created, updates applied, order numbers skipped]
Miss = list[Any]


def remember_misses(recent: list[Miss], now: datetime, created: int, changed: int,
                    skipped: tuple[int, ...]) -> list[Miss]:
    """The polls of the window that found something, this one included if it did (kept on the connection)."""
    kept = [m for m in recent if datetime.fromisoformat(m[0]) > now - MISSED_WINDOW]
    if created or changed or skipped:
        kept.append([now.isoformat(), created, changed, list(skipped)])
    return kept


def misses_within(recent: list[Miss], now: datetime) -> tuple[int, int, tuple[int, ...]]:
    """Orders created, updates applied and numbers skipped by the polls of the window ending now."""
    live = [m for m in recent if datetime.fromisoformat(m[0]) > now - MISSED_WINDOW]
    return (sum(int(m[1]) for m in live), sum(int(m[2]) for m in live),
            tuple(sorted({int(n) for m in live for n in m[3]})))


@dataclass(frozen=True)
class StoreSnapshot:
    slug: str
    timezone: str
    now: datetime
    open_reviews: int = 0
    overdue_reviews: int = 0  # open for review_age_max or longer
    oldest_review: ReviewHead | None = None
    last_input_at: datetime | None = None  # the last input processed; None: the store never sent a good one
    error_rates: Mapping[str, RateCounts] = field(default_factory=dict)  # by automation
    input_rates: RateCounts = RateCounts()  # inputs received, and those rejected or failed
    failed_effects: Mapping[str, FailedEffects] = field(default_factory=dict)  # by effect_group()
    connections: tuple[ConnectionPoll, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """The alerts whose condition holds (some only keep an open alert open, see ``Alert.opens``), and the kinds
    that were checked: an open alert of a checked kind that is not raised again has cleared. A kind left unchecked
    (a store's quiet check outside business hours) keeps its alerts as they are."""

    alerts: tuple[Alert, ...]
    checked: frozenset[AlertKind]
