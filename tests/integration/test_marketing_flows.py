"""The abandoned-checkout flow end to end on real PostgreSQL and a real local SMTP server, with the simulated clock:
checkouts and orders arrive as signed Shopify webhooks, the tick (what a worker runs every minute) wakes the due
enrollments, the worker sends what the tick asked for, and the customer unsubscribes through the signed link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from tests.conftest import HttpReceiver, TestClient, api_client, make_settings, rows, scalar, seed_catalog
from tests.integration.test_platform_checkouts_customers_stock import SAMPLES, checkout, shopify_order
from tests.integration.test_platform_payments_refunds import SHOP, SHOPIFY_SECRET, deliver
from typer.testing import CliRunner, Result

from backroom.adapters.db import queries
from backroom.adapters.db.suppressions import record_suppression
from backroom.adapters.db.uow import SqlUnitOfWork
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build
from backroom.config import MarketingConfig, ShopifySettings
from backroom.entrypoints.cli.main import app as cli_root
from backroom.marketing.unsubscribe import unsubscribe_token
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

SECRET = "unsubscribe-test-secret"
PUBLIC = "https://backroom.example.com"
RECOVERY = "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token"
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the clock fixture's start: the checkout arrives then
REMINDER = "<flow.abandoned_checkout.enr-1.step-2@backroom>"  # the first enrollment's first reminder

SHOPIFY = ShopifySettings(webhook_secret=SecretStr(SHOPIFY_SECRET), shops={SHOP: "default"})
TWO_FLOWS = """
flows:
  - name: cart_nudge
    trigger: checkout_abandoned
    priority: 30
    steps:
      - wait: 1h
      - send_email: {template: abandoned_checkout_reminder}
  - name: cart_tip
    trigger: checkout_abandoned
    priority: 10
    steps:
      - wait: 1h
      - send_email: {template: abandoned_checkout_reminder}
"""


def build_app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
              **marketing: Any) -> Backroom:
    config = MarketingConfig(**{"enabled_flows": ["abandoned_checkout"], "unsubscribe_secret": SecretStr(SECRET),
                                "public_url": PUBLIC, "tick_every_s": 0, **marketing})
    settings = make_settings(database_url, tmp_path, mail, warehouse).model_copy(update={"marketing": config})
    return build(settings, clock=clock, migrate_schema=False)


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    backroom = build_app(database_url, tmp_path, mail, warehouse, clock)
    yield backroom
    backroom.close()


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, shopify=SHOPIFY) as c:
        yield c


def subscribed_customer(app: Backroom, client: TestClient, shared: Path, email: str = "ada@example.com") -> None:
    sample = json.loads((shared / SAMPLES / "CustomersCreate.json").read_text())
    deliver(app, client, "customers/create", {**sample, "email": email, "accepts_marketing": True}, "evt-customer")


def abandon(app: Backroom, client: TestClient, shared: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    subscribed_customer(app, client, shared)
    deliver(app, client, "checkouts/create", checkout(shared), "evt-checkout")


def at(app: Backroom, when: timedelta) -> None:
    """Move the simulated clock to START + when, then do what a worker would: tick, and send what it asked for."""
    clock = app.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(START + when - clock.now())
    app.advance_flows()
    app.drain()


def cli(app: Backroom, *args: str, **env_extra: str) -> Result:
    """`backroom …` as an operator types it, against this app's database and SMTP server, with the flow on."""
    env = {"BACKROOM_DATABASE_URL": str(app.settings.database_url), "BACKROOM_HOME": str(app.settings.home),
           "BACKROOM_SMTP__PORT": str(app.settings.smtp.port), "COLUMNS": "200",
           "BACKROOM_MARKETING__ENABLED_FLOWS": '["abandoned_checkout"]',
           "BACKROOM_MARKETING__UNSUBSCRIBE_SECRET": SECRET, "BACKROOM_MARKETING__PUBLIC_URL": PUBLIC}
    result = CliRunner().invoke(cli_root, list(args), env={**env, **env_extra})
    assert result.exit_code == 0, result.output
    return result


def marketing(mail: MailCatcher) -> list[Message]:
    return [m for m in mail.messages if m["List-Unsubscribe"] is not None]


def enrollment(app: Backroom) -> tuple[Any, ...]:
    (row,) = rows(app, "SELECT flow, email, subject_type, state, wake_at, value->>'exit_reason' FROM"
                       " marketing_enrollments")
    return tuple(row)


def history(app: Backroom) -> list[tuple[str, str]]:
    value = scalar(app, "SELECT value FROM marketing_enrollments")
    return [(h["what"], h["reason"]) for h in value["history"]]


def test_the_reminder_goes_after_an_hour_and_the_code_a_day_later_each_with_a_stable_message_id(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    enrollment_id = scalar(app, "SELECT id FROM marketing_enrollments")
    assert enrollment(app) == ("abandoned_checkout", "ada@example.com", "checkout", "active", START, "")

    at(app, timedelta(minutes=59))
    assert marketing(mail) == []
    assert enrollment(app)[3:5] == ("waiting", START + timedelta(hours=1))

    at(app, timedelta(hours=1))
    (first,) = marketing(mail)
    assert first["To"] == "ada@example.com"
    assert first["Subject"] == "You left something in your cart"
    assert first["Message-ID"] == f"<flow.abandoned_checkout.enr-{enrollment_id}.step-2@backroom>"
    link = f"{PUBLIC}/unsubscribe/{unsubscribe_token(SECRET.encode(), app.store_id(), 'ada@example.com')}"
    assert first["List-Unsubscribe"] == f"<{link}>"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "2 x IPod Nano - 8GB  40.00 GBP" in text
    assert RECOVERY in text
    assert link in text
    assert enrollment(app)[3:5] == ("waiting", START + timedelta(hours=24))
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(0,)]

    at(app, timedelta(hours=24))
    first_again, second = marketing(mail)
    assert first_again["Message-ID"] == first["Message-ID"]
    assert second["Message-ID"] == f"<flow.abandoned_checkout.enr-{enrollment_id}.step-5@backroom>"
    assert second["Subject"] == "10% off to finish your order"
    ((code, percent, expires),) = rows(app, "SELECT code, percent, expires_at FROM marketing_discounts")
    assert (percent, expires) == (10, START + timedelta(hours=24 + 72))
    assert code.startswith("SAVE10-")
    assert len(code) == 15
    assert f"Here is 10% off to finish your order: {code}" in second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert enrollment(app)[3:6] == ("completed", None, "")
    assert rows(app, "SELECT message_key, template, shadow, sent_at FROM marketing_sends ORDER BY id") == [
        (f"flow:abandoned_checkout:enr-{enrollment_id}:step-2", "abandoned_checkout_reminder", False,
         START + timedelta(hours=1)),
        (f"flow:abandoned_checkout:enr-{enrollment_id}:step-5", "abandoned_checkout_discount", False,
         START + timedelta(hours=24))]

    at(app, timedelta(days=3))  # nothing is due any more
    assert len(marketing(mail)) == 2


def test_an_order_half_an_hour_after_the_checkout_means_no_email(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    at(app, timedelta(minutes=30))
    deliver(app, client, "orders/create", shopify_order(1001), "evt-order")

    at(app, timedelta(hours=1))
    at(app, timedelta(hours=24))

    assert marketing(mail) == []
    assert enrollment(app)[3:6] == ("exited", None, "exit_condition")
    assert rows(app, "SELECT count(*) FROM marketing_sends") == [(0,)]
    assert rows(app, "SELECT count(*) FROM effects WHERE automation = 'marketing_emails'") == [(0,)]


def test_an_order_after_the_first_reminder_stops_the_second_and_no_code_is_made(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    assert [m["Message-ID"] for m in marketing(mail)] == [REMINDER]  # the first reminder only
    at(app, timedelta(hours=3))
    order = {**shopify_order(1001, token=None), "created_at": (START + timedelta(hours=3)).isoformat()}
    deliver(app, client, "orders/create", order, "evt-order")  # no checkout token: matched by its email

    at(app, timedelta(hours=24))

    assert [m["Message-ID"] for m in marketing(mail)] == [REMINDER]  # the first reminder only
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(0,)]
    assert enrollment(app)[3:6] == ("exited", None, "exit_condition")
    assert json.loads(cli(app, "flows", "funnel", "--json").stdout) == [{
        "flow": "abandoned_checkout", "enrolled": 1, "sent": 1, "skipped": {}, "deferred": {},
        "exited": {"exit_condition": 1}, "completed": 0, "unsubscribed": 0, "converted": 1,
        "revenue": {"GBP": "40.00"}}]


def test_unsubscribing_through_the_link_between_steps_stops_the_flow_but_not_order_mail(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    (first,) = marketing(mail)
    path = urlsplit(first["List-Unsubscribe"].strip("<>")).path

    page = client.get(path)
    assert page.status_code == 200
    assert "ada@example.com" in page.text
    assert "<form method='post'>" in page.text
    assert app.consent_of("ada@example.com") == "subscribed"  # looking is not unsubscribing
    done = client.post(path, content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    assert app.consent_of("ada@example.com") == "unsubscribed"
    assert rows(app, "SELECT data->>'email', data->>'was' FROM events WHERE name = 'customer_unsubscribed'") == [
        ("ada@example.com", "subscribed")]

    at(app, timedelta(hours=24))

    assert [m["Message-ID"] for m in marketing(mail)] == [REMINDER]  # the first reminder only
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(0,)]
    assert enrollment(app)[3:6] == ("exited", None, "unsubscribed")

    deliver(app, client, "orders/create", shopify_order(1001), "evt-order")  # transactional mail still goes
    app.drain()
    assert [m["Subject"] for m in mail.messages if m["List-Unsubscribe"] is None] == [
        "Your order #1001 is confirmed"]


def test_a_shopify_buyer_who_ticked_the_marketing_box_at_checkout_is_reminded_without_a_customer_record(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "checkouts/create", checkout(shared_data, buyer_accepts_marketing=True), "evt-checkout")
    assert rows(app, "SELECT email, marketing_consent FROM customers") == [("ada@example.com", "subscribed")]

    at(app, timedelta(hours=1))

    assert [m["Message-ID"] for m in marketing(mail)] == [REMINDER]


def test_a_shopify_checkout_without_the_box_ticked_subscribes_nobody(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "checkouts/create", checkout(shared_data, buyer_accepts_marketing=False), "evt-checkout")

    at(app, timedelta(hours=1))

    assert rows(app, "SELECT count(*) FROM customers") == [(0,)]
    assert marketing(mail) == []


@pytest.mark.parametrize("since", ["unsubscribed", "suppressed"])
def test_a_reminder_asked_for_before_an_unsubscribe_or_a_bounce_is_cancelled_not_sent(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path, since: str) -> None:
    abandon(app, client, shared_data)
    clock = app.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(timedelta(hours=1))
    app.advance_flows()  # the tick asks for the reminder; the worker has not sent it yet
    assert rows(app, "SELECT key, status FROM effects WHERE kind = 'email'") == [
        ("flow:abandoned_checkout:enr-1:step-2", "pending")]
    assert rows(app, "SELECT message_key FROM marketing_sends") == [("flow:abandoned_checkout:enr-1:step-2",)]
    if since == "unsubscribed":
        token = unsubscribe_token(SECRET.encode(), app.store_id(None), "ada@example.com")
        assert client.post(f"/unsubscribe/{token}").status_code == 200
    else:  # a bounce report about the address arrived meanwhile
        with app.engine.begin() as conn:
            record_suppression(conn, app.store_id(None), "Ada@Example.com", reason="hard_bounce",
                               detail="5.1.1", source="dsn", at=clock.now())

    app.drain()

    assert marketing(mail) == []
    assert rows(app, "SELECT status, last_error, attempts FROM effects WHERE kind = 'email'") == [
        ("cancelled", since, 0)]
    assert rows(app, "SELECT count(*) FROM marketing_sends") == [(0,)]  # the cap and attribution never count it
    [row] = app.flow_funnel("abandoned_checkout")  # nor does the funnel: skipped, and why
    assert (row["sent"], row["skipped"]) == (0, {since: 1})


def test_a_later_platform_update_still_saying_subscribed_does_not_resubscribe_after_the_link(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    sample = json.loads((shared_data / SAMPLES / "CustomersCreate.json").read_text())
    subscribed_customer(app, client, shared_data)  # Shopify: accepts marketing since 2021-12-31
    token = unsubscribe_token(SECRET.encode(), app.store_id(None), "ada@example.com")
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    stale = {**sample, "email": "ada@example.com", "accepts_marketing": True,
             "updated_at": "2026-11-27T10:00:00+00:00"}  # the address changed; the consent did not
    deliver(app, client, "customers/update", stale, "evt-customer-later")
    assert app.consent_of("ada@example.com") == "unsubscribed"

    again = {**stale, "updated_at": "2026-11-27T11:00:00+00:00", "accepts_marketing_updated_at": None,
             "email_marketing_consent": {"state": "subscribed", "consent_updated_at": "2026-11-27T11:00:00+00:00"}}
    deliver(app, client, "customers/update", again, "evt-customer-resubscribed")  # they opted in again there
    assert app.consent_of("ada@example.com") == "subscribed"


def test_a_forged_or_altered_unsubscribe_link_is_refused_and_changes_nothing(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    store_id = app.store_id()
    forged = unsubscribe_token(b"not-our-secret", store_id, "ada@example.com")
    genuine = unsubscribe_token(SECRET.encode(), store_id, "bob@example.com")
    altered = unsubscribe_token(SECRET.encode(), store_id, "ada@example.com").split(".")[0] + "." + \
        genuine.split(".")[1]
    for token in (forged, altered, "garbage!!", "x.y"):
        assert client.post(f"/unsubscribe/{token}").status_code == 400
        assert client.get(f"/unsubscribe/{token}").status_code == 400

    assert app.consent_of("ada@example.com") == "subscribed"
    assert rows(app, "SELECT count(*) FROM events WHERE name = 'customer_unsubscribed'") == [(0,)]
    at(app, timedelta(hours=1))
    assert [m["Message-ID"] for m in marketing(mail)] == [REMINDER]  # the first reminder only


def test_a_tick_that_fails_before_its_commit_sends_nothing_and_its_rerun_sends_once(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    abandon(app, client, shared_data)
    real_commit = SqlUnitOfWork.commit
    crashes = []

    def crash_once(uow: SqlUnitOfWork) -> None:
        if not crashes:
            crashes.append(uow.store_id)
            raise RuntimeError("worker killed before the commit")
        real_commit(uow)

    monkeypatch.setattr(SqlUnitOfWork, "commit", crash_once)
    app.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        app.advance_flows()
    app.drain()
    assert marketing(mail) == []
    assert rows(app, "SELECT count(*) FROM marketing_sends") == [(0,)]
    assert rows(app, "SELECT count(*) FROM effects WHERE automation = 'marketing_emails'") == [(0,)]
    assert enrollment(app)[3] == "active"  # as the checkout left it: the tick's work was rolled back

    for _ in range(3):  # the rerun, and the ticks after it
        app.advance_flows()
        app.drain()

    (sent,) = marketing(mail)
    key = scalar(app, "SELECT key FROM effects WHERE automation = 'marketing_emails'")
    assert sent["Message-ID"] == "<" + key.replace(":", ".") + "@backroom>"
    assert rows(app, "SELECT count(*), count(DISTINCT message_key) FROM marketing_sends") == [(1, 1)]


def test_in_shadow_mode_the_flow_decides_and_records_its_emails_without_sending_them(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    queries.set_automation_mode(app.engine, app.store_id(), "marketing_emails", "shadow")
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))
    at(app, timedelta(hours=24))

    assert marketing(mail) == []
    assert rows(app, "SELECT payload->>'template', status FROM effects WHERE automation = 'marketing_emails'"
                     " ORDER BY id") == [("abandoned_checkout_reminder", "shadowed"),
                                         ("abandoned_checkout_discount", "shadowed")]
    assert rows(app, "SELECT template, shadow FROM marketing_sends ORDER BY id") == [
        ("abandoned_checkout_reminder", True), ("abandoned_checkout_discount", True)]
    assert enrollment(app)[3] == "completed"


def test_a_customer_without_marketing_consent_gets_no_reminder_and_no_code(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-checkout")  # no customer record: never
    at(app, timedelta(hours=1))
    at(app, timedelta(hours=24))

    assert marketing(mail) == []
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(0,)]
    assert [what for what, _ in history(app)] == [
        "enrolled", "passed", "skipped", "waiting", "passed", "skipped", "skipped", "completed"]
    assert {reason for what, reason in history(app) if what == "skipped"} == {"no_marketing_consent"}


def test_two_flows_due_together_send_the_higher_priority_now_and_defer_the_other_past_the_cap(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
        shared_data: Path) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text(TWO_FLOWS)
    app = build_app(database_url, tmp_path, mail, warehouse, clock, flows_file=flows,
                    enabled_flows=["cart_nudge", "cart_tip"], quiet_hours="")
    try:
        with api_client(app, shopify=SHOPIFY) as client:
            abandon(app, client, shared_data)
        at(app, timedelta(hours=1))
        assert [m["Message-ID"].split(".")[1] for m in marketing(mail)] == ["cart_nudge"]
        assert rows(app, "SELECT flow, state, wake_at FROM marketing_enrollments ORDER BY flow") == [
            ("cart_nudge", "completed", None), ("cart_tip", "deferred", START + timedelta(hours=1 + 16))]

        at(app, timedelta(hours=16, minutes=59))
        assert len(marketing(mail)) == 1  # never both within the cap
        at(app, timedelta(hours=17))
        assert [m["Message-ID"].split(".")[1] for m in marketing(mail)] == ["cart_nudge", "cart_tip"]
        assert rows(app, "SELECT flow, sent_at FROM marketing_sends ORDER BY sent_at") == [
            ("cart_nudge", START + timedelta(hours=1)), ("cart_tip", START + timedelta(hours=17))]
        tip = scalar(app, "SELECT value FROM marketing_enrollments WHERE flow = 'cart_tip'")
        assert [(h["what"], h["reason"]) for h in tip["history"] if h["what"] in ("deferred", "sent")] == [
            ("deferred", "frequency_cap"), ("sent", "abandoned_checkout_reminder")]
    finally:
        app.close()


def test_with_no_flow_enabled_a_checkout_enrolls_nobody(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
        shared_data: Path) -> None:
    app = build_app(database_url, tmp_path, mail, warehouse, clock, enabled_flows=[])
    try:
        with api_client(app, shopify=SHOPIFY) as client:
            abandon(app, client, shared_data)
        at(app, timedelta(hours=24))
        assert rows(app, "SELECT count(*) FROM marketing_enrollments") == [(0,)]
        assert marketing(mail) == []
    finally:
        app.close()


def test_a_worker_started_without_the_marketing_settings_leaves_the_enrollments_alone(
        app: Backroom, client: TestClient, database_url: str, tmp_path: Path, mail: MailCatcher,
        warehouse: HttpReceiver, clock: SimulatedClock, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    bare = build_app(database_url, tmp_path / "bare", mail, warehouse, clock, enabled_flows=[])
    try:
        clock.advance(START + timedelta(hours=2) - clock.now())
        assert bare.advance_flows() == type(bare.advance_flows())()  # nothing taken, nothing ended
        assert [c.every_s for c in bare.periodic_checks() if c.name == "marketing flows"] == [0]
    finally:
        bare.close()
    assert (enrollment(app)[3], enrollment(app)[5]) == ("active", "")  # as enrolled: not ended
    at(app, timedelta(hours=2))
    assert [m["Subject"] for m in marketing(mail)] == ["You left something in your cart"]


def test_an_operator_lists_previews_and_ticks_the_flows_from_the_command_line(
        database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, shared_data: Path) -> None:
    long_ago = SimulatedClock(datetime(2020, 1, 6, 9, 0, tzinfo=UTC))  # the CLI runs on the real clock: all is due
    app = build_app(database_url, tmp_path, mail, warehouse, long_ago)
    try:
        with api_client(app, shopify=SHOPIFY) as client:
            abandon(app, client, shared_data)

        listed = json.loads(cli(app, "flows", "list", "--json").stdout)
        assert [(f["flow"], f["enabled"], f["trigger_wired"]) for f in listed] == [
            ("abandoned_checkout", True, True), ("post_purchase", False, True), ("win_back", False, True)]
        preview = json.loads(cli(app, "flows", "preview", "abandoned_checkout", "--step", "2", "--json").stdout)
        assert preview["subject"] == "10% off to finish your order"
        assert "Here is 10% off to finish your order: SAVE10-" in preview["text"]
        assert "<code" in preview["html"]

        no_quiet_hours = {"BACKROOM_MARKETING__QUIET_HOURS": ""}  # the real clock might be at night
        ticked = json.loads(cli(app, "flows", "tick", "--json", **no_quiet_hours).stdout)
        assert ticked == {"taken": 1, "sent": 1, "deferred": 0, "discounts": 0, "finished": 0, "outcomes": {}}
        app.drain()
        assert [m["Subject"] for m in marketing(mail)] == ["You left something in your cart"]
        again = json.loads(cli(app, "flows", "tick", "--json", **no_quiet_hours).stdout)
        assert again["taken"] == 0  # it waits 23 h now
    finally:
        app.close()


def test_a_reminder_due_at_night_in_the_stores_time_zone_waits_for_the_morning(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    subscribed_customer(app, client, shared_data)
    app.clock.advance(timedelta(hours=11))  # type: ignore[attr-defined]  # 20:00 UTC: due at 21:00, quiet hours
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-checkout")

    at(app, timedelta(hours=12))
    assert marketing(mail) == []
    assert enrollment(app)[3:5] == ("deferred", START + timedelta(hours=23))  # 08:00 the next morning
    assert ("deferred", "quiet_hours") in history(app)

    at(app, timedelta(hours=23))
    assert [m["Subject"] for m in marketing(mail)] == ["You left something in your cart"]


def test_quiet_hours_follow_the_customers_own_zone_read_from_their_latest_shipping_address(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    seed_catalog(app, {"LAMP": (5, 0)})
    subscribed_customer(app, client, shared_data)
    earlier = shopify_order(1, token=None)
    earlier["shipping_address"] = {**earlier["shipping_address"], "city": "Los Angeles", "zip": "90012",
                                   "country_code": "US", "province_code": "CA"}
    deliver(app, client, "orders/create", earlier, "evt-earlier-order")
    app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]  # the checkout comes after that order
    deliver(app, client, "checkouts/create", checkout(shared_data), "evt-checkout")

    at(app, timedelta(hours=1, minutes=1))  # 10:01 UTC: 02:01 in Los Angeles (PST, UTC-8)
    assert marketing(mail) == []
    assert enrollment(app)[3:5] == ("deferred", START + timedelta(hours=7))  # 08:00 in Los Angeles
    assert ("deferred", "quiet_hours") in history(app)

    at(app, timedelta(hours=7))
    assert [m["Subject"] for m in marketing(mail)] == ["You left something in your cart"]


def test_a_worker_that_dies_after_smtp_accepted_the_reminder_resends_it_under_the_same_message_id(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    sender = app.runner.executors["email"]
    died: list[str] = []

    def send_then_die_once(payload: dict[str, Any], key: str) -> Any:
        result = sender(payload, key)
        if not died:
            died.append(key)
            raise ConnectionResetError("the worker died before recording the email as sent")
        return result

    app.runner.executors["email"] = send_then_die_once
    try:
        abandon(app, client, shared_data)
        at(app, timedelta(hours=1))
    finally:  # the real sender back, so that closing the app closes its pooled SMTP session
        app.runner.executors["email"] = sender

    raw = marketing(mail)
    assert len(raw) == 2  # at least once: the SMTP server got it twice ...
    assert {m["Message-ID"] for m in raw} == {"<" + died[0].replace(":", ".") + "@backroom>"}  # ... as one message
    assert rows(app, "SELECT status, attempts FROM effects WHERE automation = 'marketing_emails'") == [("done", 2)]
    assert rows(app, "SELECT count(*) FROM marketing_sends") == [(1,)]
