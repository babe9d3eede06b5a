import numpy as np
import pytest

from backroom.replenishment.backtest import (
    BackroomPolicy,
    History,
    LeadTime,
    MinMaxPolicy,
    SeriesResult,
    ThresholdPolicy,
    metrics,
    run,
    simulate,
)
from backroom.replenishment.uncertainty import Uncertainty


def test_min_max_on_constant_demand_orders_every_other_period_and_never_runs_out() -> None:
    demand = np.full(10, 2.0)
    policy = MinMaxPolicy(demand[:2], lead_time_mean=1, safety_periods=0, cycle=1)
    assert (policy.minimum, policy.maximum) == (2, 4)
    result = simulate(demand, policy, LeadTime(1), warmup=2, rng=np.random.default_rng(0), initial_cover=2)
    # end-of-period stock 2, 0, 2, 0, …; orders of 4 at t = 3, 5, 7, 9 (the last never arrives)
    assert result == SeriesResult(demand=16.0, served=16.0, stockout_periods=0, inventory_sum=8.0, periods=8,
                                  orders=4)
    assert result.average_inventory == 1.0


def test_lost_sales_are_not_backordered_and_an_empty_start_is_a_stockout_period() -> None:
    demand = np.array([0.0, 0, 5, 5, 5, 5])
    policy = ThresholdPolicy(demand[:2], threshold_periods=3, cycle=7)
    assert (policy.threshold, policy.quantity) == (0, 1)
    result = simulate(demand, policy, LeadTime(1), warmup=2, rng=np.random.default_rng(0))
    assert result == SeriesResult(demand=20.0, served=3.0, stockout_periods=1, inventory_sum=0.0, periods=4,
                                  orders=4)


def test_threshold_policy_waits_while_an_order_is_on_its_way() -> None:
    policy = ThresholdPolicy(np.full(5, 1.0), threshold_periods=3, cycle=10)
    history = History(np.ones(5), np.ones(5, dtype=np.bool_))
    assert policy.order(history, on_hand=3, on_order=0) == 10
    assert policy.order(history, on_hand=3, on_order=10) == 0
    assert policy.order(history, on_hand=4, on_order=0) == 0


NORMAL = Uncertainty.NORMAL


def test_backroom_policy_on_steady_demand_is_plain_reorder_point_arithmetic() -> None:
    policy = BackroomPolicy(service_level=0.95, lead_time=LeadTime(2), cycle=3, uncertainty=NORMAL)
    history = History(np.full(10, 4.0), np.ones(10, dtype=np.bool_))
    # forecast 4, σ 0 → safety 0, reorder point 8, order-up-to 20
    assert policy.order(history, on_hand=5, on_order=3) == 12
    assert policy.order(history, on_hand=9, on_order=0) == 0


def test_backroom_policy_ignores_sales_lost_to_a_stockout() -> None:
    policy = BackroomPolicy(service_level=0.95, lead_time=LeadTime(2), cycle=3, uncertainty=NORMAL)
    sales = np.array([4.0, 4, 0, 0, 4, 4, 4, 4, 4, 4])
    in_stock = sales > 0
    assert policy.order(History(sales, in_stock), on_hand=8, on_order=0) == 12


def test_backroom_policy_replans_only_every_refit_periods() -> None:
    policy = BackroomPolicy(service_level=0.95, lead_time=LeadTime(2), cycle=3, refit_every=2, uncertainty=NORMAL)
    flags = np.ones(10, dtype=np.bool_)
    assert policy.order(History(np.full(10, 4.0), flags), on_hand=8, on_order=0) == 12
    assert policy.order(History(np.full(10, 8.0), flags), on_hand=8, on_order=0) == 12  # same plan
    assert policy.order(History(np.full(10, 8.0), flags), on_hand=8, on_order=0) == 32  # re-planned: 16 → 40


def test_backroom_policy_by_default_aims_the_bootstrap_at_a_fill_rate() -> None:
    policy = BackroomPolicy(service_level=0.95, lead_time=LeadTime(1), cycle=3, smoothing=0)
    history = History(np.full(20, 4.0), np.ones(20, dtype=np.bool_))
    # every 1-day sample is 4; 5 % of a 12-unit cycle may go short: level 3.4 < mean 4 → no safety stock;
    # reorder point 4, order-up-to 4 + 3 × 4 = 16
    assert policy.order(history, on_hand=5, on_order=0) == 0
    assert policy.order(history, on_hand=3, on_order=1) == 12


def test_backroom_policy_with_a_cycle_service_level_covers_the_largest_lump_it_has_seen() -> None:
    policy = BackroomPolicy(service_level=0.9, lead_time=LeadTime(1), cycle=2, fill_rate_target=False, smoothing=0)
    history = History(np.array([0.0, 10.0] * 10), np.ones(20, dtype=np.bool_))
    policy.order(history, on_hand=0, on_order=0)
    # one day of demand is 0 or 10, each about half the draws: the 90 % quantile is 10
    assert policy._reorder_point == pytest.approx(10.0, abs=1e-12)


class _Negative:
    def order(self, history: History, on_hand: int, on_order: int) -> int:
        return -1


def test_a_policy_ordering_a_negative_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="ordered -1"):
        simulate(np.ones(4), _Negative(), LeadTime(1), warmup=1, rng=np.random.default_rng(0))


def test_lead_time_draws_are_seeded_and_at_least_one_period() -> None:
    draws = [LeadTime(14, 4).draw(np.random.default_rng(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    assert LeadTime(0.2).draw(np.random.default_rng(0)) == 1
    rng = np.random.default_rng(1)
    assert min(LeadTime(1, 5).draw(rng) for _ in range(500)) == 1


def test_stock_never_goes_negative_and_served_never_exceeds_demand_on_seeded_random_runs() -> None:
    rng = np.random.default_rng(17)
    demands = [(rng.random(60) < 0.4) * rng.poisson(6, 60).astype(float) for _ in range(30)]
    for make in (lambda w: BackroomPolicy(0.95, LeadTime(3, 1), cycle=5, refit_every=3),
                 lambda w: MinMaxPolicy(w, 3, 5, 5), lambda w: ThresholdPolicy(w, 5, 5)):
        for r in run(demands, make, LeadTime(3, 1), warmup=20, seed=1, initial_cover=4):
            assert 0 <= r.served <= r.demand
            assert r.inventory_sum >= 0
            assert 0 <= r.stockout_periods <= r.periods == 40


def test_metrics_aggregate_units_and_value() -> None:
    results = [SeriesResult(100, 90, 3, 400, 10, 2), SeriesResult(50, 50, 0, 100, 10, 1)]
    m = metrics(results, unit_prices=[2.5, 10.0])
    assert m.series == 2
    assert m.fill_rate == 140 / 150
    assert m.stockout_periods == 3
    assert m.average_inventory_units == 50.0
    assert m.average_inventory_value == 200.0
    assert m.orders == 3
    assert metrics(results).average_inventory_value is None
