"""`backroom backtest replenishment`: replay real demand history day by day under backroom's replenishment policy and
the usual baselines (static min/max, a low-stock threshold), side by side, as a table and a chart."""

from __future__ import annotations

import multiprocessing
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from backroom.entrypoints.cli.common import console, exit_with_error, print_json, print_table

app = typer.Typer(help="Backtest store policies on real history.", no_args_is_help=True)

DATA_HELP = ("online-retail (UCI Online Retail, daily), carparts (monthly car parts) — both read from "
             "BACKROOM_SHARED_DATA, default ../shared/data — or the PATH of a CSV with columns sku,date,quantity "
             "and optionally unit_price (one row per sale or per SKU and day; daily periods)")


@app.command()
def replenishment(
    data: str = typer.Option("online-retail", "--data", help=DATA_HELP),
    lead_time: tuple[float, float] | None = typer.Option(
        None, "--lead-time", help="assumed lead time: mean and standard deviation in periods (the data give none; "
                                  "default 14 4 days, carparts 1 0.5 months)"),
    max_series: int | None = typer.Option(None, "--max-series", min=1, help="only the first N series"),
    target: float = typer.Option(0.98, "--target-fill-rate", min=0.0, max=1.0,
                                 help="fill rate at which average inventories are compared"),
    refit_every: int | None = typer.Option(None, "--refit-every", min=1,
                                           help="periods between backroom re-plans (default 7 days, 1 month)"),
    chart: Path | None = typer.Option(None, "--chart", help="PNG file for the chart "
                                                            "(default backtest-replenishment-NAME.png)"),
    jobs: int = typer.Option(min(2, os.cpu_count() or 1), "--jobs", min=1, help="processes for the runs"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Simulate each policy over a grid of its knob (lost sales, seeded lead times, same starting stock), print the
    side-by-side table and the comparison at equal fill rate, and draw fill rate against average inventory."""
    from backroom.replenishment.backtest import LeadTime
    from backroom.replenishment.evaluation import backtest

    dataset = load(data, None if lead_time is None else LeadTime(*lead_time))
    if max_series:
        dataset = dataset.head(max_series)
    if not dataset.demands:
        exit_with_error(f"no series with demand both in the first {dataset.warmup} periods and after", 5)
    refit = refit_every or (7 if dataset.period == "day" else 1)
    progress = nullcontext() if as_json else console.status(
        f"simulating {len(dataset.demands)} series of {dataset.name}…")
    with progress, _pool(jobs) as pool:
        result = backtest(dataset, target, refit, mapper=None if pool is None else pool.imap)
    chart_path = chart or Path(f"backtest-replenishment-{dataset.name}.png")
    write_chart(result, chart_path)
    if as_json:
        print_json({**result, "chart": str(chart_path)})
        return
    report(result, chart_path)


def load(data: str, lead_time: Any) -> Any:
    """The data set named by --data (a name or a CSV path), with the lead time when one is given."""
    from backroom.demo import backtest_data

    kwargs = {} if lead_time is None else {"lead_time": lead_time}
    try:
        if data == "online-retail":
            path = backtest_data.shared_data() / backtest_data.ONLINE_RETAIL_FILE
            _require(path)
            return backtest_data.online_retail(path, **kwargs)
        if data == "carparts":
            path = backtest_data.shared_data() / backtest_data.CARPARTS_FILE
            _require(path)
            return backtest_data.carparts(path, **kwargs)
        path = Path(data)
        _require(path)
        return backtest_data.from_csv(path, **kwargs)
    except (ValueError, KeyError) as err:
        exit_with_error(f"cannot read {data}: {err}", 5)


def _require(path: Path) -> None:
    if not path.is_file():
        exit_with_error(f"no file at {path} (--data takes online-retail, carparts or the path of a CSV; the first two "
                        "are read from BACKROOM_SHARED_DATA, default ../shared/data)", 2)


def _pool(jobs: int) -> Any:
    return nullcontext() if jobs <= 1 else multiprocessing.get_context("spawn").Pool(jobs)


def report(result: dict[str, Any], chart_path: Path) -> None:
    from backroom.replenishment.evaluation import summary_line, table_rows, versus_minmax

    lt = result["lead_time"]
    period = result["period"]
    console.print(f"\n[bold]Replenishment backtest[/] — {result['name']}: {result['note']}")
    console.print(f"assumed lead time {lt['mean']:g} ± {lt['sd']:g} {period}s, order cycle "
                  f"{result['cycle_periods']:g} {period}s, lost sales, warm-up {result['warmup_periods']} {period}s, "
                  f"backroom re-plans every {result['refit_every']} {period}s")
    rows = [{"policy": r["policy"], "knob": f"{r['knob']:g}", "fill": f"{r['fill_rate']:.4f}",
             f"stockout {period}s": r["stockout_periods"], "avg inventory": f"{r['avg_inventory_units']:,.0f}",
             "inventory value": "-" if r["avg_inventory_value"] is None else f"{r['avg_inventory_value']:,.0f}",
             "orders": r["orders"]} for r in table_rows(result)]
    print_table("Policies side by side (knob: backroom service level; min/max and threshold: safety cover in "
                f"{period}s)", rows, list(rows[0]) if rows else [])
    console.print(summary_line(result))
    for cls, c in result["by_class"].items():
        reduction = c["inventory_reduction_vs_minmax"]
        console.print(f"  {cls:<13} {c['series']:>5} series: backroom fill {_pct(c['backroom_fill_rate'])}; at fill "
                      f"rate {c['compared_at_fill_rate']:.2%} inventory {versus_minmax(reduction)}"
                      + (" (backroom's lowest knob already fills more: its inventory is an upper bound)"
                         if "backroom" in c["inventory_upper_bound"] else ""))
    console.print(f"chart: {chart_path}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def write_chart(result: dict[str, Any], path: Path) -> None:
    """Fill rate against average inventory, one curve per policy, the target fill rate as a line and each policy's
    inventory there as a marker (PNG; matplotlib's Agg backend, imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=100)
    try:
        for zoomed, ax in enumerate(axes):
            _draw(ax, result, zoomed=bool(zoomed))
        lt = result["lead_time"]
        fig.suptitle(f"{result['name']}: {result['series']} series, lead time {lt['mean']:g} ± {lt['sd']:g} "
                     f"{result['period']}s, lost sales — fill rate against average inventory")
        axes[1].legend(loc="lower right")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)


def _draw(ax: Any, result: dict[str, Any], zoomed: bool) -> None:
    target = result["target_fill_rate"]
    xs = [p["average_inventory_units"] for points in result["runs"].values() for p in points]
    for policy, points in result["runs"].items():
        pts = sorted((p["average_inventory_units"], p["fill_rate"]) for p in points)
        line, = ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", label=policy)
        at = result["inventory_at_fill_rate"].get(policy)
        if at is not None:
            ax.plot([at], [result["compared_at_fill_rate"]], marker="o", markersize=10, color=line.get_color(),
                    markerfacecolor="none")
    ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target fill rate {target:.0%}")
    if xs and min(xs) > 0:
        ax.set_xscale("log")
    else:
        ax.set_xscale("symlog")
        ax.set_xlim(left=0)
    if zoomed:
        ax.set_ylim(max(0.0, target - 0.08), 1.0 + 0.002)
        ax.set_title(f"near the target (circles: each policy at fill rate {result['compared_at_fill_rate']:.2%})")
    else:
        ax.set_title("whole grid")
    ax.set_xlabel("average inventory (units, all series)")
    ax.set_ylabel("fill rate")
    ax.grid(True, which="both", alpha=0.3)
