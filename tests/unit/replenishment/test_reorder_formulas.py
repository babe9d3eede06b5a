import math
import random
from datetime import date

import pytest

from backroom.replenishment.demand import DemandClass
from backroom.replenishment.policy import (
    Supply,
    days_of_cover,
    last_order_day,
    order_quantity,
    order_up_to,
    plan_line,
    reorder_point,
    round_order,
    safety_stock,
    service_factor,
)

Z95 = 1.6448536269514722


def test_service_factor_is_the_normal_quantile() -> None:
    assert service_factor(0.5) == 0.0
    assert service_factor(0.95) == pytest.approx(Z95, abs=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.2, -0.1])
def test_service_level_outside_the_open_unit_interval_is_refused(level: float) -> None:
    with pytest.raises(ValueError, match="service level"):
        service_factor(level)


def test_safety_stock_adds_demand_and_lead_time_variance() -> None:
    # L·σd² = 16·9 = 144, d²·σL² = 16·16 = 256, sqrt(400) = 20
    assert safety_stock(0.95, demand_mean=4, demand_sd=3, lead_time_mean=16, lead_time_sd=4) == pytest.approx(
        20 * Z95, abs=1e-12)


def test_safety_stock_with_a_fixed_lead_time_is_z_sigma_sqrt_l() -> None:
    assert safety_stock(0.95, demand_mean=7, demand_sd=5, lead_time_mean=4, lead_time_sd=0) == pytest.approx(
        10 * Z95, abs=1e-12)


def test_safety_stock_is_never_negative_below_half_service() -> None:
    assert safety_stock(0.3, demand_mean=4, demand_sd=3, lead_time_mean=16, lead_time_sd=4) == 0.0


def test_reorder_point_and_order_up_to_level() -> None:
    assert reorder_point(demand_mean=4, lead_time_mean=16, safety=20) == 84
    assert order_up_to(84, demand_mean=4, cycle=7) == 112


@pytest.mark.parametrize(
    ("quantity", "moq", "multiple", "expected"),
    [
        (0, 10, 6, 0),
        (-3, 10, 6, 0),
        (12.0, 1, 1, 12),
        (12.2, 1, 1, 13),
        (3, 10, 1, 10),
        (11, 10, 6, 12),
        (7, 5, 4, 8),
        (1, 10, 4, 12),
        (0.5, 0, 1, 1),
    ],
)
def test_round_order_respects_moq_then_pack_multiple(quantity: float, moq: int, multiple: int, expected: int) -> None:
    assert round_order(quantity, moq, multiple) == expected


def test_round_order_refuses_a_zero_multiple_or_negative_moq() -> None:
    with pytest.raises(ValueError, match="multiple"):
        round_order(5, 1, 0)
    with pytest.raises(ValueError, match="moq"):
        round_order(5, -1, 1)


def test_order_quantity_orders_up_to_s_only_at_or_below_the_reorder_point() -> None:
    assert order_quantity(84, reorder_level=84, up_to=112) == 28
    assert order_quantity(85, reorder_level=84, up_to=112) == 0
    assert order_quantity(-5, reorder_level=84, up_to=112, moq=1, multiple=10) == 120


def test_rounding_properties_hold_on_seeded_random_cases() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        quantity = rng.uniform(-50, 500)
        moq, multiple = rng.randint(0, 50), rng.randint(1, 24)
        rounded = round_order(quantity, moq, multiple)
        assert rounded >= 0
        if quantity <= 0:
            assert rounded == 0
            continue
        assert rounded % multiple == 0
        assert rounded >= moq
        assert rounded >= quantity
        assert rounded - multiple < max(quantity, moq)  # the smallest such quantity


def test_order_quantity_is_never_negative_on_seeded_random_cases() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        rop = rng.uniform(0, 100)
        up_to = rop + rng.uniform(0, 100)
        position = rng.uniform(-100, 300)
        qty = order_quantity(position, rop, up_to, rng.randint(0, 20), rng.randint(1, 12))
        assert qty >= 0
        assert (qty > 0) == (position <= rop and up_to - position > 0)


def test_days_of_cover() -> None:
    assert days_of_cover(30, 4) == 7.5
    assert days_of_cover(0, 4) == 0.0
    assert days_of_cover(-2, 4) == 0.0
    assert math.isinf(days_of_cover(10, 0))


def test_last_order_day_is_stockout_day_minus_lead_time() -> None:
    assert last_order_day(date(2026, 1, 1), stock=30, velocity=4, lead_time_days=5) == date(2026, 1, 3)
    assert last_order_day(date(2026, 1, 1), stock=8, velocity=4, lead_time_days=14) == date(2025, 12, 20)
    assert last_order_day(date(2026, 1, 1), stock=8, velocity=0, lead_time_days=14) is None


def test_plan_line_orders_with_its_reason() -> None:
    supply = Supply(lead_time_mean=16, lead_time_sd=4, moq=30, multiple=12, cycle=7)
    line = plan_line("MUG-1", date(2026, 1, 1), DemandClass.SMOOTH, forecast=4, demand_sd=3, on_hand=40, on_order=10,
                     supply=supply, service_level=0.95)
    assert line.safety_stock == pytest.approx(20 * Z95, abs=1e-12)
    assert line.reorder_point == pytest.approx(64 + 20 * Z95, abs=1e-12)
    assert line.order_up_to == pytest.approx(92 + 20 * Z95, abs=1e-12)
    assert line.order == 84  # 92 + 32.9 − 50 = 74.9 → 75 ≥ MOQ 30 → multiple of 12: 84
    assert line.days_of_cover == 12.5
    assert line.last_order_day == date(2025, 12, 28)  # 12 whole days of cover − 16 days lead time
    assert line.reason == ("position 50 ≤ reorder point 96.9 (4.00/day × 16 days lead time + safety 32.9);"
                           " order 84 to reach 124.9 (MOQ 30, multiple 12)")


def test_plan_line_above_the_reorder_point_orders_nothing() -> None:
    line = plan_line("MUG-1", date(2026, 1, 1), DemandClass.SMOOTH, forecast=4, demand_sd=0, on_hand=100,
                     on_order=0, supply=Supply(lead_time_mean=10), service_level=0.95)
    assert line.order == 0
    assert line.reason == "position 100 above reorder point 40.0: 25.0 days of cover"


def test_plan_line_without_demand_says_so() -> None:
    line = plan_line("MUG-1", date(2026, 1, 1), DemandClass.NO_DEMAND, forecast=0, demand_sd=0, on_hand=3,
                     on_order=0, supply=Supply(lead_time_mean=10), service_level=0.95)
    assert line.order == 0
    assert line.last_order_day is None
    assert line.reason == "no demand forecast: nothing to order"
