"""Returns end to end on the real database: the support agent starts one for a delivered order after the customer's
yes (inside the window only), the customer is emailed the instructions, and the owner receives the parcel back into
stock once — from the API and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import AUTH, order_body, rows, scalar, seed_catalog
from typer.testing import CliRunner

from backroom.adapters.db.uow import SqlUnitOfWork
from backroom.bootstrap import Backroom
from backroom.orders import commands
from backroom.orders.payments import Refund
from backroom.shared.clock import SimulatedClock
from backroom.support.commands import HandleSupportMessage
from backroom.support.model import Citation, Understanding
from backroom.support.service import SupportOutcome, SupportSettings, handle_support_message

pytestmark = pytest.mark.integration


class Returns:
    def understand(self, text: str, catalog: Sequence[str]) -> Understanding:
        low = text.lower().strip()
        intent = "start_return" if "return" in low else "affirm" if low == "yes" else "out_of_scope"
        return Understanding(intent, 0.9, intent != "out_of_scope", order_numbers=tuple(re.findall(r"#\w+", text)),
                             emails=tuple(re.findall(r"[\w.]+@[\w.]+", text)), affirmative=low == "yes")


class NoPolicies:
    def answer(self, question: str) -> tuple[str, Citation] | None:
        return None


def say(app: Backroom, text: str, conversation: str = "c1") -> SupportOutcome:
    uow = SqlUnitOfWork(app.engine, app.store_id(), app.clock)
    return handle_support_message(HandleSupportMessage("widget", conversation, text), uow,
                                  SupportSettings(Returns(), NoPolicies()))


def delivered(app: Backroom, ext: str, quantity: int = 2) -> int:
    order_id = app.ingest_order(order_body(ext, {"MUG": quantity}, email="ada@example.com"), {}, "api").order_id
    app.handle(commands.RecordShipment(order_id, "DPD", f"TRK-{ext}"))
    app.handle(commands.RecordDelivery(order_id))
    return order_id


def on_hand(app: Backroom) -> int:
    return int(scalar(app, "SELECT sum(on_hand) FROM stock_levels WHERE sku = 'MUG'"))


def test_a_return_started_by_the_agent_is_received_back_into_stock_once(app: Backroom, client: TestClient,
                                                                       mail) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    delivered(app, "O1")
    assert on_hand(app) == 3
    offer = say(app, "I want to return #O1, ada@example.com")
    assert offer.reply.text == ("I can start a return for 2 × MUG from order #O1. Shall I go ahead? Reply yes to "
                                "confirm.")
    done = say(app, "yes")
    assert done.reply.actions == [{"action": "start_return", "order": "#O1", "outcome": "R1-1"}]
    app.drain()
    [sent] = [m for m in mail.messages if m["Subject"] == "Your return R1-1 for order #O1"]
    assert sent["To"] == "ada@example.com"
    listed = client.get("/api/returns", headers=AUTH).json()
    assert [(r["number"], r["order"], r["status"], r["lines"]) for r in listed] == [
        ("R1-1", "#O1", "requested", [{"sku": "MUG", "title": "MUG", "quantity": 2}])]
    received = client.post("/api/returns/R1-1/receive", json={"location": "MAIN"}, headers=AUTH)
    assert (received.status_code, received.json()) == (200, {"number": "R1-1", "status": "received",
                                                             "restocked": True, "backorders_completed": 0})
    assert on_hand(app) == 5
    again = client.post("/api/returns/R1-1/receive", json={"location": "MAIN"}, headers=AUTH)
    assert (again.status_code, again.json()["error"], on_hand(app)) == (409, "return_not_open", 5)
    missing = client.post("/api/returns/R9-9/receive", json={"location": "MAIN"}, headers=AUTH)
    assert (missing.status_code, missing.json()["error"]) == (404, "return_not_found")
    assert client.get("/api/returns", headers={}).status_code == 401
    assert rows(app, "SELECT name FROM events WHERE name LIKE 'return_%' ORDER BY id") == [
        ("return_requested",), ("return_received",)]


def test_outside_the_window_the_agent_refuses_and_the_pipeline_would_too(app: Backroom, clock: SimulatedClock) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    delivered(app, "O1")
    clock.advance(timedelta(days=31))
    late = say(app, "I want to return #O1, ada@example.com")
    assert late.reply.text == ("Order #O1 was delivered on 27 November, more than 30 days ago, so it is outside our "
                               "30-day return window.")
    assert say(app, "yes").reply.actions == []
    assert rows(app, "SELECT count(*) FROM order_returns") == [(0,)]


DELIVERED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the clock fixture's start: the order is delivered then


def test_the_window_counts_from_the_delivery_not_from_a_later_change_to_the_order(
        app: Backroom, clock: SimulatedClock) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    order_id = delivered(app, "O1")
    clock.advance(timedelta(days=20))  # a refund changes the order (and its updated_at) after the delivery
    app.handle(commands.RecordRefunds("api", "O1", (Refund("r-1", Decimal("40.00"), "GBP"),), whole_order=True))
    clock.advance(timedelta(days=11))
    assert rows(app, "SELECT delivered_at, updated_at FROM orders WHERE id = :o", o=order_id) == [
        (DELIVERED, DELIVERED + timedelta(days=20))]
    late = say(app, "I want to return #O1, ada@example.com")
    assert late.reply.text == ("Order #O1 was delivered on 27 November, more than 30 days ago, so it is outside our "
                               "30-day return window.")


def test_the_cli_lists_and_receives_without_restocking(app: Backroom, database_url: str, tmp_path: Path) -> None:
    from backroom.entrypoints.cli.main import app as cli

    seed_catalog(app, {"MUG": (5, 0)})
    delivered(app, "O1", quantity=1)
    say(app, "please return #O1 ada@example.com")
    say(app, "yes")
    runner = CliRunner(env={"BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(tmp_path)})
    listed = runner.invoke(cli, ["returns", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(r["number"], r["order"], r["status"], r["items"]) for r in json.loads(listed.output)] == [
        ("R1-1", "#O1", "requested", "1 × MUG")]
    received = runner.invoke(cli, ["returns", "receive", "R1-1", "--location", "MAIN", "--no-restock"])
    assert (received.exit_code, received.output.strip()) == (0, "R1-1: received")
    assert (on_hand(app), rows(app, "SELECT status FROM order_returns")) == (4, [("received",)])
