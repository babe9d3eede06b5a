"""`backroom replay online-retail`: invoices become orders, cancellations, returns and stock notes through the real
pipeline, every order ends settled and stock never goes negative."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backroom.adapters.db.engine import make_engine
from backroom.config import EffectSettings, Settings
from backroom.demo.replay import STORE, replay_online_retail

pytestmark = pytest.mark.integration

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
TWO_DAYS = [
    # Wednesday: two sales (one a guest's, abroad) with a postage line, one sale cancelled while unshipped, a
    # warehouse note writing off more than is free, an invoice to nowhere and one with only postage
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 09:00:00,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 09:00:00,3.39,17850,United Kingdom",
    "536365,POST,POSTAGE,1,2010-12-01 09:00:00,18.00,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 09:30:00,1.85,,France",
    "536367,85123A,WHITE HANGING HEART T-LIGHT HOLDER,4,2010-12-01 10:00:00,2.55,13047,United Kingdom",
    "C536368,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-4,2010-12-01 11:00:00,2.55,13047,United Kingdom",
    "536369,22633,damaged,-2,2010-12-01 12:00:00,0.0,,United Kingdom",
    "536370,71053,WHITE METAL LANTERN,1,2010-12-01 13:00:00,3.39,12345,Unspecified",
    "536371,POST,POSTAGE,1,2010-12-01 14:00:00,18.00,17850,United Kingdom",
    # Thursday: part of Wednesday's shipped order comes back; a wholesale order is held for its value
    "C536380,71053,WHITE METAL LANTERN,-6,2010-12-02 09:00:00,3.39,17850,United Kingdom",
    "536381,85123A,WHITE HANGING HEART T-LIGHT HOLDER,1000,2010-12-02 10:00:00,2.55,17850,United Kingdom",
    "536382,10002X,found,5,2010-12-02 15:00:00,0.0,,United Kingdom",  # a day whose only note names no product
]


def test_two_days_of_invoices_become_what_a_store_would_have_done(database_url: str, tmp_path: Path) -> None:
    data = tmp_path / "online_retail.csv"
    data.write_text("\n".join([HEADER, *TWO_DAYS]) + "\n")
    settings = Settings(database_url=database_url, home=tmp_path, effects=EffectSettings(backoff_base_s=0.0))

    report = replay_online_retail(settings, data)

    assert (report.first_day, report.last_day, report.business_days) == ("2010-12-01", "2010-12-02", 2)
    assert report.invoices == {"sale": 6, "cancellation": 2, "adjustment": 2}
    assert report.orders_sent == 4
    assert report.orders_rejected == {"no country (Unspecified)": 1,
                                      "nothing to ship (only postage, fees or vouchers)": 1}
    assert report.cancellations == {"cancelled before shipping": 1, "returned to stock": 1}
    assert report.non_product_lines == {"postage": 2}
    # 6 of hand warmers are reserved for the guest's order: writing off 2 would leave 4 on hand for 6 reserved
    assert report.stock_notes == {"applied": 0, "refused: more than on hand": 1, "refused: unknown SKU": 1}
    assert (report.shipped, report.delivered) == (2, 0)
    assert report.not_settled == 0

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            store = conn.execute(text("SELECT id FROM stores WHERE slug = :s"), {"s": STORE}).scalar_one()
            statuses = dict(conn.execute(text(
                "SELECT external_id, status FROM orders WHERE store_id = :s"), {"s": store}).all())
            stock = {r.sku: (r.on_hand, r.reserved) for r in conn.execute(text(
                "SELECT sku, on_hand, reserved FROM stock_levels WHERE store_id = :s"), {"s": store})}
            rejected = sorted(conn.execute(text(
                "SELECT source_id, status FROM inbox WHERE store_id = :s AND status <> 'processed'"),
                {"s": store}).all())
    finally:
        engine.dispose()
    assert statuses == {"536365": "shipped", "536366": "shipped", "536367": "cancelled", "536381": "on_hold"}
    # opening stock = four weeks of each SKU's sales: 85123A 6+4+1000, 71053 6+1 (the rejected one counts: it was
    # demand), 22633 6; then 6 lanterns come back, and Monday's top-up never comes in two days
    assert stock == {"85123A": (1010 - 6, 1000), "71053": (7 - 6 + 6, 0), "22633": (0, 0)}
    assert rejected == [("536370", "rejected"), ("536371", "rejected")]
    assert report.summary["exceptions_by_reason"] == {"high_value": 1}
    assert report.summary["negative_stock_rows"] == 0
    assert report.effects_recorded == {"order_confirmation": 3, "fulfillment_request": 2, "shipping_confirmation": 2,
                                       "order_cancelled": 1}


def test_the_real_file_replays_its_first_days(shared_data: Path, database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, home=tmp_path, effects=EffectSettings(backoff_base_s=0.0))
    report = replay_online_retail(settings, shared_data / "online_retail" / "online_retail_2010-12_2011-12.csv.gz",
                                  days=3)
    assert report.invoices == {"sale": 19950, "cancellation": 3836, "adjustment": 2098, "bookkeeping": 16}
    assert (report.first_day, report.last_day) == ("2010-12-01", "2010-12-03")
    assert report.summary["negative_stock_rows"] == 0
    assert report.not_settled == 0
    assert report.summary["orders_imported"] == report.orders_sent
