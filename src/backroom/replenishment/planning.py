"""The replenishment plan for one day: for every SKU its demand class, forecast, safety stock, reorder point, days
of cover, the last day to order before a stockout, what to order now and why; the orders grouped into draft purchase
orders per supplier; and the stock that earns nothing (dead, slow, over the order-up-to level).

Pure: it is given each SKU's daily demand history (sales net of cancellations, oldest first, ending yesterday) with
its in-stock days, its stock, what is on order, and its supplier; it touches nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from backroom.replenishment.demand import BoolArray, DemandSeries, FloatArray
from backroom.replenishment.forecast import Method, forecast
from backroom.replenishment.policy import HORIZON_DAYS, PlanLine, Supply, plan_line
from backroom.replenishment.purchasing import PoLine
from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.replenishment.uncertainty import Uncertainty, lead_time_demand

#: the version recorded with every plan decision in the audit trail; bump it when the arithmetic changes
POLICY_VERSION = "2"
POLICY = "replenishment_plan"
RUN_SUBJECT = "replenishment_run"  # the decision that records a whole run


def plan_trigger(day: date) -> str:
    """What a day's plan decisions name as their trigger (the nightly job looks for its run by it)."""
    return f"{POLICY}:{day.isoformat()}"


#: observed (in-stock) days a SKU needs before its stock above the order-up-to level counts as excess
MIN_JUDGED_DAYS = 28

#: how much one order covers for a SKU without a supplier (a supplier sets its own)
DEFAULT_CYCLE_DAYS = 14.0


@dataclass(frozen=True)
class PlanSettings:
    service_level: float = 0.995  # with EMPIRICAL a fill-rate target; 0.995 filled 98.6 % in the UCI backtest
    uncertainty: Uncertainty = Uncertainty.EMPIRICAL
    dead_after_days: int = 90  # stock with no sale for this long is dead
    slow_cover_days: float = 120.0  # stock lasting longer than this at the current velocity is slow-moving
    #: a SKU without a supplier is planned with this lead time (and flagged), so its numbers still mean something
    default_lead_time_days: float = 14.0


@dataclass(frozen=True)
class SkuState:
    """What the store knows about one SKU tonight."""

    sku: str
    demand: FloatArray
    in_stock: BoolArray
    on_hand: int
    available: int  # on hand minus what is reserved for orders
    backordered: int = 0  # units orders are still waiting for
    on_order: int = 0  # outstanding on ordered / partially received POs
    late: int = 0  # of which past the PO's expected date
    title: str = ""
    receipts: tuple[tuple[date, int], ...] = ()  # (expected date, units) of what is on order


@dataclass(frozen=True)
class SkuPlan:
    line: PlanLine
    method: Method
    supplier: str | None
    unit_cost: Decimal | None
    lead_time_days: float
    review_days: int  # days until the supplier's next order day: the reorder point covers lead time + this
    stockout_on: date | None  # when the shelf empties at the forecast rate, with receipts that land in time
    stockout_expected: bool  # it runs out before an order placed today could arrive
    late_on_order: int
    dead: bool
    slow: bool
    excess_units: int  # free stock above the order-up-to level (all of it when dead)
    on_hand: int  # free stock: on hand minus what is reserved for orders
    orderable_today: bool  # a supplier who takes orders today
    title: str = ""

    @property
    def sku(self) -> str:
        return self.line.sku

    @property
    def order_value(self) -> Decimal | None:
        return None if self.unit_cost is None else self.unit_cost * self.line.order

    @property
    def stock_value(self) -> Decimal | None:
        return None if self.unit_cost is None else self.unit_cost * self.on_hand

    @property
    def excess_value(self) -> Decimal | None:
        return None if self.unit_cost is None else self.unit_cost * self.excess_units

    def as_dict(self) -> dict[str, object]:
        line = self.line
        return {
            "sku": line.sku, "title": self.title, "supplier": self.supplier, "demand_class": line.demand_class.value,
            "method": self.method.value, "forecast_per_day": round(line.forecast, 4),
            "safety_stock": round(line.safety_stock, 2), "reorder_point": round(line.reorder_point, 2),
            "order_up_to": round(line.order_up_to, 2), "on_hand": self.on_hand, "net_stock": line.on_hand,
            "on_order": line.on_order, "late_on_order": self.late_on_order,
            "days_of_cover": None if math.isinf(line.days_of_cover) else round(line.days_of_cover, 1),
            "stockout_on": _iso(self.stockout_on), "last_order_day": _iso(line.last_order_day),
            "stockout_expected": self.stockout_expected, "order": line.order,
            "unit_cost": _money(self.unit_cost), "order_value": _money(self.order_value),
            "lead_time_days": self.lead_time_days, "review_days": self.review_days, "dead": self.dead,
            "slow": self.slow, "excess_units": self.excess_units,
            "excess_value": _money(self.excess_value), "reason": line.reason,
        }


@dataclass(frozen=True)
class Proposal:
    """What the plan would order from one supplier today: the lines of its draft PO."""

    supplier: Supplier
    lines: tuple[PoLine, ...]


@dataclass(frozen=True)
class Plan:
    day: date
    settings: PlanSettings
    skus: tuple[SkuPlan, ...]
    proposals: tuple[Proposal, ...] = field(default=())

    def to_order(self) -> list[SkuPlan]:
        return [p for p in self.skus if p.line.order]

    def summary(self) -> dict[str, object]:
        def value(items: Iterable[Decimal | None]) -> str:
            return f"{sum((v for v in items if v is not None), Decimal('0')):.2f}"

        skus = self.skus
        return {
            "day": self.day.isoformat(), "skus": len(skus), "to_order": len(self.to_order()),
            "purchase_orders": len(self.proposals), "order_value": value(p.order_value for p in self.to_order()),
            "stockout_expected": sum(p.stockout_expected for p in skus),
            "no_supplier": sum(p.supplier is None and p.line.order > 0 for p in skus),
            "late_on_order": sum(p.late_on_order for p in skus),
            "dead": sum(p.dead for p in skus), "dead_value": value(p.stock_value for p in skus if p.dead),
            "slow": sum(p.slow for p in skus), "slow_value": value(p.stock_value for p in skus if p.slow),
            "excess_units": sum(p.excess_units for p in skus),
            "excess_value": value(p.excess_value for p in skus),
        }


def plan_sku(state: SkuState, today: date, supplier: Supplier | None, item: SupplierItem | None,
             settings: PlanSettings) -> SkuPlan:
    # a day with sales is observed even when the shelf was empty (the store took backorders): only a stockout day
    # without sales hides its demand
    series = DemandSeries(state.demand, state.in_stock | (state.demand > 0))
    fc = forecast(series)
    if supplier is not None and item is not None:
        supply = item.supply(supplier)
        review = supplier.days_to_next_order_day(today)
        orderable = supplier.takes_orders_on(today)
    else:
        supply, review, orderable = Supply(settings.default_lead_time_days, cycle=DEFAULT_CYCLE_DAYS), 1, False
    net = state.available - state.backordered
    # the safety stock the backtest measured: lead-time demand resampled from the SKU's own in-stock history, for a
    # fill-rate target (uncertainty.py); NORMAL is the textbook formula
    protection = supply.lead_time_mean + review - 1
    safety = lead_time_demand(series, fc.mean, protection, supply.lead_time_sd, settings.service_level,
                              method=settings.uncertainty,
                              order_quantity=max(fc.mean * supply.cycle, float(supply.moq))).safety
    line = plan_line(state.sku, today, fc.demand_class, fc.mean, series.demand_sd, net, state.on_order, supply,
                     settings.service_level, safety=safety, review_days=review)
    line = _explained(line, supplier, orderable, today, state.late)
    stockout_on = runs_out_on(today, net, fc.mean, state.receipts)
    expected = stockout_on is not None and stockout_on < today + timedelta(days=math.ceil(supply.lead_time_mean))
    free = max(0, state.available)  # units reserved for orders are sold: they are neither dead nor excess
    window = settings.dead_after_days
    # dead: in stock every day of the window and not one sale (a new SKU, or one just back from a stockout, is not)
    dead = (free > 0 and len(state.demand) >= window and not state.demand[-window:].any()
            and bool(state.in_stock[-window:].all()))
    slow = not dead and free > 0 and (free / fc.mean if fc.mean > 0 else math.inf) > settings.slow_cover_days
    # above the order-up-to level, once the SKU has sold long enough to judge (a new one has no forecast yet)
    judged = int(series.observed.size) >= MIN_JUDGED_DAYS
    excess = free if dead else (max(0, free - math.ceil(line.order_up_to)) if judged else 0)
    return SkuPlan(line, fc.method, supplier.code if supplier else None, item.unit_cost if item else None,
                   supply.lead_time_mean, review, stockout_on, expected, state.late, dead, slow, excess,
                   free, orderable, state.title)


def runs_out_on(today: date, net: int, per_day: float, receipts: tuple[tuple[date, int], ...]) -> date | None:
    """The day the shelf empties at ``per_day``, counting each expected receipt only if it lands before then (a late
    one as if it landed today); None when nothing sells or the stock outlasts ``HORIZON_DAYS``."""
    if per_day <= 0:
        return None
    stock = float(net)
    for landing, units in sorted(receipts):
        arrives = max(0, (landing - today).days)
        if stock / per_day < arrives:
            break  # empty before it lands
        stock += units
    cover = stock / per_day
    return None if cover > HORIZON_DAYS else today + timedelta(days=max(0, math.floor(cover)))


def _explained(line: PlanLine, supplier: Supplier | None, orderable: bool, today: date, late: int) -> PlanLine:
    reason = line.reason
    if late:
        reason += f"; {late} on order are late"
    if line.order and supplier is None:
        reason += "; no supplier: assign one (backroom suppliers assign) to order it"
    elif line.order and not orderable and supplier is not None:
        next_day = today + timedelta(days=supplier.days_to_next_order_day(today))
        reason += f"; {supplier.code} takes orders next on {next_day:%a %d %b}"
    return replace(line, reason=reason)


def make_plan(states: Iterable[SkuState], today: date, suppliers: Mapping[str, Supplier],
              items: Mapping[str, SupplierItem], settings: PlanSettings | None = None) -> Plan:
    """Plan every SKU; the SKUs to order from a supplier who takes orders today become that supplier's proposal."""
    settings = settings or PlanSettings()
    planned = []
    for state in states:
        item = items.get(state.sku)
        supplier = suppliers.get(item.supplier_code) if item else None
        planned.append(plan_sku(state, today, supplier, item, settings))
    by_supplier: dict[str, list[PoLine]] = {}
    for p in planned:
        if p.line.order and p.supplier is not None and p.orderable_today:
            item = items[p.sku]
            by_supplier.setdefault(p.supplier, []).append(
                PoLine(p.sku, p.line.order, item.unit_cost, p.line.reason, supplier_sku=item.supplier_sku))
    proposals = tuple(Proposal(suppliers[code], tuple(sorted(lines, key=lambda x: x.sku)))
                      for code, lines in sorted(by_supplier.items()))
    return Plan(today, settings, tuple(planned), proposals)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
