"""The cost budget of Shopify's GraphQL Admin API: one leaky bucket per shop, shared by every client in the process.

Shopify limits each app on each shop by calculated query cost: a query may run only when its *requested* cost is
in the bucket; its *actual* cost is what is taken; the bucket refills at ``restoreRate`` points a second up to
``maximumAvailable``. Every response reports the bucket in ``extensions.cost.throttleStatus``.

A :class:`CostBudget` mirrors that bucket locally so callers wait *before* a call instead of being throttled:

- ``reserve(cost)`` takes the cost now (the bucket may go below zero: a queue of callers each waiting their turn)
  and says how many seconds the caller must wait for its share to have refilled;
- ``settle(...)`` gives back what the reservation over-estimated and never believes more is there than Shopify says
  (other processes of the same app spend from the same bucket), and learns each operation's requested cost so the
  next reservation asks for the right amount.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: what a query is assumed to cost before Shopify has told us (mutations cost 10; most small queries less)
DEFAULT_COST = 50.0
#: Shopify's Standard plan until the first response says otherwise
DEFAULT_MAXIMUM = 1000.0
DEFAULT_RESTORE_RATE = 50.0


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float


@dataclass(frozen=True)
class QueryCost:
    """``extensions.cost`` of one response (``actual`` is None when the query was throttled and did not run)."""

    requested: float | None
    actual: float | None
    status: ThrottleStatus | None


def cost_from_extensions(extensions: Any) -> QueryCost | None:
    """The cost report of a response's ``extensions``, or None when it carries none (or a malformed one)."""
    if not isinstance(extensions, Mapping) or not isinstance(extensions.get("cost"), Mapping):
        return None
    cost = extensions["cost"]
    status = cost.get("throttleStatus")
    throttle = None
    if isinstance(status, Mapping):
        numbers = [_number(status.get(k)) for k in ("maximumAvailable", "currentlyAvailable", "restoreRate")]
        if all(n is not None for n in numbers):
            maximum, current, rate = (float(n) for n in numbers if n is not None)
            throttle = ThrottleStatus(maximum, current, rate)
    return QueryCost(_number(cost.get("requestedQueryCost")), _number(cost.get("actualQueryCost")), throttle)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class CostBudget:
    """A thread-safe local mirror of one shop's bucket. ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, maximum: float = DEFAULT_MAXIMUM, restore_rate: float = DEFAULT_RESTORE_RATE, *,
                 clock: Callable[[], float] = time.monotonic, default_cost: float = DEFAULT_COST) -> None:
        if maximum <= 0 or restore_rate <= 0:
            raise ValueError("a cost budget needs a positive maximum and restore rate")
        self._clock = clock
        self._lock = threading.Lock()
        self._maximum = float(maximum)
        self._restore_rate = float(restore_rate)
        self._available = float(maximum)
        self._at = clock()
        self._default_cost = float(default_cost)
        self._costs: dict[str, float] = {}

    @property
    def maximum(self) -> float:
        with self._lock:
            return self._maximum

    @property
    def restore_rate(self) -> float:
        with self._lock:
            return self._restore_rate

    def available(self) -> float:
        """Points in the bucket now (negative while callers are queued for a refill)."""
        with self._lock:
            self._refill()
            return self._available

    def estimate(self, operation: str) -> float:
        """The requested cost Shopify last reported for this operation (else the default), at most a full bucket."""
        with self._lock:
            return min(self._costs.get(operation, self._default_cost), self._maximum)

    def reserve(self, cost: float) -> float:
        """Take ``cost`` now; the seconds to wait before sending (0 when it was already there)."""
        with self._lock:
            self._refill()
            # what must be in the bucket before this call: its cost, but never more than a full bucket
            needed = min(cost, self._maximum)
            short = needed - self._available
            self._available -= cost
            return max(0.0, short) / self._restore_rate

    def settle(self, operation: str, reserved: float, cost: QueryCost | None, *, ran: bool = True) -> None:
        """After a response: refund what the reservation over-took (all of it when the query did not ``ran``),
        believe no more than Shopify reports, and learn the operation's requested cost."""
        with self._lock:
            self._refill()
            # Shopify reports actualQueryCost null for a query that did not run; no report at all: assume it ran
            spent = 0.0 if not ran else reserved if cost is None else cost.actual or 0.0
            self._available += reserved - spent
            if cost and cost.requested is not None:
                self._costs[operation] = cost.requested
            if cost and cost.status is not None:
                self._maximum = cost.status.maximum_available
                self._restore_rate = max(cost.status.restore_rate, 1e-9)
                self._available = min(self._available, cost.status.currently_available, self._maximum)

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` points are in the bucket, without taking them."""
        with self._lock:
            self._refill()
            return max(0.0, min(cost, self._maximum) - self._available) / self._restore_rate

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._at = now
        self._available = min(self._maximum, self._available + elapsed * self._restore_rate)


_registry: dict[str, CostBudget] = {}
_registry_lock = threading.Lock()


def budget_for(shop: str) -> CostBudget:
    """The process-wide budget of one shop (created on first use), shared by every client calling that shop."""
    key = shop.strip().lower()
    with _registry_lock:
        budget = _registry.get(key)
        if budget is None:
            budget = _registry[key] = CostBudget()
        return budget
