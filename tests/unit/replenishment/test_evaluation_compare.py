"""The backtest comparison: interpolation on a curve, equal fill rate and equal inventory readings on tiny synthetic
curves, and a whole sweep on a tiny data set."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from backroom.replenishment.backtest import LeadTime
from backroom.replenishment.evaluation import (
    COVER_PERIODS_DAILY,
    DEFAULT_SERVICE_LEVEL,
    SERVICE_LEVELS,
    Comparison,
    DataSet,
    backtest,
    class_runs,
    compare,
    interpolate,
    inventory_at,
    summary_line,
    table_rows,
    versus_minmax,
)

CURVE = [(0.75, 200.0), (0.5, 100.0), (1.0, 600.0)]


@pytest.mark.parametrize(("x", "y"), [(0.875, 400.0), (0.625, 150.0), (0.5, 100.0), (1.0, 600.0), (0.75, 200.0),
                                      (0.25, None), (1.01, None)])
def test_interpolate_is_linear_between_the_bracketing_points(x: float, y: float | None) -> None:
    assert interpolate(CURVE, x) == y


def test_interpolate_on_one_point_or_none() -> None:
    assert interpolate([(0.5, 7.0)], 0.5) == 7.0
    assert interpolate([(0.5, 7.0)], 0.6) is None
    assert interpolate([], 0.5) is None
    assert interpolate([(0.5, 1.0), (0.5, 3.0), (1.0, 5.0)], 0.5) == 1.0  # a flat step: its first point


def _point(knob: float, fill: float, inventory: float, stockouts: int) -> dict[str, Any]:
    return {"knob": knob, "fill_rate": fill, "average_inventory_units": inventory, "stockout_periods": stockouts}


RUNS = {
    "backroom": [_point(0.9, 0.5, 100.0, 40), _point(DEFAULT_SERVICE_LEVEL, 1.0, 300.0, 4)],
    "minmax": [_point(0.0, 0.25, 200.0, 80), _point(14.0, 0.75, 400.0, 20), _point(28.0, 1.0, 800.0, 8)],
    "threshold": [_point(0.0, 0.5, 50.0, 90), _point(14.0, 0.625, 70.0, 70)],
}


def test_compare_at_the_target_fill_rate_and_at_backrooms_inventory() -> None:
    c = compare(RUNS, target=0.875)
    assert c == Comparison(
        target_fill_rate=0.875, compared_at_fill_rate=0.875,
        inventory_at_fill_rate={"backroom": 250.0, "minmax": 600.0, "threshold": None}, inventory_upper_bound=[],
        inventory_reduction_vs_minmax=1 - 250.0 / 600.0,
        backroom_fill_rate=1.0, backroom_stockout_periods=4, backroom_inventory=300.0,
        # min/max at 300 units: halfway from (200, 80) to (400, 20)
        minmax_stockout_periods_at_equal_inventory=50.0, stockout_ratio_vs_minmax=4 / 50)
    assert c.target_reached


def test_compare_falls_back_to_the_highest_fill_rate_both_reach() -> None:
    runs = {**RUNS, "backroom": [_point(0.9, 0.5, 100.0, 40), _point(0.95, 0.625, 200.0, 30)]}
    c = compare(runs, target=0.98)
    assert c.compared_at_fill_rate == 0.625
    assert c.inventory_at_fill_rate == {"backroom": 200.0, "minmax": 350.0, "threshold": 70.0}
    assert c.inventory_reduction_vs_minmax == 1 - 200.0 / 350.0
    assert not c.target_reached
    assert c.inventory_upper_bound == []
    assert compare(RUNS, target=0.4).inventory_upper_bound == ["backroom", "threshold"]
    # no point at the default knob: nothing read at equal inventory
    assert (c.backroom_fill_rate, c.minmax_stockout_periods_at_equal_inventory, c.stockout_ratio_vs_minmax) == (
        None, None, None)


def test_summary_line_states_both_readings() -> None:
    result = {"period": "day", "default_service_level": DEFAULT_SERVICE_LEVEL, **asdict(compare(RUNS, 0.875))}
    assert summary_line(result) == (
        "at fill rate 87.50%: average inventory backroom 250, minmax 600, threshold - units "
        "(backroom 58.3% below minmax); at backroom's inventory (300 units, service level "
        f"{DEFAULT_SERVICE_LEVEL}) stockout days backroom 4, minmax 50")


def test_class_runs_picks_one_class_out_of_every_point() -> None:
    runs = {"backroom": [{"knob": 0.9, "by_class": {"lumpy": {"fill_rate": 0.5}}},
                         {"knob": 0.99, "by_class": {"lumpy": {"fill_rate": 0.7}, "smooth": {"fill_rate": 1.0}}}]}
    assert class_runs(runs, "smooth") == {"backroom": [{"fill_rate": 1.0, "knob": 0.99}]}
    assert class_runs(runs, "lumpy") == {"backroom": [{"fill_rate": 0.5, "knob": 0.9},
                                                      {"fill_rate": 0.7, "knob": 0.99}]}


def test_backtest_on_steady_demand_never_runs_out_under_any_policy() -> None:
    data = DataSet("steady", [np.full(40, 2.0), np.full(40, 3.0)], [1.0, 10.0], warmup=10, lead_time=LeadTime(1),
                   cycle=14, covers=COVER_PERIODS_DAILY, note="two steady SKUs")
    result = backtest(data, target=0.98, refit_every=7)
    assert {p: [r["knob"] for r in points] for p, points in result["runs"].items()} == {
        "backroom": list(SERVICE_LEVELS), "minmax": list(COVER_PERIODS_DAILY), "threshold": list(COVER_PERIODS_DAILY)}
    rows = table_rows(result)
    assert len(rows) == len(SERVICE_LEVELS) + 2 * len(COVER_PERIODS_DAILY)
    assert {(r["fill_rate"], r["stockout_periods"]) for r in rows} == {(1.0, 0)}
    assert result["series"] == 2
    assert result["compared_at_fill_rate"] == 0.98
    # min/max at cover 0: min 2 and 3, max 2 + 28 = 30 and 3 + 42 = 45; both start at 15 days of cover (30, 45)
    minmax0 = result["runs"]["minmax"][0]
    assert minmax0["orders"] == 2 * 2  # down from 30 to 2 takes 14 days; one more cycle fits in the 30 scored days
    assert list(result["by_class"]) == ["smooth"]


def test_a_curve_entirely_above_the_fill_rate_is_read_at_its_cheapest_point() -> None:
    points = [_point(0.9, 0.99, 120.0, 1), _point(0.99, 1.0, 150.0, 0)]
    assert inventory_at(points, 0.98) == 120.0
    assert inventory_at(points, 0.995) == 135.0
    assert inventory_at(points, 1.0) == 150.0
    assert inventory_at([_point(0.9, 0.5, 10.0, 9)], 0.98) is None


def test_versus_minmax_reads_both_ways() -> None:
    assert versus_minmax(0.4) == "40.0% below minmax"
    assert versus_minmax(-0.25) == "25.0% above minmax"
    assert versus_minmax(None) == "- vs minmax"
