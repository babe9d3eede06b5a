"""Replay demand history period by period under a replenishment policy and measure what a store would have lived.

Assumptions (the data sets give neither lead times nor stock levels):

- Lost sales: demand that finds the shelf empty is gone (an online shopper buys elsewhere); the policy sees *sales*
  and whether each period started in stock, never the lost demand.
- The first ``warmup`` periods are history only (fully served, not scored); every policy starts the scored horizon
  with the same stock: ``initial_cover`` periods of warm-up mean demand.
- Lead time per order is drawn from a seeded normal(mean, sd), rounded to whole periods, at least 1; an order placed
  at the end of period t is on hand at the start of period t + L. Orders still in transit at the end never arrive.
- Each period: receive arrivals → serve demand → the policy sees history, on hand and on order → maybe order.
- Average inventory is the mean end-of-period on hand; a stockout period is one that starts with nothing on hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from backroom.replenishment.demand import BoolArray, DemandSeries, FloatArray
from backroom.replenishment.forecast import forecast
from backroom.replenishment.policy import order_quantity, order_up_to
from backroom.replenishment.uncertainty import DEFAULT_SMOOTHING, DEFAULT_WINDOW, Uncertainty, lead_time_demand


@dataclass(frozen=True, slots=True)
class History:
    """What the store knows at the end of a period: units sold per period and whether each started in stock."""

    sales: FloatArray
    in_stock: BoolArray


class Policy(Protocol):
    def order(self, history: History, on_hand: int, on_order: int) -> int:
        """Units to order now (0 for none)."""
        ...


#: builds one SKU's policy from its warm-up demand
PolicyFactory = Callable[[FloatArray], Policy]


@dataclass(frozen=True, slots=True)
class LeadTime:
    mean: float
    sd: float = 0.0

    def draw(self, rng: np.random.Generator) -> int:
        return max(1, round(rng.normal(self.mean, self.sd))) if self.sd > 0 else max(1, round(self.mean))


@dataclass(frozen=True, slots=True)
class SeriesResult:
    demand: float
    served: float
    stockout_periods: int
    inventory_sum: float
    periods: int
    orders: int

    @property
    def average_inventory(self) -> float:
        return self.inventory_sum / self.periods if self.periods else 0.0


@dataclass(frozen=True, slots=True)
class Metrics:
    series: int
    fill_rate: float
    stockout_periods: int
    average_inventory_units: float
    average_inventory_value: float | None
    orders: int


def simulate(demand: FloatArray, policy: Policy, lead_time: LeadTime, warmup: int, rng: np.random.Generator,
             initial_cover: float = 0.0) -> SeriesResult:
    """One SKU through the scored horizon ``demand[warmup:]``."""
    n = len(demand)
    sales = np.zeros(n)
    in_stock = np.ones(n, dtype=np.bool_)
    sales[:warmup] = demand[:warmup]
    arrivals = np.zeros(n + 1, dtype=np.int64)
    on_hand = math.ceil(float(demand[:warmup].mean()) * initial_cover) if warmup else 0
    on_order = served_total = inventory_sum = 0.0
    stockouts = orders = 0
    for t in range(warmup, n):
        received = int(arrivals[t])
        on_hand += received
        on_order -= received
        in_stock[t] = on_hand > 0
        stockouts += not in_stock[t]
        served = min(float(on_hand), float(demand[t]))
        on_hand -= int(served)
        sales[t] = served
        served_total += served
        qty = policy.order(History(sales[: t + 1], in_stock[: t + 1]), on_hand, int(on_order))
        if qty < 0:
            raise ValueError(f"policy ordered {qty}")
        if qty:
            orders += 1
            on_order += qty
            arrivals[min(t + lead_time.draw(rng), n)] += qty
        inventory_sum += on_hand
    return SeriesResult(float(demand[warmup:].sum()), served_total, stockouts, inventory_sum, n - warmup, orders)


def run(demands: Sequence[FloatArray], make_policy: PolicyFactory, lead_time: LeadTime, warmup: int, seed: int,
        initial_cover: float = 0.0) -> list[SeriesResult]:
    """Every SKU under a fresh policy; SKU i draws its lead times from the same seeded stream under every policy."""
    return [simulate(d, make_policy(d[:warmup]), lead_time, warmup, np.random.default_rng([seed, i]), initial_cover)
            for i, d in enumerate(demands)]


def metrics(results: Sequence[SeriesResult], unit_prices: Sequence[float] | None = None) -> Metrics:
    demand = sum(r.demand for r in results)
    value = None if unit_prices is None else sum(r.average_inventory * p for r, p in zip(results, unit_prices,
                                                                                         strict=True))
    return Metrics(
        series=len(results),
        fill_rate=sum(r.served for r in results) / demand if demand else 1.0,
        stockout_periods=sum(r.stockout_periods for r in results),
        average_inventory_units=sum(r.average_inventory for r in results),
        average_inventory_value=value,
        orders=sum(r.orders for r in results),
    )


class BackroomPolicy:
    """Forecast by demand class on the in-stock history, reorder point from lead-time demand and its uncertainty
    (``uncertainty.lead_time_demand``: by default a bootstrap of the recent history aimed at a fill rate of
    ``service_level``), (s, S) with S one cycle of forecast demand above s; re-planned every ``refit_every``
    periods."""

    def __init__(self, service_level: float, lead_time: LeadTime, cycle: float, refit_every: int = 1,
                 moq: int = 1, multiple: int = 1, uncertainty: Uncertainty = Uncertainty.EMPIRICAL,
                 fill_rate_target: bool = True, window: int = DEFAULT_WINDOW,
                 smoothing: float = DEFAULT_SMOOTHING) -> None:
        self.service_level = service_level
        self.lead_time = lead_time
        self.cycle = cycle
        self.refit_every = refit_every
        self.moq = moq
        self.multiple = multiple
        self.uncertainty = uncertainty
        self.fill_rate_target = fill_rate_target
        self.window = window
        self.smoothing = smoothing
        self._periods_since_fit = refit_every
        self._reorder_point = 0.0
        self._order_up_to = 0.0

    def order(self, history: History, on_hand: int, on_order: int) -> int:
        if self._periods_since_fit >= self.refit_every:
            self._replan(DemandSeries(history.sales, history.in_stock))
        self._periods_since_fit += 1
        return order_quantity(on_hand + on_order, self._reorder_point, self._order_up_to, self.moq, self.multiple)

    def _replan(self, series: DemandSeries) -> None:
        mean = forecast(series).mean
        cycle_quantity = max(mean * self.cycle, float(self.moq)) if self.fill_rate_target else None
        ltd = lead_time_demand(series, mean, self.lead_time.mean, self.lead_time.sd, self.service_level,
                               method=self.uncertainty, order_quantity=cycle_quantity, window=self.window,
                               smoothing=self.smoothing)
        self._reorder_point = ltd.reorder_point
        self._order_up_to = order_up_to(self._reorder_point, mean, self.cycle)
        self._periods_since_fit = 0


class MinMaxPolicy:
    """Odoo / ERPNext reordering rule set once from the warm-up: when the forecasted quantity (on hand + incoming)
    drops below min, order up to max. min covers the lead time plus ``safety_periods`` of mean demand."""

    def __init__(self, warmup_demand: FloatArray, lead_time_mean: float, safety_periods: float, cycle: float) -> None:
        mean = float(warmup_demand.mean()) if len(warmup_demand) else 0.0
        self.minimum = math.ceil(mean * (lead_time_mean + safety_periods))
        self.maximum = self.minimum + math.ceil(mean * cycle)

    def order(self, history: History, on_hand: int, on_order: int) -> int:
        position = on_hand + on_order
        return self.maximum - position if position < self.minimum else 0


class ThresholdPolicy:
    """Shopify Flow's low-stock template: when on hand is at or below a fixed threshold and nothing is already on
    its way, reorder a fixed quantity (one cycle of warm-up demand, at least 1)."""

    def __init__(self, warmup_demand: FloatArray, threshold_periods: float, cycle: float) -> None:
        mean = float(warmup_demand.mean()) if len(warmup_demand) else 0.0
        self.threshold = math.ceil(mean * threshold_periods)
        self.quantity = max(1, math.ceil(mean * cycle))

    def order(self, history: History, on_hand: int, on_order: int) -> int:
        return self.quantity if on_hand <= self.threshold and on_order == 0 else 0
