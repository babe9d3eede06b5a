"""A customer as the platform describes them: updates in the order the platform made them, consent never lost."""

from __future__ import annotations

from datetime import UTC, datetime

from backroom.customers.model import CustomerProfile, MarketingConsent

T1 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_record_updated_later_is_newer_than_an_update_made_before() -> None:
    kept = CustomerProfile(1, "a@example.com", "A", platform_updated_at=T2)
    assert kept.is_newer_than(T1)
    assert not kept.is_newer_than(T2)  # the same update again applies (idempotent)
    assert kept.is_newer_than(None)  # an update with no time does not beat one with a time


def test_a_record_without_a_platform_time_takes_any_update() -> None:
    assert not CustomerProfile(1, "a@example.com", "A").is_newer_than(T1)
    assert not CustomerProfile(1, "a@example.com", "A").is_newer_than(None)


def test_an_update_that_does_not_say_keeps_the_known_name_and_consent() -> None:
    kept = CustomerProfile(1, "a@example.com", "Ada", MarketingConsent.SUBSCRIBED, platform_updated_at=T1)
    kept.apply("ada@example.com", "", MarketingConsent.UNKNOWN, "woocommerce", "25", None)
    assert kept == CustomerProfile(1, "ada@example.com", "Ada", MarketingConsent.SUBSCRIBED, "woocommerce", "25", T1)


T3 = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


def test_a_platform_still_saying_subscribed_does_not_undo_an_unsubscribe_made_through_our_link() -> None:
    for consent_changed in (T1, T2, None):  # before the link, the same instant, or the platform does not say
        ada = CustomerProfile(1, "ada@example.com", "Ada", MarketingConsent.UNSUBSCRIBED, "shopify", "7", T1,
                              unsubscribed_at=T2)
        ada.apply("ada@example.com", "Ada L", MarketingConsent.SUBSCRIBED, "shopify", "7", T3, consent_changed)
        assert ada == CustomerProfile(1, "ada@example.com", "Ada L", MarketingConsent.UNSUBSCRIBED, "shopify", "7",
                                      T3, unsubscribed_at=T2)


def test_subscribing_again_on_the_platform_after_the_link_counts() -> None:
    ada = CustomerProfile(1, "ada@example.com", "Ada", MarketingConsent.UNSUBSCRIBED, unsubscribed_at=T2)
    ada.apply("ada@example.com", "", MarketingConsent.SUBSCRIBED, "shopify", "7", T3, T3)
    assert (ada.marketing_consent, ada.unsubscribed_at) == (MarketingConsent.SUBSCRIBED, None)
    ada.apply("ada@example.com", "", MarketingConsent.UNSUBSCRIBED, "shopify", "7", T3, T3)
    assert ada.marketing_consent is MarketingConsent.UNSUBSCRIBED
