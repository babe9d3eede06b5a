"""/api/suppliers, /api/replenishment and /api/purchase-orders: the same use cases as `backroom suppliers` and
`backroom replenish`, behind the bearer token."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from backroom.adapters.db import purchasing as purchasing_db
from backroom.entrypoints.api.app import BackroomDep, StoreScope, _Body, require_token
from backroom.errors import NotFound
from backroom.replenishment.commands import (
    ApprovePurchaseOrder,
    AssignSupplierItems,
    CancelPurchaseOrder,
    ReceivePurchaseOrder,
    RecordSupplier,
    RunReplenishmentPlan,
    receipt_entry,
)
from backroom.replenishment.purchasing import PurchaseOrder
from backroom.replenishment.suppliers import Supplier, SupplierItem, parse_order_days
from backroom.service_layer.messagebus import DuplicateDelivery

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
Number = Annotated[str, Path(min_length=1, max_length=100)]


class SupplierIn(_Body):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)
    email: str = Field(min_length=3, max_length=320)
    lead_time_days: float = Field(gt=0, le=730)
    lead_time_sd_days: float = Field(default=0, ge=0, le=365)
    moq: int = Field(default=1, ge=1, le=10_000_000)
    pack_multiple: int = Field(default=1, ge=1, le=1_000_000)
    order_days: str = Field(default="", max_length=60, description="e.g. 'mon,thu'; empty: any day")
    order_cycle_days: float = Field(default=14, gt=0, le=365)
    currency: str = Field(default="GBP", min_length=3, max_length=3)


class SupplierItemIn(_Body):
    sku: str = Field(min_length=1, max_length=100)
    supplier: str = Field(min_length=1, max_length=64)
    unit_cost: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    supplier_sku: str | None = Field(default=None, max_length=200)
    moq: int | None = Field(default=None, ge=1)
    pack_multiple: int | None = Field(default=None, ge=1)
    lead_time_days: float | None = Field(default=None, gt=0, le=730)


class PlanRequest(_Body):
    dry_run: bool = False
    day: date | None = None
    service_level: float | None = Field(default=None, gt=0, lt=1)


class ActorRequest(_Body):
    actor: str = Field(default="api", min_length=1, max_length=200)
    reason: str = Field(default="", max_length=500)


class ReceiveRequest(_Body):
    location: str = Field(min_length=1, max_length=64)
    lines: dict[str, Annotated[int, Field(ge=0, le=10_000_000)]] = Field(
        default_factory=dict, description="SKU → units received; empty: everything still to come")
    delivery_note: str | None = Field(default=None, min_length=1, max_length=200,
                                      description="the delivery's own reference: the same one twice is a no-op")


@router.get("/suppliers", tags=["replenishment"])
def list_suppliers(backroom: BackroomDep, store: StoreScope) -> list[dict[str, Any]]:
    with backroom.engine.connect() as conn:
        return purchasing_db.supplier_rows(conn, store.id)


@router.post("/suppliers", tags=["replenishment"])
def save_supplier(backroom: BackroomDep, store: StoreScope, body: SupplierIn) -> dict[str, Any]:
    supplier = Supplier(body.code, body.name, body.email, body.lead_time_days, body.lead_time_sd_days, body.moq,
                        body.pack_multiple, parse_order_days(body.order_days), body.order_cycle_days,
                        body.currency.upper())
    saved = backroom.handle(RecordSupplier(supplier), store.slug)
    return {"code": saved.code, "id": saved.id}


@router.post("/suppliers/items", tags=["replenishment"])
def assign_items(backroom: BackroomDep, store: StoreScope,
                 body: list[SupplierItemIn]) -> dict[str, Any]:
    items = tuple(SupplierItem(i.sku, i.supplier, i.unit_cost, i.supplier_sku, i.moq, i.pack_multiple,
                               i.lead_time_days) for i in body)
    return {"assigned": backroom.handle(AssignSupplierItems(items), store.slug)}


@router.post("/replenishment/plan", tags=["replenishment"])
def run_plan(backroom: BackroomDep, store: StoreScope, body: PlanRequest | None = None) -> dict[str, Any]:
    """Plan every SKU and bring today's draft POs up to date (dry_run: compute only)."""
    req = body or PlanRequest()
    outcome = backroom.handle(RunReplenishmentPlan(req.day, req.service_level, req.dry_run, trigger="api"),
                              store.slug)
    return {"summary": outcome.plan.summary(), "purchase_orders": outcome.purchase_orders, "events": outcome.events,
            "skus": [p.as_dict() for p in outcome.plan.skus]}


@router.get("/replenishment/plan", tags=["replenishment"])
def last_plan(backroom: BackroomDep, store: StoreScope) -> list[dict[str, Any]]:
    """Each SKU's line from the last plan that ran (nightly or on demand)."""
    with backroom.engine.connect() as conn:
        return purchasing_db.last_plan(conn, store.id)


@router.get("/purchase-orders", tags=["replenishment"])
def list_purchase_orders(backroom: BackroomDep, store: StoreScope,
                         status: Annotated[str | None, Query(max_length=32)] = None) -> list[dict[str, Any]]:
    with backroom.engine.connect() as conn:
        return purchasing_db.purchase_orders(conn, store.id, status)


@router.get("/purchase-orders/{number}", tags=["replenishment"])
def purchase_order(backroom: BackroomDep, store: StoreScope, number: Number) -> dict[str, Any]:
    with backroom.engine.connect() as conn:
        head = [r for r in purchasing_db.purchase_orders(conn, store.id) if r["number"] == number]
        if not head:
            raise NotFound(f"no purchase order {number}", code="po_not_found")
        return {**head[0], "lines": purchasing_db.purchase_order_lines(conn, store.id, number)}


@router.post("/purchase-orders/{number}/approve", tags=["replenishment"])
def approve(backroom: BackroomDep, store: StoreScope, number: Number,
            body: ActorRequest | None = None) -> dict[str, Any]:
    """Order it: emailed to the supplier with the PO as CSV, on order from now on."""
    po = backroom.handle(ApprovePurchaseOrder(number, (body or ActorRequest()).actor), store.slug)
    return _po(po)


@router.post("/purchase-orders/{number}/cancel", tags=["replenishment"])
def cancel(backroom: BackroomDep, store: StoreScope, number: Number,
           body: ActorRequest | None = None) -> dict[str, Any]:
    req = body or ActorRequest()
    return _po(backroom.handle(CancelPurchaseOrder(number, req.actor, req.reason), store.slug))


@router.post("/purchase-orders/{number}/receive", tags=["replenishment"])
def receive(backroom: BackroomDep, store: StoreScope, number: Number, body: ReceiveRequest) -> dict[str, Any]:
    """A delivery against the PO, in full or in part: stock rises, backorders are served first."""
    lines = tuple(body.lines.items())
    try:
        outcome = backroom.handle(ReceivePurchaseOrder(number, body.location, lines), store.slug,
                                  receipt_entry(number, body.delivery_note, lines))
    except DuplicateDelivery:
        return {"number": number, "duplicate": True, "skus_received": 0, "backorders_completed": 0}
    log.info("%s received: %d SKUs", number, outcome.applied)
    return {"number": number, "skus_received": outcome.applied, "backorders_completed": outcome.allocated}


def _po(po: PurchaseOrder) -> dict[str, Any]:
    return {"number": po.number, "status": po.status.value, "total": f"{po.total:.2f}", "currency": po.currency,
            "expected_on": po.expected_on.isoformat() if po.expected_on else None}
