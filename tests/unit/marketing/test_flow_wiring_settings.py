"""Which flows may be enabled: every trigger a flow can name enrolls customers (a recorded checkout, a new order, a
delivered order, the daily lapsed-customer scan); a flow whose trigger nothing raised would be refused at start, so
that enabling it never fails silently (nobody enrolled, no email, no error)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from backroom import bootstrap
from backroom.bootstrap import WIRED_TRIGGERS, all_flows, flow_settings
from backroom.config import MarketingConfig, Settings
from backroom.errors import ConfigurationError
from backroom.marketing.model import load_flows_text
from backroom.marketing.triggers import FLOW_TRIGGERS


def settings(*enabled: str, secret: str | None = "s3cret") -> Settings:
    return Settings(marketing=MarketingConfig(enabled_flows=list(enabled),
                                              unsubscribe_secret=SecretStr(secret) if secret else None))


def test_every_shipped_flow_can_be_enabled_and_every_trigger_enrolls() -> None:
    assert set(FLOW_TRIGGERS) == WIRED_TRIGGERS
    s = settings("abandoned_checkout", "post_purchase", "win_back")
    flows = flow_settings(s, all_flows(s))
    assert flows.enabled == frozenset({"abandoned_checkout", "post_purchase", "win_back"})
    assert [f.name for f in flows.enabled_for("order_delivered")] == ["post_purchase"]
    assert [f.name for f in flows.enabled_for("customer_lapsed")] == ["win_back"]


def test_a_flow_whose_trigger_nothing_raises_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "WIRED_TRIGGERS", WIRED_TRIGGERS - {"order_placed"})  # a trigger not wired yet
    s = settings("thanks")
    own = load_flows_text("flows: [{name: thanks, trigger: order_placed, steps: [{send_email: {template: t}}]}]")
    with pytest.raises(ConfigurationError) as err:
        flow_settings(s, own)
    assert err.value.message == ("marketing.enabled_flows: thanks cannot run yet (only flows triggered by "
                                 "checkout_abandoned, customer_lapsed, order_delivered enroll customers today; "
                                 "docs/flows.md)")


def test_an_unknown_flow_or_a_missing_unsubscribe_secret_stops_the_start() -> None:
    s = settings("abandoned_cart")
    with pytest.raises(ConfigurationError) as unknown:
        flow_settings(s, all_flows(s))
    assert unknown.value.message.startswith("marketing.enabled_flows names no flow: abandoned_cart (known: ")
    s = settings("abandoned_checkout", secret=None)
    with pytest.raises(ConfigurationError) as secret:
        flow_settings(s, all_flows(s))
    assert secret.value.message == ("marketing flows send a signed unsubscribe link: set "
                                    "BACKROOM_MARKETING__UNSUBSCRIBE_SECRET")


@pytest.mark.parametrize(("field", "pattern", "refusal"), [
    ("product_url", "https://shop.example.com/p/{handle}",
     "marketing.product_url may only use {sku} and {order_number}: https://shop.example.com/p/{handle}"),
    ("review_url", "javascript:alert({sku})",
     "marketing.review_url must be an http(s) address: javascript:alert({sku})"),
    ("review_url", "https://shop.example.com/{0}", "marketing.review_url may only use {sku} and {order_number}: "
                                                    "https://shop.example.com/{0}"),
])
def test_a_product_or_review_link_that_is_not_a_usable_pattern_stops_the_start(field: str, pattern: str,
                                                                                refusal: str) -> None:
    s = Settings(marketing=MarketingConfig(enabled_flows=["post_purchase"], unsubscribe_secret=SecretStr("s"),
                                           **{field: pattern}))
    with pytest.raises(ConfigurationError) as err:
        flow_settings(s, all_flows(s))
    assert err.value.message == refusal


def test_product_and_review_links_encode_the_sku_and_the_order_number() -> None:
    s = Settings(marketing=MarketingConfig(enabled_flows=["post_purchase"], unsubscribe_secret=SecretStr("s"),
                                           product_url="https://s.example/p/{sku}",
                                           review_url="https://s.example/r?o={order_number}&p={sku}"))
    links = flow_settings(s, all_flows(s)).links
    assert links.of(links.product, "MUG 12/OZ", "#1001") == "https://s.example/p/MUG%2012%2FOZ"
    assert links.of(links.review, "MUG 12/OZ", "#1001") == "https://s.example/r?o=%231001&p=MUG%2012%2FOZ"
