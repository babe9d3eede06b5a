"""Runs effects: at least once by construction (jobs, sweeps, stalled-job recovery), exactly once in effect
(the row lock + status check here, and the idempotency key passed to the receiver).

While an effect runs, its row is locked FOR UPDATE in an open transaction; the remote call happens inside it and
"done" is committed right after. A crash before the commit leaves the effect pending (the lock dies with the
connection), so it runs again and the receiver dedupes on the key: that sent-but-not-recorded window is one round
trip long (the UPDATE and its COMMIT go as one message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import namedtuple_row
from psycopg.sql import SQL
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update

from backroom.adapters.db import tables as t
from backroom.adapters.db.alerts import AlertRoute, alert_effect_failed
from backroom.adapters.db.bulk import driver
from backroom.adapters.queue.defer import defer_effect_jobs
from backroom.config import EffectSettings
from backroom.orders.error_codes import ALLOWED_ACTIONS, ReasonCode
from backroom.service_layer.effects import EffectStatus, PermanentEffectError
from backroom.shared.clock import Clock

log = logging.getLogger(__name__)
# One email is one claim and one "done", the hot path: both go to psycopg directly, on the job's connection, two
# round trips an email (SQLAlchemy's handling of each statement cost more CPU than the database's work). The claim
# takes only the columns a run reads (the row is also what guards and hooks see) and the guards' last look in the
# same statement; "done" and COMMIT travel together as one simple query.
_PENDING = f"('{EffectStatus.PENDING}', '{EffectStatus.RETRYING}')"
_CLAIM_ONE = ("SELECT id, store_id, kind, key, automation, subject_id, payload, attempts, max_attempts, {look} AS look"
              f" FROM effects e WHERE id = %s AND status IN {_PENDING} FOR UPDATE OF e SKIP LOCKED")
_DONE_AND_COMMIT = SQL(f"UPDATE effects SET status = '{EffectStatus.DONE}', attempts = {{}}, done_at = {{}},"
                       " result = {} WHERE id = {}; COMMIT")

#: runs one effect: (payload, idempotency key) → a result to keep. An executor whose receiver dedupes on the key
#: (a warehouse, a platform API, a recorder) sets ``batch_safe = True``: its effects share one transaction per job.
Executor = Callable[[dict[str, Any], str], dict[str, Any] | None]
#: what else a permanent refusal of an effect of that kind records, in the transaction that fails it:
#: (connection, the effect's row, the error, now) — an email's hard bounce suppresses the address. True: that
#: settles it, nothing is left for a person (no review item, no alert): a marketing email to an address that does
#: not exist, now suppressed
OnPermanent = Callable[[Any, Any, PermanentEffectError, datetime], bool]


@dataclass(frozen=True)
class Guard:
    """A last look just before an effect of a kind runs. ``look``: a SQL expression over the effect's row (``e``),
    evaluated in the statement that claims it (no round trip of its own), giving a text when the effect may have to
    be held back, NULL to run it. ``held``: (connection, the claimed row, that text) → why the effect must not run
    (it is cancelled; whatever goes with that is recorded in the same transaction), or None to run it after all."""

    look: str
    held: Callable[[Any, Any, str], str | None]


FAILURE_REASONS = {
    "fulfillment_request": ReasonCode.FULFILLMENT_FAILED,
    "fulfillment_cancel": ReasonCode.FULFILLMENT_FAILED,
    "email": ReasonCode.EMAIL_FAILED,
    "slack_message": ReasonCode.ACTION_FAILED,
    "webhook_call": ReasonCode.ACTION_FAILED,
    "platform_fulfillment": ReasonCode.ACTION_FAILED,
    "platform_cancel": ReasonCode.ACTION_FAILED,
    "platform_discount": ReasonCode.ACTION_FAILED,
    "platform_consent": ReasonCode.ACTION_FAILED,
}


class EffectRunner:
    """``alerts``: where to announce an effect that gave up (None: it only goes to the review queue);
    ``on_permanent``: per kind, what a permanent refusal (PermanentEffectError) records besides the failure;
    ``guards``: per kind, a last look just before the effect runs, in its transaction (a marketing email whose
    address was suppressed or unsubscribed since it was asked for is cancelled, not sent)."""

    def __init__(self, engine: Engine, executors: Mapping[str, Executor], clock: Clock, settings: EffectSettings,
                 alerts: AlertRoute | None = None, on_permanent: Mapping[str, OnPermanent] | None = None,
                 guards: Mapping[str, Guard] | None = None):
        self.engine = engine
        self.executors = dict(executors)
        self.on_permanent = dict(on_permanent or {})
        self.guards = dict(guards or {})
        self.batch_kinds = sorted(kind for kind, ex in self.executors.items() if getattr(ex, "batch_safe", False))
        looks = " ".join(f"WHEN '{kind}' THEN ({guard.look})" for kind, guard in sorted(self.guards.items()))
        self._claim_one = _CLAIM_ONE.format(look=f"CASE kind {looks} END" if looks else "NULL::text").encode()
        self.clock = clock
        self.settings = settings
        self.alerts = alerts

    def close(self) -> None:
        """Release what executors keep open between effects (SMTP sessions, HTTP connections)."""
        for executor in {id(x): x for x in self.executors.values()}.values():
            close = getattr(executor, "close", None)
            if callable(close):
                close()

    def run(self, effect_ids: list[int]) -> dict[str, int]:
        """A job's effects: those whose receiver dedupes on the key (``batch_safe`` executors) in one transaction,
        the others (email, Slack) one transaction each, so a crash can repeat at most one of them. The job holds
        one pooled connection throughout (one checkout and one liveness check per job, not per email)."""
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            handled = self._run_batch(conn, effect_ids, counts) if self.batch_kinds else set()
            for effect_id in effect_ids:
                if effect_id not in handled:
                    outcome = self._run_one(conn, effect_id)
                    counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def _run_batch(self, conn: Connection, effect_ids: list[int], counts: dict[str, int]) -> set[int]:
        """Effects of batch-safe kinds among these, locked together; "done" is written for all of them at once.
        A crash before the commit runs them all again, and their receivers make the repeat a no-op."""
        e = t.effects
        with conn.begin():
            rows = conn.execute(
                select(e).where(e.c.id.in_(effect_ids), e.c.kind.in_(self.batch_kinds),
                                e.c.status.in_([EffectStatus.PENDING, EffectStatus.RETRYING]))
                .order_by(e.c.id).with_for_update(skip_locked=True)
            ).all()
            done: list[dict[str, Any]] = []
            now = self.clock.now()
            for row in rows:
                try:
                    result = self.executors[row.kind](row.payload, row.key)
                except Exception as err:  # recorded, retried, then reviewed, as in _run_one
                    log.warning("effect %s (%s) failed: %s", row.id, row.kind, type(err).__name__)
                    outcome = self._failed(conn, row, err)
                    counts[outcome] = counts.get(outcome, 0) + 1
                    continue
                done.append({"eid": row.id, "attempts": row.attempts + 1, "result": result})
            if done:
                conn.execute(update(e).where(e.c.id == bindparam("eid")).values(
                    status=EffectStatus.DONE, attempts=bindparam("attempts"), done_at=now,
                    result=bindparam("result")), done)
                counts["done"] = counts.get("done", 0) + len(done)
        return {int(row.id) for row in rows}

    def _run_one(self, conn: Connection, effect_id: int) -> str:
        with conn.begin():
            raw = driver(conn)
            row: Any = raw.cursor(row_factory=namedtuple_row).execute(
                self._claim_one, (effect_id,), prepare=True).fetchone()
            if row is None:
                return "skipped"
            held = None if row.look is None else self.guards[row.kind].held(conn, row, row.look)
            if held is not None:
                conn.execute(update(t.effects).where(t.effects.c.id == row.id).values(
                    status=EffectStatus.CANCELLED, last_error=held, done_at=self.clock.now()))
                return "cancelled"
            try:
                result = self.executors[row.kind](row.payload, row.key)
            except Exception as err:  # an effect's failure is recorded, retried and then reviewed, never lost
                log.warning("effect %s (%s) failed: %s", row.id, row.kind, type(err).__name__)
                return self._failed(conn, row, err)
            # one round trip: the transaction ends here (the row lock with it), the block's commit finds nothing
            raw.execute(_DONE_AND_COMMIT.format(row.attempts + 1, self.clock.now(),
                                                None if result is None else Jsonb(result), row.id))
            return "done"

    def _failed(self, conn: Any, row: Any, err: Exception) -> str:
        e, now = t.effects, self.clock.now()
        attempts = row.attempts + 1
        error = f"{type(err).__name__}: {err}"[:2000]
        permanent = isinstance(err, PermanentEffectError)  # refused for good: no retry can help
        if attempts >= row.max_attempts or permanent:
            conn.execute(update(e).where(e.c.id == row.id).values(
                status=EffectStatus.FAILED, attempts=attempts, last_error=error, done_at=now))
            if (isinstance(err, PermanentEffectError) and row.kind in self.on_permanent
                    and self.on_permanent[row.kind](conn, row, err, now)):
                return "failed"
            reason = FAILURE_REASONS.get(row.kind, ReasonCode.FULFILLMENT_FAILED)
            title = (f"{row.kind.replace('_', ' ')} refused for good" if permanent
                     else f"{row.kind.replace('_', ' ')} failed after {attempts} attempts")
            item_id = conn.execute(insert(t.review_items).values(
                store_id=row.store_id, reason_code=reason.value, subject_type="effect", subject_id=row.id,
                title=title,
                context={"effect_id": row.id, "key": row.key, "kind": row.kind, "error": error,
                         "order_id": row.subject_id},
                allowed_actions=[a.value for a in ALLOWED_ACTIONS[reason]], status="open", created_at=now,
            ).returning(t.review_items.c.id)).scalar_one()
            if self.alerts is not None:
                # the alert names the error's type only: its text may hold a token or a customer's address
                alert_effect_failed(conn, self.alerts, row, attempts, type(err).__name__, item_id, now)
            return "failed"
        delay = min(self.settings.backoff_cap_s, self.settings.backoff_base_s * 2 ** (attempts - 1))
        conn.execute(update(e).where(e.c.id == row.id).values(
            status=EffectStatus.RETRYING, attempts=attempts, last_error=error,
            next_attempt_at=func.now() + timedelta(seconds=delay)))
        defer_effect_jobs(conn, [row.id], delay_s=delay)
        return "retrying"

    def sweep(self, older_than: timedelta = timedelta(seconds=60)) -> int:
        """Re-queue effects that are overdue, in case their job was lost; the status check makes extra jobs
        harmless. Each re-queue moves ``next_attempt_at`` to now, so during a long backlog an effect gets at most
        one extra job per grace period instead of one per recovery pass."""
        with self.engine.begin() as conn:
            ids = conn.execute(
                text("UPDATE effects SET next_attempt_at = now() WHERE id IN ("
                     " SELECT id FROM effects WHERE status IN ('pending', 'retrying')"
                     " AND next_attempt_at < now() - make_interval(secs => :grace)"
                     " ORDER BY id LIMIT 10000 FOR UPDATE SKIP LOCKED) RETURNING id"),
                {"grace": older_than.total_seconds()},
            ).scalars().all()
            defer_effect_jobs(conn, sorted(int(i) for i in ids))
        return len(ids)
