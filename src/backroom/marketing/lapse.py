"""A customer's own repurchase interval, and when they count as lapsed for a ``customer_lapsed`` flow.

The interval is the median gap between the customer's orders (orders placed less than a day apart count as one
purchase); a customer with fewer than two purchases has none. A ``customer_lapsed`` flow's first step, when it is a
wait, says how long after the last order the customer counts as lapsed — ``wait: {repurchase_interval: 1.5, min:
21d, max: 180d, otherwise: 60d}`` is "1.5 × their interval, clamped, 60 days for one-time buyers" — and the scan
starts that wait at the last order, so it has run out when the customer enters. A flow that starts otherwise counts
the customer lapsed after their interval, or ``ONE_TIME_BUYER`` without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median
from typing import Any

from backroom.marketing.model import Flow, Wait

SAME_PURCHASE = timedelta(days=1)  # orders closer than this are one purchase (a forgotten item, a split order)
ONE_TIME_BUYER = timedelta(days=60)


def repurchase_interval(placed: Sequence[datetime]) -> timedelta | None:
    """The median gap between consecutive purchases; None with fewer than two."""
    times = sorted(placed)
    gaps = [b - a for a, b in pairwise(times) if b - a >= SAME_PURCHASE]
    if not gaps:
        return None
    return timedelta(seconds=median(g.total_seconds() for g in gaps))


def lapse_after(flow: Flow, interval: timedelta | None) -> timedelta:
    """How long after their last order a customer with ``interval`` enters ``flow``."""
    first = flow.steps[0] if flow.steps else None
    if isinstance(first, Wait):
        return first.length(interval)
    return interval if interval is not None else ONE_TIME_BUYER


def shortest_lapse(flow: Flow) -> timedelta:
    """A lower bound of ``lapse_after`` over every customer: the scan reads only customers quiet for this long."""
    first = flow.steps[0] if flow.steps else None
    if isinstance(first, Wait):
        if first.duration is not None:
            return first.duration
        if first.at_least is None:
            return timedelta(0)
        return min(first.at_least, first.otherwise or first.at_least)
    return timedelta(0)


def lapsed_at(flow: Flow, placed: Sequence[datetime]) -> datetime | None:
    """When the customer with these orders counts as lapsed for ``flow`` (None without orders)."""
    if not placed:
        return None
    return max(placed) + lapse_after(flow, repurchase_interval(placed))


def customer_object(email: str, placed: Sequence[datetime], spent: float, now: datetime) -> dict[str, Any]:
    """The ``customer`` flow conditions see, from their orders."""
    interval = repurchase_interval(placed)
    return {"email": email, "orders_count": len(placed), "total_spent": spent, "first_order": len(placed) <= 1,
            "repurchase_interval_days": interval / timedelta(days=1) if interval is not None else 0.0,
            "days_since_last_order": (now - max(placed)) / timedelta(days=1) if placed else 0.0}
