"""Stock per SKU × location, and the allocation policy that turns order lines into reservations.

Allocation policy (documented in docs/concepts.md):
1. If one location can fill every line of the order, reserve everything there: the highest-priority such location
   wins (one parcel is cheaper than two).
2. Otherwise split line by line across locations in priority order.
3. Whatever cannot be covered is the order's shortfall: the units found stay reserved for it and the order waits in
   the FIFO backorder queue; stock that arrives later is offered to that queue first.
Available = on hand − reserved, and neither may go below zero (the database also enforces it with CHECKs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class LedgerReason(StrEnum):
    RECEIVED = "received"
    ADJUSTED = "adjusted"
    RESERVED = "reserved"
    RELEASED = "released"
    SHIPPED = "shipped"


@dataclass
class StockLevel:
    sku: str
    location_id: int
    location_priority: int
    on_hand: int
    reserved: int
    id: int | None = None
    dirty: bool = False

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    sku: str
    location_id: int
    delta_on_hand: int
    delta_reserved: int
    reason: LedgerReason
    reference: str


@dataclass(frozen=True, slots=True)
class Allocation:
    sku: str
    location_id: int
    quantity: int


@dataclass(frozen=True)
class AllocationResult:
    allocations: tuple[Allocation, ...]
    shortfall: Mapping[str, int]

    @property
    def complete(self) -> bool:
        return not self.shortfall


@dataclass
class StockPool:
    """The locked stock rows of one transaction; every change goes through here and leaves a ledger entry."""

    levels: dict[str, list[StockLevel]]
    ledger: list[LedgerEntry] = field(default_factory=list)

    def levels_for(self, sku: str) -> list[StockLevel]:
        return self.levels.get(sku, [])

    def level(self, sku: str, location_id: int) -> StockLevel:
        for level in self.levels_for(sku):
            if level.location_id == location_id:
                return level
        raise KeyError((sku, location_id))

    def available(self, sku: str) -> int:
        return sum(level.available for level in self.levels_for(sku))

    def allocate(self, needs: Mapping[str, int], reference: str) -> AllocationResult:
        result = plan_allocation(needs, self.levels)
        for allocation in result.allocations:
            self.reserve(allocation, reference)
        return result

    def reserve(self, allocation: Allocation, reference: str) -> None:
        level = self.level(allocation.sku, allocation.location_id)
        if allocation.quantity > level.available:
            raise ValueError(f"cannot reserve {allocation.quantity} of {allocation.sku}: {level.available} available")
        self._change(level, 0, allocation.quantity, LedgerReason.RESERVED, reference)

    def release(self, allocation: Allocation, reference: str) -> None:
        level = self.level(allocation.sku, allocation.location_id)
        self._change(level, 0, -allocation.quantity, LedgerReason.RELEASED, reference)

    def ship(self, allocation: Allocation, reference: str) -> None:
        level = self.level(allocation.sku, allocation.location_id)
        self._change(level, -allocation.quantity, -allocation.quantity, LedgerReason.SHIPPED, reference)

    def receive(self, sku: str, location_id: int, quantity: int, reference: str) -> None:
        reason = LedgerReason.RECEIVED if quantity > 0 else LedgerReason.ADJUSTED
        self._change(self.level(sku, location_id), quantity, 0, reason, reference)

    def _change(self, level: StockLevel, d_on_hand: int, d_reserved: int, reason: LedgerReason, ref: str) -> None:
        on_hand, reserved = level.on_hand + d_on_hand, level.reserved + d_reserved
        if on_hand < 0 or reserved < 0 or reserved > on_hand:
            raise ValueError(f"stock invariant broken for {level.sku}@{level.location_id}: {on_hand=} {reserved=}")
        level.on_hand, level.reserved, level.dirty = on_hand, reserved, True
        self.ledger.append(LedgerEntry(level.sku, level.location_id, d_on_hand, d_reserved, reason, ref))


def plan_allocation(needs: Mapping[str, int], levels: Mapping[str, Iterable[StockLevel]]) -> AllocationResult:
    by_sku = {sku: sorted(levels.get(sku, ()), key=_priority) for sku in needs}
    single = _single_location(needs, by_sku)
    if single is not None:
        return AllocationResult(tuple(Allocation(sku, single, qty) for sku, qty in needs.items()), {})
    allocations: list[Allocation] = []
    shortfall: dict[str, int] = {}
    for sku, wanted in needs.items():
        remaining = wanted
        for level in by_sku[sku]:
            take = min(remaining, level.available)
            if take > 0:
                allocations.append(Allocation(sku, level.location_id, take))
                remaining -= take
        if remaining:
            shortfall[sku] = remaining
    return AllocationResult(tuple(allocations), shortfall)


def _single_location(needs: Mapping[str, int], by_sku: Mapping[str, list[StockLevel]]) -> int | None:
    candidates: dict[int, int] = {}
    for sku, wanted in needs.items():
        for level in by_sku[sku]:
            if level.available >= wanted:
                candidates[level.location_id] = candidates.get(level.location_id, 0) + 1
    priorities = {lv.location_id: lv.location_priority for lvs in by_sku.values() for lv in lvs}
    full = [loc for loc, count in candidates.items() if count == len(needs)]
    return min(full, key=lambda loc: (priorities[loc], loc)) if full else None


def _priority(level: StockLevel) -> tuple[int, int]:
    return (level.location_priority, level.location_id)
