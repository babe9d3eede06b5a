"""What a person (CLI, API) or the nightly job asks of replenishment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.service_layer.messagebus import InboxEntry
from backroom.shared.messages import Command


@dataclass(frozen=True)
class RecordSupplier(Command):
    """Add a supplier or change one (by code)."""

    supplier: Supplier


@dataclass(frozen=True)
class AssignSupplierItems(Command):
    """Which supplier supplies each SKU, at what cost (one supplier per SKU; a new assignment replaces the old)."""

    items: tuple[SupplierItem, ...]


@dataclass(frozen=True)
class RunReplenishmentPlan(Command):
    """Plan every SKU for ``day`` (default: today in the store's clock) and bring the day's draft POs up to date;
    ``dry_run`` computes and returns the plan, changing nothing."""

    day: date | None = None
    service_level: float | None = None
    dry_run: bool = False
    trigger: str = "manual"


@dataclass(frozen=True)
class ApprovePurchaseOrder(Command):
    number: str
    actor: str


@dataclass(frozen=True)
class CancelPurchaseOrder(Command):
    number: str
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class ReceivePurchaseOrder(Command):
    """A delivery against a PO at a location: the given quantities per SKU, or (empty) everything still to come."""

    number: str
    location_code: str
    lines: tuple[tuple[str, int], ...] = ()


def receipt_entry(number: str, delivery_note: str | None, lines: tuple[tuple[str, int], ...]) -> tuple[InboxEntry, ...]:
    """A delivery with a reference is recorded in the inbox under it, so booking the same delivery again (a retry,
    a second click) is a duplicate, not more stock."""
    if not delivery_note:
        return ()
    body = json.dumps({"po": number, "lines": dict(lines)}).encode()
    return (InboxEntry.from_raw("po-receipt", f"{number}:{delivery_note}", "ReceivePurchaseOrder", body, {}),)
