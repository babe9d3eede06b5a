"""Alerts in the database: each store's snapshot for the checks, ``alert_state``, and notices delivered as effects
of the automation ``alerts`` (so they are retried like any effect; their own failures raise no alert)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.adapters.db.uow import request_effects
from backroom.alerts import checks
from backroom.alerts.hours import BusinessHours
from backroom.alerts.model import (
    ALERTS_AUTOMATION,
    AlertKind,
    AlertPolicy,
    ConnectionPoll,
    FailedEffects,
    RateCounts,
    ReviewHead,
    StoreSnapshot,
    effect_group,
    misses_within,
)
from backroom.alerts.state import AlertState, Notice, NoticeAction, plan
from backroom.config import AlertSettings, Settings
from backroom.service_layer.effects import EffectRequest
from backroom.shared.clock import Clock

_LOCK_KEY = 7_240_612  # one alert check at a time across workers
_TROUBLED = "(status IN ('failed', 'retrying') OR attempts > 1)"
_INPUT_FAILED = "status IN ('failed', 'rejected')"
_EFFECT_RATES = text(
    "SELECT automation,"
    f" count(*) FILTER (WHERE created_at >= :recent), count(*) FILTER (WHERE created_at >= :recent AND {_TROUBLED}),"
    f" count(*) FILTER (WHERE created_at < :recent), count(*) FILTER (WHERE created_at < :recent AND {_TROUBLED})"
    " FROM effects WHERE store_id = :store AND attempts > 0 AND created_at >= :since AND created_at <= :now"
    " GROUP BY automation"
)
_INPUT_RATES = text(
    "SELECT count(*) FILTER (WHERE received_at >= :recent),"
    f" count(*) FILTER (WHERE received_at >= :recent AND {_INPUT_FAILED}),"
    f" count(*) FILTER (WHERE received_at < :recent), count(*) FILTER (WHERE received_at < :recent AND {_INPUT_FAILED})"
    " FROM inbox WHERE store_id = :store AND received_at >= :since AND received_at <= :now"
)
# effects that gave up and wait in the review queue, by automation and kind; the latest one's error type only
_FAILED_EFFECTS = text(
    "SELECT e.automation, e.kind, count(*) AS open_items, max(r.id) AS latest_item_id,"
    " (array_agg(r.context->>'error' ORDER BY r.id DESC))[1] AS latest_error"
    " FROM review_items r JOIN effects e ON e.id = r.subject_id AND e.store_id = r.store_id"
    " WHERE r.store_id = :store AND r.status = 'open' AND r.subject_type = 'effect' AND e.automation <> :alerts"
    " GROUP BY e.automation, e.kind"
)
_RULE_RATES = text(
    "SELECT count(*) FILTER (WHERE at >= :recent), count(*) FILTER (WHERE at >= :recent AND outcome ? 'error'),"
    " count(*) FILTER (WHERE at < :recent), count(*) FILTER (WHERE at < :recent AND outcome ? 'error')"
    " FROM decisions WHERE store_id = :store AND starts_with(policy, 'rule:') AND at >= :since AND at <= :now"
)


@dataclass(frozen=True)
class AlertRoute:
    """Where notices go: Slack when any webhook is configured, email when ``alerts.email_to`` is set."""

    slack_channel: str | None
    email_to: str | None
    max_attempts: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertRoute:
        slack = settings.slack.webhook_url is not None or bool(settings.slack.channels)
        return cls(settings.alerts.slack_channel if slack else None, settings.alerts.email_to or None,
                   settings.effects.max_attempts)


@dataclass(frozen=True)
class SentNotice:
    store: str
    notice: Notice

    def as_dict(self) -> dict[str, Any]:
        n = self.notice
        return {"store": self.store, "alert": n.alert.kind.value, "subject": n.alert.subject,
                "action": n.action.value, "title": n.alert.title, "key": n.key}


def alert_policy(settings: AlertSettings) -> AlertPolicy:
    """The thresholds; refuses malformed business hours (bootstrap calls this at start)."""
    s = settings
    return AlertPolicy(
        BusinessHours.parse(s.business_hours), s.review_queue_max, timedelta(hours=s.review_age_max_h),
        timedelta(minutes=s.quiet_period_min), timedelta(minutes=s.error_rate_window_min),
        timedelta(hours=s.error_rate_baseline_h), s.error_rate_min_events, s.error_rate_floor, s.error_rate_jump,
        timedelta(hours=s.repeat_after_h))


def check_alerts(engine: Engine, settings: Settings, clock: Clock, *, wait: bool = True) -> list[SentNotice] | None:
    """Run every check for every store in one transaction and record the notices. With ``wait=False`` (workers)
    return None at once when another process is checking."""
    policy, route, now = alert_policy(settings.alerts), AlertRoute.from_settings(settings), clock.now()
    sent: list[SentNotice] = []
    with engine.begin() as conn:
        if wait:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        elif not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY}).scalar_one():
            return None
        s = t.stores
        for store in conn.execute(select(s.c.id, s.c.slug, s.c.timezone).order_by(s.c.id)).all():
            states = open_states(conn, store.id)  # locked first: see open_states
            snapshot = read_snapshot(conn, store.id, store.slug, store.timezone, policy, now)
            notices = plan(states, checks.run_checks(snapshot, policy), now, policy.repeat_after)
            record(conn, store.id, store.slug, notices, route, now)
            sent += [SentNotice(store.slug, n) for n in notices]
    return sent


def alert_effect_failed(conn: Connection, route: AlertRoute, row: Any, attempts: int, error_type: str,
                        review_item_id: int, now: datetime) -> None:
    """Called by the runner when an effect gives up, in the transaction that opens its review item. The first
    failure of an automation and effect kind opens its alert and is announced; while that alert is open, further
    failures are only counted in it (the checks remind about it and resolve it). Failures of ``alerts`` itself
    raise nothing."""
    if row.automation == ALERTS_AUTOMATION:
        return
    slug = conn.execute(select(t.stores.c.slug).where(t.stores.c.id == row.store_id)).scalar_one()
    alert = checks.effect_failed(effect_id=row.id, kind=row.kind, automation=row.automation, attempts=attempts,
                                 error_type=error_type, review_item_id=review_item_id, order_id=row.subject_id,
                                 store=slug)
    a = t.alert_state
    where = (a.c.store_id == row.store_id) & (a.c.alert == alert.kind.value) & (a.c.subject == alert.subject)
    # a closed placeholder makes sure there is a row to lock, so that two effects of one group failing at once
    # cannot both open the alert; the row is opened below in this same transaction
    conn.execute(pg_insert(a).values(store_id=row.store_id, alert=alert.kind.value, subject=alert.subject, open=False,
                                     detail={}, opened_at=now).on_conflict_do_nothing())
    state = conn.execute(select(a.c.open, a.c.detail).where(where).with_for_update()).one()
    if not state.open:
        record(conn, row.store_id, slug, [Notice(NoticeAction.OPENED, alert, now, 1)], route, now)
        return
    counts = {"failed": int(state.detail.get("failed", 1)) + 1, "unsent": int(state.detail.get("unsent", 0)) + 1,
              "last_review_item_id": review_item_id}
    conn.execute(update(a).where(where).values(detail=a.c.detail.op("||")(literal(counts, JSONB))))


def read_snapshot(conn: Connection, store_id: int, slug: str, timezone: str, policy: AlertPolicy,
                  now: datetime) -> StoreSnapshot:
    r = t.review_items
    open_items = (r.c.store_id == store_id) & (r.c.status == "open")
    counts = conn.execute(text(
        "SELECT count(*), count(*) FILTER (WHERE created_at <= :cut) FROM review_items"
        " WHERE store_id = :store AND status = 'open'"), {"store": store_id, "cut": now - policy.review_age_max}).one()
    head = conn.execute(select(r.c.id, r.c.reason_code, r.c.created_at).where(open_items)
                        .order_by(r.c.created_at, r.c.id).limit(1)).first()
    last_input = conn.execute(text("SELECT max(received_at) FROM inbox WHERE store_id = :store"
                                   " AND status = 'processed'"), {"store": store_id}).scalar()
    failed = {effect_group(f.automation, f.kind): FailedEffects(
        f.automation, f.kind, int(f.open_items), int(f.latest_item_id), f.latest_error or "")
        for f in conn.execute(_FAILED_EFFECTS, {"store": store_id, "alerts": ALERTS_AUTOMATION})}
    return StoreSnapshot(
        slug, timezone, now, open_reviews=int(counts[0]), overdue_reviews=int(counts[1]),
        oldest_review=ReviewHead(int(head.id), head.reason_code, head.created_at) if head else None,
        last_input_at=last_input, error_rates=_error_rates(conn, store_id, policy, now),
        input_rates=_input_rates(conn, store_id, policy, now), failed_effects=failed,
        connections=_connection_polls(conn, store_id, now))


def _connection_polls(conn: Connection, store_id: int, now: datetime) -> tuple[ConnectionPoll, ...]:
    c = t.connections
    rows = conn.execute(select(c.c.platform, c.c.account, c.c.last_poll)
                        .where(c.c.store_id == store_id).order_by(c.c.id))
    return tuple(ConnectionPoll(r.platform, r.account,
                                *misses_within(r.last_poll.get("recent", []), now),
                                error=str(r.last_poll.get("error", ""))) for r in rows)


def _error_rates(conn: Connection, store_id: int, policy: AlertPolicy, now: datetime) -> dict[str, RateCounts]:
    """Effects that ran at least once (``attempts > 0``), by the automation that asked for them and the time they
    were asked for; troubled ones failed or needed a retry. Rules add their firings (decisions of policy
    ``rule:…``), troubled when the condition raised an error."""
    recent = now - policy.error_rate_window
    params = {"store": store_id, "recent": recent, "since": recent - policy.error_rate_baseline, "now": now}
    rates = {row[0]: RateCounts(*(int(v) for v in row[1:])) for row in conn.execute(_EFFECT_RATES, params)}
    rules = RateCounts(*(int(v) for v in conn.execute(_RULE_RATES, params).one()))
    if rules.recent or rules.baseline:
        rates["rules"] = rates.get("rules", RateCounts()) + rules
    return rates


def _input_rates(conn: Connection, store_id: int, policy: AlertPolicy, now: datetime) -> RateCounts:
    """Inputs received (``inbox``) in the window and the baseline, and those rejected or failed."""
    recent = now - policy.error_rate_window
    params = {"store": store_id, "recent": recent, "since": recent - policy.error_rate_baseline, "now": now}
    return RateCounts(*(int(v) for v in conn.execute(_INPUT_RATES, params).one()))


def open_states(conn: Connection, store_id: int) -> dict[tuple[AlertKind, str], AlertState]:
    """A store's open alerts, locked until the check commits. The lock comes before the snapshot is read: a
    runner that counts one more failed effect into an open effect_failed alert either committed before (and the
    snapshot sees its review item, so the alert is not resolved under it) or waits for this check to end."""
    a = t.alert_state
    rows = conn.execute(select(a).where(a.c.store_id == store_id, a.c.open).with_for_update())
    return {(AlertKind(r.alert), r.subject): AlertState(
        AlertKind(r.alert), r.subject, r.opened_at, r.last_sent_at or r.opened_at, int(r.detail.get("sent", 1)),
        str(r.detail.get("title", "")), int(r.detail.get("failed", 1)), int(r.detail.get("unsent", 0)))
        for r in rows}


def record(conn: Connection, store_id: int, store: str, notices: list[Notice], route: AlertRoute,
           now: datetime) -> None:
    """Save each notice in ``alert_state`` and ask for its deliveries; a key already used is a no-op."""
    a = t.alert_state
    for n in notices:
        where = (a.c.store_id == store_id) & (a.c.alert == n.alert.kind.value) & (a.c.subject == n.alert.subject)
        # failed/unsent: effect_failed's counts (the runner adds to them); a notice has told about all so far
        detail = {"title": n.alert.title, "text": n.alert.text, "facts": n.alert.detail, "sent": n.sent, "unsent": 0}
        if n.action == NoticeAction.OPENED:
            if n.alert.kind == AlertKind.EFFECT_FAILED:
                detail["failed"] = 1
            values = {"open": True, "detail": detail, "opened_at": now, "last_sent_at": now, "closed_at": None}
            conn.execute(pg_insert(a).values(store_id=store_id, alert=n.alert.kind.value, subject=n.alert.subject,
                                             **values)
                         .on_conflict_do_update(index_elements=[a.c.store_id, a.c.alert, a.c.subject], set_=values))
        elif n.action == NoticeAction.REPEATED:
            conn.execute(update(a).where(where).values(detail=a.c.detail.op("||")(literal(detail, JSONB)),
                                                       last_sent_at=now))
        else:
            sent = literal({"sent": n.sent}, JSONB)
            conn.execute(update(a).where(where).values(
                open=False, closed_at=now, last_sent_at=now, detail=a.c.detail.op("||")(sent)))
    _deliver(conn, store_id, store, notices, route, now)


def _deliver(conn: Connection, store_id: int, store: str, notices: list[Notice], route: AlertRoute,
             now: datetime) -> None:
    effects: list[EffectRequest] = []
    for n in notices:
        subject, body = n.message(store)
        if route.slack_channel is not None:
            effects.append(EffectRequest("slack_message", f"{n.key}:slack", ALERTS_AUTOMATION,
                                         {"channel": route.slack_channel, "text": f"*{subject}*\n{body}"}))
        if route.email_to:
            effects.append(EffectRequest("email", f"{n.key}:email", ALERTS_AUTOMATION, {
                "template": "message", "to": route.email_to, "context": {"subject": subject, "body": body}}))
    request_effects(conn, store_id, effects, route.max_attempts, now)


def list_alerts(engine: Engine, store_id: int, include_closed: bool = False) -> list[dict[str, Any]]:
    a = t.alert_state
    query = select(a).where(a.c.store_id == store_id)
    if not include_closed:
        query = query.where(a.c.open)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(a.c.opened_at, a.c.alert, a.c.subject)).all()
    return [{"alert": r.alert, "subject": r.subject, "open": r.open, "title": r.detail.get("title"),
             "sent": r.detail.get("sent"), "opened_at": r.opened_at.isoformat(),
             "last_sent_at": r.last_sent_at.isoformat() if r.last_sent_at else None,
             "closed_at": r.closed_at.isoformat() if r.closed_at else None,
             "detail": {**r.detail.get("facts", {}), **({"failed": r.detail["failed"]} if r.alert == "effect_failed"
                                                          and "failed" in r.detail else {})}}
            for r in rows]
