"""The message bus: a command goes to exactly one handler in a fresh unit of work; transient conflicts with
concurrent transactions (deadlock, serialization) are retried, everything else propagates to the caller."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backroom.errors import RetryableConflict
from backroom.shared.messages import Command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxEntry:
    """An input as it arrived: recorded once under its source's own id, raw body kept for replay and audit."""

    source: str
    source_id: str
    kind: str
    body: str
    headers: Mapping[str, str]


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
