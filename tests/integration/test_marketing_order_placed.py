"""A flow on ``order_placed`` end to end on real PostgreSQL and a real local SMTP server, with the simulated clock:
a new order enrolls its buyer in the transaction that records it (once the order is written), the tick wakes the
enrollment, the worker sends; an order from history (placed days before it was recorded) enrolls no one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import HttpReceiver, seed_catalog
from tests.integration.test_marketing_flows import build_app
from tests.integration.test_marketing_post_purchase import START, at, enrollments, marketing, order, subscribe

from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom
from backroom.orders import commands
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

THANKS = """
flows:
  - name: order_thanks
    trigger: order_placed
    filter: order.total >= 30.0
    exit: order.status == "cancelled"
    steps:
      - wait: 2h
      - send_email: {template: review_request}
"""


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    flows = tmp_path / "flows.yaml"
    flows.write_text(THANKS)
    backroom = build_app(database_url, tmp_path, mail, warehouse, clock, flows_file=flows,
                         enabled_flows=["order_thanks"])
    seed_catalog(backroom, {sku: (100, 0) for sku in ("LAMP", "BULB")})
    yield backroom
    backroom.close()


def test_a_new_order_enrolls_its_buyer_at_once_and_the_email_follows_after_the_wait(
        app: Backroom, mail: MailCatcher) -> None:
    subscribe(app, "ada@example.com")
    placed = order(app, "o-1", "ada@example.com", ("LAMP", "BULB"))  # 40.00: passes the filter

    assert enrollments(app) == [("order_thanks", "ada@example.com", "order", placed, "active", "")]
    at(app, timedelta(hours=1))
    assert marketing(mail) == []
    at(app, timedelta(hours=2))
    [sent] = marketing(mail)
    assert (sent["To"], sent["Subject"]) == ("ada@example.com", "How is your order #o-1?")
    assert sent["Message-ID"] == "<flow.order_thanks.enr-1.step-2@backroom>"
    assert enrollments(app) == [("order_thanks", "ada@example.com", "order", placed, "completed", "")]


def test_history_a_filtered_order_and_a_cancelled_one_send_nothing(app: Backroom, mail: MailCatcher) -> None:
    for email in ("bob@example.com", "cat@example.com", "dan@example.com"):
        subscribe(app, email)
    order(app, "old-1", "bob@example.com", ("LAMP", "BULB"), START - timedelta(days=3))  # an import of history
    order(app, "small-1", "cat@example.com", ("LAMP",))  # 20.00: the filter keeps it out
    cancelled = order(app, "c-1", "dan@example.com", ("LAMP", "BULB"))
    assert [(flow, email) for flow, email, *_ in enrollments(app)] == [("order_thanks", "dan@example.com")]

    app.handle(commands.CancelOrder(cancelled, reason="customer asked"))
    at(app, timedelta(hours=3))

    assert marketing(mail) == []
    assert enrollments(app) == [("order_thanks", "dan@example.com", "order", cancelled, "exited", "exit_condition")]
