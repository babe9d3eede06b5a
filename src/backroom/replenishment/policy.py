"""Reorder arithmetic: safety stock from a service level and both demand and lead-time variability, reorder point,
order-up-to level, MOQ / pack rounding, days of cover and the last day to order — and the plan line that explains it.

Every quantity is per period (a day for a store, a month for the carparts data); lead times are in the same periods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from backroom.replenishment.demand import DemandClass


def service_factor(service_level: float) -> float:
    """z such that P(N(0, 1) ≤ z) is the cycle service level."""
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be in (0, 1), got {service_level}")
    return NormalDist().inv_cdf(service_level)


def safety_stock(service_level: float, demand_mean: float, demand_sd: float, lead_time_mean: float,
                 lead_time_sd: float) -> float:
    """SS = z·sqrt(L·σd² + d²·σL²): demand uncertainty over the lead time plus lead-time uncertainty at mean demand."""
    variance = lead_time_mean * demand_sd**2 + demand_mean**2 * lead_time_sd**2
    return max(0.0, service_factor(service_level) * math.sqrt(variance))


def reorder_point(demand_mean: float, lead_time_mean: float, safety: float) -> float:
    """Order when the inventory position falls to demand over the lead time plus safety stock."""
    return demand_mean * lead_time_mean + safety


def order_up_to(reorder_level: float, demand_mean: float, cycle: float) -> float:
    """Top the position up to the reorder point plus one order cycle of demand."""
    return reorder_level + demand_mean * cycle


def round_order(quantity: float, moq: int = 1, multiple: int = 1) -> int:
    """Whole units to order: nothing for nothing, else at least the MOQ, rounded up to the pack multiple."""
    if moq < 0 or multiple < 1:
        raise ValueError("moq must be ≥ 0 and multiple ≥ 1")
    if quantity <= 0:
        return 0
    wanted = max(math.ceil(quantity - 1e-9), moq)
    return -(-wanted // multiple) * multiple


def order_quantity(position: float, reorder_level: float, up_to: float, moq: int = 1, multiple: int = 1) -> int:
    """(s, S): at or below the reorder point, order up to S (rounded); otherwise nothing."""
    if position > reorder_level:
        return 0
    return round_order(up_to - position, moq, multiple)


def days_of_cover(stock: float, velocity: float) -> float:
    """Periods the stock lasts at the current velocity; infinite when nothing sells, 0 when there is no stock."""
    if stock <= 0:
        return 0.0
    return stock / velocity if velocity > 0 else math.inf


#: cover beyond this many days has no last order day worth naming (and no date to compute it on)
HORIZON_DAYS = 3650


def last_order_day(today: date, stock: float, velocity: float, lead_time_days: float) -> date | None:
    """The last day an order placed arrives (after the mean lead time) before the stock runs out; None when nothing
    sells (or the stock lasts beyond ``HORIZON_DAYS``). A day before ``today`` means the order is already late."""
    cover = days_of_cover(stock, velocity)
    if cover > HORIZON_DAYS:
        return None
    return today + timedelta(days=math.floor(cover) - math.ceil(lead_time_days))


@dataclass(frozen=True, slots=True)
class Supply:
    """What a supplier imposes on one SKU."""

    lead_time_mean: float
    lead_time_sd: float = 0.0
    moq: int = 1
    multiple: int = 1
    cycle: float = 7.0


@dataclass(frozen=True, slots=True)
class PlanLine:
    sku: str
    demand_class: DemandClass
    forecast: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    on_hand: int
    on_order: int
    days_of_cover: float
    last_order_day: date | None
    order: int
    reason: str


def plan_line(sku: str, today: date, demand_class: DemandClass, forecast: float, demand_sd: float, on_hand: int,
              on_order: int, supply: Supply, service_level: float, safety: float | None = None,
              review_days: int = 1) -> PlanLine:
    """One SKU's decision for ``today`` (daily periods) with the reason a person reads.

    ``on_hand`` is the stock free for new demand (available minus backorders waiting, may be negative).
    ``review_days`` is how long until the next chance to order (1: every day): the reorder point and safety stock
    cover the lead time plus the ``review_days − 1`` days an order waits, while the last order day counts back the
    lead time alone. ``safety`` replaces the normal-theory safety stock when the caller measured it otherwise."""
    protection = supply.lead_time_mean + review_days - 1
    if safety is None:
        safety = safety_stock(service_level, forecast, demand_sd, protection, supply.lead_time_sd)
    rop = reorder_point(forecast, protection, safety)
    up_to = order_up_to(rop, forecast, supply.cycle)
    position = on_hand + on_order
    qty = order_quantity(position, rop, up_to, supply.moq, supply.multiple)
    cover = days_of_cover(position, forecast)
    last_day = last_order_day(today, position, forecast, supply.lead_time_mean)
    if qty:
        span = (f"{supply.lead_time_mean:g} days lead time" if review_days <= 1 else
                f"({supply.lead_time_mean:g} days lead time + {review_days - 1} to the next order day)")
        reason = (f"position {position} ≤ reorder point {rop:.1f} ({forecast:.2f}/day × {span} + safety"
                  f" {safety:.1f}); order {qty} to reach {up_to:.1f} (MOQ {supply.moq}, multiple {supply.multiple})")
    elif forecast <= 0:
        reason = "no demand forecast: nothing to order"
    else:
        reason = f"position {position} above reorder point {rop:.1f}: {cover:.1f} days of cover"
    return PlanLine(sku, demand_class, forecast, safety, rop, up_to, on_hand, on_order, cover, last_day, qty, reason)
