"""What the rules engine needs from storage, besides the order pipeline's own unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from backroom.orders.ports import OrdersUnitOfWork


@dataclass(frozen=True)
class StoredRule:
    name: str
    version: int
    mode: str
    position: int
    definition: dict[str, Any]


@dataclass(frozen=True)
class StoreRuleState:
    revision: int  # bumped by every change to a store's rules, so compiled sets are reused until then
    timezone: str


class RuleRepository(Protocol):
    def state(self) -> StoreRuleState: ...
    def active(self) -> list[StoredRule]:
        """The current version of every rule in live or shadow mode, in position order."""
    def firings(self, policy: str, subject: str | None, since: datetime | None) -> int:
        """How many times a rule fired (live or shadow), optionally for one subject (``order:42``, ``sku:TEE-M``)
        and since a time."""


class RulesUnitOfWork(OrdersUnitOfWork, Protocol):
    rules: RuleRepository
