"""The message bus: a command goes to exactly one handler in a fresh unit of work; transient conflicts with
concurrent transactions (deadlock, serialization) are retried, everything else propagates to the caller."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backroom.errors import RetryableConflict
from backroom.shared.hashing import content_hash
from backroom.shared.messages import Command

log = logging.getLogger(__name__)

_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})


@dataclass(frozen=True)
class InboxEntry:
    """An input as it arrived: recorded once under its source's own id, raw body kept for replay and audit."""

    source: str
    source_id: str
    kind: str
    body: str
    headers: Mapping[str, str]

    @classmethod
    def from_raw(
        cls, source: str, source_id: str | None, kind: str, body: bytes, headers: Mapping[str, str]
    ) -> InboxEntry:
        """Keep the body as text (PostgreSQL text holds no NUL) and every header except credentials; an input
        without an id of its own is recorded under the SHA-256 of its body."""
        text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
        kept = {k.lower(): v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
        return cls(source, source_id or content_hash(body), kind, text, kept)


class DuplicateDelivery(Exception):
    """Every inbox entry of this command was already recorded: the delivery is a no-op."""


UowFactory = Callable[[int, Sequence[InboxEntry]], Any]
Handler = Callable[[Any, Any], Any]


class MessageBus:
    def __init__(self, uow_factory: UowFactory, handlers: Mapping[type[Command], Handler], retries: int = 5) -> None:
        self.uow_factory = uow_factory
        self.handlers = dict(handlers)
        self.retries = retries

    def handle(self, command: Command, store_id: int, inbox: Sequence[InboxEntry] = ()) -> Any:
        handler = self.handlers[type(command)]
        for attempt in range(1, self.retries + 1):
            try:
                return handler(command, self.uow_factory(store_id, inbox))
            except RetryableConflict:
                if attempt == self.retries:
                    raise
                log.info("retrying %s after a transient conflict (attempt %d)", type(command).__name__, attempt)
        raise AssertionError("unreachable")
