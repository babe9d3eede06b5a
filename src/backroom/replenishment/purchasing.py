"""Purchase orders: drafted by the plan (one per supplier per order cycle), approved by a person, emailed to the
supplier, received in full or in part.

    draft ──approve──> ordered ──receive (part)──> partially_received ──receive (rest)──> received
      └──────cancel──────┴──────────cancel──────────────┘ (what arrived stays received)

While ordered or partially received, what is still to come counts as *on order* for the next plan, so the plan never
raises a second PO for stock already on its way; past its expected date it is *late*, and still counted (a late
delivery is still coming; the plan says it is late instead of ordering twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from backroom.errors import Conflict, InvalidInput
from backroom.shared.csv_cells import csv_lines

#: the review item a draft PO waits in, and what a person can do with it there
PO_APPROVAL = "po_approval"
PO_APPROVAL_ACTIONS = ("approve", "dismiss")
SUBJECT = "purchase_order"


class PoStatus(StrEnum):
    DRAFT = "draft"
    ORDERED = "ordered"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


OPEN = frozenset({PoStatus.ORDERED, PoStatus.PARTIALLY_RECEIVED})


@dataclass
class PoLine:
    sku: str
    quantity: int
    unit_cost: Decimal
    reason: str = ""
    received: int = 0
    supplier_sku: str | None = None

    @property
    def outstanding(self) -> int:
        return max(0, self.quantity - self.received)


def po_number(supplier_code: str, cycle: date) -> str:
    """One number per supplier per order cycle: the plan finds (and never duplicates) the cycle's PO by it."""
    return f"PO-{supplier_code.upper()}-{cycle:%Y%m%d}"


@dataclass
class PurchaseOrder:
    supplier_id: int
    supplier_code: str
    cycle: date
    currency: str
    lines: list[PoLine] = field(default_factory=list)
    status: PoStatus = PoStatus.DRAFT
    created_at: datetime | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    expected_on: date | None = None
    id: int | None = None

    @property
    def number(self) -> str:
        return po_number(self.supplier_code, self.cycle)

    @property
    def total(self) -> Decimal:
        return sum((line.unit_cost * line.quantity for line in self.lines), Decimal("0"))

    def outstanding(self) -> dict[str, int]:
        """Units still to come per SKU (nothing for a draft, a cancelled or a received PO)."""
        if self.status not in OPEN:
            return {}
        return {line.sku: line.outstanding for line in self.lines if line.outstanding}

    def is_late(self, today: date) -> bool:
        return self.status in OPEN and self.expected_on is not None and self.expected_on < today

    def replace_lines(self, lines: list[PoLine]) -> None:
        """A new plan in the same cycle rewrites a draft; a PO already approved is never changed by a plan."""
        if self.status is not PoStatus.DRAFT:
            raise Conflict(f"{self.number} is {self.status.value}: only a draft is re-planned", code="po_not_draft")
        self.lines = lines

    def approve(self, actor: str, at: datetime, today: date, lead_time_days: float) -> None:
        """Ordered now (``today`` is the store's local date): expected after the lead time, in whole days up."""
        if self.status is not PoStatus.DRAFT:
            raise Conflict(f"{self.number} is {self.status.value}: only a draft can be approved",
                           code="po_not_draft")
        if not self.lines:
            raise Conflict(f"{self.number} has no lines", code="po_empty")
        self.status, self.approved_at, self.approved_by = PoStatus.ORDERED, at, actor
        self.expected_on = today + timedelta(days=math.ceil(lead_time_days))

    def cancel(self) -> None:
        if self.status in (PoStatus.RECEIVED, PoStatus.CANCELLED):
            raise Conflict(f"{self.number} is {self.status.value}", code="po_closed")
        self.status = PoStatus.CANCELLED

    def receive(self, quantities: dict[str, int]) -> dict[str, int]:
        """Book a delivery against the PO's lines; returns the units received per SKU. More than ordered is taken
        (the goods are there) and shows as received > quantity; a SKU not on the PO is refused."""
        if self.status not in OPEN:
            raise Conflict(f"{self.number} is {self.status.value}: only an ordered PO can be received",
                           code="po_not_open")
        by_sku = {line.sku: line for line in self.lines}
        unknown = sorted(set(quantities) - set(by_sku))
        if unknown:
            raise InvalidInput(f"{', '.join(unknown)} not on {self.number}", code="po_unknown_sku")
        if any(q < 0 for q in quantities.values()):
            raise InvalidInput("received quantities must be ≥ 0", code="invalid_quantity")
        received = {sku: q for sku, q in quantities.items() if q > 0}
        if not received:
            raise InvalidInput("nothing to receive", code="invalid_quantity")
        for sku, q in received.items():
            by_sku[sku].received += q
        done = all(line.outstanding == 0 for line in self.lines)
        self.status = PoStatus.RECEIVED if done else PoStatus.PARTIALLY_RECEIVED
        return received


def po_csv(po: PurchaseOrder, supplier_name: str) -> str:
    """The PO as the CSV attached to the supplier's email: one row per line, then the total (spreadsheet-safe)."""
    rows: list[list[object]] = [["po_number", "supplier", "line", "sku", "supplier_sku", "quantity", "unit_cost",
                                 "line_total", "currency"]]
    rows += [[po.number, supplier_name, n, line.sku, line.supplier_sku or "", line.quantity, f"{line.unit_cost:.2f}",
              f"{line.unit_cost * line.quantity:.2f}", po.currency] for n, line in enumerate(po.lines, 1)]
    rows.append([po.number, supplier_name, "", "TOTAL", "", sum(x.quantity for x in po.lines), "", f"{po.total:.2f}",
                 po.currency])
    return "".join(csv_lines(rows))
