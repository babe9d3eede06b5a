"""The alert checks: pure functions of a store's snapshot and the thresholds. Definitions in docs/operations.md."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from backroom.alerts.model import (
    ALERTS_AUTOMATION,
    INPUTS,
    Alert,
    AlertKind,
    AlertPolicy,
    CheckResult,
    RateCounts,
    StoreSnapshot,
    effect_group,
)

#: Hysteresis: an open review queue alert resolves only once the queue is back to this share of its limit (size:
#: at or below 80 % of review_queue_max, rounded down; age: the oldest item younger than 80 % of review_age_max).
CLEAR_SHARE = Fraction(4, 5)
_TYPE_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_.]{0,79})(?::|$)")  # a type name alone or before ": message"


def run_checks(s: StoreSnapshot, p: AlertPolicy) -> CheckResult:
    found = {
        AlertKind.EFFECT_FAILED: effect_failures(s),
        AlertKind.REVIEW_QUEUE_SIZE: review_queue_size(s, p),
        AlertKind.REVIEW_QUEUE_AGE: review_queue_age(s, p),
        AlertKind.STORE_QUIET: store_quiet(s, p),
        AlertKind.ERROR_RATE: error_rates(s, p),
        AlertKind.INPUTS_FAILING: inputs_failing(s, p),
        AlertKind.WEBHOOKS_MISSED: webhooks_missed(s),
        AlertKind.ORDER_NUMBERS_SKIPPED: order_numbers_skipped(s),
        AlertKind.RECONCILE_FAILING: reconcile_failing(s),
    }
    return CheckResult(tuple(a for alerts in found.values() if alerts is not None for a in alerts),
                       frozenset(kind for kind, alerts in found.items() if alerts is not None))


def review_queue_size(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    """More than ``review_queue_max`` open review items opens the alert; it holds until the queue is back to
    ``clear_level`` or fewer (so a queue moving between 51 and 50 does not open and resolve it on every check)."""
    clear = clear_level(p.review_queue_max)
    if p.review_queue_max <= 0 or s.open_reviews <= clear:
        return []
    return [Alert(
        AlertKind.REVIEW_QUEUE_SIZE, "queue", f"Review queue: {s.open_reviews} open items",
        f"{s.open_reviews} items wait for a human in the review queue (the limit is {p.review_queue_max}; the alert "
        f"clears at {clear} or fewer). See them with: backroom review list --store {s.slug}",
        {"open_items": s.open_reviews, "limit": p.review_queue_max, "clears_at": clear},
        opens=s.open_reviews > p.review_queue_max)]


def clear_level(review_queue_max: int) -> int:
    """The queue size at or below which an open review_queue_size alert resolves: 80 % of the limit, rounded down."""
    return int(review_queue_max * CLEAR_SHARE)


def review_queue_age(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    """The oldest open review item has waited ``review_age_max`` or longer; the alert holds until the oldest item
    is younger than 80 % of it."""
    head = s.oldest_review
    if not p.review_age_max or head is None:
        return []
    waited = s.now - head.created_at
    if waited < clear_age(p.review_age_max):
        return []
    return [Alert(
        AlertKind.REVIEW_QUEUE_AGE, "queue", f"Review queue: item #{head.id} has waited {duration(waited)}",
        f"The oldest open review item, #{head.id} ({head.reason_code}), was opened "
        f"{when(head.created_at, s.timezone)}. {s.overdue_reviews} open items have waited "
        f"{duration(p.review_age_max)} or longer. See it with: backroom review show {head.id} --store {s.slug}",
        {"oldest_item_id": head.id, "reason_code": head.reason_code, "waited_h": _hours(waited),
         "overdue_items": s.overdue_reviews, "limit_h": _hours(p.review_age_max)},
        opens=waited >= p.review_age_max)]


def clear_age(review_age_max: timedelta) -> timedelta:
    """An open review_queue_age alert resolves once the oldest open item is younger than this (80 % of the limit)."""
    return review_age_max * CLEAR_SHARE.numerator / CLEAR_SHARE.denominator


def store_quiet(s: StoreSnapshot, p: AlertPolicy) -> list[Alert] | None:
    """No input processed from a store that has had some processed before, for ``quiet_period`` counted in
    business hours only (a night or a weekend without orders is not silence). Rejected and failed inputs do not
    count: a store whose every input fails is quiet too (and ``inputs_failing`` says why). Raised and repeated only
    during business hours: outside them a silent store is left as it is (None), while a store that spoke again
    clears at once."""
    if not p.quiet_period or s.last_input_at is None:
        return []
    tz = ZoneInfo(s.timezone)
    silent = p.business_hours.time_within(s.last_input_at, s.now, tz)
    if silent < p.quiet_period:
        return []
    if not p.business_hours.contains(s.now, tz):
        return None
    return [Alert(
        AlertKind.STORE_QUIET, INPUTS, f"No input from the store for {duration(silent)} of business hours",
        f"No input from the store has been processed since {when(s.last_input_at, s.timezone)}: {duration(silent)} "
        f"within business hours ({p.business_hours.spec}, {s.timezone}), and the quiet period is "
        f"{duration(p.quiet_period)}. Check the store's webhooks and connection, and rejected inputs.",
        {"last_input_at": s.last_input_at.isoformat(), "silent_business_min": round(silent.total_seconds() / 60),
         "quiet_period_min": round(p.quiet_period.total_seconds() / 60)})]


def error_rates(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    if not p.error_rate_window:
        return []
    return [alert for automation, counts in sorted(s.error_rates.items()) if automation != ALERTS_AUTOMATION
            if (alert := error_rate_jump(automation, counts, p)) is not None]


def error_rate_jump(automation: str, c: RateCounts, p: AlertPolicy) -> Alert | None:
    """At least ``error_rate_min_events`` runs in the recent window, and a troubled share of them at or above both
    ``error_rate_floor`` and ``error_rate_jump`` × the baseline's share (see ``jumped``)."""
    jump = jumped(c, p)
    if jump is None:
        return None
    rate, baseline, known = jump
    pct = f"{float(rate):.0%}"
    return Alert(
        AlertKind.ERROR_RATE, automation, f"Error rate of {automation}: {pct}",
        f"{c.recent_errors} of {c.recent} runs of {automation} ({pct}) failed or needed a retry in the last "
        f"{duration(p.error_rate_window)}, {_before(c, baseline, known, 'runs')} in the "
        f"{duration(p.error_rate_baseline)} before.",
        _rate_facts(c, rate, baseline, known, automation=automation))


def inputs_failing(s: StoreSnapshot, p: AlertPolicy) -> list[Alert]:
    """The inputs' error rate (rejected or failed inputs among those received), judged like an automation's."""
    if not p.error_rate_window:
        return []
    c = s.input_rates
    jump = jumped(c, p)
    if jump is None:
        return []
    rate, baseline, known = jump
    pct = f"{float(rate):.0%}"
    return [Alert(
        AlertKind.INPUTS_FAILING, INPUTS, f"Inputs failing: {pct} rejected or failed",
        f"{c.recent_errors} of {c.recent} inputs received from the store ({pct}) were rejected or failed in the last "
        f"{duration(p.error_rate_window)}, {_before(c, baseline, known, 'inputs')} in the "
        f"{duration(p.error_rate_baseline)} before. Check the store's webhook secret and payloads; the errors are "
        f"kept in the inbox.",
        _rate_facts(c, rate, baseline, known))]


def webhooks_missed(s: StoreSnapshot) -> list[Alert]:
    """Reconciliation polls of the last 24 hours found orders, cancellations or shipments that no webhook had
    brought: they are in backroom now, but the platform's webhooks are not reaching us. One alert while it goes on
    (reminded daily); it clears after a day with nothing missed."""
    return [Alert(
        AlertKind.WEBHOOKS_MISSED, c.subject,
        f"{c.platform} webhooks missed {c.created} orders and {c.changed} updates in 24 h",
        f"Reconciliation polls of {c.account} ({c.platform}) in the 24 hours to {when(s.now, s.timezone)} found "
        f"{c.created} orders and {c.changed} cancellations or shipments that no webhook had delivered. They are "
        f"processed now. Check the webhook subscriptions (backroom connect {c.platform} …) and that the webhook URL "
        f"is reachable.", {"created": c.created, "changed": c.changed, "account": c.account})
        for c in s.connections if c.created or c.changed]


def order_numbers_skipped(s: StoreSnapshot) -> list[Alert]:
    """Order numbers the platform never listed between ones it did, found in the last 24 hours: deleted orders,
    or orders neither webhooks nor polls could read. Each number is reported by one poll; the alert clears a day
    after the last such poll."""
    return [Alert(
        AlertKind.ORDER_NUMBERS_SKIPPED, c.subject,
        f"{c.platform}: {len(c.skipped_numbers)} order numbers never seen",
        f"{c.account} ({c.platform}) has no order numbered {_numbers(c.skipped_numbers)} although the numbers "
        f"around them arrived. If they were not deleted on purpose, look them up in the store's admin.",
        {"numbers": list(c.skipped_numbers[:100]), "account": c.account})
        for c in s.connections if c.skipped_numbers]


def reconcile_failing(s: StoreSnapshot) -> list[Alert]:
    return [Alert(
        AlertKind.RECONCILE_FAILING, c.subject, f"{c.platform}: the reconciliation poll is failing ({c.error})",
        f"The last poll of {c.account} ({c.platform}) failed with {c.error}: orders its webhooks miss are not "
        f"caught until it works. Check the API credentials (see docs/connectors.md) and the platform's status.",
        {"error_type": c.error, "account": c.account})
        for c in s.connections if c.error]


def _numbers(numbers: tuple[int, ...]) -> str:
    shown = ", ".join(f"#{n}" for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def jumped(c: RateCounts, p: AlertPolicy) -> tuple[Fraction, Fraction, bool] | None:
    """(recent rate, baseline rate, whether the baseline counts) when the rate jumped, else None. A baseline with
    fewer events than ``error_rate_min_events`` says nothing: the floor alone decides. Compared as exact fractions."""
    if c.recent == 0 or c.recent < p.error_rate_min_events:
        return None
    rate = Fraction(c.recent_errors, c.recent)
    known = c.baseline > 0 and c.baseline >= p.error_rate_min_events
    baseline = Fraction(c.baseline_errors, c.baseline) if known else Fraction(0)
    if rate < _exact(p.error_rate_floor) or rate < _exact(p.error_rate_jump) * baseline:
        return None
    return rate, baseline, known


def _before(c: RateCounts, baseline: Fraction, known: bool, things: str) -> str:
    return (f"against {float(baseline):.0%} ({c.baseline_errors} of {c.baseline})" if known
            else f"with too few {things} to compare ({c.baseline})")


def _rate_facts(c: RateCounts, rate: Fraction, baseline: Fraction, known: bool, **extra: Any) -> dict[str, Any]:
    return {**extra, "recent": c.recent, "recent_errors": c.recent_errors, "rate": round(float(rate), 4),
            "baseline": c.baseline, "baseline_errors": c.baseline_errors,
            "baseline_rate": round(float(baseline), 4) if known else None}


def effect_failed(*, effect_id: int, kind: str, automation: str, attempts: int, error_type: str,
                  review_item_id: int, order_id: int | None, store: str) -> Alert:
    """An effect gave up after its last attempt (raised by the runner in the same transaction, never by a check).
    One alert per automation and effect kind: while it is open, further failures are counted, not announced.
    The text names the error's type only; the error itself (which may hold a token in a URL or a customer's email
    address) stays in the review item."""
    order = f", order {order_id}" if order_id is not None else ""
    error = error_type_name(error_type)
    return Alert(
        AlertKind.EFFECT_FAILED, effect_group(automation, kind),
        f"{automation}: {kind} failed after {attempts} attempts",
        f"Effect {effect_id} ({kind} of {automation}{order}) gave up after {attempts} attempts ({error}). It waits "
        f"in the review queue as item #{review_item_id}: backroom review show {review_item_id} --store {store}. "
        f"Further {kind} failures of {automation} are counted in this alert, not announced one by one, until none "
        f"of them waits in the review queue.",
        {"effect_id": effect_id, "kind": kind, "automation": automation, "attempts": attempts,
         "review_item_id": review_item_id, "order_id": order_id, "error_type": error})


def effect_failures(s: StoreSnapshot) -> list[Alert]:
    """Failed effects still in the review queue, by automation and kind: they keep an open effect_failed alert open
    (and reminded about) but never open one; their alert resolves when none is left. The ``alerts`` automation's
    own failures are never alerted about."""
    return [Alert(
        AlertKind.EFFECT_FAILED, subject, f"{g.automation}: {g.open_items} failed {g.kind} effects wait for review",
        f"{g.open_items} {g.kind} effects of {g.automation} gave up and wait in the review queue; the latest is item "
        f"#{g.latest_item_id} ({error_type_name(g.latest_error_type)}). See them with: backroom review list "
        f"--store {s.slug}",
        {"automation": g.automation, "kind": g.kind, "open_items": g.open_items,
         "latest_review_item_id": g.latest_item_id, "error_type": error_type_name(g.latest_error_type)},
        opens=False) for subject, g in sorted(s.failed_effects.items()) if g.automation != ALERTS_AUTOMATION]


def error_type_name(error: str) -> str:
    """The exception type that starts an effect's error (``SMTPRecipientsRefused: {...}``), nothing after it;
    ``error`` when the text does not start with a type name."""
    match = _TYPE_NAME.match(error)
    return match.group(1) if match else "error"


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
