"""Suppliers and what each supplies: lead time and its variability, MOQ, pack multiple, unit cost, the days they
take orders — everything the plan needs to turn "stock runs out on the 14th" into "order 48 from ACME today"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from backroom.errors import InvalidInput
from backroom.replenishment.policy import Supply

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CODE = re.compile(r"[A-Z0-9_]{1,64}")


def parse_order_days(text: str) -> tuple[int, ...]:
    """``"mon,thu"`` → (0, 3); empty → () (any day). Unknown names are refused with the valid ones."""
    days: set[int] = set()
    for part in (p.strip().lower()[:3] for p in text.replace(" ", ",").split(",")):
        if not part:
            continue
        if part not in WEEKDAYS:
            raise InvalidInput(f"unknown order day {part!r}: use {', '.join(WEEKDAYS)}", code="invalid_order_days")
        days.add(WEEKDAYS.index(part))
    return tuple(sorted(days))


def format_order_days(days: tuple[int, ...]) -> str:
    return ",".join(WEEKDAYS[d] for d in days) if days else "any"


@dataclass(frozen=True)
class Supplier:
    code: str
    name: str
    email: str
    lead_time_days: float
    lead_time_sd_days: float = 0.0
    moq: int = 1
    pack_multiple: int = 1
    order_days: tuple[int, ...] = ()  # weekdays (Monday = 0) the supplier takes orders; () = any day
    order_cycle_days: float = 14.0  # how much one order covers, in days of demand
    currency: str = "GBP"
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", self.code.strip().upper())  # PO numbers carry it: one spelling per supplier
        object.__setattr__(self, "currency", self.currency.strip().upper())
        problems = []
        if not CODE.fullmatch(self.code):
            problems.append("code must be 1-64 letters, digits or _")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            problems.append(f"currency {self.currency!r} is not a 3-letter code")
        if any(c in self.email for c in "\r\n") or any(c in self.name for c in "\r\n"):
            problems.append("name and email must be one line")
        if "@" not in self.email:
            problems.append(f"email {self.email!r} is not an address")
        if self.lead_time_days <= 0 or self.lead_time_sd_days < 0:
            problems.append("lead time must be > 0 days and its variability ≥ 0")
        if self.moq < 1 or self.pack_multiple < 1:
            problems.append("MOQ and pack multiple must be ≥ 1")
        if self.order_cycle_days <= 0:
            problems.append("the order cycle must be > 0 days")
        if any(not 0 <= d <= 6 for d in self.order_days):
            problems.append("order days are weekdays 0-6")
        if problems:
            raise InvalidInput(f"supplier {self.code}: " + "; ".join(problems), code="invalid_supplier")

    def takes_orders_on(self, day: date) -> bool:
        return not self.order_days or day.weekday() in self.order_days

    def days_to_next_order_day(self, today: date) -> int:
        """Days from today until the supplier's next order day after today (1 when they take orders daily): the
        review period a reorder point must cover on top of the lead time."""
        for ahead in range(1, 8):
            if self.takes_orders_on(today + timedelta(days=ahead)):
                return ahead
        return 7


@dataclass(frozen=True)
class SupplierItem:
    """One SKU's supplier (its one source), at a unit cost; MOQ, pack multiple and lead time default to the
    supplier's."""

    sku: str
    supplier_code: str
    unit_cost: Decimal
    supplier_sku: str | None = None
    moq: int | None = None
    pack_multiple: int | None = None
    lead_time_days: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "supplier_code", self.supplier_code.strip().upper())
        if not self.sku.strip():
            raise InvalidInput("a SKU must not be empty", code="invalid_supplier_item")
        if self.unit_cost < 0:
            raise InvalidInput(f"{self.sku}: unit cost must be ≥ 0", code="invalid_supplier_item")
        if (self.moq is not None and self.moq < 1) or (self.pack_multiple is not None and self.pack_multiple < 1):
            raise InvalidInput(f"{self.sku}: MOQ and pack multiple must be ≥ 1", code="invalid_supplier_item")
        if self.lead_time_days is not None and self.lead_time_days <= 0:
            raise InvalidInput(f"{self.sku}: lead time must be > 0 days", code="invalid_supplier_item")

    def supply(self, supplier: Supplier) -> Supply:
        return Supply(
            lead_time_mean=self.lead_time_days if self.lead_time_days is not None else supplier.lead_time_days,
            lead_time_sd=supplier.lead_time_sd_days,
            moq=self.moq if self.moq is not None else supplier.moq,
            multiple=self.pack_multiple if self.pack_multiple is not None else supplier.pack_multiple,
            cycle=supplier.order_cycle_days,
        )
