"""An unsubscribe made through backroom's one-click link, recorded on the store's platform too, so that the
platform's own marketing (Shopify Email, apps reading Shopify's consent) stops as well.

The ``platform_consent`` effect (automation ``marketing_emails``: shadowed or off with it) is asked for in the
transaction that records the unsubscribe, for a customer backroom knows by their Shopify id, and run like every
effect: at least once, retried with backoff, then the review queue. Setting "unsubscribed" twice changes nothing, so
"at least once" is "once". The consent's time is the moment of the click, so Shopify's later ``customers/update``
carries it back and backroom keeps the customer unsubscribed.

WooCommerce has no marketing consent of its own (a newsletter plugin holds it), so nothing is sent there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backroom.config import Settings
from backroom.connectors.sync import AccountOf, PlatformClients


class PlatformConsent:
    """The ``platform_consent`` executor (the payload: marketing.service.platform_unsubscribe)."""

    batch_safe = True  # setting a consent is idempotent on the platform's side

    def __init__(self, settings: Settings, account_of: AccountOf, **client_options: Any) -> None:
        self.account_of = account_of
        self.clients = PlatformClients(settings, **client_options)

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        if payload.get("platform") != "shopify" or payload.get("state") != "unsubscribed":
            raise ValueError(f"only a Shopify unsubscribe is recorded on a platform, not {payload!r}")
        at = datetime.fromisoformat(str(payload["at"]))
        account = self.account_of(int(payload["store_id"]), "shopify")
        state = self.clients.shopify(account).unsubscribe_email(str(payload["customer_id"]), at)
        return {"platform": "shopify", "account": account, "customer_id": payload["customer_id"], "state": state}

    def close(self) -> None:
        self.clients.close()
