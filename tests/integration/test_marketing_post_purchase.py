"""The post-purchase and win-back flows end to end on real PostgreSQL and a real local SMTP server, with the
simulated clock: orders go through the pipeline, a delivery enrolls its buyer in the transaction that records it,
the daily scan enrolls lapsed customers, the tick (what a worker runs) wakes what is due, and the worker sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import HttpReceiver, api_client, rows, scalar, seed_catalog
from tests.integration.test_marketing_flows import SHOPIFY, build_app, cli
from tests.integration.test_platform_checkouts_customers_stock import checkout
from tests.integration.test_platform_payments_refunds import deliver

from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom
from backroom.errors import Conflict
from backroom.orders import commands
from backroom.orders.payments import Refund
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the clock fixture's start
DAY = timedelta(days=1)
FLOWS = ["abandoned_checkout", "post_purchase", "win_back"]
SKUS = ("LAMP", "BULB", "CABLE", "SHADE", "DESK")


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    backroom = build_app(database_url, tmp_path, mail, warehouse, clock, enabled_flows=FLOWS)
    seed_catalog(backroom, {sku: (100, 0) for sku in SKUS})
    yield backroom
    backroom.close()


def subscribe(app: Backroom, email: str, consent: str = "subscribed") -> None:
    with app.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO customers (store_id, email, name, created_at, marketing_consent)"
                             " VALUES (%s, %s, 'Ada Lovelace', %s, %s)", (app.store_id(), email, START, consent))


def order(app: Backroom, ext: str, email: str, skus: tuple[str, ...], placed: datetime | None = None) -> int:
    """An order through the pipeline (reserved and sent to the warehouse), placed at ``placed`` (default: now)."""
    body = json.dumps({
        "id": ext, "number": f"#{ext}", "email": email, "customer_name": "Ada Lovelace", "currency": "GBP",
        "payment_state": "paid", "placed_at": (placed or app.clock.now()).isoformat(),
        "shipping_address": {"name": "Ada Lovelace", "line1": "10 Downing Street", "city": "London",
                             "postal_code": "SW1A 2AA", "country": "GB"},
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "20.00", "title": sku.title()} for sku in skus],
    }).encode()
    outcome = app.ingest_order(body, {}, "api")
    assert outcome.order_id is not None, outcome
    return outcome.order_id


def delivered(app: Backroom, order_id: int) -> None:
    app.handle(commands.RecordShipment(order_id, "DPD", f"TRK{order_id}"))
    app.handle(commands.RecordDelivery(order_id))


def at(app: Backroom, when: timedelta) -> None:
    """Move the simulated clock to START + when and do what a worker would: the daily scan, a tick, the sends."""
    clock = app.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(START + when - clock.now())
    app.scan_lapsed_customers()
    app.advance_flows()
    app.drain()


def marketing(mail: MailCatcher) -> list[Message]:
    return [m for m in mail.messages if m["List-Unsubscribe"] is not None]


def text_of(message: Message) -> str:
    body: str = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return body.replace("\r\n", "\n")


def enrollments(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT flow, email, subject_type, subject_id, state,"
                                        " value->>'exit_reason' FROM marketing_enrollments ORDER BY id")]


def history(app: Backroom, flow: str) -> list[tuple[str, str]]:
    value = scalar(app, "SELECT value FROM marketing_enrollments WHERE flow = :f", f=flow)
    return [(h["what"], h["reason"]) for h in value["history"]]


def seed_history(app: Backroom) -> None:
    """Who bought a LAMP, and what their next order held: BULB twice (bob, cat), CABLE and SHADE once each.
    DESK came with cat's lamp (same order, not the next) and in bob's third order (not the next after the lamp);
    eve's CABLE follows a SHADE, not a lamp."""
    for ext, email, skus, days_ago in (
            ("b-1", "bob@example.com", ("LAMP",), 60), ("b-2", "bob@example.com", ("BULB", "CABLE"), 30),
            ("b-3", "bob@example.com", ("DESK",), 15),
            ("c-1", "cat@example.com", ("LAMP", "DESK"), 50), ("c-2", "cat@example.com", ("BULB",), 20),
            ("d-1", "dan@example.com", ("LAMP",), 40), ("d-2", "dan@example.com", ("SHADE",), 10),
            ("e-1", "eve@example.com", ("SHADE",), 40), ("e-2", "eve@example.com", ("CABLE", "DESK"), 5),
            ("e-3", "eve@example.com", ("CABLE",), 4)):
        order(app, ext, email, skus, START - days_ago * DAY)


def test_a_delivered_order_gets_a_review_request_after_a_week_then_what_other_lamp_buyers_bought_next(
        app: Backroom, mail: MailCatcher) -> None:
    seed_history(app)
    subscribe(app, "ada@example.com")
    order(app, "a-1", "ada@example.com", ("CABLE",), START - 90 * DAY)  # ada has a cable: not recommended to her
    lamp = order(app, "a-2", "ada@example.com", ("LAMP",))
    delivered(app, lamp)
    enrollment_id = scalar(app, "SELECT id FROM marketing_enrollments")
    assert enrollments(app) == [("post_purchase", "ada@example.com", "order", lamp, "active", "")]

    at(app, 7 * DAY - timedelta(minutes=1))
    assert marketing(mail) == []
    at(app, 7 * DAY)
    (review,) = marketing(mail)
    assert review["To"] == "ada@example.com"
    assert review["Subject"] == "How is your order #a-2?"
    assert review["Message-ID"] == f"<flow.post_purchase.enr-{enrollment_id}.step-2@backroom>"
    assert "Your order #a-2 arrived a week ago." in text_of(review)
    assert "  1 x Lamp\n" in text_of(review)

    at(app, 21 * DAY - timedelta(minutes=1))
    assert len(marketing(mail)) == 1
    at(app, 21 * DAY)
    review_again, cross = marketing(mail)
    assert review_again["Message-ID"] == review["Message-ID"]
    assert cross["Subject"] == "Picked for you after your order #a-2"
    assert cross["Message-ID"] == f"<flow.post_purchase.enr-{enrollment_id}.step-5@backroom>"
    assert "often came back for:\n  Bulb (BULB)\n  Shade (SHADE)\n\n" in text_of(cross)
    assert "<li>Bulb <span" in cross.get_body(("html",)).get_content()  # type: ignore[union-attr]
    snapshot = scalar(app, "SELECT payload->'context'->'recommendations' FROM effects"
                           " WHERE key = :k", k=f"flow:post_purchase:enr-{enrollment_id}:step-5")
    assert snapshot == [{"sku": "BULB", "title": "Bulb", "buyers": 2, "url": ""},  # no product_url set: no link
                        {"sku": "SHADE", "title": "Shade", "buyers": 1, "url": ""}]
    assert enrollments(app)[0][4:] == ("completed", "")
    assert rows(app, "SELECT template, sent_at FROM marketing_sends ORDER BY id") == [
        ("review_request", START + 7 * DAY), ("cross_sell", START + 21 * DAY)]


def test_with_product_and_review_pages_set_the_emails_link_to_them(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock) -> None:
    app = build_app(database_url, tmp_path, mail, warehouse, clock, enabled_flows=FLOWS,
                    product_url="https://shop.example.com/search?q={sku}",
                    review_url="https://shop.example.com/review/{order_number}/{sku}")
    try:
        seed_catalog(app, {sku: (100, 0) for sku in SKUS})
        seed_history(app)
        subscribe(app, "ada@example.com")
        delivered(app, order(app, "a-2", "ada@example.com", ("LAMP",)))
        at(app, 7 * DAY)
        at(app, 21 * DAY)
        review, cross = marketing(mail)
        assert "  1 x Lamp: review it at https://shop.example.com/review/%23a-2/LAMP\n" in text_of(review)
        assert "just reply" not in text_of(review)
        assert '<a href="https://shop.example.com/review/%23a-2/LAMP">write a review</a>' in \
            review.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "  Bulb (BULB): https://shop.example.com/search?q=BULB\n" in text_of(cross)
        assert '<a href="https://shop.example.com/search?q=BULB">Bulb</a>' in \
            cross.get_body(("html",)).get_content()  # type: ignore[union-attr]
    finally:
        app.close()


def test_with_nothing_to_recommend_the_cross_sell_is_skipped_with_its_reason(app: Backroom, mail: MailCatcher) -> None:
    subscribe(app, "ada@example.com")
    lamp = order(app, "a-1", "ada@example.com", ("LAMP",))
    delivered(app, lamp)
    at(app, 7 * DAY)
    at(app, 21 * DAY)

    assert [m["Subject"] for m in marketing(mail)] == ["How is your order #a-1?"]
    assert ("skipped", "nothing_to_recommend") in history(app, "post_purchase")
    assert enrollments(app)[0][4:] == ("completed", "")


def test_an_order_refunded_after_delivery_gets_no_review_request_and_a_cancelled_one_is_never_delivered(
        app: Backroom, mail: MailCatcher) -> None:
    subscribe(app, "ada@example.com")
    lamp = order(app, "a-1", "ada@example.com", ("LAMP",))
    delivered(app, lamp)
    at(app, 3 * DAY)
    app.handle(commands.RecordRefunds("api", "a-1", (Refund("r-1", Decimal("20.00"), "GBP"),), whole_order=True))
    cancelled = order(app, "a-2", "ada@example.com", ("BULB",))
    app.handle(commands.CancelOrder(cancelled))
    with pytest.raises(Conflict):
        delivered(app, cancelled)

    at(app, 7 * DAY)
    at(app, 21 * DAY)

    assert marketing(mail) == []
    assert enrollments(app) == [("post_purchase", "ada@example.com", "order", lamp, "exited", "exit_condition")]
    assert rows(app, "SELECT count(*) FROM marketing_sends") == [(0,)]


def test_an_unsubscribed_customer_gets_nothing(app: Backroom, mail: MailCatcher) -> None:
    subscribe(app, "ada@example.com", "unsubscribed")
    delivered(app, order(app, "a-1", "ada@example.com", ("LAMP",)))
    at(app, 7 * DAY)
    at(app, 21 * DAY)

    assert marketing(mail) == []
    assert [r[4:] for r in enrollments(app)] == [("exited", "unsubscribed")]


def test_the_review_request_due_with_an_abandoned_cart_reminder_is_deferred_past_the_cap_not_dropped(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
        shared_data: Path) -> None:
    app = build_app(database_url, tmp_path, mail, warehouse, clock, enabled_flows=FLOWS, quiet_hours="")
    try:
        seed_catalog(app, {sku: (100, 0) for sku in SKUS})
        subscribe(app, "ada@example.com")
        delivered(app, order(app, "a-1", "ada@example.com", ("LAMP",)))
        at(app, 7 * DAY - timedelta(hours=1))
        with api_client(app, shopify=SHOPIFY) as client:  # ada leaves a cart: its reminder is due with the review
            deliver(app, client, "checkouts/create", checkout(shared_data), "evt-checkout")
        at(app, 7 * DAY - timedelta(hours=1))

        at(app, 7 * DAY)
        assert [m["Subject"] for m in marketing(mail)] == ["You left something in your cart"]
        assert rows(app, "SELECT flow, state, wake_at FROM marketing_enrollments ORDER BY id") == [
            ("post_purchase", "deferred", START + 7 * DAY + timedelta(hours=16)),
            ("abandoned_checkout", "waiting", START + 7 * DAY + timedelta(hours=23))]

        at(app, 7 * DAY + timedelta(hours=15, minutes=59))
        assert len(marketing(mail)) == 1
        at(app, 7 * DAY + timedelta(hours=16))
        assert [m["Subject"] for m in marketing(mail)] == ["You left something in your cart",
                                                           "How is your order #a-1?"]
        assert ("deferred", "frequency_cap") in history(app, "post_purchase")
        at(app, 8 * DAY)  # the cart's code is due 16 h after the review, not at 23 h
        assert len(marketing(mail)) == 2
        at(app, 8 * DAY + timedelta(hours=8))
        assert [m["Subject"] for m in marketing(mail)][2] == "10% off to finish your order"
    finally:
        app.close()


def lapsing(app: Backroom) -> int:
    """ada orders every 30 days (-100, -70, -40 days): 1.5 x 30 = 45 days after her last order she has lapsed,
    START + 5 days. Her last order's id."""
    subscribe(app, "ada@example.com")
    order(app, "a-1", "ada@example.com", ("LAMP",), START - 100 * DAY)
    order(app, "a-2", "ada@example.com", ("BULB",), START - 70 * DAY)
    return order(app, "a-3", "ada@example.com", ("SHADE",), START - 40 * DAY)


def test_a_lapsed_customer_is_enrolled_once_by_the_scan_gets_a_code_and_her_next_order_counts_for_win_back(
        app: Backroom, mail: MailCatcher) -> None:
    last = lapsing(app)
    order(app, "z-1", "zoe@example.com", ("LAMP",), START - 59 * DAY)  # one-time buyer: 60 days, but not subscribed
    subscribe(app, "yan@example.com")
    order(app, "y-1", "yan@example.com", ("LAMP",), START - 59 * DAY)  # one-time buyer: lapses at START + 1 day

    at(app, timedelta(0))
    assert enrollments(app) == []
    at(app, DAY)
    assert [(r[0], r[1]) for r in enrollments(app)] == [("win_back", "yan@example.com")]
    at(app, 5 * DAY - timedelta(minutes=1))
    assert len(enrollments(app)) == 1
    at(app, 5 * DAY)
    assert enrollments(app)[1] == ("win_back", "ada@example.com", "order", last, "completed", "")
    ada = [m for m in marketing(mail) if m["To"] == "ada@example.com"]
    assert [m["Subject"] for m in ada] == ["We miss you: 15% off your next order"]
    code = scalar(app, "SELECT code FROM marketing_discounts WHERE key LIKE 'flow:win_back:enr-' || :i || ':%'",
                  i=enrollments_id(app, "ada@example.com"))
    assert code.startswith("SAVE15-")
    assert f"Here is 15% off your next order: {code}" in text_of(ada[0])
    assert rows(app, "SELECT percent, expires_at FROM marketing_discounts WHERE code = :c", c=code) == [
        (15, START + 19 * DAY)]

    at(app, 6 * DAY)  # the next scans: she has not ordered, but she was enrolled for this last order
    at(app, 40 * DAY)  # past the 30-day cool-down too
    assert [r[1] for r in enrollments(app)] == ["yan@example.com", "ada@example.com"]
    assert len([m for m in marketing(mail) if m["To"] == "ada@example.com"]) == 1

    order(app, "a-4", "ada@example.com", ("LAMP",), START + 7 * DAY)  # placed 2 days after her win-back email
    funnel = {r["flow"]: r for r in json.loads(cli(app, "flows", "funnel", "--json").stdout)}
    assert (funnel["win_back"]["enrolled"], funnel["win_back"]["sent"], funnel["win_back"]["converted"],
            funnel["win_back"]["revenue"]) == (2, 2, 1, {"GBP": "20.00"})


def enrollments_id(app: Backroom, email: str) -> int:
    return int(scalar(app, "SELECT id FROM marketing_enrollments WHERE email = :e", e=email))


def test_a_lapsed_customer_who_orders_before_the_win_back_goes_out_leaves_the_flow(
        app: Backroom, mail: MailCatcher) -> None:
    lapsing(app)
    at(app, 5 * DAY + timedelta(hours=13))  # 22:00: enrolled, but quiet hours hold the email until 08:00
    assert rows(app, "SELECT state, wake_at FROM marketing_enrollments") == [
        ("deferred", START + 6 * DAY - timedelta(hours=1))]
    order(app, "a-4", "ada@example.com", ("LAMP",))

    at(app, 6 * DAY)
    assert marketing(mail) == []
    assert [r[4:] for r in enrollments(app)] == [("exited", "exit_condition")]
    at(app, 7 * DAY)  # her new order is her last one now: not lapsed
    assert len(enrollments(app)) == 1


def test_a_review_request_followed_by_an_order_counts_for_post_purchase_and_the_cross_sell_is_dropped(
        app: Backroom, mail: MailCatcher) -> None:
    subscribe(app, "ada@example.com")
    delivered(app, order(app, "a-1", "ada@example.com", ("LAMP",)))
    at(app, 7 * DAY)
    at(app, 9 * DAY)
    order(app, "a-2", "ada@example.com", ("BULB", "SHADE"))
    at(app, 21 * DAY)

    assert [m["Subject"] for m in marketing(mail)] == ["How is your order #a-1?"]
    assert [r[4:] for r in enrollments(app)] == [("exited", "condition_chose_exit")]
    funnel = json.loads(cli(app, "flows", "funnel", "--flow", "post_purchase", "--json").stdout)
    assert funnel == [{"flow": "post_purchase", "enrolled": 1, "sent": 1, "skipped": {}, "deferred": {},
                       "exited": {"condition_chose_exit": 1}, "completed": 0, "unsubscribed": 0, "converted": 1,
                       "revenue": {"GBP": "40.00"}}]
