"""`backroom backtest replenishment --data PATH`: the side-by-side table, the comparison line and the PNG chart, on a
tiny synthetic CSV (one process, no shared data)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from backroom.entrypoints.cli.main import app
from backroom.replenishment.evaluation import COVER_PERIODS_DAILY, SERVICE_LEVELS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _csv(tmp_path: Path) -> Path:
    start = date(2026, 1, 1)
    rows = ["sku,date,quantity,unit_price"]
    for day in range(40):
        rows.append(f"MUG,{start + timedelta(days=day)},2,4.00")
        if day % 5 == 0:
            rows.append(f"LAMP,{start + timedelta(days=day)},3,25.00")
    path = tmp_path / "shop.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_backtest_prints_the_table_and_writes_the_chart(tmp_path: Path) -> None:
    chart = tmp_path / "out" / "curve.png"
    result = CliRunner().invoke(app, ["backtest", "replenishment", "--data", str(_csv(tmp_path)), "--lead-time", "2",
                                      "0", "--chart", str(chart), "--jobs", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Replenishment backtest — shop: 2 SKUs over 40 days; kept the 2 with sales both in the first 20 days and " \
           "after; unit price = median price" in lines
    assert "assumed lead time 2 ± 0 days, order cycle 14 days, lost sales, warm-up 20 days, backroom re-plans every " \
           "7 days" in lines
    header = next([c.strip() for c in line.split("┃")[1:-1]] for line in lines if line.startswith("┃ "))
    assert header == ["policy", "knob", "fill", "stockout days", "avg inventory", "inventory value", "orders"]
    body = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│ ")]
    assert [(r[0], r[1]) for r in body] == (
        [("backroom", f"{k:g}") for k in SERVICE_LEVELS] + [("minmax", f"{k:g}") for k in COVER_PERIODS_DAILY]
        + [("threshold", f"{k:g}") for k in COVER_PERIODS_DAILY])
    # steady demand and a 2-day lead time: nobody runs out
    assert {(r[2], r[3]) for r in body} == {("1.0000", "0")}
    # min/max at cover 0: 23.5 units worth 230.5 on average, 2 orders (worked out in the --json test)
    assert body[len(SERVICE_LEVELS)][4:] == ["24", "230", "2"]
    # every curve is above 98 %: each is read at its cheapest point
    assert any(line.startswith("at fill rate 98.00%: average inventory backroom 27, minmax 24, threshold 24 units")
               for line in lines)
    assert f"chart: {chart}" in lines
    assert chart.read_bytes()[:8] == PNG_MAGIC


def test_backtest_json_matches_the_table(tmp_path: Path) -> None:
    chart = tmp_path / "c.png"
    result = CliRunner().invoke(app, ["backtest", "replenishment", "--data", str(_csv(tmp_path)), "--lead-time", "2",
                                      "0", "--chart", str(chart), "--jobs", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["chart"] == str(chart)
    assert out["series"] == 2
    minmax0 = out["runs"]["minmax"][0]
    assert (minmax0["knob"], minmax0["fill_rate"], minmax0["stockout_periods"], minmax0["orders"]) == (0.0, 1.0, 0, 2)
    # MUG 2/day: min 4, max 4 + 28 = 32, starts with 16 days of cover (32): on hand 30, 28, … 2, then 0 on day 35 and
    # the order of 30 placed on day 34 arrives on day 36 (28, 26, 24, 22): 340 / 20 days = 17 units at 4.00.
    # LAMP 3 every 5 days (0.6/day): min 2, max 2 + 9 = 11, starts with 10: 7, 4, 1 → order 10 on day 30, arrives
    # day 32 (11), 8 from day 35: 130 / 20 = 6.5 units at 25.00.
    assert minmax0["average_inventory_units"] == 23.5
    assert minmax0["average_inventory_value"] == 17 * 4.0 + 6.5 * 25.0
    assert chart.read_bytes()[:8] == PNG_MAGIC


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "replenishment", "--data", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
