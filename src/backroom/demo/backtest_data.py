"""Demand histories for the replenishment backtest (`backroom backtest replenishment`, the replenishment bench).

- ``online_retail``: UCI Online Retail, daily net demand per stock code (sales minus C-invoice cancellations, floored
  at 0 per day); non-product codes left out; unit price = median sale price (GBP). Lead time assumed 14 ± 4 days.
- ``carparts``: 2,674 car parts, monthly (Hyndman et al.); parts with a missing month are left out; no prices.
  Lead time assumed 1 ± 0.5 months.
- ``from_csv``: any CSV with a header ``sku,date,quantity`` and optionally ``unit_price``: one row per sale (or per
  SKU and day; rows add up), ``date`` as YYYY-MM-DD (a longer ISO timestamp is cut to its date), negative quantities
  are returns or cancellations netted on their day, each day floored at 0; unit price = median of the positive
  prices of the SKU. Daily periods from the first to the last date of the file. Lead time assumed 14 ± 4 days.

Every loader keeps only the series with demand both in the warm-up and after it (nothing to learn from, or nothing to
score, otherwise).
"""

from __future__ import annotations

import csv
import os
import statistics
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from backroom.demo.online_retail import UK, Kind, read_invoices
from backroom.replenishment.backtest import LeadTime
from backroom.replenishment.demand import FloatArray
from backroom.replenishment.evaluation import COVER_PERIODS_DAILY, COVER_PERIODS_MONTHLY, DataSet

ONLINE_RETAIL_FILE = Path("online_retail") / "online_retail_2010-12_2011-12.csv.gz"
CARPARTS_FILE = Path("demand") / "carparts_monthly_long.csv"
DAILY_LEAD_TIME = LeadTime(14, 4)
MONTHLY_LEAD_TIME = LeadTime(1, 0.5)
DAILY_WARMUP = 90
MONTHLY_WARMUP = 24
DAILY_CYCLE = 14.0


def shared_data() -> Path:
    """BACKROOM_SHARED_DATA, default ../shared/data (relative to the working directory, as for `backroom replay`)."""
    return Path(os.environ.get("BACKROOM_SHARED_DATA", "../shared/data"))


def online_retail(path: Path | None = None, warmup: int = DAILY_WARMUP,
                  lead_time: LeadTime = DAILY_LEAD_TIME) -> DataSet:
    path = path or shared_data() / ONLINE_RETAIL_FILE
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
    days = [i.at.astimezone(UK).date() for i in invoices]
    demands, unit_prices = _daily_series(daily, prices, min(days), max(days), warmup)
    return DataSet("online_retail", demands, unit_prices, warmup, lead_time, DAILY_CYCLE, COVER_PERIODS_DAILY,
                   f"{len(daily)} stock codes; kept the {len(demands)} with sales both in the first {warmup} days and"
                   " after; unit price = median sale price (GBP)")


def carparts(path: Path | None = None, warmup: int = MONTHLY_WARMUP,
             lead_time: LeadTime = MONTHLY_LEAD_TIME) -> DataSet:
    path = path or shared_data() / CARPARTS_FILE
    by_part: dict[str, dict[str, str]] = defaultdict(dict)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_part[row["part_id"]][row["month"]] = row["demand"]
    demands = []
    for part in sorted(by_part):
        values = [by_part[part][m] for m in sorted(by_part[part])]
        if all(v not in ("", "NA") for v in values):
            series = np.array([float(v) for v in values])
            if series[:warmup].any() and series[warmup:].any():
                demands.append(series)
    return DataSet("carparts", demands, None, warmup, lead_time, 1, COVER_PERIODS_MONTHLY,
                   f"{len(by_part)} parts; kept the {len(demands)} with no missing month and demand both in the first"
                   f" {warmup} months and after; no prices", period="month")


def from_csv(path: Path, warmup: int | None = None, lead_time: LeadTime = DAILY_LEAD_TIME) -> DataSet:
    """A ``sku,date,quantity[,unit_price]`` file as daily series; the warm-up defaults to 90 days, or half the
    days when the file spans fewer than 180."""
    daily: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    prices: dict[str, list[float]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"sku", "date", "quantity"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need sku,date,quantity)")
        has_price = "unit_price" in (reader.fieldnames or ())
        for n, row in enumerate(reader, start=2):
            try:
                day = date.fromisoformat(row["date"].strip()[:10])
                quantity = float(row["quantity"])
                price = float(row["unit_price"]) if has_price and row["unit_price"].strip() else 0.0
            except ValueError as err:
                raise ValueError(f"{path}, line {n}: {err}") from None
            daily[row["sku"].strip()][day] += quantity
            if price > 0:
                prices[row["sku"].strip()].append(price)
    if not daily:
        raise ValueError(f"{path}: no rows")
    first = min(d for days in daily.values() for d in days)
    last = max(d for days in daily.values() for d in days)
    span = (last - first).days + 1
    warmup = warmup if warmup is not None else (DAILY_WARMUP if span >= 2 * DAILY_WARMUP else max(1, span // 2))
    demands, unit_prices = _daily_series(daily, prices if has_price else None, first, last, warmup)
    return DataSet(path.stem, demands, unit_prices, warmup, lead_time, DAILY_CYCLE, COVER_PERIODS_DAILY,
                   f"{len(daily)} SKUs over {span} days; kept the {len(demands)} with sales both in the first"
                   f" {warmup} days and after" + ("; unit price = median price" if has_price else "; no prices"))


def _daily_series(daily: dict[str, dict[date, float]], prices: dict[str, list[float]] | None, first: date,
                  last: date, warmup: int) -> tuple[list[FloatArray], list[float] | None]:
    days = (last - first).days + 1
    demands: list[FloatArray] = []
    unit_prices: list[float] = []
    for sku in sorted(daily):
        series = np.zeros(days)
        for day, qty in daily[sku].items():
            series[(day - first).days] += qty
        series = np.maximum(series, 0.0)
        if not (series[:warmup].any() and series[warmup:].any()):
            continue
        if prices is None:
            demands.append(series)
        elif prices.get(sku):
            demands.append(series)
            unit_prices.append(statistics.median(prices[sku]))
    return demands, None if prices is None else unit_prices
