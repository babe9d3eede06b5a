"""A customer as the store's platform describes them: email, name, marketing consent, and when the platform last
changed them (updates arrive out of order; an older one never overwrites a newer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MarketingConsent(StrEnum):
    """Whether the customer may be sent marketing email. ``unknown`` (a platform that does not say, or a customer
    known only from their orders) is not consent."""

    SUBSCRIBED = "subscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    PENDING = "pending"  # double opt-in asked, not confirmed yet
    UNKNOWN = "unknown"


@dataclass
class CustomerProfile:
    store_id: int
    email: str
    name: str
    marketing_consent: MarketingConsent = MarketingConsent.UNKNOWN
    channel: str | None = None
    external_id: str | None = None
    platform_updated_at: datetime | None = None
    id: int | None = None
    unsubscribed_at: datetime | None = None  # when backroom's own one-click link unsubscribed them

    def is_newer_than(self, updated_at: datetime | None) -> bool:
        """This record reflects a later platform update than one made at ``updated_at`` (an update without a
        time is applied only to a record that has none either)."""
        if self.platform_updated_at is None:
            return False
        return updated_at is None or self.platform_updated_at > updated_at

    def apply(self, email: str, name: str, consent: MarketingConsent, channel: str, external_id: str,
              updated_at: datetime | None, consent_updated_at: datetime | None = None) -> None:
        """Take a platform update: a name or consent it does not give leaves the one known. A customer who
        unsubscribed through backroom's link stays unsubscribed until the platform says their consent changed
        after that (``consent_updated_at``): the platform does not know of the link, so its "subscribed" is stale
        until then."""
        self.email = email
        self.name = name or self.name
        if consent == MarketingConsent.SUBSCRIBED and self.unsubscribed_at is not None and (
                consent_updated_at is None or consent_updated_at <= self.unsubscribed_at):
            consent = MarketingConsent.UNKNOWN  # stale: keep the unsubscribe
        if consent == MarketingConsent.SUBSCRIBED:
            self.unsubscribed_at = None  # subscribed again, on the platform, after the link
        if consent != MarketingConsent.UNKNOWN:
            self.marketing_consent = consent
        self.channel, self.external_id = channel, external_id
        self.platform_updated_at = updated_at or self.platform_updated_at
