"""Replenishment backtest: backroom's policy against static min/max and a fixed low-stock threshold on real demand.

    python bench/replenishment_backtest.py [--max-series N] [--target-fill-rate 0.98] [--refit-every 7]
                                           [--lead-time 14 4] [--jobs 2] [--out FILE]

A thin wrapper over ``backroom.replenishment.evaluation`` (the comparison) and ``backroom.demo.backtest_data`` (the
loaders), the same code as ``backroom backtest replenishment``. Reads from BACKROOM_SHARED_DATA (default
../shared/data): UCI Online Retail (daily) and carparts (monthly). Each policy runs over a grid of its one knob
(backroom: service level; min/max and threshold: periods of safety cover beyond the lead time); each curve's average
inventory is interpolated at the target fill rate (or at the highest fill rate both backroom and min/max reach), and
min/max's stockout periods at backroom's inventory. ``backroom_fill_rate`` is backroom's fill rate at its default
service level (``evaluation.DEFAULT_SERVICE_LEVEL``).

Assumed lead times (the data give none): 14 ± 4 days for Online Retail, re-run at 7 ± 2 and 21 ± 6 days for
sensitivity; 1 ± 0.5 months for carparts. Order cycle 14 days / 1 month for every policy; lost sales. Prints one
comparison table per run and ``name value`` lines (Online Retail at 14 ± 4 days unprefixed, carparts ``carparts_``,
the sensitivity runs ``lead_time_7_`` / ``lead_time_21_``, per demand class ``CLASS_``), and writes
bench/results/replenishment_backtest.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backroom.demo import backtest_data
from backroom.replenishment.backtest import LeadTime
from backroom.replenishment.demand import DemandSeries
from backroom.replenishment.evaluation import (
    DEFAULT_SERVICE_LEVEL,
    SEED,
    DataSet,
    backtest,
    summary_line,
    table_rows,
)
from backroom.replenishment.forecast import forecast
from backroom.replenishment.uncertainty import lead_time_demand

RESULTS = Path(__file__).resolve().parent / "results" / "replenishment_backtest.json"
SHARED = Path(os.environ.get("BACKROOM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SENSITIVITY = {"lead_time_7": LeadTime(7, 2), "lead_time_21": LeadTime(21, 6)}


def print_table(name: str, result: dict[str, Any]) -> None:
    lt = result["lead_time"]
    print(f"\n{name}: {result['note']}; lead time {lt['mean']:g} ± {lt['sd']:g} {result['period']}s")
    print(f"{'policy':<10} {'knob':>7} {'fill':>7} {'stockout':>9} {'avg inv':>11} {'inv value':>12} {'orders':>7}")
    for r in table_rows(result):
        value = "-" if r["avg_inventory_value"] is None else f"{r['avg_inventory_value']:.0f}"
        print(f"{r['policy']:<10} {r['knob']:>7g} {r['fill_rate']:>7.4f} {r['stockout_periods']:>9} "
              f"{r['avg_inventory_units']:>11.0f} {value:>12} {r['orders']:>7}")
    print(summary_line(result))
    for cls, c in result["by_class"].items():
        inv = c["inventory_at_fill_rate"]
        reduction = "-" if c["inventory_reduction_vs_minmax"] is None else f"{c['inventory_reduction_vs_minmax']:.1%}"
        ratio = "-" if c["stockout_ratio_vs_minmax"] is None else f"{c['stockout_ratio_vs_minmax']:.2f}"
        bound = {p: "≤ " if p in c["inventory_upper_bound"] else "" for p in ("backroom", "minmax")}
        print(f"  {cls:<13} {c['series']:>5} series: backroom fill {c['backroom_fill_rate']:.4f}; at fill rate "
              f"{c['compared_at_fill_rate']:.4f} backroom {bound['backroom']}{_units(inv['backroom'])}, minmax "
              f"{bound['minmax']}{_units(inv['minmax'])} units: reduction {reduction}; stockouts vs minmax at equal "
              f"inventory {ratio}")
    if any(c["inventory_upper_bound"] for c in result["by_class"].values()):
        print("  (≤: every knob of that policy fills more; its cheapest point is shown, an upper bound)")


def _units(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def figures_of(result: dict[str, Any], prefix: str) -> dict[str, Any]:
    out = {f"{prefix}{k}": result[k] for k in (
        "backroom_fill_rate", "inventory_reduction_vs_minmax", "compared_at_fill_rate", "stockout_ratio_vs_minmax")}
    for cls, c in result["by_class"].items():
        out[f"{prefix}{cls}_backroom_fill_rate"] = c["backroom_fill_rate"]
        out[f"{prefix}{cls}_inventory_reduction_vs_minmax"] = c["inventory_reduction_vs_minmax"]
        out[f"{prefix}{cls}_compared_at_fill_rate"] = c["compared_at_fill_rate"]
    return out


def plan_cost_ms(data: DataSet, days: int = 300) -> float:
    """Mean wall time of forecast + lead-time demand for one SKU (what the nightly plan does per SKU)."""
    series = [DemandSeries.always_in_stock(d[:days]) for d in data.demands]
    lt = data.lead_time
    started = time.perf_counter()
    for s in series:
        f = forecast(s)
        lead_time_demand(s, f.mean, lt.mean, lt.sd, DEFAULT_SERVICE_LEVEL, order_quantity=f.mean * data.cycle)
    return (time.perf_counter() - started) / len(series) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--online-retail", type=Path, default=SHARED / backtest_data.ONLINE_RETAIL_FILE)
    parser.add_argument("--carparts", type=Path, default=SHARED / backtest_data.CARPARTS_FILE)
    parser.add_argument("--max-series", type=int, default=None, help="first N series of each data set")
    parser.add_argument("--target-fill-rate", type=float, default=0.98)
    parser.add_argument("--refit-every", type=int, default=7, help="days between backroom re-plans (carparts: 1)")
    parser.add_argument("--lead-time", type=float, nargs=2, default=(14.0, 4.0), metavar=("DAYS", "SD"),
                        help="Online Retail lead time mean and standard deviation")
    parser.add_argument("--no-sensitivity", action="store_true", help="skip the 7 ± 2 and 21 ± 6 day runs")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    retail = backtest_data.online_retail(args.online_retail, lead_time=LeadTime(*args.lead_time))
    parts = backtest_data.carparts(args.carparts)
    if args.max_series:
        retail, parts = retail.head(args.max_series), parts.head(args.max_series)
    runs: list[tuple[str, DataSet, int]] = [("online_retail", retail, args.refit_every), ("carparts", parts, 1)]
    if not args.no_sensitivity:
        runs += [(f"online_retail_{name}", retail.with_lead_time(lt), args.refit_every)
                 for name, lt in SENSITIVITY.items()]
    results: dict[str, dict[str, Any]] = {}
    with multiprocessing.Pool(args.jobs) as pool:
        for name, data, refit in runs:
            t = time.perf_counter()
            results[name] = backtest(data, args.target_fill_rate, refit, SEED, mapper=pool.imap)
            print(f"# {name}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    for name, result in results.items():
        print_table(name, result)
    print()
    figures: dict[str, Any] = {}
    for name, result in results.items():
        prefix = {"online_retail": "", "carparts": "carparts_"}.get(name, name.removeprefix("online_retail_") + "_")
        figures.update(figures_of(result, prefix))
    figures["plan_ms_per_sku"] = round(plan_cost_ms(retail), 3)
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
