"""What the flow runner needs from storage, in the store's unit of work (adapters/db/marketing.py implements it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment
from backroom.orders.checkouts import Checkout
from backroom.service_layer.effects import EffectRequest
from backroom.shared.clock import Clock


@dataclass(frozen=True)
class StoredEnrollment:
    enrollment: Enrollment
    email: str
    subject_type: str  # checkout | order
    subject_id: int
    wake_at: datetime | None = None


@dataclass(frozen=True)
class Discount:
    key: str
    code: str
    percent: int
    expires_at: datetime


@dataclass(frozen=True)
class PlatformCustomer:
    """Where a store's discount codes are created (``shopify`` or ``woocommerce``, the store's connection) and the
    customer's id there ("" when backroom does not know it)."""

    platform: str
    customer_id: str = ""


@dataclass(frozen=True)
class LapseCandidate:
    """A subscribed customer quiet since their last order, for the lapsed-customer scan."""

    email: str
    last_order_id: int
    purchases: list[tuple[datetime, Decimal]]  # (placed at, total), oldest first; cancelled orders left out


@dataclass(frozen=True)
class Snapshot:
    """What a tick reads once for its whole batch of due enrollments (one query per kind, not per enrollment): the
    facts each decision needs, as they are now."""

    consent: Mapping[str, Consent]  # by address; absent: never asked
    bounced: frozenset[str]  # addresses suppressed after a hard bounce
    zones: Mapping[str, ZoneInfo]  # by address, where known (the latest order's shipping address)
    orders_since: Mapping[str, int]  # by enrollment id (checkout flows): orders by the address since it entered
    checkouts: Mapping[int, Checkout]  # the checkouts the batch follows, as they are now
    orders: Mapping[int, dict[str, Any]]  # the orders the batch follows (``order`` as conditions see it)
    purchases: Mapping[str, list[tuple[datetime, Decimal]]]  # by address (order flows): (placed at, total)
    orders_after: Mapping[str, int]  # by enrollment id (order flows): orders placed after the one it follows
    discounts: Mapping[str, Discount]  # the batch's codes, by discount key
    effect_status: Mapping[str, str]  # the platform effects of those codes, by discount key


@dataclass(frozen=True)
class Sent:
    """One flow email in the per-customer ledger: the frequency cap and attribution read these."""

    enrollment_id: str
    flow: str
    email: str
    message_key: str
    template: str
    kind: str
    shadow: bool
    sent_at: datetime


class MarketingRepository(Protocol):
    def next_id(self) -> str: ...

    def history(self, flow: str, email: str) -> list[Enrollment]: ...

    def add(self, stored: StoredEnrollment) -> bool: ...

    def take_due(self, now: datetime, limit: int) -> list[StoredEnrollment]: ...

    def snapshot(self, taken: list[StoredEnrollment]) -> Snapshot: ...

    def save_all(self, enrollments: list[tuple[Enrollment, datetime | None]]) -> None: ...

    def order(self, order_id: int) -> dict[str, Any] | None: ...

    def purchases(self, email: str) -> list[tuple[datetime, Decimal]]: ...

    def recommendations(self, order_id: int, email: str, limit: int = 3) -> list[dict[str, Any]]: ...

    def lapse_candidates(self, flow: str, quiet_since: datetime, entered_since: datetime, limit: int,
                         after: tuple[datetime, int] | None = None) -> list[LapseCandidate]: ...

    def recent_sends(self, emails: list[str], since: datetime) -> dict[str, list[datetime]]: ...

    def record_sends(self, sends: list[Sent]) -> None: ...

    def add_discount(self, enrollment_id: str, discount: Discount) -> Discount: ...

    def discount_platform(self, email: str) -> PlatformCustomer | None: ...

    def sends_live(self, automation: str) -> bool: ...

    def timezone(self) -> ZoneInfo: ...

    def lock_store(self) -> bool: ...


class MarketingUnitOfWork(Protocol):
    store_id: int
    clock: Clock

    @property
    def marketing(self) -> MarketingRepository: ...

    def request_effect(self, effect: EffectRequest) -> None: ...

    def after_flush(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` in this transaction once the orders it creates are written."""
        ...

    def commit(self) -> None: ...


