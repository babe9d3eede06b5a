"""Lead-time demand and its safety stock: the exact fill-rate level on given samples, the bootstrap's mechanics and
the hand-computable cases of ``lead_time_demand``."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from backroom.replenishment.demand import DemandSeries
from backroom.replenishment.uncertainty import (
    LeadTimeDemand,
    Uncertainty,
    bootstrap_sums,
    expected_shortage,
    fill_rate_level,
    lead_time_demand,
)

SAMPLES = np.array([30.0, 0.0, 20.0, 10.0])


def test_expected_shortage_is_the_mean_excess_over_the_level() -> None:
    assert expected_shortage(SAMPLES, 15.0) == 5.0  # (0 + 0 + 5 + 15) / 4
    assert expected_shortage(SAMPLES, 0.0) == 15.0
    assert expected_shortage(SAMPLES, 30.0) == 0.0


@pytest.mark.parametrize(("allowed", "level"), [
    (15.0, 0.0),   # nothing needed: E[X] itself is allowed
    (12.0, 4.0),   # on [0, 10] all 4 samples are above s: 15 − s = 12
    (5.0, 15.0),   # on [10, 20] 2 of 4 above: 7.5 − (s − 10) / 2 = 5
    (2.5, 20.0),   # exactly a sample
    (0.0, 30.0),   # no shortage at all: the largest sample
])
def test_fill_rate_level_is_the_lowest_level_with_the_allowed_shortage(allowed: float, level: float) -> None:
    assert fill_rate_level(SAMPLES, allowed) == level
    assert expected_shortage(SAMPLES, level) == allowed


def test_fill_rate_level_with_tied_samples_and_without_samples() -> None:
    assert fill_rate_level(np.full(4, 5.0), 1.0) == 4.0
    assert fill_rate_level(np.array([0.0, 0.0, 8.0, 8.0]), 1.0) == 6.0  # on [0, 8] half above: 4 − s / 2 = 1
    assert fill_rate_level(np.array([]), 1.0) == 0.0


def test_bootstrap_of_a_constant_pool_with_a_fixed_lead_time_is_exact() -> None:
    sums = bootstrap_sums(np.full(3, 3.0), lead_time_mean=4, lead_time_sd=0, draws=50)
    assert sums.tolist() == [12.0] * 50


def test_bootstrap_draws_whole_periods_from_the_pool_and_is_seeded() -> None:
    pool = np.array([0.0, 2.0, 0.0, 5.0])
    sums = bootstrap_sums(pool, lead_time_mean=1, lead_time_sd=0, draws=400)
    assert set(sums.tolist()) == {0.0, 2.0, 5.0}
    assert np.array_equal(sums, bootstrap_sums(pool, 1, 0, 400))
    with_lead_time_sd = bootstrap_sums(np.ones(5), lead_time_mean=3, lead_time_sd=1, draws=400)
    assert with_lead_time_sd.min() >= 1
    assert np.array_equal(with_lead_time_sd, np.rint(with_lead_time_sd))  # whole periods of 1 unit each


def test_smoothing_spreads_sizes_beyond_the_largest_seen_and_keeps_zero_days_zero() -> None:
    sums = bootstrap_sums(np.array([0.0, 5.0]), lead_time_mean=1, lead_time_sd=0, draws=1000, smoothing=0.9)
    positive = sums[sums > 0]
    assert len(positive) + int(np.count_nonzero(sums == 0)) == 1000
    assert positive.max() > 5.0
    assert positive.min() < 5.0
    assert np.array_equal(sums, bootstrap_sums(np.array([0.0, 5.0]), 1, 0, 1000, smoothing=0.9))


def test_normal_method_is_the_textbook_formula() -> None:
    series = DemandSeries.always_in_stock(np.array([0.0, 2.0, 0.0, 2.0]))  # σd = 1
    ltd = lead_time_demand(series, 1.0, 4, 0, 0.95, method=Uncertainty.NORMAL)
    assert ltd == LeadTimeDemand(4.0, NormalDist().inv_cdf(0.95) * 2.0)  # z·sqrt(4 · 1²)
    assert ltd.reorder_point == 4.0 + NormalDist().inv_cdf(0.95) * 2.0


def test_empirical_on_steady_demand_needs_no_safety_stock() -> None:
    series = DemandSeries.always_in_stock(np.full(10, 4.0))
    assert lead_time_demand(series, 4.0, 2, 0, 0.95, order_quantity=12, smoothing=0) == LeadTimeDemand(8.0, 0.0)
    assert lead_time_demand(series, 4.0, 2, 0, 0.95, smoothing=0) == LeadTimeDemand(8.0, 0.0)


def test_empirical_scales_the_samples_up_with_growth_but_never_down() -> None:
    series = DemandSeries.always_in_stock(np.full(8, 2.0))  # every 3-period sum is 6
    assert lead_time_demand(series, 4.0, 3, 0, 0.9, smoothing=0) == LeadTimeDemand(12.0, 0.0)  # 6 × 4/2
    assert lead_time_demand(series, 1.0, 3, 0, 0.9, smoothing=0) == LeadTimeDemand(3.0, 3.0)  # 6 kept


def test_empirical_cycle_service_level_is_the_quantile_of_the_samples() -> None:
    series = DemandSeries.always_in_stock(np.array([0.0, 10.0] * 5))  # one period: 0 or 10, half and half
    assert lead_time_demand(series, 5.0, 1, 0, 0.9, smoothing=0) == LeadTimeDemand(5.0, 5.0)


def test_empirical_fill_rate_target_follows_the_exact_level_of_its_samples() -> None:
    series = DemandSeries.always_in_stock(np.array([0.0, 10.0] * 5))
    tens = int(np.count_nonzero(bootstrap_sums(np.array([0.0, 10.0] * 5), 1, 0, 1000)))
    # zeros then `tens` tens: on [0, 10] the shortage is 10·t/n − s·t/n; allowed (1 − 0.9) × 20 = 2
    expected_level = 10 - 2 * 1000 / tens
    ltd = lead_time_demand(series, 5.0, 1, 0, 0.9, order_quantity=20, smoothing=0)
    assert ltd == LeadTimeDemand(5.0, pytest.approx(expected_level - 5.0, rel=1e-12))


def test_stockout_periods_and_old_history_are_left_out_of_the_pool() -> None:
    censored = DemandSeries(np.array([0.0, 0.0, 10.0, 10.0]), np.array([False, False, True, True]))
    assert lead_time_demand(censored, 10.0, 1, 0, 0.9, smoothing=0) == LeadTimeDemand(10.0, 0.0)
    old_lumps = DemandSeries.always_in_stock(np.array([50.0, 1.0, 1.0, 1.0]))
    assert lead_time_demand(old_lumps, 1.0, 1, 0, 0.9, window=3, smoothing=0) == LeadTimeDemand(1.0, 0.0)
    assert lead_time_demand(old_lumps, 1.0, 1, 0, 0.9, window=0, smoothing=0).safety == 49.0


def test_no_demand_or_no_forecast_needs_no_safety_stock_and_a_bad_service_level_is_refused() -> None:
    assert lead_time_demand(DemandSeries.always_in_stock(np.zeros(5)), 0.0, 14, 4, 0.99) == LeadTimeDemand(0.0, 0.0)
    assert lead_time_demand(DemandSeries.always_in_stock(np.ones(5)), 0.0, 14, 4, 0.99) == LeadTimeDemand(0.0, 0.0)
    with pytest.raises(ValueError, match="service level"):
        lead_time_demand(DemandSeries.always_in_stock(np.ones(5)), 1.0, 14, 4, 1.0)
