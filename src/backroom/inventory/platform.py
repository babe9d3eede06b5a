"""Stock levels a store's platform reports. backroom's ledger is the stock of record: a platform's level is kept
beside it, never applied, and the difference between the two is drift an owner (or a rule) can act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class PlatformLevel:
    """The last level the platform reported for one of its inventory items at one of its locations."""

    channel: str
    item_id: str
    location_id: str
    sku: str | None  # None until the platform has said which SKU the item is
    available: int | None  # None: the platform does not track this item's stock
    reported_at: datetime | None
    backroom_available: int | None = None  # backroom's available stock of the SKU when the report came
    difference: int | None = None  # the platform's total for the SKU minus backroom's

    def is_newer_than(self, reported_at: datetime | None) -> bool:
        return self.reported_at is not None and reported_at is not None and self.reported_at > reported_at


def drift(platform_available: int, backroom_available: int) -> int:
    """How many more units the platform shows as available than backroom's ledger has (negative: fewer)."""
    return platform_available - backroom_available
