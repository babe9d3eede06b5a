"""Forecast of mean demand per period, the method chosen by demand class (statsforecast does the models).

smooth / erratic → AutoETS (additive error, no trend or season: short SKU histories cannot carry more);
intermittent → Croston SBA; lumpy → TSB, whose demand probability decays when sales stop (obsolescence).
Series too short for a model (fewer than ``MIN_MODEL_PERIODS`` observed periods) get their mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from backroom.replenishment.demand import DemandClass, DemandSeries, FloatArray

if TYPE_CHECKING:  # statsforecast takes 1.6 s to import: loaded by the first forecast, not by every command
    from statsforecast.models import TSB, AutoETS, CrostonSBA

MIN_MODEL_PERIODS = 8


class Method(StrEnum):
    AUTO_ETS = "auto_ets"
    CROSTON_SBA = "croston_sba"
    TSB = "tsb"
    MEAN = "mean"
    ZERO = "zero"


METHOD_BY_CLASS: dict[DemandClass, Method] = {
    DemandClass.SMOOTH: Method.AUTO_ETS,
    DemandClass.ERRATIC: Method.AUTO_ETS,
    DemandClass.INTERMITTENT: Method.CROSTON_SBA,
    DemandClass.LUMPY: Method.TSB,
    DemandClass.NO_DEMAND: Method.ZERO,
}


@dataclass(frozen=True, slots=True)
class Forecast:
    demand_class: DemandClass
    method: Method
    mean: float


def choose_method(demand_class: DemandClass, observed_periods: int) -> Method:
    method = METHOD_BY_CLASS[demand_class]
    if method is not Method.ZERO and observed_periods < MIN_MODEL_PERIODS:
        return Method.MEAN
    return method


def forecast_mean(demand: FloatArray, method: Method) -> float:
    """Mean demand per period ahead; never negative."""
    if method is Method.ZERO or len(demand) == 0:
        return 0.0
    if method is Method.MEAN or np.ptp(demand) == 0:
        return float(demand.mean())
    value = float(_model(method).forecast(y=demand, h=1)["mean"][0])
    return max(0.0, value) if np.isfinite(value) else float(demand.mean())


def _model(method: Method) -> AutoETS | CrostonSBA | TSB:
    from statsforecast.models import TSB, AutoETS, CrostonSBA

    if method is Method.AUTO_ETS:
        return AutoETS(model="ANN")
    if method is Method.CROSTON_SBA:
        return CrostonSBA()
    if method is Method.TSB:
        return TSB(alpha_d=0.1, alpha_p=0.1)
    raise ValueError(f"{method} has no model")


def forecast(series: DemandSeries) -> Forecast:
    """Classify the in-stock history and forecast it with the class's method."""
    observed = series.observed
    demand_class = series.demand_class
    method = choose_method(demand_class, len(observed))
    return Forecast(demand_class, method, forecast_mean(observed, method))
