"""Replenishment end to end on the real database: demand from the orders, a draft PO per supplier per cycle that
the plan never duplicates, approval by review → the PO emailed over SMTP with its CSV, receipt in part and in full
with backorders served first, and the nightly plan as a scheduled job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import HttpReceiver, MailCatcher, make_settings, order_body, rows, seed_catalog

from backroom.bootstrap import Backroom, build
from backroom.config import ReplenishmentConfig
from backroom.errors import Conflict, InvalidInput
from backroom.orders.commands import ResolveReviewItem
from backroom.replenishment.commands import (
    ApprovePurchaseOrder,
    AssignSupplierItems,
    CancelPurchaseOrder,
    ReceivePurchaseOrder,
    RecordSupplier,
    RunReplenishmentPlan,
    receipt_entry,
)
from backroom.replenishment.suppliers import Supplier, SupplierItem
from backroom.service_layer.messagebus import DuplicateDelivery
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    """The textbook safety stock, so the numbers below can be worked out by hand (σd = 0 for a steady seller: no
    safety stock); the default bootstrap is unit-tested in test_plan_day.py and measured by the backtest."""
    settings = make_settings(database_url, tmp_path, mail, warehouse).model_copy(
        update={"replenishment": ReplenishmentConfig(uncertainty="normal")})
    backroom = build(settings, clock=clock, migrate_schema=False)
    yield backroom
    backroom.close()


ACME = Supplier("ACME", "Acme Mugs Ltd", "orders@acme.example", lead_time_days=7, moq=12, pack_multiple=6)
PO = "PO-ACME-20261127"


def sell_daily(app: Backroom, sku: str, per_day: int, days: int) -> None:
    """One order of ``per_day`` units on each of the ``days`` days before today (the clock's 2026-11-27)."""
    for n in range(1, days + 1):
        body = json.loads(order_body(f"{sku}-{n}", {sku: per_day}))
        body["placed_at"] = f"2026-11-{27 - n:02d}T10:00:00+00:00" if n < 27 else f"2026-10-{58 - n:02d}T10:00:00+00:00"
        app.ingest_order(json.dumps(body).encode(), {}, source_id=f"{sku}-{n}")


def with_supplier(app: Backroom, supplier: Supplier = ACME, sku: str = "MUG") -> None:
    app.handle(RecordSupplier(supplier))
    app.handle(AssignSupplierItems((SupplierItem(sku, supplier.code, Decimal("2.50"), "AC-1"),)))


def test_the_plan_drafts_one_po_per_supplier_per_cycle_and_running_it_again_changes_nothing(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (70, 0)})
    sell_daily(app, "MUG", 2, 30)  # 60 reserved: 10 free
    with_supplier(app)

    dry = app.handle(RunReplenishmentPlan(dry_run=True))
    line = dry.plan.skus[0].as_dict()
    assert {k: line[k] for k in ("sku", "demand_class", "method", "forecast_per_day", "safety_stock",
                                 "reorder_point", "order_up_to", "net_stock", "on_order", "days_of_cover",
                                 "stockout_on", "last_order_day", "stockout_expected", "order", "order_value")} == {
        "sku": "MUG", "demand_class": "smooth", "method": "auto_ets", "forecast_per_day": 2.0, "safety_stock": 0.0,
        "reorder_point": 14.0, "order_up_to": 42.0, "net_stock": 10, "on_order": 0, "days_of_cover": 5.0,
        "stockout_on": "2026-12-02", "last_order_day": "2026-11-25", "stockout_expected": True, "order": 36,
        "order_value": "90.00"}  # 42 − 10 = 32 → MOQ 12 → multiple of 6: 36
    assert rows(app, "SELECT count(*) FROM purchase_orders") == [(0,)]  # a dry run saves nothing

    first = app.handle(RunReplenishmentPlan())
    assert first.purchase_orders == {PO: "drafted"}
    assert first.events == ["stockout_expected:MUG"]
    again = app.handle(RunReplenishmentPlan())
    assert (again.purchase_orders, again.events) == ({PO: "unchanged"}, [])
    assert rows(app, "SELECT number, status FROM purchase_orders") == [(PO, "draft")]
    assert rows(app, "SELECT sku, quantity, received, unit_cost, supplier_sku FROM purchase_order_lines") == [
        ("MUG", 36, 0, Decimal("2.5000"), "AC-1")]
    assert rows(app, "SELECT reason_code, subject_type, status, title FROM review_items") == [
        ("po_approval", "purchase_order", "open", "Approve PO-ACME-20261127: 1 SKUs, 90.00 GBP from Acme Mugs Ltd")]
    assert rows(app, "SELECT name, data->>'sku', data->>'stockout_on' FROM events WHERE name = 'stockout_expected'"
                ) == [("stockout_expected", "MUG", "2026-12-02")]
    assert rows(app, "SELECT policy, subject_type, outcome->>'order', outcome->>'purchase_order' FROM decisions"
                     " WHERE policy = 'replenishment_plan' AND subject_type = 'sku'") == [
        ("replenishment_plan", "sku", "36", PO), ("replenishment_plan", "sku", "36", PO)]


def test_approval_in_review_emails_the_po_with_its_csv_and_the_next_plan_counts_it_on_order(
        app: Backroom, mail: MailCatcher) -> None:
    seed_catalog(app, {"MUG": (70, 0)})
    sell_daily(app, "MUG", 2, 30)
    with_supplier(app)
    app.handle(RunReplenishmentPlan())
    item_id = rows(app, "SELECT id FROM review_items WHERE reason_code = 'po_approval'")[0][0]

    outcome = app.handle(ResolveReviewItem(item_id, "approve", "ada"))
    assert outcome == "PO-ACME-20261127 ordered; emailed to orders@acme.example"
    assert rows(app, "SELECT status, approved_by, expected_on::text FROM purchase_orders") == [
        ("ordered", "ada", "2026-12-04")]
    app.drain()
    [msg] = [m for m in mail.messages if m["To"] == "orders@acme.example"]
    assert msg["Subject"] == "Purchase order PO-ACME-20261127"
    assert msg["Message-ID"] == "<po-email.1.PO-ACME-20261127@backroom>"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "PO-ACME-20261127.csv"
    assert attachment.get_content().splitlines() == [
        "po_number,supplier,line,sku,supplier_sku,quantity,unit_cost,line_total,currency",
        "PO-ACME-20261127,Acme Mugs Ltd,1,MUG,AC-1,36,2.50,90.00,GBP",
        "PO-ACME-20261127,Acme Mugs Ltd,,TOTAL,,36,,90.00,GBP"]

    after = app.handle(RunReplenishmentPlan())
    line = after.plan.skus[0]
    assert (line.line.on_order, line.line.order, after.purchase_orders) == (36, 0, {})
    assert rows(app, "SELECT count(*) FROM purchase_orders") == [(1,)]
    with pytest.raises(Conflict) as err:
        app.handle(ApprovePurchaseOrder(PO, "ada"))
    assert err.value.code == "po_not_draft"


def test_a_partial_then_full_receipt_serves_the_backorder_queue_first(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    with_supplier(app)
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")  # backordered: nothing on hand
    plan = app.handle(RunReplenishmentPlan())
    assert plan.purchase_orders == {PO: "drafted"}
    assert rows(app, "SELECT quantity FROM purchase_order_lines") == [(12,)]  # 4 backordered, MOQ 12
    app.handle(ApprovePurchaseOrder(PO, "ada"))

    part = app.handle(ReceivePurchaseOrder(PO, "MAIN", (("MUG", 5),)), None, receipt_entry(PO, "DN-1", (("MUG", 5),)))
    assert (part.applied, part.allocated) == (1, 1)
    with pytest.raises(DuplicateDelivery):  # the same delivery note booked again: nothing more arrives
        app.handle(ReceivePurchaseOrder(PO, "MAIN", (("MUG", 5),)), None, receipt_entry(PO, "DN-1", (("MUG", 5),)))
    assert rows(app, "SELECT status FROM orders WHERE external_id = 'B1'") == [("fulfillment_requested",)]
    assert rows(app, "SELECT p.status, l.received FROM purchase_orders p JOIN purchase_order_lines l"
                     " ON l.po_id = p.id") == [("partially_received", 5)]
    rest = app.handle(ReceivePurchaseOrder(PO, "MAIN"))
    assert (rest.applied, rest.allocated) == (1, 0)
    assert rows(app, "SELECT p.status, l.received FROM purchase_orders p JOIN purchase_order_lines l"
                     " ON l.po_id = p.id") == [("received", 12)]
    assert rows(app, "SELECT on_hand, reserved FROM stock_levels WHERE sku = 'MUG' AND location_id ="
                     " (SELECT id FROM locations WHERE code = 'MAIN')") == [(12, 4)]
    assert rows(app, "SELECT delta_on_hand, reference FROM stock_ledger WHERE reason = 'received'") == [
        (5, PO), (7, PO)]
    with pytest.raises(Conflict) as err:
        app.handle(ReceivePurchaseOrder(PO, "MAIN"))
    assert err.value.code == "po_not_open"
    assert rows(app, "SELECT sum(delta_on_hand) FROM stock_ledger WHERE reason = 'received'") == [(12,)]


def test_a_dismissed_draft_is_cancelled_and_not_raised_again_in_its_cycle(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    with_supplier(app)
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")
    app.handle(RunReplenishmentPlan())
    item_id = rows(app, "SELECT id FROM review_items WHERE reason_code = 'po_approval'")[0][0]
    assert app.handle(ResolveReviewItem(item_id, "dismiss", "ada")) == "PO-ACME-20261127 cancelled"
    assert app.handle(RunReplenishmentPlan()).purchase_orders == {PO: "kept"}
    assert rows(app, "SELECT number, status FROM purchase_orders") == [(PO, "cancelled")]
    assert rows(app, "SELECT status FROM review_items WHERE reason_code = 'po_approval'") == [("dismissed",)]
    assert rows(app, "SELECT count(*) FROM effects WHERE kind = 'email' AND key LIKE 'po-email:%'") == [(0,)]


def test_yesterdays_unapproved_draft_is_superseded_by_todays(app: Backroom, clock: SimulatedClock) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    with_supplier(app)
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")
    app.handle(RunReplenishmentPlan())
    clock.advance(timedelta(days=1))
    assert app.handle(RunReplenishmentPlan()).purchase_orders == {PO: "superseded",
                                                                  "PO-ACME-20261128": "drafted"}
    assert rows(app, "SELECT number, status FROM purchase_orders ORDER BY id") == [
        (PO, "cancelled"), ("PO-ACME-20261128", "draft")]
    assert rows(app, "SELECT status, resolution FROM review_items WHERE reason_code = 'po_approval' ORDER BY id") == [
        ("resolved", "superseded by the plan of 2026-11-28"), ("open", None)]


def test_a_supplier_who_does_not_take_orders_today_gets_no_draft_and_the_reason_says_when(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    monday_only = Supplier("ACME", "Acme Mugs Ltd", "orders@acme.example", 7, order_days=(0,))
    with_supplier(app, monday_only)
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")
    outcome = app.handle(RunReplenishmentPlan())  # Friday 27 November
    assert outcome.purchase_orders == {}
    line = outcome.plan.skus[0]
    assert (line.review_days, line.line.order) == (3, 4)
    assert line.line.reason.endswith("; ACME takes orders next on Mon 30 Nov")


def test_a_cancelled_order_po_withdraws_its_unsent_email(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    with_supplier(app)
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")
    app.handle(RunReplenishmentPlan())
    app.handle(ApprovePurchaseOrder(PO, "ada"))
    app.handle(CancelPurchaseOrder(PO, "ada", "wrong supplier"))
    assert rows(app, "SELECT key, status FROM effects WHERE kind = 'email' ORDER BY id") == [
        ("email:backorder_notice:order-1:v1", "pending"),  # order 1 and PO 1 share an id: only the PO's email goes
        (f"po-email:1:{PO}", "cancelled")]


def test_the_nightly_plan_runs_once_per_store_after_its_hour(app: Backroom, clock: SimulatedClock) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    with_supplier(app)
    clock.advance(timedelta(hours=-8))  # 01:00
    assert app.plan_due_stores() == []
    clock.advance(timedelta(hours=1, minutes=30))  # 02:30
    assert app.plan_due_stores() == ["default"]
    assert app.plan_due_stores() == []
    assert rows(app, "SELECT trigger, inputs->>'trigger' FROM decisions WHERE subject_type = 'replenishment_run'") == [
        ("replenishment_plan:2026-11-27", "nightly")]


def test_a_store_in_another_timezone_plans_and_dates_its_pos_by_its_own_day(app: Backroom,
                                                                             clock: SimulatedClock) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    with_supplier(app)
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE stores SET timezone = 'Pacific/Auckland'"))
    clock.advance(timedelta(hours=12))  # 21:00 UTC on the 27th is 10:00 on the 28th in Auckland
    assert app.handle(RunReplenishmentPlan()).purchase_orders == {"PO-ACME-20261128": "drafted"}
    assert app.plan_due_stores() == []  # the 28th's plan has run: the nightly job does not run it again
    with pytest.raises(InvalidInput) as err:
        app.handle(RunReplenishmentPlan(day=date(2026, 11, 27)))
    assert (err.value.code, err.value.message) == (
        "plan_day_not_today", "a plan that saves is today's (2026-11-28); look at 2026-11-27 with a dry run")
    app.handle(ApprovePurchaseOrder("PO-ACME-20261128", "ada"))
    assert rows(app, "SELECT expected_on::text FROM purchase_orders") == [("2026-12-05",)]


def test_only_catalog_skus_can_be_given_a_supplier_and_codes_have_one_spelling(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    app.handle(RecordSupplier(Supplier("acme", "Acme", "orders@acme.example", 7)))
    app.handle(RecordSupplier(Supplier("ACME", "Acme Ltd", "orders@acme.example", 9)))
    assert rows(app, "SELECT code, name, lead_time_days FROM suppliers") == [("ACME", "Acme Ltd", Decimal("9.00"))]
    with pytest.raises(Conflict) as err:
        app.handle(AssignSupplierItems((SupplierItem("MUG", "acme", Decimal("1")),
                                        SupplierItem("GHOST", "ACME", Decimal("1")))))
    assert (err.value.code, err.value.message) == ("unknown_sku",
                                                   "not in the catalog: GHOST (import the products first)")
    assert rows(app, "SELECT count(*) FROM supplier_items") == [(0,)]
