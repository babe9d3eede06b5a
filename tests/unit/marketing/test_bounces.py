"""Which refusals are hard bounces: from a delivery status notification (RFC 3464) and from an SMTP reply. Only
problems of the address itself count; a refusal about the sender (policy) or the message does not."""

from __future__ import annotations

import smtplib

import pytest

from backroom.adapters.email.smtp import recipient_refused
from backroom.marketing.bounces import FailedRecipient, enhanced_status, hard_bounces, is_hard_bounce


def dsn(*recipients: str, report_type: str = "delivery-status") -> bytes:
    """A bounce as Postfix sends it: the human part, the machine part (one block per recipient), the headers."""
    blocks = "\r\n\r\n".join(recipients)
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: orders@shop.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type={report_type}; boundary=\"B\"\r\n"
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "Arrival-Date: Fri, 27 Nov 2026 09:00:00 +0000\r\n"
        "\r\n"
        f"{blocks}\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: orders@shop.example\r\n"
        "Message-ID: <flow.abandoned_checkout.enr-1.step-2@backroom>\r\n"
        "--B--\r\n"
    ).encode()


def recipient(address: str, action: str, status: str, diagnostic: str = "") -> str:
    lines = [f"Final-Recipient: rfc822; {address}", f"Action: {action}", f"Status: {status}"]
    if diagnostic:
        lines.append(f"Diagnostic-Code: smtp; {diagnostic}")
    return "\r\n".join(lines)


def test_a_failed_5_1_1_recipient_is_a_hard_bounce_with_its_status_and_diagnostic() -> None:
    raw = dsn(recipient("Ada@Example.com", "failed", "5.1.1", "550 5.1.1 <ada@example.com>: user unknown"))
    assert hard_bounces(raw) == [
        FailedRecipient("ada@example.com", "5.1.1", "5.1.1 smtp; 550 5.1.1 <ada@example.com>: user unknown")]


def test_only_the_failed_recipients_about_the_address_count_among_several() -> None:
    raw = dsn(recipient("gone@example.com", "failed", "5.1.1"),
              recipient("late@example.com", "delayed", "4.4.1", "connection timed out"),
              recipient("full@example.com", "failed", "5.2.2", "mailbox full"),
              recipient("blocked@example.com", "failed", "5.7.1", "your IP is listed"),
              recipient("ok@example.com", "delivered", "2.0.0"),
              recipient("disabled@example.com", "failed", "5.2.1"))
    assert [r.email for r in hard_bounces(raw)] == ["gone@example.com", "disabled@example.com"]


@pytest.mark.parametrize("raw", [
    dsn(recipient("ada@example.com", "delayed", "4.4.1")),
    dsn(recipient("ada@example.com", "failed", "4.4.1")),  # a contradiction: the status rules
    dsn(recipient("ada@example.com", "failed", "5.1.1"), report_type="disposition-notification"),
    b"From: ada@example.com\r\nSubject: hi\r\n\r\nFinal-Recipient: rfc822; x@example.com\r\nStatus: 5.1.1\r\n",
    dsn("Final-Recipient: x400; C=GB\r\nAction: failed\r\nStatus: 5.1.1"),
])
def test_a_delay_another_report_or_a_person_s_email_suppresses_nobody(raw: bytes) -> None:
    assert hard_bounces(raw) == []


@pytest.mark.parametrize(("reply", "status"), [
    ("5.1.1 <ada@example.com>: Recipient address rejected", "5.1.1"),
    (" 5.1.10 null MX", "5.1.10"),
    ("4.2.0 try later", "4.2.0"),
    ("No such user here", None),
    ("Client host [2.3.4.5] blocked", None),
])
def test_the_enhanced_status_is_read_from_the_start_of_a_reply(reply: str, status: str | None) -> None:
    assert enhanced_status(reply) == status


@pytest.mark.parametrize(("status", "code", "hard"), [
    ("5.1.1", None, True), ("5.1.2", None, True), ("5.2.1", None, True), ("5.4.4", None, True),
    ("5.0.0", None, True), ("5.2.2", None, False), ("5.3.4", None, False), ("5.7.1", None, False),
    ("5.6.0", None, False), ("4.4.1", None, False), (None, 550, True), (None, 450, False), (None, None, False),
])
def test_what_counts_as_a_hard_bounce(status: str | None, code: int | None, hard: bool) -> None:
    assert is_hard_bounce(status, code) is hard


def test_a_550_to_rcpt_is_a_permanent_hard_bounce_of_that_recipient() -> None:
    err = smtplib.SMTPRecipientsRefused({"Ada@Example.com": (550, b"5.1.1 <Ada@Example.com>: user unknown")})
    refused = recipient_refused(err, "ada@example.com")
    assert refused is not None
    assert (refused.recipient, refused.smtp_code, refused.reply, refused.hard_bounce) == (
        "ada@example.com", 550, "550 5.1.1 <Ada@Example.com>: user unknown", True)
    assert str(refused) == "the mail server refused the recipient (550)"  # no address in the effect's error


def test_a_policy_refusal_is_permanent_but_suppresses_nobody_and_a_4xx_is_not_permanent() -> None:
    policy = recipient_refused(smtplib.SMTPRecipientsRefused({"a@example.com": (554, b"5.7.1 listed")}), "")
    assert policy is not None
    assert policy.hard_bounce is False
    assert recipient_refused(smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"4.2.1 busy")}), "") is None


def test_a_5xx_at_data_is_permanent_but_a_bounce_only_when_it_names_the_address() -> None:
    content = recipient_refused(smtplib.SMTPDataError(554, b"message rejected"), "ada@example.com")
    mailbox = recipient_refused(smtplib.SMTPDataError(550, b"5.1.1 mailbox unavailable"), "ada@example.com")
    assert content is not None
    assert content.hard_bounce is False
    assert mailbox is not None
    assert (mailbox.recipient, mailbox.hard_bounce) == ("ada@example.com", True)
