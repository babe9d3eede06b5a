"""Compare replenishment policies on a demand history: sweep each policy's one knob, then read the curves at equal
fill rate (average inventory) and at equal inventory (stockout periods), overall and per demand class.

Policies and knobs (every policy gets the same data, lead times, order cycle and starting stock):

- ``backroom``: the service level of ``BackroomPolicy`` (a fill-rate target; ``DEFAULT_SERVICE_LEVEL`` is the one the
  nightly plan uses);
- ``minmax``: periods of safety cover beyond the lead time of a static min/max rule set from the warm-up;
- ``threshold``: the same cover for a fixed low-stock threshold with a fixed reorder quantity.

"At equal fill rate" interpolates each (fill rate, average inventory) curve linearly at the target fill rate (a curve
entirely above it counts its cheapest point); when backroom or min/max does not reach it, both are read at the
highest fill rate both reach (``compared_at_fill_rate``), which the report states. "At equal inventory" reads
min/max's (average inventory, stockout periods) curve at backroom's default point's inventory. Pure: no I/O;
``mapper`` lets a caller spread the runs over processes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from backroom.replenishment.backtest import (
    BackroomPolicy,
    LeadTime,
    MinMaxPolicy,
    Policy,
    SeriesResult,
    ThresholdPolicy,
    metrics,
    run,
)
from backroom.replenishment.demand import DemandClass, DemandSeries, FloatArray

SEED = 20261127
#: backroom's default service level (a fill-rate target): the lowest of the grid that reaches a 98 % fill rate on UCI
#: Online Retail at 7 ± 2, 14 ± 4 and 21 ± 6 days of lead time and on carparts (the bootstrap still under-covers the
#: largest lumps, so the target has to be set above the goal)
DEFAULT_SERVICE_LEVEL = 0.995
SERVICE_LEVELS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)
COVER_PERIODS_DAILY = (0.0, 14.0, 28.0, 56.0, 112.0, 224.0, 448.0, 896.0, 1792.0)
COVER_PERIODS_MONTHLY = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
POLICIES = ("backroom", "minmax", "threshold")

Mapper = Callable[[Callable[[tuple[str, float]], dict[str, Any]], Iterable[tuple[str, float]]],
                  Iterator[dict[str, Any]]]


@dataclass(frozen=True)
class DataSet:
    """Demand per period of each series (same length, oldest first) and what the simulation assumes about it."""

    name: str
    demands: list[FloatArray]
    unit_prices: list[float] | None
    warmup: int
    lead_time: LeadTime
    cycle: float
    covers: tuple[float, ...]
    note: str
    period: str = "day"

    def head(self, count: int) -> DataSet:
        """The first ``count`` series only."""
        return replace(self, demands=self.demands[:count],
                       unit_prices=None if self.unit_prices is None else self.unit_prices[:count])

    def with_lead_time(self, lead_time: LeadTime) -> DataSet:
        return replace(self, lead_time=lead_time)


def make_policy(policy: str, knob: float, lead_time: LeadTime, cycle: float, refit_every: int,
                warmup_demand: FloatArray) -> Policy:
    """One SKU's policy for a knob value of ``policy``."""
    if policy == "backroom":
        return BackroomPolicy(knob, lead_time, cycle, refit_every)
    if policy == "minmax":
        return MinMaxPolicy(warmup_demand, lead_time.mean, knob, cycle)
    if policy == "threshold":
        return ThresholdPolicy(warmup_demand, lead_time.mean + knob, cycle)
    raise ValueError(f"unknown policy {policy!r}")


def grid(data: DataSet, policy: str) -> tuple[float, ...]:
    return SERVICE_LEVELS if policy == "backroom" else data.covers


def run_point(data: DataSet, refit_every: int, seed: int, job: tuple[str, float]) -> dict[str, Any]:
    """Every series of ``data`` under one policy at one knob value: the metrics, overall and per demand class."""
    policy, knob = job
    started = time.perf_counter()
    factory = partial(make_policy, policy, knob, data.lead_time, data.cycle, refit_every)
    results = run(data.demands, factory, data.lead_time, data.warmup, seed,
                  initial_cover=data.lead_time.mean + data.cycle)
    return {"policy": policy, "knob": knob, "wall_s": round(time.perf_counter() - started, 2),
            **asdict(metrics(results, data.unit_prices)), "by_class": by_class(data, results)}


def warmup_classes(data: DataSet) -> list[DemandClass]:
    """Each series' Syntetos–Boylan class on its warm-up (what a store knew before the scored horizon)."""
    return [DemandSeries.always_in_stock(d[: data.warmup]).demand_class for d in data.demands]


def by_class(data: DataSet, results: Sequence[SeriesResult]) -> dict[str, dict[str, Any]]:
    classes = warmup_classes(data)
    out = {}
    for cls in DemandClass:
        idx = [i for i, c in enumerate(classes) if c is cls]
        if idx:
            prices = None if data.unit_prices is None else [data.unit_prices[i] for i in idx]
            out[cls.value] = asdict(metrics([results[i] for i in idx], prices))
    return out


def sweep(data: DataSet, refit_every: int, seed: int = SEED, mapper: Mapper | None = None,
          policies: Sequence[str] = POLICIES) -> dict[str, list[dict[str, Any]]]:
    """policy → one point per knob value of its grid, in grid order."""
    jobs = [(policy, knob) for policy in policies for knob in grid(data, policy)]
    work = partial(run_point, data, refit_every, seed)
    points = list(mapper(work, jobs) if mapper else map(work, jobs))
    return {policy: [p for p in points if p["policy"] == policy] for policy in policies}


def interpolate(curve: Sequence[tuple[float, float]], x: float) -> float | None:
    """y at ``x`` on a curve of (x, y) points, linear between the nearest points that bracket ``x`` (sorted by x;
    equal x keep their order); None outside the curve."""
    points = sorted(curve, key=lambda p: p[0])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[0][1] if len(points) == 1 and points[0][0] == x else None


def inventory_at(points: Sequence[dict[str, Any]], fill_rate: float) -> float | None:
    """Average inventory at ``fill_rate`` on a policy's curve: interpolated between the points that bracket it; when
    every point fills more, the least inventory of those points (what it takes at most); None when none reaches it."""
    value = interpolate([(p["fill_rate"], p["average_inventory_units"]) for p in points], fill_rate)
    if value is None:
        above = [p["average_inventory_units"] for p in points if p["fill_rate"] >= fill_rate]
        value = min(above) if above else None
    return value


@dataclass(frozen=True, slots=True)
class Comparison:
    """Backroom against min/max on one set of curves."""

    target_fill_rate: float
    #: the target when both curves reach it, else the highest fill rate both reach
    compared_at_fill_rate: float
    #: policy → average inventory (units) interpolated at ``compared_at_fill_rate`` (None: curve does not reach it)
    inventory_at_fill_rate: dict[str, float | None]
    #: policies whose every point fills more than ``compared_at_fill_rate``: their inventory there is their cheapest
    #: point's, an upper bound
    inventory_upper_bound: list[str]
    #: 1 − backroom / min/max inventory at ``compared_at_fill_rate``
    inventory_reduction_vs_minmax: float | None
    #: backroom's fill rate and stockout periods at its default knob
    backroom_fill_rate: float | None
    backroom_stockout_periods: int | None
    backroom_inventory: float | None
    #: min/max's stockout periods at backroom's default inventory, and backroom's as a share of them
    minmax_stockout_periods_at_equal_inventory: float | None
    stockout_ratio_vs_minmax: float | None

    @property
    def target_reached(self) -> bool:
        return self.compared_at_fill_rate >= self.target_fill_rate


def compare(runs: dict[str, list[dict[str, Any]]], target: float,
            default_knob: float = DEFAULT_SERVICE_LEVEL) -> Comparison:
    """Read the curves of ``runs`` (policy → points with fill_rate, average_inventory_units, stockout_periods)."""
    at = min(target, *(max(p["fill_rate"] for p in runs[name]) for name in ("backroom", "minmax")))
    inventory = {name: inventory_at(points, at) for name, points in runs.items()}
    minmax_inv, backroom_inv = inventory["minmax"], inventory["backroom"]
    reduction = None if not minmax_inv or backroom_inv is None else 1 - backroom_inv / minmax_inv
    default = next((p for p in runs["backroom"] if p["knob"] == default_knob), None)
    minmax_stockouts = ratio = None
    if default is not None:
        minmax_stockouts = interpolate([(p["average_inventory_units"], float(p["stockout_periods"]))
                                        for p in runs["minmax"]], default["average_inventory_units"])
        if minmax_stockouts:
            ratio = default["stockout_periods"] / minmax_stockouts
    return Comparison(
        target_fill_rate=target, compared_at_fill_rate=at, inventory_at_fill_rate=inventory,
        inventory_upper_bound=[name for name, points in runs.items() if min(p["fill_rate"] for p in points) > at],
        inventory_reduction_vs_minmax=reduction,
        backroom_fill_rate=None if default is None else default["fill_rate"],
        backroom_stockout_periods=None if default is None else default["stockout_periods"],
        backroom_inventory=None if default is None else default["average_inventory_units"],
        minmax_stockout_periods_at_equal_inventory=minmax_stockouts, stockout_ratio_vs_minmax=ratio)


def class_runs(runs: dict[str, list[dict[str, Any]]], demand_class: str) -> dict[str, list[dict[str, Any]]]:
    """The curves of the series of one demand class."""
    return {name: [{**p["by_class"][demand_class], "knob": p["knob"]} for p in points
                   if demand_class in p["by_class"]] for name, points in runs.items()}


def backtest(data: DataSet, target: float = 0.98, refit_every: int = 7, seed: int = SEED,
             mapper: Mapper | None = None) -> dict[str, Any]:
    """The sweep and its comparison, overall and per demand class, as one JSON-ready dict."""
    runs = sweep(data, refit_every, seed, mapper)
    overall = compare(runs, target)
    classes = sorted({c for points in runs.values() for p in points for c in p["by_class"]})
    per_class = {}
    for cls in classes:
        cr = class_runs(runs, cls)
        per_class[cls] = {"series": cr["backroom"][0]["series"], **asdict(compare(cr, target))}
    return {"name": data.name, "note": data.note, "series": len(data.demands), "period": data.period,
            "warmup_periods": data.warmup, "lead_time": asdict(data.lead_time), "cycle_periods": data.cycle,
            "refit_every": refit_every, "default_service_level": DEFAULT_SERVICE_LEVEL, **asdict(overall),
            "by_class": per_class, "runs": runs}


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per policy and knob: what the side-by-side table shows."""
    return [{"policy": policy, "knob": p["knob"], "fill_rate": p["fill_rate"],
             "stockout_periods": p["stockout_periods"], "avg_inventory_units": p["average_inventory_units"],
             "avg_inventory_value": p["average_inventory_value"], "orders": p["orders"]}
            for policy, points in result["runs"].items() for p in points]


def summary_line(result: dict[str, Any]) -> str:
    """The equal-fill (and equal-inventory) comparison in one sentence."""
    inv = result["inventory_at_fill_rate"]
    at = result["compared_at_fill_rate"]
    head = ("" if at >= result["target_fill_rate"] else
            f"target fill rate {result['target_fill_rate']:.2%} not reached by both; ")
    reduction = result["inventory_reduction_vs_minmax"]
    line = (head + f"at fill rate {at:.2%}: average inventory backroom {_units(inv['backroom'])}, "
            f"minmax {_units(inv['minmax'])}, threshold {_units(inv.get('threshold'))} units"
            + ("" if reduction is None else f" (backroom {versus_minmax(reduction)})"))
    if result["stockout_ratio_vs_minmax"] is not None:
        line += (f"; at backroom's inventory ({_units(result['backroom_inventory'])} units, service level "
                 f"{result['default_service_level']}) stockout {result.get('period', 'period')}s backroom "
                 f"{result['backroom_stockout_periods']}, minmax "
                 f"{result['minmax_stockout_periods_at_equal_inventory']:.0f}")
    return line


def versus_minmax(reduction: float | None) -> str:
    """'40.0% below minmax' for a reduction of 0.4, '25.0% above minmax' for −0.25."""
    if reduction is None:
        return "- vs minmax"
    return f"{reduction:.1%} below minmax" if reduction >= 0 else f"{-reduction:.1%} above minmax"


def _units(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"
