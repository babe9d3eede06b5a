"""What replenishment needs from storage: suppliers, purchase orders, and read-only views of demand and stock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, Protocol

from backroom.replenishment.planning import SkuState
from backroom.replenishment.purchasing import PurchaseOrder
from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.service_layer.unit_of_work import UnitOfWork


class SupplierRepository(Protocol):
    def save(self, supplier: Supplier) -> Supplier:
        """Insert or update by code; returns it with its id."""
    def all(self) -> dict[str, Supplier]: ...
    def get(self, code: str) -> Supplier:
        """Raises NotFound."""
    def get_by_id(self, supplier_id: int) -> Supplier: ...
    def assign(self, items: Sequence[SupplierItem]) -> None:
        """Upsert each SKU's supplier item (the supplier codes must exist)."""
    def items(self, skus: Collection[str] | None = None) -> dict[str, SupplierItem]:
        """sku → its supplier item (of these SKUs, else of all)."""
    def unknown_skus(self, skus: Collection[str]) -> set[str]:
        """Those of these SKUs the store's catalog does not have."""


class PurchaseOrderRepository(Protocol):
    def get(self, number: str) -> PurchaseOrder:
        """Load and lock a PO of this store by number; raises NotFound."""
    def for_cycle(self, supplier_id: int, cycle: date) -> PurchaseOrder | None:
        """Load and lock the supplier's PO of this order cycle, whatever its status."""
    def other_drafts(self, supplier_id: int, cycle: date) -> list[PurchaseOrder]:
        """Load and lock the supplier's drafts of every other cycle."""
    def lock_drafts(self) -> None:
        """Lock every draft of the store (an approval in flight is waited for, and then counted as on order)."""
    def open_orders(self) -> list[PurchaseOrder]:
        """Ordered and partially received POs (what is on order)."""
    def add(self, po: PurchaseOrder) -> None:
        """Insert (setting its id)."""
    def save(self, po: PurchaseOrder) -> None: ...


class PlanReader(Protocol):
    def begin_plan(self) -> None:
        """One plan per store at a time, reading one snapshot (stock, POs and demand agree with each other); must
        be the transaction's first statement."""
    def sku_states(self, today: date, history_days: int, open_orders: Collection[PurchaseOrder]) -> list[SkuState]:
        """Every SKU in the catalog or with stock: its daily demand over the ``history_days`` before ``today``
        (sales net of cancellations) with the days it was in stock, its stock, backorders and what is on order."""
    def previous_flags(self) -> dict[str, bool]:
        """sku → whether the last plan expected it to stock out (so the event is raised once per episode)."""
    def save_plan(self, day: date, rows: Sequence[dict[str, Any]]) -> None:
        """Keep each SKU's latest plan line (what `replenish plan --last` and the health report read)."""


class PurchasingUnitOfWork(UnitOfWork, Protocol):
    suppliers: SupplierRepository
    purchase_orders: PurchaseOrderRepository

    def today(self) -> date:
        """The store's local date now (its timezone), the day plans and POs are dated by."""

    def cancel_effect(self, key: str) -> bool:
        """Withdraw one effect by its key if it has not run yet; True when it was withdrawn."""


class ReplenishmentUnitOfWork(PurchasingUnitOfWork, Protocol):
    plan_reader: PlanReader
