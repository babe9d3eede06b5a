"""Hard bounces become suppressions, on real PostgreSQL and a real local SMTP server that refuses one recipient:
a 550 to RCPT TO fails the email at once and suppresses the address in the same transaction (a 450 is retried and
suppresses nobody); a bounce report (DSN) posted to /inbound/email suppresses its failed recipient (a delay does
not); marketing then stops for that address at the next tick, and an operator lists and lifts suppressions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import (
    API_TOKEN,
    AUTH,
    INBOUND_SECRET,
    HttpReceiver,
    TestClient,
    api_client,
    rows,
    scalar,
    seed_catalog,
)
from tests.fakes.imap_server import FakeImapServer
from tests.integration.test_marketing_flows import SHOPIFY, START, abandon, at, build_app, cli, enrollment
from tests.integration.test_platform_checkouts_customers_stock import shopify_order
from tests.integration.test_platform_payments_refunds import deliver
from tests.integration.test_support_imap import use_imap
from tests.unit.marketing.test_bounces import dsn, recipient

from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, FetchedMail
from backroom.shared.clock import SimulatedClock
from backroom.shared.hashing import sign

pytestmark = pytest.mark.integration

ADA = "ada@example.com"


class RefusingMail(MailCatcher):
    """A real SMTP server that answers RCPT TO for some addresses with a chosen reply (550, 450 …) and counts
    every RCPT it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: dict[str, str] = {}
        self.rcpts: list[str] = []
        self.handler.handle_RCPT = self._rcpt  # type: ignore[attr-defined]

    async def _rcpt(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        self.rcpts.append(address.lower())
        refusal = self.refuse.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def mail() -> Iterator[RefusingMail]:
    with RefusingMail() as catcher:
        yield catcher


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: RefusingMail, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    backroom = build_app(database_url, tmp_path, mail, warehouse, clock)
    yield backroom
    backroom.close()


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, shopify=SHOPIFY, api_token=SecretStr(API_TOKEN),
                    inbound_secret=SecretStr(INBOUND_SECRET)) as c:
        yield c


def email_effects(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT key, status, attempts FROM effects WHERE kind = 'email' ORDER BY id")]


def suppressions(app: Backroom) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT email, reason, source, detail, at FROM email_suppressions")]


def post_email(client: TestClient, raw: bytes) -> Any:
    return client.post("/inbound/email", content=raw, headers={"X-Backroom-Signature": sign(INBOUND_SECRET, raw)})


def test_a_550_to_rcpt_fails_the_email_once_suppresses_the_address_and_ends_the_flow_bounced(
        app: Backroom, client: TestClient, mail: RefusingMail, shared_data: Path) -> None:
    mail.refuse[ADA] = "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown"
    abandon(app, client, shared_data)
    enrollment_id = scalar(app, "SELECT id FROM marketing_enrollments")
    key = f"flow:abandoned_checkout:enr-{enrollment_id}:step-2"

    at(app, timedelta(hours=1))  # the reminder is asked for, and the worker's one attempt is refused for good

    assert mail.rcpts == [ADA]
    assert mail.messages == []
    assert email_effects(app) == [(key, "failed", 1)]
    assert suppressions(app) == [(ADA, "hard_bounce", "smtp",
                                  "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown",
                                  START + timedelta(hours=1))]
    assert rows(app, "SELECT count(*) FROM review_items") == [(0,)]  # nothing for a person to do: it is suppressed
    assert enrollment(app)[3:5] == ("waiting", START + timedelta(hours=24))

    at(app, timedelta(hours=24))  # the next wake reads the suppression: no code, no second reminder

    assert enrollment(app)[3:6] == ("exited", None, "bounced")
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(0,)]
    assert email_effects(app) == [(key, "failed", 1)]
    assert mail.rcpts == [ADA]
    funnel = json.loads(cli(app, "flows", "funnel", "--flow", "abandoned_checkout", "--json").stdout)
    assert (funnel[0]["sent"], funnel[0]["exited"]) == (1, {"bounced": 1})


def test_an_order_confirmation_refused_for_good_suppresses_the_address_and_goes_to_review(
        app: Backroom, client: TestClient, mail: RefusingMail, shared_data: Path) -> None:
    mail.refuse[ADA] = "550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown"
    seed_catalog(app, {"LAMP": (5, 0)})

    deliver(app, client, "orders/create", shopify_order(1001), "evt-order")
    app.drain()

    assert mail.rcpts == [ADA]
    assert [(status, attempts) for _, status, attempts in email_effects(app)] == [("failed", 1)]
    assert [email for email, *_ in suppressions(app)] == [ADA]
    assert rows(app, "SELECT reason_code, title, status FROM review_items WHERE subject_type = 'effect'") == [
        ("email_failed", "email refused for good", "open")]  # the customer never heard: someone should


def test_a_450_to_rcpt_is_retried_until_the_attempts_run_out_and_suppresses_nobody(
        app: Backroom, client: TestClient, mail: RefusingMail, shared_data: Path) -> None:
    mail.refuse[ADA] = "450 4.2.1 <ada@example.com>: mailbox busy, try later"
    abandon(app, client, shared_data)

    at(app, timedelta(hours=1))  # no backoff in tests: the three attempts run in this drain

    assert mail.rcpts == [ADA, ADA, ADA]
    assert [(status, attempts) for _, status, attempts in email_effects(app)] == [("failed", 3)]
    assert suppressions(app) == []
    assert rows(app, "SELECT title FROM review_items WHERE subject_type = 'effect'") == [
        ("email failed after 3 attempts",)]
    assert enrollment(app)[3:5] == ("waiting", START + timedelta(hours=24))


def test_a_bounce_report_for_a_known_customer_suppresses_them_and_a_delay_does_not(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    abandon(app, client, shared_data)  # ada is the store's customer; stranger@example.com is nobody it knows
    delayed = dsn(recipient(ADA, "delayed", "4.4.1", "450 4.4.1 connection timed out"))
    failed = dsn(recipient("Ada@Example.com", "failed", "5.1.1", "550 5.1.1 <ada@example.com>: user unknown"),
                 recipient("stranger@example.com", "failed", "5.1.1", "550 5.1.1 user unknown"))

    first = post_email(client, delayed)
    assert (first.status_code, first.json()) == (200, {
        "outcome": "ignored", "message_id": "<bounce-1@mx.example.net>", "reason": "bounce", "suppressed": 0})
    assert suppressions(app) == []

    second = post_email(client, failed.replace(b"<bounce-1@", b"<bounce-2@"))
    assert (second.status_code, second.json()) == (200, {
        "outcome": "ignored", "message_id": "<bounce-2@mx.example.net>", "reason": "bounce", "suppressed": 1})
    assert suppressions(app) == [(ADA, "hard_bounce", "dsn", "5.1.1 smtp; 550 5.1.1 <ada@example.com>: user unknown",
                                  START)]
    assert rows(app, "SELECT source_id, status, error FROM inbox WHERE source = 'email' ORDER BY id") == [
        ("<bounce-1@mx.example.net>", "processed", "ignored: bounce"),
        ("<bounce-2@mx.example.net>", "processed", "ignored: bounce")]

    at(app, timedelta(hours=1))  # the reminder's wake reads the suppression

    assert enrollment(app)[3:6] == ("exited", None, "bounced")
    assert email_effects(app) == []


def test_a_bounce_report_fetched_over_imap_suppresses_too(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    with FakeImapServer() as imap:
        use_imap(app, imap)
        imap.deliver(dsn(recipient(ADA, "failed", "5.1.1", "550 5.1.1 user unknown")))

        assert app.fetch_mail() == [FetchedMail("1", "ignored")]

    assert suppressions(app) == [(ADA, "hard_bounce", "dsn", "5.1.1 smtp; 550 5.1.1 user unknown", START)]


def test_an_operator_lists_and_lifts_a_suppression_by_cli_and_api(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    post_email(client, dsn(recipient(ADA, "failed", "5.1.1", "550 5.1.1 user unknown")))
    listed = [{"email": ADA, "reason": "hard_bounce", "source": "dsn", "detail": "5.1.1 smtp; 550 5.1.1 user unknown",
               "at": START.isoformat()}]

    assert json.loads(cli(app, "suppressions", "list", "--json").stdout) == listed
    response = client.get("/api/suppressions", headers=AUTH)
    assert (response.status_code, response.json()) == (200, listed)
    assert client.get("/api/suppressions").status_code == 401
    assert client.delete(f"/api/suppressions/{ADA}").status_code == 401
    assert suppressions(app) != []

    lifted = client.delete("/api/suppressions/Ada@Example.com", headers=AUTH)
    assert lifted.status_code == 204
    assert suppressions(app) == []
    again = client.delete(f"/api/suppressions/{ADA}", headers=AUTH)
    assert (again.status_code, again.json()["error"]) == (404, "suppression_not_found")

    post_email(client, dsn(recipient(ADA, "failed", "5.1.1")).replace(b"<bounce-1@", b"<bounce-3@"))
    assert "suppression lifted" in cli(app, "suppressions", "remove", ADA).stdout
    assert json.loads(cli(app, "suppressions", "list", "--json").stdout) == []
    detail = "5.1.1 smtp; 550 5.1.1 user unknown"
    assert rows(app, "SELECT name, subject_type, data->>'email', data->>'detail', data->>'via' FROM events"
                     " WHERE name = 'suppression_lifted' ORDER BY id") == [  # who could reach the address again, how
        ("suppression_lifted", "email_suppression", ADA, detail, "api"),
        ("suppression_lifted", "email_suppression", ADA, "5.1.1", "cli")]
