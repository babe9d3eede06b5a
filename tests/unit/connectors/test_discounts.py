"""A flow's discount code on the platform: the effect's payload, what each client is asked for, the executor, and
the emulators' coupon / code-discount endpoints as the real APIs answer them (in-process, httpx.MockTransport)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from backroom.config import Settings, ShopifySettings, WooCommerceSettings
from backroom.connectors.discounts import DiscountRequest, PlatformDiscounts, shopify_arguments, woocommerce_arguments
from backroom.connectors.shopify.client import ShopifyClient, discount_context
from backroom.connectors.shopify.throttle import CostBudget
from backroom.connectors.woocommerce.client import WooCommerceClient, WooCommerceRejected
from backroom.emulator.shopify import EmulatedDiscount, ShopifyEmulator
from backroom.emulator.woocommerce import EmulatedCoupon, WooCommerceEmulator
from backroom.shared.clock import SimulatedClock

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=72)
SITE = "http://shop.local"
PAYLOAD = {"platform": "shopify", "store_id": 3, "code": "SAVE10-K7QX2M9P", "percent": 10,
           "starts_at": START.isoformat(), "expires_at": END.isoformat(), "email": "ada@example.com",
           "customer_id": "207119551", "flow": "abandoned_checkout"}


def request(**changes: Any) -> DiscountRequest:
    return DiscountRequest.from_payload({**PAYLOAD, **changes})


def test_the_payload_reads_back_as_it_was_written() -> None:
    made = request()
    assert made == DiscountRequest("shopify", 3, "SAVE10-K7QX2M9P", 10, START, END, "ada@example.com", "207119551",
                                   "abandoned_checkout")
    assert made.as_payload() == PAYLOAD
    assert made.title == "SAVE10-K7QX2M9P (backroom flow abandoned_checkout)"


@pytest.mark.parametrize(("changes", "problem"), [
    ({"platform": "etsy"}, "shopify or woocommerce"),
    ({"percent": 0}, "between 1 and 100"),
    ({"percent": 101}, "between 1 and 100"),
    ({"expires_at": START.isoformat()}, "expiry after its start"),
    ({"starts_at": "2026-11-28T09:00:00"}, "timezone-aware"),
    ({"code": "  "}, "needs a code"),
])
def test_a_payload_that_cannot_be_a_discount_is_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        request(**changes)


def test_shopify_is_asked_for_a_single_use_percent_code_for_the_customer() -> None:
    assert shopify_arguments(request()) == {
        "percentage": Decimal(10), "ends_at": END, "usage_limit": 1, "starts_at": START,
        "title": "SAVE10-K7QX2M9P (backroom flow abandoned_checkout)", "customer_ids": ("207119551",)}
    assert shopify_arguments(request(customer_id=""))["customer_ids"] == ()
    assert discount_context(("207119551",)) == {"customers": {"add": ["gid://shopify/Customer/207119551"]}}
    assert discount_context() == {"all": "ALL"}


def test_woocommerce_is_asked_for_a_single_use_percent_coupon_for_the_address() -> None:
    assert woocommerce_arguments(request(platform="woocommerce")) == {
        "amount": Decimal(10), "discount_type": "percent", "expires_at": END, "usage_limit": 1,
        "usage_limit_per_user": 1, "email_restrictions": ("ada@example.com",),
        "description": "SAVE10-K7QX2M9P (backroom flow abandoned_checkout)"}
    assert woocommerce_arguments(request(platform="woocommerce", email=""))["email_restrictions"] == ()


# -- the executor, against both emulators -------------------------------------------------------------------------


def executor(shop: ShopifyEmulator, site: WooCommerceEmulator, clock: SimulatedClock) -> PlatformDiscounts:
    settings = Settings(
        shopify=ShopifySettings(access_tokens={shop.shop: SecretStr(shop.access_token)}),
        woocommerce=WooCommerceSettings(consumer_keys={"shop.local": SecretStr(site.consumer_key)},
                                        consumer_secrets={"shop.local": SecretStr(site.consumer_secret)}))
    accounts = {"shopify": shop.shop, "woocommerce": SITE}

    def transport(request: httpx.Request) -> httpx.Response:
        return site.handle(request) if request.url.host == "shop.local" else shop.handle(request)

    return PlatformDiscounts(settings, lambda store_id, platform: accounts[platform], max_attempts=1,
                             transport=httpx.MockTransport(transport))


def test_the_executor_creates_the_code_on_shopify_once_and_a_repeat_finds_it(clock: SimulatedClock) -> None:
    shop, site = ShopifyEmulator(clock=clock), WooCommerceEmulator(clock=clock)
    run = executor(shop, site, clock)
    first = run(PAYLOAD, "flow:abandoned_checkout:enr-1:discount")
    again = run(PAYLOAD, "flow:abandoned_checkout:enr-1:discount")
    run.close()

    assert first == again == {"platform": "shopify", "account": shop.shop, "id": first["id"],
                              "code": "SAVE10-K7QX2M9P"}
    assert shop.discount_codes() == [EmulatedDiscount(
        first["id"], "SAVE10-K7QX2M9P", "SAVE10-K7QX2M9P (backroom flow abandoned_checkout)", Decimal("0.1"), None,
        "2026-11-28T09:00:00Z", "2026-12-01T09:00:00Z", 1, True, ("207119551",))]
    assert shop.requests == ["DiscountCodeByCode", "DiscountCodeBasicCreate", "DiscountCodeByCode"]
    assert site.coupons == []


def test_the_executor_creates_the_coupon_on_woocommerce_once_and_a_repeat_is_told_it_exists(
        clock: SimulatedClock) -> None:
    shop, site = ShopifyEmulator(clock=clock), WooCommerceEmulator(clock=clock)
    run = executor(shop, site, clock)
    payload = {**PAYLOAD, "platform": "woocommerce"}
    first = run(payload, "k")
    again = run(payload, "k")
    run.close()

    assert first == again == {"platform": "woocommerce", "account": SITE, "id": 101, "code": "SAVE10-K7QX2M9P"}
    assert site.coupons == [EmulatedCoupon(101, "SAVE10-K7QX2M9P", "percent", "10.00", 1, 1, ("ada@example.com",),
                                           "2026-12-01T09:00:00", "SAVE10-K7QX2M9P (backroom flow abandoned_checkout)",
                                           site.coupons[0].date_created_gmt)]
    assert site.requests == [("POST", "/wp-json/wc/v3/coupons"), ("POST", "/wp-json/wc/v3/coupons"),
                             ("GET", "/wp-json/wc/v3/coupons")]
    assert shop.discount_codes() == []


# -- the WooCommerce emulator answers as WooCommerce does -----------------------------------------------------------


def woo_client(site: WooCommerceEmulator, clock: SimulatedClock, *, secret: str | None = None) -> WooCommerceClient:
    return WooCommerceClient(SITE, SecretStr(site.consumer_key), SecretStr(secret or site.consumer_secret),
                             transport=httpx.MockTransport(site.handle), max_attempts=1, clock=clock)


def raw(site: WooCommerceEmulator, body: dict[str, Any]) -> httpx.Response:
    basic = base64.b64encode(f"{site.consumer_key}:{site.consumer_secret}".encode()).decode()
    return site.handle(httpx.Request("POST", "https://shop.local/wp-json/wc/v3/coupons", json=body,
                                     headers={"Authorization": f"Basic {basic}"}))


def test_a_coupon_is_answered_201_in_the_rest_shape_and_a_second_with_its_code_400(clock: SimulatedClock) -> None:
    site = WooCommerceEmulator(clock=clock)
    made = raw(site, {"code": "WELCOME", "discount_type": "percent", "amount": "15", "usage_limit": 1,
                      "date_expires_gmt": "2026-12-01T09:00:00"})
    assert made.status_code == 201
    body = made.json()
    assert {k: body[k] for k in ("id", "code", "amount", "discount_type", "usage_limit", "usage_limit_per_user",
                                 "email_restrictions", "date_expires_gmt", "usage_count", "status")} == {
        "id": 101, "code": "WELCOME", "amount": "15.00", "discount_type": "percent", "usage_limit": 1,
        "usage_limit_per_user": None, "email_restrictions": [], "date_expires_gmt": "2026-12-01T09:00:00",
        "usage_count": 0, "status": "publish"}

    taken = raw(site, {"code": "welcome", "discount_type": "fixed_cart", "amount": "5"})
    assert (taken.status_code, taken.json()) == (400, {
        "code": "woocommerce_rest_coupon_code_already_exists", "message": "The coupon code already exists.",
        "data": {"status": 400}})
    assert len(site.coupons) == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"discount_type": "percent", "amount": "10"}, 400, "rest_missing_callback_param"),
    ({"code": "A", "discount_type": "half_off", "amount": "10"}, 400, "rest_invalid_param"),
    ({"code": "A", "amount": "ten"}, 400, "rest_invalid_param"),
    ({"code": "A", "amount": "10", "usage_limit": "1"}, 400, "rest_invalid_param"),
    ({"code": "A", "amount": "10", "email_restrictions": ["not-an-address"]}, 400, "rest_invalid_param"),
    ({"code": "A", "amount": "10", "date_expires_gmt": "next tuesday"}, 400, "rest_invalid_param"),
])
def test_a_coupon_the_rest_schema_refuses_is_400_and_kept_nowhere(body: dict[str, Any], status: int,
                                                                    code: str) -> None:
    site = WooCommerceEmulator()
    answer = raw(site, body)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert site.coupons == []


def test_the_woocommerce_emulator_checks_the_oauth_signature(clock: SimulatedClock) -> None:
    site = WooCommerceEmulator(clock=clock)
    with woo_client(site, clock, secret="cs_wrong") as wrong, pytest.raises(WooCommerceRejected) as refused:
        wrong.create_coupon("X1", amount=Decimal(10), discount_type="percent")
    assert (refused.value.status, refused.value.woo_code) == (401, "woocommerce_rest_authentication_error")
    with woo_client(site, clock) as right:
        assert right.create_coupon("X1", amount=Decimal(10), discount_type="percent") == 101
    assert [c.code for c in site.coupons] == ["X1"]


def test_a_woocommerce_code_taken_by_another_discount_is_refused(clock: SimulatedClock) -> None:
    site = WooCommerceEmulator(clock=clock)
    with woo_client(site, clock) as client:
        client.create_coupon("SAVE10-X", amount=Decimal(5), discount_type="fixed_cart")
        with pytest.raises(WooCommerceRejected, match="taken by another discount"):
            client.create_coupon("SAVE10-X", amount=Decimal(10), discount_type="percent")


# -- the Shopify emulator refuses what discountCodeBasicCreate refuses ----------------------------------------------


def create(shop: ShopifyEmulator, discount: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"query": "mutation", "operationName": "DiscountCodeBasicCreate",
                       "variables": {"discount": discount}})
    answer = shop.handle(httpx.Request("POST", "https://x.test/admin/api/2026-10/graphql.json", content=body,
                                       headers={"X-Shopify-Access-Token": shop.access_token}))
    result: dict[str, Any] = answer.json()["data"]["discountCodeBasicCreate"]
    return result


GOOD = {"title": "t", "code": "C1", "startsAt": "2026-11-28T09:00:00Z", "endsAt": "2026-12-01T09:00:00Z",
        "usageLimit": 1, "appliesOncePerCustomer": True, "context": {"all": "ALL"},
        "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}}}


@pytest.mark.parametrize(("changes", "field"), [
    ({"startsAt": None}, "startsAt"),
    ({"endsAt": "2026-11-27T09:00:00Z"}, "endsAt"),
    ({"usageLimit": 0}, "usageLimit"),
    ({"context": None}, "context"),
    ({"context": {"customers": {"add": ["gid://shopify/Order/1"]}}}, "context"),
    ({"customerGets": {"value": {"percentage": 10}, "items": {"all": True}}}, "customerGets"),
])
def test_the_shopify_emulator_refuses_a_code_discount_shopify_would(changes: dict[str, Any], field: str) -> None:
    shop = ShopifyEmulator()
    answer = create(shop, {**GOOD, **changes})
    assert answer["codeDiscountNode"] is None
    assert answer["userErrors"][0]["field"] == ["basicCodeDiscount", field]
    assert shop.discount_codes() == []


def test_the_shopify_emulator_keeps_who_may_use_a_code_and_refuses_its_code_twice() -> None:
    shop = ShopifyEmulator()
    made = create(shop, {**GOOD, "context": {"customers": {"add": ["gid://shopify/Customer/42"]}}})
    assert made["userErrors"] == []
    (kept,) = shop.discount_codes()
    assert (kept.customer_ids, kept.applies_once_per_customer, kept.usage_limit) == (("42",), True, 1)
    again = create(shop, {**GOOD, "code": "c1"})
    assert again["userErrors"] == [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN",
                                    "message": "Code must be unique. Please try a different code."}]


def test_the_client_restricts_a_code_to_customers_through_the_context(clock: SimulatedClock) -> None:
    shop = ShopifyEmulator(clock=clock)
    with ShopifyClient(shop.shop, SecretStr(shop.access_token), base_url="https://x.test",
                       budget=CostBudget(clock=lambda: clock.now().timestamp()),
                       transport=httpx.MockTransport(shop.handle)) as client:
        made = client.create_discount_code("ADA-10", percentage=Decimal(10), ends_at=END, starts_at=START,
                                           title="t", customer_ids=("207119551",))
    assert [(d.id, d.customer_ids, d.applies_once_per_customer) for d in shop.discount_codes()] == [
        (made, ("207119551",), True)]
