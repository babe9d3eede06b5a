"""The email channel end to end: a signed raw email in over HTTP, the agent's reply out over a real local SMTP
server in the same thread (subject, In-Reply-To, References), the thread kept as one conversation, a repeated
delivery answered once, and a malformed email refused and kept."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import INBOUND_SECRET, MailCatcher, order_body, rows, seed_catalog

from backroom.bootstrap import Backroom
from backroom.shared.hashing import sign
from backroom.support.email_in import new_text

pytestmark = pytest.mark.integration



def raw(message_id: str, text: str, *, subject: str = "Where is my order?", reply_to: str | None = None,
        references: str | None = None, sender: str = "Ada Lovelace <ada@example.com>") -> bytes:
    head = [f"From: {sender}", "To: help@store.example", f"Subject: {subject}", f"Message-ID: {message_id}",
            "Content-Type: text/plain; charset=utf-8"]
    if reply_to:
        head.append(f"In-Reply-To: {reply_to}")
    if references:
        head.append(f"References: {references}")
    return ("\r\n".join(head) + "\r\n\r\n" + text).encode()


def post(client: TestClient, body: bytes, signature: str | None = None) -> dict[str, object]:
    response = client.post("/inbound/email", content=body,
                           headers={"X-Backroom-Signature": signature or sign(INBOUND_SECRET, body),
                                    "Content-Type": "message/rfc822"})
    result: dict[str, object] = {"status": response.status_code, **response.json()}
    return result


def test_an_email_is_answered_in_its_thread_over_smtp(app: Backroom, client: TestClient, mail: MailCatcher) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("1001", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")
    first = raw("<m1@mail.example>", "Hi, where is my order?\n\nThanks, Ada")
    assert post(client, first) == {"status": 200, "outcome": "answered", "message_id": "<m1@mail.example>",
                                   "handover": None}
    assert post(client, first) == {"status": 200, "outcome": "duplicate", "message_id": "<m1@mail.example>"}
    app.drain()
    [reply] = [m for m in mail.messages if str(m["Subject"]).startswith("Re:")]  # (the order confirmation aside)
    assert (reply["Subject"], reply["In-Reply-To"], reply["References"]) == (
        "Re: Where is my order?", "<m1@mail.example>", "<m1@mail.example>")
    assert reply.get_body(preferencelist=("plain",)).get_content().splitlines() == [  # type: ignore[union-attr]
        "Hello Ada Lovelace,", "", "Order #1001 is being packed at our warehouse.", "", "— Customer support"]

    follow = raw("<m2@mail.example>", "Can I talk to a person please?\n\nOn Fri, Ada wrote:\n> Hi, where is my order?",
                 subject="Re: Where is my order?", reply_to=str(reply["Message-ID"]),
                 references=f"<m1@mail.example> {reply['Message-ID']}")
    assert post(client, follow)["handover"] == "asked_for_human"
    app.drain()
    assert len([m for m in mail.messages if str(m["Subject"]).startswith("Re:")]) == 2
    assert rows(app, "SELECT external_id, messages, status FROM support_conversations") == [
        ("<m1@mail.example>", 4, "handed_over")]
    assert rows(app, "SELECT text FROM support_messages WHERE direction = 'in' ORDER BY id") == [
        ("Hi, where is my order?\n\nThanks, Ada",), ("Can I talk to a person please?",)]


def test_a_bad_signature_or_an_unreadable_email_is_refused_and_kept(app: Backroom, client: TestClient) -> None:
    body = raw("<m9@mail.example>", "hello")
    assert post(client, body, signature="bad")["status"] == 401
    no_sender = b"Subject: hi\r\n\r\nhello"
    assert post(client, no_sender) == {"status": 400, "error": "invalid_email",
                                       "message": "the email has no sender address"}
    assert rows(app, "SELECT source, status, error FROM inbox ORDER BY id") == [
        ("email", "rejected", "signature_invalid"), ("email", "rejected", "invalid_email")]
    assert rows(app, "SELECT count(*) FROM support_conversations") == [(0,)]


def test_only_the_new_text_of_a_reply_is_read() -> None:
    assert new_text("Yes please\n\nOn Mon, 1 Dec 2026, Store wrote:\n> Shall I cancel?") == "Yes please"
    assert new_text("Oui\n\nLe lun. 1 déc., Boutique a écrit :\n> Annuler ?") == "Oui"
    assert new_text("Thanks\n--\nAda\nsent from my phone") == "Thanks"
