"""What the flow runner needs from storage, in the store's unit of work (adapters/db/marketing.py implements it)."""

from __future__ import annotations

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

    def save(self, enrollment: Enrollment, wake_at: datetime | None) -> None: ...

    def consent(self, email: str) -> Consent: ...

    def orders_since(self, email: str, since: datetime) -> int: ...

    def checkout(self, checkout_id: int) -> Checkout | None: ...

    def order(self, order_id: int) -> dict[str, Any] | None: ...

    def orders_after(self, email: str, order_id: int) -> int: ...

    def purchases(self, email: str) -> list[tuple[datetime, Decimal]]: ...

    def recommendations(self, order_id: int, email: str, limit: int = 3) -> list[dict[str, Any]]: ...

    def lapse_candidates(self, flow: str, quiet_since: datetime, entered_since: datetime, limit: int,
                         after: tuple[datetime, int] | None = None) -> list[LapseCandidate]: ...

    def recent_sends(self, email: str, since: datetime) -> list[datetime]: ...

    def record_send(self, sent: Sent) -> bool: ...

    def discount(self, key: str) -> Discount | None: ...

    def add_discount(self, enrollment_id: str, discount: Discount) -> Discount: ...

    def discount_platform(self, email: str) -> PlatformCustomer | None: ...

    def effect_status(self, key: str) -> str | None: ...

    def sends_live(self, automation: str) -> bool: ...

    def timezone(self) -> ZoneInfo: ...

    def lock_store(self) -> bool: ...


class MarketingUnitOfWork(Protocol):
    store_id: int
    clock: Clock

    @property
    def marketing(self) -> MarketingRepository: ...

    def request_effect(self, effect: EffectRequest) -> None: ...

    def commit(self) -> None: ...


