"""Demand per period as a store sees it: classified by Syntetos–Boylan (ADI / CV²), with a velocity that ignores the
periods the shelf was empty (a stockout hides demand; counting those zeros would under-order the next time)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

#: Syntetos, Boylan & Croston (2005) cut-offs
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class DemandClass(StrEnum):
    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    NO_DEMAND = "no_demand"


def classify(adi: float, cv2: float) -> DemandClass:
    """Syntetos–Boylan quadrant; a value on a cut-off belongs to the less regular side."""
    frequent = adi < ADI_CUTOFF
    steady = cv2 < CV2_CUTOFF
    if frequent:
        return DemandClass.SMOOTH if steady else DemandClass.ERRATIC
    return DemandClass.INTERMITTENT if steady else DemandClass.LUMPY


def average_demand_interval(demand: FloatArray) -> float:
    """Periods per period with demand (ADI); infinite when nothing was demanded."""
    nonzero = int(np.count_nonzero(demand > 0))
    return float(len(demand) / nonzero) if nonzero else float("inf")


def squared_cv_of_sizes(demand: FloatArray) -> float:
    """CV² of the non-zero demand sizes (population variance over the squared mean); 0 without demand."""
    sizes = demand[demand > 0]
    if len(sizes) == 0:
        return 0.0
    mean = float(sizes.mean())
    return float(sizes.var() / (mean * mean))


@dataclass(frozen=True, eq=False)
class DemandSeries:
    """Units demanded (sales net of cancellations) per period, oldest first, and whether the SKU was in stock at the
    start of each period; demand seen in a stockout period is censored and is left out of every statistic."""

    demand: FloatArray
    in_stock: BoolArray

    @classmethod
    def always_in_stock(cls, demand: FloatArray) -> DemandSeries:
        return cls(demand, np.ones(len(demand), dtype=np.bool_))

    def __post_init__(self) -> None:
        if self.demand.shape != self.in_stock.shape:
            raise ValueError("demand and in_stock must have the same length")

    @property
    def observed(self) -> FloatArray:
        """Demand of the periods in stock: the only periods whose demand is known."""
        return self.demand[self.in_stock]

    @property
    def velocity(self) -> float:
        """Mean demand per in-stock period (stockout-adjusted velocity); 0 when never in stock."""
        observed = self.observed
        return float(observed.mean()) if len(observed) else 0.0

    @property
    def demand_sd(self) -> float:
        """Standard deviation (population) of demand per in-stock period."""
        observed = self.observed
        return float(observed.std()) if len(observed) else 0.0

    @property
    def demand_class(self) -> DemandClass:
        observed = self.observed
        if not np.any(observed > 0):
            return DemandClass.NO_DEMAND
        return classify(average_demand_interval(observed), squared_cv_of_sizes(observed))
