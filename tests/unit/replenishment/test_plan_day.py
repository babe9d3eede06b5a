"""The day's plan, computed by hand: what each SKU orders and why, proposals per supplier, and dead, slow and
excess stock; with properties no plan may break."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backroom.replenishment.demand import DemandSeries
from backroom.replenishment.planning import PlanSettings, SkuState, make_plan, runs_out_on
from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.replenishment.uncertainty import Uncertainty, lead_time_demand

FRIDAY = date(2026, 11, 27)
ACME = Supplier("ACME", "Acme", "a@acme.example", 7, moq=12, pack_multiple=6)
#: the hand-computed cases use the textbook safety stock (σd = 0 for constant demand: no safety stock)
NORMAL = PlanSettings(uncertainty=Uncertainty.NORMAL)


def state(sku: str, per_day: float, days: int = 120, available: int = 10, on_hand: int | None = None,
          **kw: int) -> SkuState:
    demand = np.full(days, per_day)
    return SkuState(sku, demand, np.ones(days, dtype=np.bool_), on_hand if on_hand is not None else available,
                    available, **kw)


def test_a_sku_below_its_reorder_point_orders_up_to_its_level_rounded_to_the_suppliers_terms() -> None:
    plan = make_plan([state("MUG", 2, available=10)], FRIDAY, {"ACME": ACME},
                     {"MUG": SupplierItem("MUG", "ACME", Decimal("2.50"))}, NORMAL)
    [p] = plan.skus
    assert (p.line.forecast, p.line.reorder_point, p.line.order_up_to, p.line.order) == (2.0, 14.0, 42.0, 36)
    assert (p.stockout_on, p.stockout_expected, p.line.last_order_day) == (date(2026, 12, 2), True,
                                                                           date(2026, 11, 25))
    assert p.line.reason == ("position 10 ≤ reorder point 14.0 (2.00/day × 7 days lead time + safety 0.0); order 36 "
                             "to reach 42.0 (MOQ 12, multiple 6)")
    [proposal] = plan.proposals
    assert [(x.sku, x.quantity, x.unit_cost) for x in proposal.lines] == [("MUG", 36, Decimal("2.50"))]
    assert plan.summary()["order_value"] == "90.00"


def test_backorders_and_what_is_on_order_set_the_position() -> None:
    plan = make_plan([state("MUG", 2, available=0, backordered=4, on_order=30)], FRIDAY, {"ACME": ACME},
                     {"MUG": SupplierItem("MUG", "ACME", Decimal("1"))}, NORMAL)
    [p] = plan.skus
    assert (p.line.on_hand, p.line.on_order, p.line.order) == (-4, 30, 0)  # 26 > 14: on its way already
    assert plan.proposals == ()


def test_a_sku_without_a_supplier_is_planned_and_flagged_but_in_no_po() -> None:
    plan = make_plan([state("TEA", 2, available=0)], FRIDAY, {}, {},
                     PlanSettings(default_lead_time_days=10, uncertainty=Uncertainty.NORMAL))
    [p] = plan.skus
    assert (p.supplier, p.line.order, p.lead_time_days) == (None, 48, 10.0)  # 20 + 2 × 14 = 48
    assert p.line.reason.endswith("; no supplier: assign one (backroom suppliers assign) to order it")
    assert (plan.proposals, plan.summary()["no_supplier"]) == ((), 1)


def test_dead_slow_and_excess_stock_are_valued_at_cost() -> None:
    dead = SkuState("OLD", np.r_[np.ones(30), np.zeros(90)], np.ones(120, dtype=np.bool_), 50, 50)
    slow = state("SLOW", 0.1, available=40)  # 400 days of cover
    items = {s: SupplierItem(s, "ACME", Decimal("3")) for s in ("OLD", "SLOW", "MUG")}
    plan = make_plan([dead, slow, state("MUG", 2, available=60)], FRIDAY, {"ACME": ACME}, items, NORMAL)
    by_sku = {p.sku: p for p in plan.skus}
    assert (by_sku["OLD"].dead, by_sku["OLD"].slow, by_sku["OLD"].excess_units) == (True, False, 50)
    assert (by_sku["SLOW"].dead, by_sku["SLOW"].slow) == (False, True)
    assert (by_sku["MUG"].dead, by_sku["MUG"].slow, by_sku["MUG"].excess_units) == (False, False, 18)  # 60 − 42
    summary = plan.summary()
    assert (summary["dead"], summary["dead_value"], summary["slow"], summary["slow_value"]) == (1, "150.00", 1,
                                                                                                 "120.00")


def test_a_stockout_day_without_sales_is_censored_but_a_day_with_sales_counts() -> None:
    demand = np.array([4.0, 0, 0, 0] * 10)
    in_stock = np.array([True, False, False, False] * 10)
    [p] = make_plan([SkuState("MUG", demand, in_stock, 0, 0)], FRIDAY, {}, {}).skus
    assert p.line.forecast == 4.0  # the 30 empty-shelf days are not zero demand


@settings(max_examples=200, deadline=None)
@given(demand=st.lists(st.integers(0, 40), min_size=30, max_size=90), available=st.integers(-100, 500),
       on_order=st.integers(0, 500), moq=st.integers(1, 100), multiple=st.integers(1, 48), lead=st.floats(1, 60),
       sd=st.floats(0, 10))
def test_orders_are_never_negative_and_respect_moq_and_pack_multiple(demand: list[int], available: int,
                                                                     on_order: int, moq: int, multiple: int,
                                                                     lead: float, sd: float) -> None:
    supplier = Supplier("S", "S", "s@x.example", lead, sd, moq, multiple)
    history = np.array(demand, dtype=np.float64)
    sku = SkuState("X", history, np.ones(len(history), dtype=np.bool_), max(available, 0), available,
                   on_order=on_order)
    [p] = make_plan([sku], FRIDAY, {"S": supplier}, {"X": SupplierItem("X", "S", Decimal("1"))}).skus
    assert p.line.order >= 0
    if p.line.order:
        assert p.line.order >= moq
        assert p.line.order % multiple == 0
        position = available + on_order
        assert position + p.line.order >= p.line.order_up_to - 1e-6  # it orders up to S …
        assert p.line.order < max(p.line.order_up_to - position, moq) + multiple  # … and no further than rounding


def test_a_new_sku_or_one_back_from_a_stockout_is_not_dead() -> None:
    never_stocked = np.r_[np.zeros(119, dtype=np.bool_), True]  # received yesterday
    new = SkuState("NEW", np.zeros(120), never_stocked, 50, 50)
    back = SkuState("BACK", np.r_[np.full(20, 3.0), np.zeros(100)], np.r_[np.ones(20, dtype=np.bool_),
                                                                          np.zeros(100, dtype=np.bool_)], 40, 40)
    reserved = SkuState("HELD", np.zeros(120), np.ones(120, dtype=np.bool_), 10, 0)  # every unit sold, not shipped
    by_sku = {p.sku: p for p in make_plan([new, back, reserved], FRIDAY, {}, {}).skus}
    assert [(s, by_sku[s].dead, by_sku[s].excess_units) for s in ("NEW", "BACK", "HELD")] == [
        ("NEW", False, 0), ("BACK", False, 0), ("HELD", False, 0)]
    assert by_sku["BACK"].line.forecast == 3.0


def test_the_wait_for_the_next_order_day_raises_the_reorder_point_but_not_the_order_by_date() -> None:
    monday_only = Supplier("M", "M", "m@x.example", 7, order_days=(0,))
    plan = make_plan([state("MUG", 2, available=40)], FRIDAY, {"M": monday_only},
                     {"MUG": SupplierItem("MUG", "M", Decimal("1"))}, NORMAL)
    [p] = plan.skus
    assert (p.review_days, p.line.reorder_point, p.line.order, p.line.last_order_day) == (
        3, 18.0, 0, date(2026, 12, 10))  # 2/day × (7 + 2); 20 days of cover − 7 days lead time
    low = make_plan([state("MUG", 2, available=10)], FRIDAY, {"M": monday_only},
                    {"MUG": SupplierItem("MUG", "M", Decimal("1"))}, NORMAL).skus[0]
    assert low.line.reason == ("position 10 ≤ reorder point 18.0 (2.00/day × (7 days lead time + 2 to the next order "
                               "day) + safety 0.0); order 36 to reach 46.0 (MOQ 1, multiple 1); M takes orders next "
                               "on Mon 30 Nov")


def test_a_receipt_counts_against_a_stockout_only_if_it_lands_in_time() -> None:
    assert runs_out_on(FRIDAY, 4, 2.0, ((date(2026, 12, 20), 100),)) == date(2026, 11, 29)  # empty first
    assert runs_out_on(FRIDAY, 4, 2.0, ((date(2026, 11, 28), 100),)) == date(2027, 1, 18)  # 104 / 2 = 52 days
    assert runs_out_on(FRIDAY, 4, 2.0, ((date(2026, 11, 20), 10),)) == date(2026, 12, 4)  # late: as if today
    assert runs_out_on(FRIDAY, -4, 2.0, ()) == FRIDAY
    assert runs_out_on(FRIDAY, 4, 0.0, ()) is None
    on_order = SkuState("MUG", np.full(120, 2.0), np.ones(120, dtype=np.bool_), 4, 4, on_order=100,
                        receipts=((date(2026, 12, 20), 100),))
    [p] = make_plan([on_order], FRIDAY, {"ACME": ACME}, {"MUG": SupplierItem("MUG", "ACME", Decimal("1"))}).skus
    assert (p.stockout_on, p.stockout_expected) == (date(2026, 11, 29), True)


def test_by_default_the_safety_stock_is_the_backtested_bootstrap_of_the_skus_own_history() -> None:
    rng = np.random.default_rng(5)
    demand = rng.poisson(0.3, 180) * rng.integers(1, 30, 180)  # lumpy: a few big days
    history = SkuState("LUMP", demand.astype(np.float64), np.ones(180, dtype=np.bool_), 0, 0)
    [p] = make_plan([history], FRIDAY, {"ACME": ACME}, {"LUMP": SupplierItem("LUMP", "ACME", Decimal("1"))}).skus
    expected = lead_time_demand(DemandSeries.always_in_stock(demand.astype(np.float64)), p.line.forecast, 7, 0,
                                PlanSettings().service_level, order_quantity=max(p.line.forecast * 14, 12.0))
    assert p.line.safety_stock == expected.safety
    assert p.line.safety_stock > 0
    assert p.line.reorder_point == p.line.forecast * 7 + expected.safety
