import math

import numpy as np
import pytest

from backroom.replenishment.demand import (
    DemandClass,
    DemandSeries,
    average_demand_interval,
    classify,
    squared_cv_of_sizes,
)


def test_adi_is_periods_per_demand_period_and_cv2_uses_only_nonzero_sizes() -> None:
    demand = np.array([0.0, 3, 0, 0, 5, 0])
    assert average_demand_interval(demand) == 3.0
    assert squared_cv_of_sizes(demand) == 0.0625  # sizes 3, 5: variance 1 over mean² 16


def test_no_demand_has_infinite_adi_and_zero_cv2() -> None:
    assert math.isinf(average_demand_interval(np.zeros(4)))
    assert squared_cv_of_sizes(np.zeros(4)) == 0.0


@pytest.mark.parametrize(
    ("adi", "cv2", "expected"),
    [
        (1.0, 0.1, DemandClass.SMOOTH),
        (1.3199, 0.4899, DemandClass.SMOOTH),
        (1.0, 0.49, DemandClass.ERRATIC),
        (1.32, 0.1, DemandClass.INTERMITTENT),
        (1.32, 0.49, DemandClass.LUMPY),
        (5.0, 2.0, DemandClass.LUMPY),
    ],
)
def test_syntetos_boylan_cutoffs_put_a_boundary_value_on_the_less_regular_side(
    adi: float, cv2: float, expected: DemandClass
) -> None:
    assert classify(adi, cv2) is expected


def test_velocity_leaves_out_the_periods_that_started_out_of_stock() -> None:
    series = DemandSeries(np.array([4.0, 0, 6, 2]), np.array([True, False, True, True]))
    assert series.velocity == 4.0
    assert series.demand_sd == math.sqrt(8 / 3)
    assert DemandSeries.always_in_stock(series.demand).velocity == 3.0


def test_demand_class_is_taken_from_in_stock_periods_only() -> None:
    demand = np.array([2.0, 0, 0, 2, 0, 0, 2, 0, 0])
    assert DemandSeries.always_in_stock(demand).demand_class is DemandClass.INTERMITTENT
    in_stock = demand > 0
    assert DemandSeries(demand, in_stock).demand_class is DemandClass.SMOOTH


def test_a_series_never_sold_or_never_in_stock_has_no_demand_and_no_velocity() -> None:
    assert DemandSeries.always_in_stock(np.zeros(3)).demand_class is DemandClass.NO_DEMAND
    never = DemandSeries(np.array([1.0, 2.0]), np.array([False, False]))
    assert never.velocity == 0.0
    assert never.demand_sd == 0.0
    assert never.demand_class is DemandClass.NO_DEMAND


def test_demand_and_stock_flags_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        DemandSeries(np.zeros(3), np.ones(2, dtype=np.bool_))
