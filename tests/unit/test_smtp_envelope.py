"""The SMTP envelope: plain addresses skip the address parser, anything else is parsed as the stdlib would."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backroom.adapters.email.catcher import free_port, with_pipelining
from backroom.adapters.email.smtp import SmtpSender, SmtpSession, Utf8NotOffered, envelope_address
from backroom.config import SmtpSettings
from backroom.service_layer.effects import RecipientRefused


@pytest.mark.parametrize(("header", "address"), [
    ("ana@example.com", "ana@example.com"),
    ("o'neil+orders@mail.example.co.uk", "o'neil+orders@mail.example.co.uk"),
    ("Ana Pérez <ana@example.com>", "ana@example.com"),
    ('"Stone, Bob" <bob@example.com>', "bob@example.com"),
    ('"odd name"@example.com', '"odd name"@example.com'),
    ("<carol@example.com>", "carol@example.com"),
])
def test_the_envelope_address_of_a_header_value_is_what_the_stdlib_parser_finds(header: str, address: str) -> None:
    assert envelope_address(header) == address
    assert smtplib.quoteaddr(header) == f"<{address}>"


class Envelopes:
    """Records each accepted message's envelope; refuses the recipients in ``refuse`` with their reply; offers
    PIPELINING when ``pipelining``."""

    def __init__(self, pipelining: bool = False) -> None:
        self.seen: list[tuple[str, list[str], list[str]]] = []
        self.bodies: list[bytes] = []
        self.refuse: dict[str, str] = {}
        self.pipelining = pipelining

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        if not self.pipelining:
            session.host_name = hostname
            return responses
        return with_pipelining(session, hostname, responses)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options)))
        self.bodies.append(envelope.original_content)
        return "250 OK"


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def envelopes(request: pytest.FixtureRequest) -> Iterator[tuple[Envelopes, int]]:
    handler, port = Envelopes(pipelining=request.param), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def email(to: str, body: str = "Hello") -> dict[str, Any]:
    return {"to": to, "template": "message", "context": {"subject": "Hi", "body": body}}


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write of the client's sessions (a write is a round trip when a reply is awaited after it)."""
    sent: list[bytes] = []
    original = SmtpSession.send

    def send(self: SmtpSession, data: Any) -> None:
        sent.append(data if isinstance(data, bytes) else str(data).encode())
        original(self, data)

    monkeypatch.setattr(SmtpSession, "send", send)
    return sent


def test_mail_from_and_rcpt_to_carry_the_bare_addresses_and_the_size_option(
        envelopes: tuple[Envelopes, int], writes: list[bytes]) -> None:
    handler, port = envelopes
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, sender="Backroom Store <orders@example.com>"))
    try:
        for n, to in enumerate(["ana@example.com", "Bob Stone <bob@example.com>", '"odd name"@example.com']):
            sender(email(to, body=".a line starting with a dot\n.\nand a lone one"), f"k-{n}")
        opened = len(writes)
        sender(email("dan@example.com"), "k-3")
        per_message = len(writes) - opened
    finally:
        sender.close()
    assert [(mail_from, rcpts) for mail_from, rcpts, _ in handler.seen] == [
        ("orders@example.com", ["ana@example.com"]),
        ("orders@example.com", ["bob@example.com"]),
        ("orders@example.com", ['"odd name"@example.com']),
        ("orders@example.com", ["dan@example.com"])]
    assert all(len(options) == 1 and options[0].startswith("SIZE=") for _, _, options in handler.seen)
    assert b"\r\n.a line starting with a dot\r\n.\r\nand a lone one\r\n" in handler.bodies[0]  # un-stuffed
    # pipelined: the three commands in one write, then the message; otherwise one write each
    assert per_message == (2 if handler.pipelining else 4)


def test_a_refused_recipient_is_a_hard_bounce_or_a_retry_and_the_session_goes_on(
        envelopes: tuple[Envelopes, int]) -> None:
    handler, port = envelopes
    handler.refuse = {"gone@example.com": "550 5.1.1 <gone@example.com>: user unknown",
                      "busy@example.com": "450 4.2.1 mailbox busy"}
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port))
    try:
        with pytest.raises(RecipientRefused) as refused:
            sender(email("gone@example.com"), "k-1")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as busy:
            sender(email("busy@example.com"), "k-2")
        sender(email("ana@example.com"), "k-3")
        pooled = len(sender._idle)
    finally:
        sender.close()
    assert (refused.value.recipient, refused.value.hard_bounce) == ("gone@example.com", True)
    assert refused.value.reply == "550 5.1.1 <gone@example.com>: user unknown"
    assert busy.value.recipients == {"busy@example.com": (450, b"4.2.1 mailbox busy")}
    assert [rcpts for _, rcpts, _ in handler.seen] == [["ana@example.com"]]
    assert pooled == 1  # one session served all three: a refusal leaves it usable


def test_a_421_ends_the_session_with_smtplib_s_refusal_and_the_next_email_opens_a_new_one(
        envelopes: tuple[Envelopes, int]) -> None:
    handler, port = envelopes
    handler.refuse = {"ana@example.com": "421 4.7.0 too many connections, closing"}
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port))
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as closing:
            sender(email("ana@example.com"), "k-1")  # a 4xx: the effect runner retries it later, with backoff
        handler.refuse = {}
        sender(email("ana@example.com"), "k-2")
    finally:
        sender.close()
    assert closing.value.recipients == {"ana@example.com": (421, b"4.7.0 too many connections, closing")}
    assert [rcpts for _, rcpts, _ in handler.seen] == [["ana@example.com"]]


class HangsUpAfterTheMessage(Envelopes):
    """Takes the message, then drops the connection instead of answering (a reply lost to a timeout)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "250 OK"


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelined"])
def test_a_connection_lost_after_the_message_went_is_not_followed_by_a_second_copy(pipelining: bool) -> None:
    handler, port = HangsUpAfterTheMessage(pipelining=pipelining), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port))
    try:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            sender(email("ana@example.com"), "k-1")  # the effect runner decides (its retry keeps the Message-ID)
    finally:
        sender.close()
        controller.stop()
    assert [rcpts for _, rcpts, _ in handler.seen] == [["ana@example.com"]]


@pytest.mark.parametrize("smtputf8", [True, False], ids=["offered", "not-offered"])
def test_a_mailbox_that_is_not_ascii_goes_with_smtputf8_or_not_at_all(smtputf8: bool) -> None:
    handler, port = Envelopes(pipelining=True), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port))
    try:
        sender(email("Ana <ana@bücher.de>"), "k-1")  # only the domain: IDNA, no SMTPUTF8 needed
        if smtputf8:
            sender(email("Zoë <zoë@example.com>"), "k-2")
        else:
            with pytest.raises(Utf8NotOffered):  # permanent: to review, not retried for days
                sender(email("Zoë <zoë@example.com>"), "k-2")
        sender(email("bob@example.com"), "k-3")
        pooled = len(sender._idle)
    finally:
        sender.close()
        controller.stop()
    seen = [(rcpts, [o for o in options if not o.startswith("SIZE=")]) for _, rcpts, options in handler.seen]
    assert seen == [(["ana@xn--bcher-kva.de"], []), *([(["zoë@example.com"], ["SMTPUTF8"])] if smtputf8 else []),
                    (["bob@example.com"], [])]
    assert pooled == 1  # the session went on serving


def test_a_header_that_is_not_ascii_asks_for_smtputf8_even_when_the_envelope_is() -> None:
    handler, port = Envelopes(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port))
    try:
        sender(email("ana@example.com, zoë@example.com"), "k-1")  # the envelope takes the first address only
    finally:
        sender.close()
        controller.stop()
    [(_, rcpts, options)] = handler.seen
    assert rcpts == ["ana@example.com"]
    assert [o for o in options if not o.startswith("SIZE=")] == ["SMTPUTF8"]
    assert "\r\nTo: ana@example.com, zoë@example.com\r\n".encode() in handler.bodies[0]
