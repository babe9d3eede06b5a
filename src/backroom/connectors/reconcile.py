"""Reconciliation: what a platform's order list says, as commands, so a poll catches what webhooks missed.

Shopify says webhook delivery is not guaranteed, and WooCommerce disables a webhook after five failed deliveries.
A scheduled poll reads the orders updated since a cursor (with an overlap, since platform clocks and our last read
race) and turns each into the commands its webhooks would have given: the import, then its cancellation or its
shipment. Every command goes through the same inbox and bus as a webhook, under an id of the order's version, so a
second poll of the same version is a no-op and an order the webhooks already brought is answered "existing".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from backroom.shared.messages import Command

#: polls re-read this far behind the cursor: updates committed on the platform just before our last read
OVERLAP = timedelta(minutes=5)
#: a skipped order number this much older than the newest one seen is reported (later ones may still arrive)
GAP_GRACE = 20


@dataclass(frozen=True)
class FeedItem:
    """One order as the platform lists it now: its commands in order (import first)."""

    external_id: str
    number: int | None
    updated_at: datetime
    commands: tuple[Command, ...]
    raw: str = ""  # the order as the platform listed it (kept in the inbox)
    problem: str = ""  # why the order cannot be imported (``code: message``); then ``commands`` is empty

    @property
    def version(self) -> str:
        """The delivery id a poll records each command under: one per order version."""
        return f"{self.external_id}@{self.updated_at.isoformat()}"


class OrderFeed(Protocol):
    """A platform's order list, read through its API client."""

    platform: str
    account: str

    def updated_since(self, since: datetime) -> Iterator[FeedItem]: ...


@dataclass(frozen=True)
class PollResult:
    read: int  # orders listed by the platform since the cursor
    created: int  # orders backroom did not have: the webhooks missed them
    changed: int  # cancellations and shipments applied by the poll (their webhooks missed too)
    rejected: int  # orders the poll could not accept (kept in the inbox, as webhooks would be)
    cursor: datetime | None
    skipped_numbers: tuple[int, ...]  # order numbers never seen, older than the grace window

    def as_dict(self) -> dict[str, object]:
        return {"read": self.read, "created": self.created, "changed": self.changed, "rejected": self.rejected,
                "skipped_numbers": list(self.skipped_numbers)}


def since(cursor: datetime | None, now: datetime, first_look_back: timedelta) -> datetime:
    """Where a poll starts reading: the cursor minus the overlap, or (first poll) this far back from now."""
    return (cursor - OVERLAP) if cursor is not None else now - first_look_back


def skipped_numbers(seen: Iterable[int], grace: int = GAP_GRACE) -> tuple[int, ...]:
    """Order numbers missing from a run the platform numbers one by one, ignoring the newest ``grace`` numbers
    (an order being created right now) and anything before the first number we saw."""
    numbers = sorted(set(seen))
    if len(numbers) < 2:
        return ()
    present = set(numbers)
    upto = numbers[-1] - grace
    return tuple(n for n in range(numbers[0], upto + 1) if n not in present)


def order_number(name: str | int | None) -> int | None:
    """The number in a platform's order name (``#1001``, ``1001``, ``SO-1001``), if it has one."""
    if isinstance(name, int):
        return name
    digits = "".join(ch for ch in (name or "") if ch.isdigit())
    return int(digits) if digits and len(digits) <= 18 else None


def newest(items: Sequence[FeedItem], cursor: datetime | None) -> datetime | None:
    """The cursor after a poll: the latest update read (never moving back)."""
    latest = max((i.updated_at for i in items), default=None)
    if latest is None:
        return cursor
    return latest if cursor is None or latest > cursor else cursor
