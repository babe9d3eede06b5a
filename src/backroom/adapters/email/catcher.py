"""A real local SMTP server that keeps what it receives (demo mailbox, tests). Not a mock: mail goes over SMTP."""

from __future__ import annotations

import email
import socket
import threading
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def with_pipelining(session: Any, hostname: str, responses: list[str]) -> list[str]:
    """An aiosmtpd ``handle_EHLO`` answer that also offers PIPELINING (RFC 2920), as Postfix and the providers' relays
    do: aiosmtpd reads commands one line at a time from a buffered stream, so pipelined ones are answered in order."""
    session.host_name = hostname
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


class _Handler:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        return with_pipelining(session, hostname, responses)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=default_policy)
        with self.lock:
            self.messages.append(msg)
            count = len(self.messages)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{count:05d}.eml").write_bytes(raw)
        return "250 OK"


class MailCatcher:
    """Offers what a real relay does: PIPELINING, and SMTPUTF8 for addresses that are not ASCII."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.handler = _Handler(folder)
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)

    def __enter__(self) -> MailCatcher:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Message]:
        with self.handler.lock:
            return list(self.handler.messages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
