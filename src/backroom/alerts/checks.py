"""The alert checks: pure functions of a store's snapshot and the thresholds. Definitions in docs/operations.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from backroom.alerts.model import (
    ALERTS_AUTOMATION,
    Alert,
    AlertKind,
    AlertPolicy,
    CheckResult,
    RateCounts,
    StoreSnapshot,
)


def run_checks(s: StoreSnapshot, p: AlertPolicy) -> CheckResult:
    found = {
        AlertKind.REVIEW_QUEUE_SIZE: review_queue_size(s, p),
        AlertKind.REVIEW_QUEUE_AGE: review_queue_age(s, p),
        AlertKind.STORE_QUIET: store_quiet(s, p),
        AlertKind.ERROR_RATE: error_rates(s, p),
    }
    return CheckResult(tuple(a for alerts in found.values() if alerts is not None for a in alerts),
                       frozenset(kind for kind, alerts in found.items() if alerts is not None))


def review_queue_size(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    """More than ``review_queue_max`` open review items."""
    if p.review_queue_max <= 0 or s.open_reviews <= p.review_queue_max:
        return []
    return [Alert(
        AlertKind.REVIEW_QUEUE_SIZE, "queue", f"Review queue: {s.open_reviews} open items",
        f"{s.open_reviews} items wait for a human in the review queue (the limit is {p.review_queue_max}). "
        f"See them with: backroom review list --store {s.slug}",
        {"open_items": s.open_reviews, "limit": p.review_queue_max})]


def review_queue_age(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    """The oldest open review item has waited ``review_age_max`` or longer."""
    head = s.oldest_review
    if not p.review_age_max or head is None or s.now - head.created_at < p.review_age_max:
        return []
    waited = s.now - head.created_at
    return [Alert(
        AlertKind.REVIEW_QUEUE_AGE, "queue", f"Review queue: item #{head.id} has waited {duration(waited)}",
        f"The oldest open review item, #{head.id} ({head.reason_code}), was opened "
        f"{when(head.created_at, s.timezone)}. {s.overdue_reviews} open items have waited "
        f"{duration(p.review_age_max)} or longer. See it with: backroom review show {head.id} --store {s.slug}",
        {"oldest_item_id": head.id, "reason_code": head.reason_code, "waited_h": _hours(waited),
         "overdue_items": s.overdue_reviews, "limit_h": _hours(p.review_age_max)})]


def store_quiet(s: StoreSnapshot, p: AlertPolicy) -> list[Alert] | None:
    """No input from a store that has sent some before, for ``quiet_period`` counted in business hours only (a
    night or a weekend without orders is not silence). Raised and repeated only during business hours: outside
    them a silent store is left as it is (None), while a store that spoke again clears at once."""
    if not p.quiet_period or s.last_input_at is None:
        return []
    tz = ZoneInfo(s.timezone)
    silent = p.business_hours.time_within(s.last_input_at, s.now, tz)
    if silent < p.quiet_period:
        return []
    if not p.business_hours.contains(s.now, tz):
        return None
    return [Alert(
        AlertKind.STORE_QUIET, "inputs", f"No input from the store for {duration(silent)} of business hours",
        f"Nothing has arrived from the store since {when(s.last_input_at, s.timezone)}: {duration(silent)} within "
        f"business hours ({p.business_hours.spec}, {s.timezone}), and the quiet period is "
        f"{duration(p.quiet_period)}. Check the store's webhooks and connection.",
        {"last_input_at": s.last_input_at.isoformat(), "silent_business_min": round(silent.total_seconds() / 60),
         "quiet_period_min": round(p.quiet_period.total_seconds() / 60)})]


def error_rates(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    if not p.error_rate_window:
        return []
    return [alert for automation, counts in sorted(s.error_rates.items()) if automation != ALERTS_AUTOMATION
            if (alert := error_rate_jump(automation, counts, p)) is not None]


def error_rate_jump(automation: str, c: RateCounts, p: AlertPolicy) -> Alert | None:
    """At least ``error_rate_min_events`` runs in the recent window, and a troubled share of them at or above both
    ``error_rate_floor`` and ``error_rate_jump`` × the baseline's share. A baseline with fewer runs than
    ``error_rate_min_events`` says nothing: the floor alone decides. Compared as exact fractions."""
    if c.recent == 0 or c.recent < p.error_rate_min_events:
        return None
    rate = Fraction(c.recent_errors, c.recent)
    known = c.baseline > 0 and c.baseline >= p.error_rate_min_events
    baseline = Fraction(c.baseline_errors, c.baseline) if known else Fraction(0)
    if rate < _exact(p.error_rate_floor) or rate < _exact(p.error_rate_jump) * baseline:
        return None
    pct = f"{float(rate):.0%}"
    before = (f"against {float(baseline):.0%} ({c.baseline_errors} of {c.baseline})" if known
              else f"with too few runs to compare ({c.baseline})")
    return Alert(
        AlertKind.ERROR_RATE, automation, f"Error rate of {automation}: {pct}",
        f"{c.recent_errors} of {c.recent} runs of {automation} ({pct}) failed or needed a retry in the last "
        f"{duration(p.error_rate_window)}, {before} in the {duration(p.error_rate_baseline)} before.",
        {"automation": automation, "recent": c.recent, "recent_errors": c.recent_errors, "rate": round(float(rate), 4),
         "baseline": c.baseline, "baseline_errors": c.baseline_errors,
         "baseline_rate": round(float(baseline), 4) if known else None})


def effect_failed(*, effect_id: int, kind: str, automation: str, attempts: int, error: str, review_item_id: int,
                  order_id: int | None, store: str) -> Alert:
    """An effect gave up after its last attempt (raised by the runner in the same transaction, never by a check)."""
    order = f", order {order_id}" if order_id is not None else ""
    return Alert(
        AlertKind.EFFECT_FAILED, str(effect_id), f"{kind.replace('_', ' ')} failed after {attempts} attempts",
        f"Effect {effect_id} ({kind} of {automation}{order}) gave up: {error[:300]}. It waits in the review queue as "
        f"item #{review_item_id}: backroom review show {review_item_id} --store {store}",
        {"effect_id": effect_id, "kind": kind, "automation": automation, "attempts": attempts,
         "review_item_id": review_item_id, "order_id": order_id})


def duration(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    return f"{minutes // 1440} d" + (f" {minutes % 1440 // 60} h" if minutes % 1440 // 60 else "")


def when(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} {timezone}"


def _hours(d: timedelta) -> float:
    return round(d.total_seconds() / 3600, 1)


def _exact(x: float) -> Fraction:
    """0.05 as 1/20, not as the binary float just above it, so a rate exactly at a threshold counts."""
    return Fraction(str(x))
