"""A flow's discount code created on the store's platform: a Shopify code discount or a WooCommerce coupon.

The ``platform_discount`` effect (automation ``marketing_emails``, key = the flow's discount key
``flow:<flow>:enr-<id>:discount``) is requested by the flow tick in the transaction that records the code
(marketing/service.py), and run like every effect: at least once by workers, retried with backoff, then sent to the
review queue. Each run is idempotent on the platform's side, so "at least once" is "once":

- **Shopify:** the code is looked up first (``codeDiscountNodeByCode``) and an existing one is the answer; else
  ``discountCodeBasicCreate``; a ``TAKEN`` answer (an earlier attempt whose response was lost) is looked up again.
- **WooCommerce:** ``POST coupons``; ``woocommerce_rest_coupon_code_already_exists`` with the same discount is the
  answer, one with another discount is refused.

What is created: ``percent`` off the whole order, usable once (usage limit 1, once per customer), from the moment
the tick made it until its expiry, and for the customer only where the platform can say so (Shopify: the
customer's Shopify id when backroom knows it, else every buyer; WooCommerce: the email restriction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from backroom.config import Settings
from backroom.connectors.sync import AccountOf, PlatformClients

KIND = "platform_discount"
PLATFORMS = ("shopify", "woocommerce")


@dataclass(frozen=True)
class DiscountRequest:
    """What the effect's payload asks for, checked."""

    platform: str
    store_id: int
    code: str
    percent: int
    starts_at: datetime
    expires_at: datetime
    email: str
    customer_id: str  # the customer's id on the platform ("" when backroom does not know it)
    flow: str

    @property
    def title(self) -> str:
        """The discount's name in the platform's admin."""
        return f"{self.code} (backroom flow {self.flow})"

    def as_payload(self) -> dict[str, Any]:
        return {"platform": self.platform, "store_id": self.store_id, "code": self.code, "percent": self.percent,
                "starts_at": self.starts_at.isoformat(), "expires_at": self.expires_at.isoformat(),
                "email": self.email, "customer_id": self.customer_id, "flow": self.flow}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DiscountRequest:
        platform = str(payload["platform"])
        if platform not in PLATFORMS:
            raise ValueError(f"discount codes are created on {' or '.join(PLATFORMS)}, not {platform!r}")
        percent = int(payload["percent"])
        if not 0 < percent <= 100:
            raise ValueError(f"a discount's percent is between 1 and 100, not {percent}")
        starts, expires = (datetime.fromisoformat(str(payload[k])) for k in ("starts_at", "expires_at"))
        if starts.tzinfo is None or expires.tzinfo is None or expires <= starts:
            raise ValueError("a discount needs timezone-aware dates, its expiry after its start")
        code = str(payload["code"]).strip()
        if not code:
            raise ValueError("a discount needs a code")
        return cls(platform, int(payload["store_id"]), code, percent, starts, expires, str(payload.get("email") or ""),
                   str(payload.get("customer_id") or ""), str(payload.get("flow") or ""))


def shopify_arguments(request: DiscountRequest) -> dict[str, Any]:
    """``ShopifyClient.create_discount_code``'s keyword arguments for the request."""
    return {"percentage": Decimal(request.percent), "ends_at": request.expires_at, "usage_limit": 1,
            "title": request.title, "starts_at": request.starts_at,
            "customer_ids": (request.customer_id,) if request.customer_id else ()}


def woocommerce_arguments(request: DiscountRequest) -> dict[str, Any]:
    """``WooCommerceClient.create_coupon``'s keyword arguments for the request."""
    return {"amount": Decimal(request.percent), "discount_type": "percent", "expires_at": request.expires_at,
            "usage_limit": 1, "usage_limit_per_user": 1,
            "email_restrictions": (request.email,) if request.email else (), "description": request.title}


class PlatformDiscounts:
    """The ``platform_discount`` executor. ``client_options`` go to every client it makes (tests: fewer attempts)."""

    batch_safe = True  # each call is idempotent on the platform's side (see above)

    def __init__(self, settings: Settings, account_of: AccountOf, **client_options: Any) -> None:
        self.account_of = account_of
        self.clients = PlatformClients(settings, **client_options)

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        request = DiscountRequest.from_payload(payload)
        account = self.account_of(request.store_id, request.platform)
        if request.platform == "shopify":
            found = self.clients.shopify(account).create_discount_code(request.code, **shopify_arguments(request))
            return {"platform": "shopify", "account": account, "id": found, "code": request.code}
        coupon = self.clients.woocommerce(account).create_coupon(request.code, **woocommerce_arguments(request))
        return {"platform": "woocommerce", "account": account, "id": coupon, "code": request.code}

    def close(self) -> None:
        self.clients.close()
