"""`--data PATH`: a sku,date,quantity[,unit_price] CSV as daily demand series."""

from __future__ import annotations

from pathlib import Path

import pytest

from backroom.demo.backtest_data import DAILY_LEAD_TIME, from_csv
from backroom.replenishment.backtest import LeadTime

ROWS = """sku,date,quantity,unit_price
A,2026-01-01,3,2.50
A,2026-01-01T15:30:00,1,3.50
A,2026-01-03,-1,2.50
A,2026-01-04,2,
B,2026-01-02,5,1.00
B,2026-01-03,2,1.00
B,2026-01-04,-7,1.00
C,2026-01-04,4,9.00
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_add_up_per_sku_and_day_returns_net_and_each_day_is_floored_at_zero(tmp_path: Path) -> None:
    data = from_csv(_write(tmp_path, ROWS))
    assert data.name == "sales"
    assert data.warmup == 2  # 4 days: half of them
    # A: 4, 0, −1 → 0, 2; B: 0, 5, 2, −7 → 0; C sold nothing in the warm-up: left out
    assert [d.tolist() for d in data.demands] == [[4.0, 0.0, 0.0, 2.0], [0.0, 5.0, 2.0, 0.0]]
    assert data.unit_prices == [2.5, 1.0]  # median of the positive prices
    assert data.lead_time == DAILY_LEAD_TIME
    assert (data.cycle, data.period) == (14.0, "day")
    assert data.note == "3 SKUs over 4 days; kept the 2 with sales both in the first 2 days and after; unit price = " \
                        "median price"


def test_without_prices_and_with_a_given_warmup_and_lead_time(tmp_path: Path) -> None:
    text = "\n".join(",".join(r.split(",")[:3]) for r in ROWS.splitlines()) + "\n"
    data = from_csv(_write(tmp_path, text), warmup=3, lead_time=LeadTime(5, 1))
    assert data.unit_prices is None
    assert [d.tolist() for d in data.demands] == [[4.0, 0.0, 0.0, 2.0]]  # B sells nothing after day 3
    assert data.lead_time == LeadTime(5, 1)


def test_a_missing_column_or_a_bad_value_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) quantity"):
        from_csv(_write(tmp_path, "sku,date,qty\nA,2026-01-01,1\n"))
    with pytest.raises(ValueError, match="line 3"):
        from_csv(_write(tmp_path, "sku,date,quantity\nA,2026-01-01,1\nA,01/02/2026,1\n"))
    with pytest.raises(ValueError, match="no rows"):
        from_csv(_write(tmp_path, "sku,date,quantity\n"))
