import numpy as np
import pytest

from backroom.replenishment.demand import DemandClass, DemandSeries
from backroom.replenishment.forecast import MIN_MODEL_PERIODS, Method, choose_method, forecast, forecast_mean


@pytest.mark.parametrize(
    ("demand_class", "method"),
    [
        (DemandClass.SMOOTH, Method.AUTO_ETS),
        (DemandClass.ERRATIC, Method.AUTO_ETS),
        (DemandClass.INTERMITTENT, Method.CROSTON_SBA),
        (DemandClass.LUMPY, Method.TSB),
        (DemandClass.NO_DEMAND, Method.ZERO),
    ],
)
def test_method_follows_the_demand_class(demand_class: DemandClass, method: Method) -> None:
    assert choose_method(demand_class, MIN_MODEL_PERIODS) is method


def test_a_history_too_short_for_a_model_gets_its_mean() -> None:
    assert choose_method(DemandClass.SMOOTH, MIN_MODEL_PERIODS - 1) is Method.MEAN
    assert forecast(DemandSeries.always_in_stock(np.array([1.0, 2, 6]))).mean == 3.0


def test_constant_demand_forecasts_the_constant_with_any_method() -> None:
    for method in Method:
        expected = 0.0 if method is Method.ZERO else 4.0
        assert forecast_mean(np.full(12, 4.0), method) == expected


def test_an_intermittent_series_is_forecast_by_croston_sba_between_zero_and_its_largest_size() -> None:
    demand = np.array([0.0, 3, 0, 0, 5, 0, 0, 4, 0, 0, 3, 0])
    result = forecast(DemandSeries.always_in_stock(demand))
    assert result.demand_class is DemandClass.INTERMITTENT
    assert result.method is Method.CROSTON_SBA
    assert 0 < result.mean < 5


def test_stockout_periods_do_not_drag_the_forecast_down() -> None:
    demand = np.array([4.0, 5, 4, 0, 0, 0, 4, 5, 4, 5, 4, 5])
    in_stock = np.ones(12, dtype=np.bool_)
    in_stock[3:6] = False
    adjusted = forecast(DemandSeries(demand, in_stock))
    assert adjusted.demand_class is DemandClass.SMOOTH
    assert 4 <= adjusted.mean <= 5
    assert forecast(DemandSeries.always_in_stock(demand)).mean < adjusted.mean


def test_forecasts_are_never_negative_on_seeded_random_series() -> None:
    rng = np.random.default_rng(11)
    for _ in range(100):
        n = int(rng.integers(1, 60))
        demand = (rng.random(n) < rng.random()) * rng.poisson(rng.uniform(0.5, 20), n).astype(float)
        result = forecast(DemandSeries.always_in_stock(demand))
        assert result.mean >= 0
        assert np.isfinite(result.mean)
