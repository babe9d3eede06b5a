"""Replenishment backtest: backroom's policy against static min/max and a fixed low-stock threshold on real demand.

    python bench/replenishment_backtest.py [--max-series N] [--target-fill-rate 0.98] [--refit-every 7]
                                           [--lead-time 14 4] [--out FILE]

Reads from BACKROOM_SHARED_DATA (default ../shared/data): the UCI Online Retail file (daily net demand per stock
code: sales minus C-invoice cancellations, floored at 0 per day) and carparts (monthly). Each policy is run over a
grid of its one knob (backroom: service level; min/max and threshold: periods of safety cover beyond the lead time),
and each curve's average inventory is interpolated linearly at the target fill rate ("same fill rate"); when a
curve does not reach the target, backroom and min/max are compared at the highest fill rate both reach
(``compared_at_fill_rate``). ``backroom_fill_rate`` is backroom's fill rate at its default 0.98 service level.

Assumed lead times: 14 ± 4 days (Online Retail; --lead-time DAYS SD to test another), 1 ± 0.5 months (carparts);
order cycle 14 days / 1 month for every policy; lost sales. Prints one comparison table per data set and ``name value``
lines (Online Retail figures unprefixed), and writes bench/results/replenishment_backtest.json (or --out).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from backroom.demo.online_retail import UK, Kind, read_invoices
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

RESULTS = Path(__file__).resolve().parent / "results" / "replenishment_backtest.json"
SHARED = Path(os.environ.get("BACKROOM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SEED = 20261127

SERVICE_LEVELS = (0.90, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999, 0.99999)
COVER_PERIODS_DAILY = (0.0, 7.0, 14.0, 28.0, 56.0, 112.0, 224.0, 448.0)
COVER_PERIODS_MONTHLY = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@dataclass(frozen=True)
class DataSet:
    name: str
    demands: list[FloatArray]
    unit_prices: list[float] | None
    warmup: int
    lead_time: LeadTime
    cycle: float
    covers: tuple[float, ...]
    note: str


def online_retail(path: Path, warmup: int, lead_time: LeadTime) -> DataSet:
    daily: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    prices: dict[str, list[float]] = defaultdict(list)
    invoices = read_invoices(path)
    for invoice in invoices:
        if invoice.kind not in (Kind.SALE, Kind.CANCELLATION):
            continue
        day = invoice.at.astimezone(UK).date()
        for line in invoice.product_lines():
            daily[line.code][day] += line.quantity
            if invoice.kind is Kind.SALE and line.unit_price > 0:
                prices[line.code].append(float(line.unit_price))
    first = min(i.at.astimezone(UK).date() for i in invoices)
    days = (max(i.at.astimezone(UK).date() for i in invoices) - first).days + 1
    demands, unit_prices = [], []
    for code in sorted(daily):
        series = np.zeros(days)
        for day, qty in daily[code].items():
            series[(day - first).days] += qty
        series = np.maximum(series, 0.0)
        if series[:warmup].any() and series[warmup:].any() and prices[code]:
            demands.append(series)
            unit_prices.append(statistics.median(prices[code]))
    return DataSet("online_retail", demands, unit_prices, warmup, lead_time, 14, COVER_PERIODS_DAILY,
                   f"{len(daily)} stock codes; kept the {len(demands)} with sales both in the first {warmup} days and"
                   " after; unit price = median sale price (GBP)")


def carparts(path: Path, warmup: int) -> DataSet:
    by_part: dict[str, dict[str, str]] = defaultdict(dict)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_part[row["part_id"]][row["month"]] = row["demand"]
    demands = []
    for part in sorted(by_part):
        values = [by_part[part][m] for m in sorted(by_part[part])]
        if all(v not in ("", "NA") for v in values):
            series = np.array([float(v) for v in values])
            if series[:warmup].any():
                demands.append(series)
    return DataSet("carparts", demands, None, warmup, LeadTime(1, 0.5), 1, COVER_PERIODS_MONTHLY,
                   f"{len(by_part)} parts; kept the {len(demands)} with no missing month and demand in the first"
                   f" {warmup} months; no prices")


def factories(data: DataSet, refit_every: int) -> dict[str, tuple[Sequence[float], Callable[[float], Any]]]:
    """policy → (knob grid, knob → policy factory)."""
    lt, cycle = data.lead_time, data.cycle

    def backroom(level: float) -> Callable[[FloatArray], Policy]:
        return lambda _warmup: BackroomPolicy(level, lt, cycle, refit_every)

    def minmax(cover: float) -> Callable[[FloatArray], Policy]:
        return lambda warmup: MinMaxPolicy(warmup, lt.mean, cover, cycle)

    def threshold(cover: float) -> Callable[[FloatArray], Policy]:
        return lambda warmup: ThresholdPolicy(warmup, lt.mean + cover, cycle)

    return {"backroom": (SERVICE_LEVELS, backroom), "minmax": (data.covers, minmax),
            "threshold": (data.covers, threshold)}


def interpolate(curve: list[tuple[float, float]], fill: float) -> float | None:
    """Inventory at ``fill`` on a (fill rate, inventory) curve, linear between the grid points that bracket it."""
    points = sorted(curve)
    for (f0, i0), (f1, i1) in itertools.pairwise(points):
        if f0 <= fill <= f1:
            return i0 if f1 == f0 else i0 + (i1 - i0) * (fill - f0) / (f1 - f0)
    return points[0][1] if points and points[0][0] == fill else None


def by_class(data: DataSet, results: list[SeriesResult]) -> dict[str, dict[str, Any]]:
    classes = [DemandSeries.always_in_stock(d[: data.warmup]).demand_class for d in data.demands]
    out = {}
    for cls in DemandClass:
        idx = [i for i, c in enumerate(classes) if c is cls]
        if idx:
            prices = None if data.unit_prices is None else [data.unit_prices[i] for i in idx]
            out[cls.value] = asdict(metrics([results[i] for i in idx], prices))
    return out


def backtest(data: DataSet, target: float, refit_every: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for name, (grid, factory) in factories(data, refit_every).items():
        runs[name] = []
        for knob in grid:
            started = time.perf_counter()
            results = run(data.demands, factory(knob), data.lead_time, data.warmup, SEED,
                          initial_cover=data.lead_time.mean + data.cycle)
            m = metrics(results, data.unit_prices)
            runs[name].append({"knob": knob, "wall_s": round(time.perf_counter() - started, 2), **asdict(m),
                               "by_class": by_class(data, results)})
            print(f"# {data.name} {name} knob={knob} fill={m.fill_rate:.4f} inv={m.average_inventory_units:.0f}"
                  f" ({time.perf_counter() - started:.1f}s)", file=sys.stderr)
    at, compared, reduction = compare(runs, target)
    per_class = {}
    for cls in sorted({c for points in runs.values() for p in points for c in p["by_class"]}):
        class_runs = {name: [{**p["by_class"][cls], "knob": p["knob"]} for p in points if cls in p["by_class"]]
                      for name, points in runs.items()}
        class_at, class_compared, class_reduction = compare(class_runs, target)
        per_class[cls] = {"series": class_runs["backroom"][0]["series"], "compared_at_fill_rate": class_at,
                          "inventory_at_compared_fill_rate": class_compared,
                          "inventory_reduction_vs_minmax": class_reduction}
    default = next(p for p in runs["backroom"] if p["knob"] == 0.98)
    return {"note": data.note, "series": len(data.demands), "warmup_periods": data.warmup,
            "lead_time": asdict(data.lead_time), "cycle_periods": data.cycle, "target_fill_rate": target,
            "compared_at_fill_rate": at, "inventory_at_compared_fill_rate": compared,
            "inventory_reduction_vs_minmax": reduction, "backroom_fill_rate": default["fill_rate"],
            "by_class": per_class, "runs": runs}


def compare(runs: dict[str, list[dict[str, Any]]],
            target: float) -> tuple[float, dict[str, float | None], float | None]:
    """The fill rate backroom and min/max are compared at, each policy's interpolated inventory there, and
    backroom's reduction against min/max."""
    at = min(target, *(max(p["fill_rate"] for p in runs[name]) for name in ("backroom", "minmax")))
    compared = {name: interpolate([(p["fill_rate"], p["average_inventory_units"]) for p in points], at)
                for name, points in runs.items()}
    minmax_inv, backroom_inv = compared["minmax"], compared["backroom"]
    reduction = None if not minmax_inv or backroom_inv is None else 1 - backroom_inv / minmax_inv
    return at, compared, reduction


def print_table(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}: {result['note']}")
    print(f"{'policy':<10} {'knob':>6} {'fill':>7} {'stockout':>9} {'avg inv':>10} {'inv value':>11} {'orders':>7}")
    for policy, points in result["runs"].items():
        for p in points:
            value = "-" if p["average_inventory_value"] is None else f"{p['average_inventory_value']:.0f}"
            print(f"{policy:<10} {p['knob']:>6g} {p['fill_rate']:>7.4f} {p['stockout_periods']:>9} "
                  f"{p['average_inventory_units']:>10.0f} {value:>11} {p['orders']:>7}")
    print(f"average inventory at fill rate {result['compared_at_fill_rate']:.4f}: "
          + ", ".join(f"{k} {'-' if v is None else f'{v:.0f}'}" for k, v in
                      result["inventory_at_compared_fill_rate"].items()))
    for cls, c in result["by_class"].items():
        inv = c["inventory_at_compared_fill_rate"]
        reduction = "-" if c["inventory_reduction_vs_minmax"] is None else f"{c['inventory_reduction_vs_minmax']:.1%}"
        print(f"  {cls:<13} {c['series']:>5} series: at fill rate {c['compared_at_fill_rate']:.4f} backroom "
              f"{_units(inv['backroom'])}, minmax {_units(inv['minmax'])} units: reduction {reduction}")


def _units(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--online-retail", type=Path,
                        default=SHARED / "online_retail" / "online_retail_2010-12_2011-12.csv.gz")
    parser.add_argument("--carparts", type=Path, default=SHARED / "demand" / "carparts_monthly_long.csv")
    parser.add_argument("--max-series", type=int, default=None, help="first N series of each data set")
    parser.add_argument("--target-fill-rate", type=float, default=0.98)
    parser.add_argument("--refit-every", type=int, default=7, help="days between backroom re-plans (carparts: 1)")
    parser.add_argument("--lead-time", type=float, nargs=2, default=(14.0, 4.0), metavar=("DAYS", "SD"),
                        help="Online Retail lead time mean and standard deviation (sensitivity runs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    retail = online_retail(args.online_retail, warmup=90, lead_time=LeadTime(*args.lead_time))
    parts = carparts(args.carparts, warmup=24)
    if args.max_series:
        retail = replace(retail, demands=retail.demands[: args.max_series],
                         unit_prices=(retail.unit_prices or [])[: args.max_series])
        parts = replace(parts, demands=parts.demands[: args.max_series])
    results = {"online_retail": backtest(retail, args.target_fill_rate, args.refit_every),
               "carparts": backtest(parts, args.target_fill_rate, 1)}
    for name, result in results.items():
        print_table(name, result)
    print()
    figures: dict[str, Any] = {}
    for name, result in results.items():
        prefix = "" if name == "online_retail" else f"{name}_"
        figures[f"{prefix}backroom_fill_rate"] = result["backroom_fill_rate"]
        figures[f"{prefix}inventory_reduction_vs_minmax"] = result["inventory_reduction_vs_minmax"]
        figures[f"{prefix}compared_at_fill_rate"] = result["compared_at_fill_rate"]
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    for name, value in figures.items():
        print(f"{name} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        **figures, "max_series": args.max_series, "refit_every": args.refit_every, "seed": SEED,
        "lost_sales": True, "results": results,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
