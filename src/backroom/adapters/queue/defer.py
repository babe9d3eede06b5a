"""Enqueue procrastinate jobs inside the caller's transaction, through procrastinate's own SQL function.

Going through ``procrastinate_defer_jobs_v1`` (its stable, versioned API) rather than its Python client keeps the
job insert on *our* connection: rollback leaves no job, commit leaves exactly one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, text

EFFECTS_QUEUE = "effects"
RUN_EFFECTS_TASK = "backroom.run_effects"
EFFECTS_PER_JOB = 25

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY("
    " SELECT ROW(:queue, :task, 0, NULL, NULL, a, CAST(:at AS timestamptz))::procrastinate_job_to_defer_v1"
    " FROM unnest(CAST(:args AS jsonb[])) AS a))"
)


def defer_effect_jobs(conn: Connection, effect_ids: Sequence[int], scheduled_at: datetime | None = None) -> int:
    """One job per chunk of effects (a worker drains ~500-800 jobs/s; effects are grouped to spare it)."""
    chunks = [list(effect_ids[i : i + EFFECTS_PER_JOB]) for i in range(0, len(effect_ids), EFFECTS_PER_JOB)]
    if not chunks:
        return 0
    args = [json.dumps({"effect_ids": chunk}) for chunk in chunks]
    conn.execute(_DEFER, {"queue": EFFECTS_QUEUE, "task": RUN_EFFECTS_TASK, "at": scheduled_at, "args": args})
    return len(chunks)
