"""The SMTP envelope: plain addresses skip the address parser, anything else is parsed as the stdlib would."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backroom.adapters.email.catcher import free_port
from backroom.adapters.email.smtp import SmtpSender, envelope_address
from backroom.config import SmtpSettings


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
    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str], list[str]]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options)))
        return "250 OK"


@pytest.fixture
def envelopes() -> Iterator[tuple[Envelopes, int]]:
    handler, port = Envelopes(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_mail_from_and_rcpt_to_carry_the_bare_addresses_and_the_size_option(
        envelopes: tuple[Envelopes, int]) -> None:
    handler, port = envelopes
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, sender="Backroom Store <orders@example.com>"))
    try:
        for n, to in enumerate(["ana@example.com", "Bob Stone <bob@example.com>", '"odd name"@example.com']):
            sender({"to": to, "template": "message", "context": {"subject": "Hi", "body": "Hello"}}, f"k-{n}")
    finally:
        sender.close()
    assert [(mail_from, rcpts) for mail_from, rcpts, _ in handler.seen] == [
        ("orders@example.com", ["ana@example.com"]),
        ("orders@example.com", ["bob@example.com"]),
        ("orders@example.com", ['"odd name"@example.com'])]
    assert all(len(options) == 1 and options[0].startswith("SIZE=") for _, _, options in handler.seen)
