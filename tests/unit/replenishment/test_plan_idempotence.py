"""Property: whatever the stock, demand and suppliers, running the plan twice the same day raises no second PO and
changes no draft; on a later day the earlier draft is superseded, never kept beside the new one."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backroom.errors import NotFound
from backroom.replenishment.commands import RunReplenishmentPlan
from backroom.replenishment.planning import SkuState
from backroom.replenishment.purchasing import PoStatus, PurchaseOrder
from backroom.replenishment.service import ReplenishmentSettings, run_plan
from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest
from backroom.shared.clock import SimulatedClock

FRIDAY = date(2026, 11, 27)


class Memory:
    """The stores a plan reads and writes, kept in memory across units of work."""

    def __init__(self, states: list[SkuState], suppliers: dict[str, Supplier], items: dict[str, SupplierItem]):
        self.states = states
        self.suppliers = suppliers
        self.items = items
        self.pos: list[PurchaseOrder] = []
        self.reviews: list[tuple[ReviewRequest, bool]] = []  # (item, open)
        self.flags: dict[str, bool] = {}


class FakeSuppliers:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def all(self) -> dict[str, Supplier]:
        return dict(self.memory.suppliers)

    def items(self, skus: Collection[str] | None = None) -> dict[str, SupplierItem]:
        return {k: v for k, v in self.memory.items.items() if skus is None or k in skus}

    def unknown_skus(self, skus: Collection[str]) -> set[str]:
        return set()

    def get_by_id(self, supplier_id: int) -> Supplier:
        return next(s for s in self.memory.suppliers.values() if s.id == supplier_id)


class FakePurchaseOrders:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def get(self, number: str) -> PurchaseOrder:
        found = [po for po in self.memory.pos if po.number == number]
        if not found:
            raise NotFound(number)
        return found[0]

    def for_cycle(self, supplier_id: int, cycle: date) -> PurchaseOrder | None:
        return next((po for po in self.memory.pos if po.supplier_id == supplier_id and po.cycle == cycle), None)

    def other_drafts(self, supplier_id: int, cycle: date) -> list[PurchaseOrder]:
        return [po for po in self.memory.pos
                if po.supplier_id == supplier_id and po.cycle != cycle and po.status is PoStatus.DRAFT]

    def lock_drafts(self) -> None:
        pass

    def open_orders(self) -> list[PurchaseOrder]:
        return [po for po in self.memory.pos if po.outstanding()]

    def add(self, po: PurchaseOrder) -> None:
        assert self.for_cycle(po.supplier_id, po.cycle) is None, "a second PO in one cycle"
        po.id = len(self.memory.pos) + 1
        self.memory.pos.append(po)

    def save(self, po: PurchaseOrder) -> None:
        po.dirty = False


class FakeReader:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def begin_plan(self) -> None:
        pass

    def sku_states(self, today: date, history_days: int, open_orders: Collection[PurchaseOrder]) -> list[SkuState]:
        on_order: dict[str, int] = {}
        for po in open_orders:
            for sku, units in po.outstanding().items():
                on_order[sku] = on_order.get(sku, 0) + units
        return [SkuState(s.sku, s.demand, s.in_stock, s.on_hand, s.available, s.backordered,
                         on_order.get(s.sku, 0)) for s in self.memory.states]

    def previous_flags(self) -> dict[str, bool]:
        return dict(self.memory.flags)

    def save_plan(self, day: date, rows: Sequence[dict[str, Any]]) -> None:
        self.memory.flags = {r["sku"]: bool(r["stockout_expected"]) for r in rows}


class FakeUow:
    def __init__(self, memory: Memory, clock: SimulatedClock) -> None:
        self.store_id = 1
        self.clock = clock
        self.memory = memory
        self.suppliers = FakeSuppliers(memory)
        self.purchase_orders = FakePurchaseOrders(memory)
        self.plan_reader = FakeReader(memory)
        self.events: list[RecordedEvent] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def request_effect(self, effect: EffectRequest) -> None:
        pass

    def today(self) -> date:
        return self.clock.now().date()

    def cancel_effect(self, key: str) -> bool:
        return False

    def cancel_effects(self, subject_id: int, kinds: tuple[str, ...]) -> list[str]:
        return []

    def withdraw_unsent(self, subject_id: int, keys: set[str]) -> list[str]:
        return []

    def record_event(self, event: RecordedEvent) -> None:
        self.events.append(event)

    def record_decision(self, decision: Decision) -> None:
        pass

    def request_review(self, review: ReviewRequest) -> None:
        assert not any(r.subject_id == review.subject_id and live for r, live in self.memory.reviews), \
            "a second open review item for one PO"
        self.memory.reviews.append((review, True))

    def resolve_reviews(self, subject_type: str, subject_id: int, reasons: tuple[str, ...] | None, resolution: str,
                        *, holds_only: bool = False) -> int:
        hits = [n for n, (r, live) in enumerate(self.memory.reviews) if live and r.subject_id == subject_id
                and r.subject_type == subject_type and (reasons is None or r.reason_code in reasons)]
        for n in hits:
            self.memory.reviews[n] = (self.memory.reviews[n][0], False)
        return len(hits)


skus = st.lists(st.tuples(st.lists(st.integers(0, 30), min_size=14, max_size=60), st.integers(-5, 200),
                          st.integers(0, 2)), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(skus=skus, order_days=st.lists(st.integers(0, 6), max_size=3))
def test_two_runs_on_one_day_raise_no_second_po_and_a_new_day_supersedes(skus: list[tuple[list[int], int, int]],
                                                                          order_days: list[int]) -> None:
    suppliers = {code: Supplier(code, code, f"{code.lower()}@x.example", 5 + n, 1, 6, 3,
                                tuple(sorted(set(order_days))) if n == 1 else (), id=n + 1)
                 for n, code in enumerate(("A", "B", "C"))}
    states, items = [], {}
    for n, (demand, available, supplier) in enumerate(skus):
        sku = f"S{n}"
        history = np.array(demand, dtype=np.float64)
        states.append(SkuState(sku, history, np.ones(len(history), dtype=np.bool_), max(available, 0), available))
        items[sku] = SupplierItem(sku, "ABC"[supplier], Decimal("1.5"))
    memory = Memory(states, suppliers, items)
    clock = SimulatedClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    config = ReplenishmentSettings()

    first = run_plan(RunReplenishmentPlan(), FakeUow(memory, clock), config)
    drafted = [(po.number, [(x.sku, x.quantity) for x in po.lines]) for po in memory.pos]
    assert set(first.purchase_orders.values()) <= {"drafted"}
    second = run_plan(RunReplenishmentPlan(), FakeUow(memory, clock), config)
    assert [(po.number, [(x.sku, x.quantity) for x in po.lines]) for po in memory.pos] == drafted
    assert set(second.purchase_orders.values()) <= {"unchanged"}
    assert second.events == []  # stockout_expected once per episode

    clock.advance(timedelta(days=1))
    run_plan(RunReplenishmentPlan(), FakeUow(memory, clock), config)
    saturday = FRIDAY + timedelta(days=1)
    for supplier in suppliers.values():
        drafts = [po for po in memory.pos if po.supplier_id == supplier.id and po.status is PoStatus.DRAFT]
        assert len(drafts) <= 1  # never two drafts for one supplier
        if supplier.takes_orders_on(saturday):  # Saturday's plan speaks for it: Friday's draft is gone
            assert all(po.cycle == saturday for po in drafts)
    open_reviews = [r.subject_id for r, live in memory.reviews if live]
    assert sorted(open_reviews) == sorted(po.id for po in memory.pos if po.status is PoStatus.DRAFT)


def test_a_draft_for_a_supplier_with_order_days_waits_through_the_days_it_takes_no_orders() -> None:
    monday_only = Supplier("M", "M", "m@x.example", 7, order_days=(0,), id=1)
    history = np.full(60, 3.0)
    memory = Memory([SkuState("S0", history, np.ones(60, dtype=np.bool_), 0, 0)], {"M": monday_only},
                    {"S0": SupplierItem("S0", "M", Decimal("1"))})
    clock = SimulatedClock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # Monday
    config = ReplenishmentSettings()
    assert run_plan(RunReplenishmentPlan(), FakeUow(memory, clock), config).purchase_orders == {
        "PO-M-20261130": "drafted"}
    for _ in range(6):  # Tuesday to Sunday: nothing superseded, nothing new
        clock.advance(timedelta(days=1))
        assert run_plan(RunReplenishmentPlan(), FakeUow(memory, clock), config).purchase_orders == {}
    clock.advance(timedelta(days=1))  # the next Monday's plan replaces it
    assert run_plan(RunReplenishmentPlan(), FakeUow(memory, clock), config).purchase_orders == {
        "PO-M-20261130": "superseded", "PO-M-20261207": "drafted"}
    assert [(po.number, po.status) for po in memory.pos] == [("PO-M-20261130", PoStatus.CANCELLED),
                                                               ("PO-M-20261207", PoStatus.DRAFT)]
