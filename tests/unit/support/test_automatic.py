"""Which emails a machine sent (RFC 3834), so the agent does not answer them and start a mail loop."""

from __future__ import annotations

import pytest

from backroom.support.automatic import automatic_reason

OWN = {"orders@example.com"}


def email(*headers: str, sender: str = "Ada Lovelace <ada@example.com>") -> bytes:
    return ("\r\n".join([f"From: {sender}", "Subject: hello", *headers]) + "\r\n\r\nWhere is my order?").encode()


@pytest.mark.parametrize(("raw", "reason"), [
    (email("Auto-Submitted: auto-replied"), "auto_reply"),
    (email("Auto-Submitted: auto-generated; owner-email=\"x@example.com\""), "auto_reply"),
    (email("X-Autoreply: yes"), "auto_reply"),
    (email(sender="Mail Delivery System <MAILER-DAEMON@mx.example.com>"), "bounce"),
    (email("Return-Path: <>"), "bounce"),
    (email("Content-Type: multipart/report; report-type=delivery-status; boundary=b"), "bounce"),
    (email("Precedence: bulk"), "mailing_list"),
    (email("List-Id: <news.shop.example>"), "mailing_list"),
    (email(sender="Backroom Store <Orders@Example.com>"), "own_message"),
])
def test_an_email_a_machine_sent_is_named(raw: bytes, reason: str) -> None:
    assert automatic_reason(raw, OWN) == reason


@pytest.mark.parametrize("raw", [
    email(),
    email("Auto-Submitted: no"),
    email("Return-Path: <ada@example.com>", "Precedence: normal"),
])
def test_an_email_a_person_sent_is_for_the_agent(raw: bytes) -> None:
    assert automatic_reason(raw, OWN) is None
