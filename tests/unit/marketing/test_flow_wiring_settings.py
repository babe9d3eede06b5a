"""Which flows may be enabled: a flow whose trigger the pipeline does not raise yet is refused at start, so that
enabling it never fails silently (nobody enrolled, no email, no error)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from backroom.bootstrap import all_flows, flow_settings
from backroom.config import MarketingConfig, Settings
from backroom.errors import ConfigurationError


def settings(*enabled: str, secret: str | None = "s3cret") -> Settings:
    return Settings(marketing=MarketingConfig(enabled_flows=list(enabled),
                                              unsubscribe_secret=SecretStr(secret) if secret else None))


def test_only_flows_whose_trigger_is_wired_can_be_enabled() -> None:
    s = settings("abandoned_checkout")
    assert flow_settings(s, all_flows(s)).enabled == frozenset({"abandoned_checkout"})
    for name in ("post_purchase", "win_back"):
        s = settings("abandoned_checkout", name)
        with pytest.raises(ConfigurationError) as err:
            flow_settings(s, all_flows(s))
        assert err.value.message == (f"marketing.enabled_flows: {name} cannot run yet (only flows triggered by "
                                     "checkout_abandoned enroll customers today; docs/flows.md)")


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
