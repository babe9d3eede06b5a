"""The chat widget: its script served for a <script> tag, anonymous visitors treated as strangers, a logged-in
customer recognised by the identity token the store's backend signs — and a forged or expired token recognised as
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.conftest import api_client, order_body, seed_catalog

from backroom.bootstrap import Backroom
from backroom.support.widget import identity_token, verified_email

pytestmark = pytest.mark.integration
WIDGET_SECRET = "w1dget"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    support = app.settings.support.model_copy(update={"widget_secret": SecretStr(WIDGET_SECRET),
                                                      "widget_origins": ["https://shop.example"]})
    with api_client(app, support=support) as c:
        yield c


def test_the_script_is_served_and_its_endpoint_answers_a_store_site(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert (script.status_code, script.headers["content-type"]) == (200, "application/javascript")
    assert 'fetch(base + "/widget/messages"' in script.text
    assert "p.textContent" in script.text  # replies are shown as text, never as HTML
    preflight = client.options("/widget/messages", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"


def test_a_logged_in_customer_is_recognised_and_a_forged_token_is_not(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("1001", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")
    token = identity_token(WIDGET_SECRET, "ada@example.com", NOW + timedelta(hours=1))
    mine = client.post("/widget/messages", json={"session": "sess-0001", "text": "where is my order?",
                                                 "identity": token})
    assert mine.json() == {"reply": "Order #1001 is being packed at our warehouse.", "handed_over": False}
    forged = identity_token("guessed", "ada@example.com", NOW + timedelta(hours=1))
    stranger = client.post("/widget/messages", json={"session": "sess-0002", "text": "where is my order?",
                                                     "identity": forged})
    assert stranger.json() == {"reply": "Could you send me your order number and the email address or postal code "
                                        "used on the order?", "handed_over": False}
    bad = client.post("/widget/messages", json={"session": "../etc", "text": "hi"})
    assert bad.status_code == 422


def test_identity_tokens_expire_and_cannot_be_altered() -> None:
    token = identity_token(WIDGET_SECRET, "Ada@Example.com", NOW + timedelta(minutes=5))
    assert verified_email(WIDGET_SECRET, token, NOW) == "ada@example.com"
    assert verified_email(WIDGET_SECRET, token, NOW + timedelta(minutes=6)) is None
    email, expiry, signature = token.split(".")
    assert verified_email(WIDGET_SECRET, f"{email}.{int(expiry) + 3600}.{signature}", NOW) is None
    assert [verified_email(WIDGET_SECRET, t, NOW) for t in (None, "", "a.b", "a.b.c", "!!.1.x")] == [None] * 5
    assert verified_email("", token, NOW) is None
