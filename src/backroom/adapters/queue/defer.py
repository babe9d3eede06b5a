"""Enqueue procrastinate jobs inside the caller's transaction, through procrastinate's own SQL function.

Going through ``procrastinate_defer_jobs_v1`` (its stable, versioned API) rather than its Python client keeps the
job insert on *our* connection: rollback leaves no job, commit leaves exactly one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, text

EFFECTS_QUEUE = "effects"
RUN_EFFECTS_TASK = "backroom.run_effects"
EFFECTS_PER_JOB = 25

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY("
    " SELECT ROW(:queue, :task, 0, NULL, NULL, a,"
    "  CASE WHEN :delay > 0 THEN now() + make_interval(secs => :delay) END)::procrastinate_job_to_defer_v1"
    " FROM unnest(CAST(:args AS jsonb[])) AS a))"
)


def due_jobs(conn: Connection) -> int:
    """Effect jobs that could run right now (the drain loop's stop condition)."""
    return int(conn.execute(text(
        "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :q AND status = 'todo'"
        " AND (scheduled_at IS NULL OR scheduled_at <= now())"), {"q": EFFECTS_QUEUE}).scalar_one())


def defer_effect_jobs(conn: Connection, effect_ids: Sequence[int], delay_s: float = 0.0) -> int:
    """One job per chunk of effects (a worker drains ~500-800 jobs/s; effects are grouped to spare it).

    Jobs run on the database's time, not the injected clock: a simulated clock replaying last year must not
    schedule a real retry in the past or the future."""
    chunks = [list(effect_ids[i : i + EFFECTS_PER_JOB]) for i in range(0, len(effect_ids), EFFECTS_PER_JOB)]
    if not chunks:
        return 0
    args = [json.dumps({"effect_ids": chunk}) for chunk in chunks]
    conn.execute(_DEFER, {"queue": EFFECTS_QUEUE, "task": RUN_EFFECTS_TASK, "delay": float(delay_s), "args": args})
    return len(chunks)
