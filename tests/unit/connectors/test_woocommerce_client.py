"""The WooCommerce REST v3 client against a function playing the site (httpx.MockTransport), answering with
WooCommerce's documented JSON examples (../shared/data/connectors/woocommerce_rest_v3/json_examples)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

import httpx
import pytest
from pydantic import SecretStr

from backroom.connectors.woocommerce.client import (
    Product,
    WooCommerceClient,
    WooCommerceError,
    WooCommerceRejected,
    WooCommerceUnavailable,
    allows_plain_http,
    modified_at,
)
from backroom.connectors.woocommerce.mapping import map_webhook
from backroom.errors import EffectFailed
from backroom.shared.clock import SimulatedClock

EXAMPLES = Path("connectors/woocommerce_rest_v3/json_examples")
KEY, SECRET = "ck_0123456789abcdef", "cs_fedcba9876543210"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)

Answer = httpx.Response | Exception


class FakeSite:
    """Plays a WooCommerce site: answers each request with the next scripted answer for its method and path, and
    records every request it received."""

    def __init__(self, routes: dict[tuple[str, str], list[Answer]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(404, json={"code": "rest_no_route", "message": "No route was found matching the "
                                             "URL and request method", "data": {"status": 404}})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def calls(self) -> list[tuple[str, str, list[tuple[str, str]], Any]]:
        """(method, path, query, JSON body) of every request, in order."""
        return [(r.method, r.url.path, r.url.params.multi_items(), json.loads(r.content) if r.content else None)
                for r in self.requests]


class MaxJitter(random.Random):
    """Jitter always at its top: the backoff is exactly base × 2^(attempt-1)."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def examples(shared_data: Path) -> Callable[[str], Any]:
    return lambda name: json.loads((shared_data / EXAMPLES / name).read_text())


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connect(sleeps: list[float]) -> Iterator[Callable[..., WooCommerceClient]]:
    clients: list[WooCommerceClient] = []

    def make(site: FakeSite, url: str = "https://shop.example.com", **kwargs: Any) -> WooCommerceClient:
        client = WooCommerceClient(url, SecretStr(KEY), SecretStr(SECRET), transport=httpx.MockTransport(site),
                                   sleep=sleeps.append, rng=MaxJitter(), clock=SimulatedClock(NOW), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def ok(data: Any, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=data, headers=headers)


def woo_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": {"status": status}},
                          headers=headers)


# -- authentication -------------------------------------------------------------------------------------------------

def test_an_https_site_is_called_at_wc_v3_with_basic_auth_and_no_credentials_in_the_url(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any]) -> None:
    site = FakeSite({("GET", "/shop/wp-json/wc/v3/products"): [ok([])]})
    assert connect(site, "https://Shop.Example.com/shop/").find_product_by_sku("TEE-BLK-M") is None
    (request,) = site.requests
    assert str(request.url) == "https://shop.example.com/shop/wp-json/wc/v3/products?sku=TEE-BLK-M"
    assert request.headers["authorization"] == BASIC
    assert request.headers["accept"] == "application/json"


def php_rawurlencode(text: str) -> str:
    return quote(text, safe="-_.~")


def woocommerce_accepts(request: httpx.Request, secret: str, site_url: str) -> bool:
    """WooCommerce's own check (class-wc-rest-authentication.php, check_oauth_signature), written from the PHP: the
    header's oauth_* values urldecoded and merged with $_GET; each key and value rawurlencoded, then each
    ``key=value`` rawurlencoded again and joined with %26; HMAC keyed with ``secret&``."""
    header = request.headers["authorization"]
    assert header.startswith("OAuth ")
    params = {name: unquote_plus(quoted or bare) for name, quoted, bare in
              re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', header)}
    params.update(dict(request.url.params.multi_items()))
    given = unquote(params.pop("oauth_signature").replace(" ", "+"))
    pairs = [php_rawurlencode(f"{php_rawurlencode(k)}={php_rawurlencode(v)}") for k, v in sorted(params.items())]
    base = f"{request.method}&{php_rawurlencode(site_url + request.url.path)}&{'%26'.join(pairs)}"
    expected = base64.b64encode(hmac.new(f"{secret}&".encode(), base.encode(), hashlib.sha256).digest()).decode()
    return params["oauth_signature_method"] == "HMAC-SHA256" and hmac.compare_digest(expected, given)


def test_a_local_http_site_gets_oauth1_hmac_sha256_in_the_header_as_woocommerce_checks_it(
        connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/orders"): [ok([], **{"X-WP-TotalPages": "0"})]})
    client = connect(site, "http://localhost:8080", nonce=lambda: "a" * 32)
    assert list(client.orders_modified_since(datetime(2026, 11, 26, tzinfo=UTC))) == []
    (request,) = site.requests
    assert woocommerce_accepts(request, SECRET, "http://localhost:8080")
    assert not woocommerce_accepts(request, "cs_wrong", "http://localhost:8080")
    header = request.headers["authorization"]
    assert re.sub(r'oauth_signature="[^"]*"', 'oauth_signature="…"', header) == (
        f'OAuth oauth_consumer_key="{KEY}", oauth_nonce="{"a" * 32}", oauth_signature_method="HMAC-SHA256", '
        f'oauth_timestamp="{int(NOW.timestamp())}", oauth_signature="…"')
    assert SECRET not in str(request.url) + header
    assert KEY not in str(request.url)  # the key travels in the header only, never in a URL that gets logged


def test_plain_http_to_a_public_site_is_refused_before_anything_is_sent(
        connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({})
    with pytest.raises(ValueError, match=r"^shop\.example\.com: use https:// \(plain http is accepted only for a "
                                         r"local test site\)$"):
        connect(site, "http://shop.example.com")
    assert site.requests == []


@pytest.mark.parametrize(("host", "allowed"), [
    ("localhost", True), ("wordpress", True), ("shop.test", True), ("127.0.0.1", True), ("192.168.1.20", True),
    ("[::1]", True), ("shop.example.com", False), ("8.8.8.8", False)])
def test_plain_http_is_only_for_this_machine_or_a_private_network(host: str, allowed: bool) -> None:
    assert allows_plain_http(host) is allowed


# -- reconciliation reads -------------------------------------------------------------------------------------------

def test_orders_modified_since_walks_every_page_by_id_with_gmt_dates(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any]) -> None:
    first, second = examples("orders__list_all_orders.json")
    site = FakeSite({("GET", "/wp-json/wc/v3/orders"): [ok([first], **{"X-WP-TotalPages": "2"}),
                                                         ok([second], **{"X-WP-TotalPages": "2"})]})
    since = datetime(2017, 3, 21, 12, 0, tzinfo=UTC).astimezone()  # any timezone: sent as GMT
    orders = list(connect(site).orders_modified_since(since, per_page=1))
    assert [o["id"] for o in orders] == [727, 723]
    query = [("modified_after", "2017-03-21T12:00:00"), ("dates_are_gmt", "true"), ("orderby", "id"),
             ("order", "asc"), ("per_page", "1")]
    assert site.calls() == [("GET", "/wp-json/wc/v3/orders", [*query, ("page", "1")], None),
                            ("GET", "/wp-json/wc/v3/orders", [*query, ("page", "2")], None)]
    assert [modified_at(o) for o in orders] == [datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC),
                                                datetime(2017, 3, 21, 19, 54, 51, tzinfo=UTC)]


def test_without_a_total_pages_header_the_walk_stops_at_a_short_page(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any]) -> None:
    first, second = examples("orders__list_all_orders.json")
    site = FakeSite({("GET", "/wp-json/wc/v3/orders"): [ok([first, second]), ok([first])]})
    orders = list(connect(site).orders_modified_since(NOW, per_page=2))
    assert [o["id"] for o in orders] == [727, 723, 727]
    assert [dict(q)["page"] for _, _, q, _ in site.calls()] == ["1", "2"]


def test_a_reconciled_order_maps_to_the_same_command_as_its_webhook(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any], shared_data: Path) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/orders"): [ok(examples("orders__list_all_orders.json"),
                                                           **{"X-WP-TotalPages": "1"})]})
    polled = {o["id"]: o for o in connect(site).orders_modified_since(NOW)}
    webhook_body = (shared_data / EXAMPLES / "orders__retrieve_an_order.json").read_bytes()
    for topic in ("order.created", "order.updated"):
        assert map_webhook(topic, json.dumps(polled[727]).encode(), "woocommerce:d1") == map_webhook(
            topic, webhook_body, "woocommerce:d1")


def test_a_naive_since_is_refused_before_any_request(connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({})
    with pytest.raises(ValueError, match=r"^since needs a timezone$"):
        connect(site).orders_modified_since(datetime(2026, 11, 27))  # noqa: DTZ001
    assert site.requests == []


# -- retries and errors ---------------------------------------------------------------------------------------------

def test_server_errors_are_retried_with_exponential_backoff_then_succeed(
        connect: Callable[..., WooCommerceClient], sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [
        woo_error(503, "", ""), httpx.Response(502), httpx.ConnectError("refused"), ok([])]})
    with caplog.at_level(logging.WARNING, "backroom.connectors.woocommerce.client"):
        assert connect(site).find_product_by_sku("X") is None
    assert len(site.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert caplog.messages == [
        "WooCommerce at shop.example.com: GET products: 503, attempt 1 of 5, retrying in 0.50 s",
        "WooCommerce at shop.example.com: GET products: 502, attempt 2 of 5, retrying in 1.00 s",
        "WooCommerce at shop.example.com: GET products: ConnectError, attempt 3 of 5, retrying in 2.00 s"]


def test_backoff_is_capped_and_the_last_failure_is_retryable(
        connect: Callable[..., WooCommerceClient], sleeps: list[float]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [
        woo_error(500, "internal_server_error", "There has been a critical error on this website.")]})
    with pytest.raises(WooCommerceUnavailable) as caught:
        connect(site, max_attempts=6, backoff_cap_s=3.0).find_product_by_sku("X")
    assert caught.value.message == ("WooCommerce at shop.example.com: GET products: answered 500 "
                                    "internal_server_error: There has been a critical error on this website.")
    assert (caught.value.retryable, caught.value.status, caught.value.code) == (True, 500, "woocommerce_unavailable")
    assert isinstance(caught.value, EffectFailed)
    assert len(site.requests) == 6
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_spreads_each_wait_over_its_upper_half(sleeps: list[float]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [httpx.Response(503), httpx.Response(503), ok([])]})
    with WooCommerceClient("https://shop.example.com", SecretStr(KEY), SecretStr(SECRET),
                           transport=httpx.MockTransport(site), sleep=sleeps.append, rng=random.Random(7)) as client:
        client.find_product_by_sku("X")
    twin = random.Random(7)
    assert sleeps == [0.25 + twin.uniform(0, 0.25), 0.5 + twin.uniform(0, 0.5)]
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_429_waits_what_retry_after_says(connect: Callable[..., WooCommerceClient], sleeps: list[float]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [
        woo_error(429, "too_many_requests", "Slow down", **{"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": "Fri, 27 Nov 2026 10:00:12 GMT"}), ok([])]})
    assert connect(site).find_product_by_sku("X") is None
    assert sleeps == [7.0, 12.0]  # seconds, then an HTTP date 12 s after the injected clock's now


def test_a_retry_after_beyond_the_limit_is_not_waited_in_process(
        connect: Callable[..., WooCommerceClient], sleeps: list[float]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [httpx.Response(429, headers={"Retry-After": "3600"})]})
    with pytest.raises(WooCommerceUnavailable) as caught:
        connect(site).find_product_by_sku("X")
    assert (caught.value.status, caught.value.retry_after_s, caught.value.retryable) == (429, 3600.0, True)
    assert len(site.requests) == 1
    assert sleeps == []


def test_a_4xx_is_rejected_at_once_with_woocommerces_code_and_never_the_credentials(
        connect: Callable[..., WooCommerceClient], sleeps: list[float], examples: Callable[[str], Any]) -> None:
    site = FakeSite({("PUT", "/wp-json/wc/v3/orders/727"): [
        httpx.Response(404, json=examples("introduction__errors__2.json"))]})
    with pytest.raises(WooCommerceRejected) as caught:
        connect(site).complete_order(727, "Shipped")
    err = caught.value
    assert err.message == ("WooCommerce at shop.example.com: PUT orders/727: answered 404 "
                           "woocommerce_rest_term_invalid: Resource doesn't exist.")
    assert (err.status, err.woo_code, err.retryable, err.code) == (
        404, "woocommerce_rest_term_invalid", False, "woocommerce_rejected")
    assert [(m, p) for m, p, _, _ in site.calls()] == [("PUT", "/wp-json/wc/v3/orders/727")]  # no note after it
    assert sleeps == []


def test_bad_keys_name_the_site_and_the_code_but_not_the_keys(connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [
        woo_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")]})
    with pytest.raises(WooCommerceError) as caught:
        connect(site).find_product_by_sku("X")
    assert str(caught.value) == ("WooCommerce at shop.example.com: GET products: answered 401 "
                                 "woocommerce_rest_cannot_view: Sorry, you cannot list resources.")
    assert KEY not in repr(caught.value.__dict__)
    assert SECRET not in repr(caught.value.__dict__)


def test_a_redirect_is_not_followed(connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [
        httpx.Response(301, headers={"Location": "https://www.example.com/wp-json/wc/v3/products?sku=X"})]})
    with pytest.raises(WooCommerceRejected) as caught:
        connect(site).find_product_by_sku("X")
    assert caught.value.message == ("WooCommerce at shop.example.com: GET products: redirected (301) to "
                                    "www.example.com; use the site's own address")
    assert len(site.requests) == 1


def test_a_page_that_is_not_json_says_where_the_api_should_be(connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [
        httpx.Response(200, text="<html>Welcome</html>", headers={"Content-Type": "text/html; charset=UTF-8"})]})
    with pytest.raises(WooCommerceRejected) as caught:
        connect(site).find_product_by_sku("X")
    assert caught.value.message == ("WooCommerce at shop.example.com: GET products: answered text/html, not JSON "
                                    "(is the REST API at /wp-json/? it needs pretty permalinks)")


def test_a_note_whose_answer_was_lost_is_not_sent_again(
        connect: Callable[..., WooCommerceClient], sleeps: list[float]) -> None:
    site = FakeSite({("POST", "/wp-json/wc/v3/orders/727/notes"): [httpx.ReadTimeout("timed out")]})
    with pytest.raises(WooCommerceUnavailable) as caught:
        connect(site).add_order_note(727, "Your parcel is on its way", customer_note=True)
    assert caught.value.message == ("WooCommerce at shop.example.com: POST orders/727/notes: no answer "
                                    "(ReadTimeout); it may have been applied")
    assert len(site.requests) == 1
    assert sleeps == []


def test_a_note_answered_with_a_server_error_is_not_sent_again(
        connect: Callable[..., WooCommerceClient], sleeps: list[float]) -> None:
    site = FakeSite({("POST", "/wp-json/wc/v3/orders/727/notes"): [httpx.Response(500)]})
    with pytest.raises(WooCommerceUnavailable) as caught:
        connect(site).add_order_note(727, "Shipped")
    assert caught.value.message == ("WooCommerce at shop.example.com: POST orders/727/notes: answered 500; it may "
                                    "have been applied")
    assert len(site.requests) == 1
    assert sleeps == []


def test_a_note_refused_for_the_rate_limit_is_sent_again(
        connect: Callable[..., WooCommerceClient], sleeps: list[float], examples: Callable[[str], Any]) -> None:
    site = FakeSite({("POST", "/wp-json/wc/v3/orders/723/notes"): [
        httpx.Response(429, headers={"Retry-After": "2"}), ok(examples("order-notes__create_an_order_note.json"))]})
    assert connect(site).add_order_note(723, "Order ok!!!") == 281
    assert len(site.requests) == 2
    assert sleeps == [2.0]


# -- orders ---------------------------------------------------------------------------------------------------------

def test_completing_an_order_sets_its_status_then_adds_the_tracking_note(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any]) -> None:
    site = FakeSite({("PUT", "/wp-json/wc/v3/orders/727"): [ok(examples("orders__update_an_order.json"))],
                     ("POST", "/wp-json/wc/v3/orders/727/notes"): [
                         ok(examples("order-notes__create_an_order_note.json"))]})
    connect(site).complete_order(727, "Shipped with UPS, tracking 1Z999AA10123456784")
    assert site.calls() == [
        ("PUT", "/wp-json/wc/v3/orders/727", [], {"status": "completed"}),
        ("POST", "/wp-json/wc/v3/orders/727/notes", [],
         {"note": "Shipped with UPS, tracking 1Z999AA10123456784", "customer_note": False})]


def test_completing_without_a_note_adds_none(connect: Callable[..., WooCommerceClient],
                                             examples: Callable[[str], Any]) -> None:
    site = FakeSite({("PUT", "/wp-json/wc/v3/orders/727"): [ok(examples("orders__update_an_order.json"))]})
    connect(site).complete_order("727", None)
    assert site.calls() == [("PUT", "/wp-json/wc/v3/orders/727", [], {"status": "completed"})]


def test_cancelling_an_open_order_sets_it_cancelled(connect: Callable[..., WooCommerceClient],
                                                   examples: Callable[[str], Any]) -> None:
    order = examples("orders__retrieve_an_order.json")
    site = FakeSite({("GET", "/wp-json/wc/v3/orders/727"): [ok(order)],
                     ("PUT", "/wp-json/wc/v3/orders/727"): [ok({**order, "status": "cancelled"})]})
    assert connect(site).cancel_order(727) is True
    assert site.calls() == [("GET", "/wp-json/wc/v3/orders/727", [], None),
                            ("PUT", "/wp-json/wc/v3/orders/727", [], {"status": "cancelled"})]


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_cancelling_an_order_already_cancelled_or_refunded_succeeds_and_changes_nothing(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any], status: str) -> None:
    order = {**examples("orders__retrieve_an_order.json"), "status": status}
    site = FakeSite({("GET", "/wp-json/wc/v3/orders/727"): [ok(order)]})
    assert connect(site).cancel_order(727) is False
    assert [m for m, _, _, _ in site.calls()] == ["GET"]


def test_an_id_that_is_not_digits_never_reaches_a_path(connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({})
    with pytest.raises(ValueError, match=r"^not a WooCommerce id: '727/notes'$"):
        connect(site).cancel_order("727/notes")
    assert site.requests == []


# -- stock ----------------------------------------------------------------------------------------------------------

def test_setting_stock_manages_it_on_the_product(connect: Callable[..., WooCommerceClient],
                                                 examples: Callable[[str], Any]) -> None:
    product = examples("products__update_a_product.json")
    site = FakeSite({("PUT", "/wp-json/wc/v3/products/794"): [
        ok({**product, "manage_stock": True, "stock_quantity": 12})]})
    assert connect(site).set_stock(794, 12) == 12
    assert site.calls() == [("PUT", "/wp-json/wc/v3/products/794", [], {"manage_stock": True,
                                                                         "stock_quantity": 12})]


def test_a_variations_stock_goes_through_its_product(connect: Callable[..., WooCommerceClient],
                                                     examples: Callable[[str], Any]) -> None:
    variation = examples("product-variations__update_a_product_variation.json")
    site = FakeSite({("PUT", "/wp-json/wc/v3/products/22/variations/733"): [
        ok({**variation, "manage_stock": True, "stock_quantity": 0})]})
    assert connect(site).set_stock(733, 0, parent_id=22) == 0
    assert site.calls() == [("PUT", "/wp-json/wc/v3/products/22/variations/733", [],
                             {"manage_stock": True, "stock_quantity": 0})]


def test_adjusting_stock_reads_then_writes_the_sum(connect: Callable[..., WooCommerceClient],
                                                   examples: Callable[[str], Any]) -> None:
    variation = {**examples("product-variations__update_a_product_variation.json"), "manage_stock": True,
                 "stock_quantity": 10}
    site = FakeSite({("GET", "/wp-json/wc/v3/products/22/variations/733"): [ok(variation)],
                     ("PUT", "/wp-json/wc/v3/products/22/variations/733"): [ok({**variation, "stock_quantity": 7})]})
    assert connect(site).adjust_stock(733, -3, parent_id=22) == 7
    assert site.calls() == [("GET", "/wp-json/wc/v3/products/22/variations/733", [], None),
                            ("PUT", "/wp-json/wc/v3/products/22/variations/733", [],
                             {"manage_stock": True, "stock_quantity": 7})]


def test_adjusting_stock_the_product_does_not_manage_writes_nothing(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/products/794"): [ok(examples("products__update_a_product.json"))]})
    with pytest.raises(WooCommerceRejected) as caught:
        connect(site).adjust_stock(794, 5)
    assert caught.value.message == ("WooCommerce at shop.example.com: product 794 does not manage its own stock; "
                                    "set it with set_stock")
    assert [m for m, _, _, _ in site.calls()] == ["GET"]


def test_a_sku_finds_the_exact_product_or_variation(connect: Callable[..., WooCommerceClient],
                                                    examples: Callable[[str], Any]) -> None:
    variation = {**examples("product-variations__update_a_product_variation.json"), "sku": "TEE,BLK", "type":
                 "variation", "parent_id": 22, "name": "Ship Your Idea - Black", "manage_stock": True,
                 "stock_quantity": 4}
    other = {**examples("products__update_a_product.json"), "sku": "TEE"}
    site = FakeSite({("GET", "/wp-json/wc/v3/products"): [ok([other, variation])]})
    assert connect(site).find_product_by_sku("TEE,BLK") == Product(733, 22, "TEE,BLK", "Ship Your Idea - Black",
                                                                     True, 4)
    assert site.calls() == [("GET", "/wp-json/wc/v3/products", [("sku", "TEE,BLK")], None)]


# -- coupons --------------------------------------------------------------------------------------------------------

COUPON_BODY = {"code": "10off", "discount_type": "percent", "amount": "10.00", "usage_limit": 1,
               "email_restrictions": ["ada@example.com"], "date_expires_gmt": "2026-12-31T23:59:59"}


def new_coupon(client: WooCommerceClient) -> int:
    return client.create_coupon("10off", amount=Decimal("10"), discount_type="percent",
                                expires_at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
                                email_restrictions=["ada@example.com"])


def test_a_coupon_is_created_with_its_limits(connect: Callable[..., WooCommerceClient],
                                             examples: Callable[[str], Any]) -> None:
    site = FakeSite({("POST", "/wp-json/wc/v3/coupons"): [ok(examples("coupons__create_a_coupon.json"))]})
    assert new_coupon(connect(site)) == 719
    assert site.calls() == [("POST", "/wp-json/wc/v3/coupons", [], COUPON_BODY)]


def test_creating_a_coupon_again_returns_the_one_already_there(connect: Callable[..., WooCommerceClient],
                                                               examples: Callable[[str], Any]) -> None:
    site = FakeSite({
        ("POST", "/wp-json/wc/v3/coupons"): [woo_error(400, "woocommerce_rest_coupon_code_already_exists",
                                                       "The coupon code already exists")],
        ("GET", "/wp-json/wc/v3/coupons"): [ok(examples("coupons__list_all_coupons.json"))]})
    assert new_coupon(connect(site)) == 719
    assert site.calls() == [("POST", "/wp-json/wc/v3/coupons", [], COUPON_BODY),
                            ("GET", "/wp-json/wc/v3/coupons", [("code", "10off")], None)]


def test_a_code_taken_by_another_discount_is_refused(connect: Callable[..., WooCommerceClient],
                                                     examples: Callable[[str], Any]) -> None:
    taken = {**examples("coupons__create_a_coupon.json"), "discount_type": "fixed_cart", "amount": "5.00"}
    site = FakeSite({
        ("POST", "/wp-json/wc/v3/coupons"): [woo_error(400, "woocommerce_rest_coupon_code_already_exists",
                                                       "The coupon code already exists")],
        ("GET", "/wp-json/wc/v3/coupons"): [ok([taken])]})
    with pytest.raises(WooCommerceRejected) as caught:
        new_coupon(connect(site))
    assert caught.value.message == ("WooCommerce at shop.example.com: coupon code '10off' is taken by another "
                                    "discount (fixed_cart 5.00)")
    assert [m for m, _, _, _ in site.calls()] == ["POST", "GET"]


def test_a_percent_coupon_over_100_is_refused_before_any_request(connect: Callable[..., WooCommerceClient]) -> None:
    site = FakeSite({})
    with pytest.raises(ValueError, match=r"^a percent coupon's amount is between 0 and 100$"):
        connect(site).create_coupon("X", amount=Decimal("150"), discount_type="percent")
    assert site.requests == []


# -- webhooks -------------------------------------------------------------------------------------------------------

URL = "https://backroom.example.com/webhooks/woocommerce"


def test_ensure_webhooks_creates_the_missing_keeps_the_active_and_reactivates_the_disabled(
        connect: Callable[..., WooCommerceClient], examples: Callable[[str], Any]) -> None:
    documented = examples("webhooks__list_all_webhooks.json")  # customer.created and order.updated elsewhere
    ours = [{**documented[1], "id": 150, "topic": "order.created", "delivery_url": URL},
            {**documented[1], "id": 151, "topic": "order.updated", "delivery_url": URL, "status": "disabled"}]
    created = examples("webhooks__create_a_webhook.json")
    site = FakeSite({
        ("GET", "/wp-json/wc/v3/webhooks"): [ok([*documented, ours[0]], **{"X-WP-TotalPages": "2"}),
                                             ok([ours[1]], **{"X-WP-TotalPages": "2"})],
        ("PUT", "/wp-json/wc/v3/webhooks/151"): [ok({**ours[1], "status": "active"})],
        ("POST", "/wp-json/wc/v3/webhooks"): [ok({**created, "id": 152, "topic": "order.restored"})]})
    done = connect(site).ensure_webhooks(URL, SecretStr("whsec-test"),
                                         ["order.created", "order.updated", "order.restored"])
    assert done == {"order.created": "exists", "order.updated": "reactivated", "order.restored": "created"}
    assert site.calls() == [
        ("GET", "/wp-json/wc/v3/webhooks", [("per_page", "100"), ("page", "1")], None),
        ("GET", "/wp-json/wc/v3/webhooks", [("per_page", "100"), ("page", "2")], None),
        ("PUT", "/wp-json/wc/v3/webhooks/151", [], {"status": "active", "secret": "whsec-test"}),
        ("POST", "/wp-json/wc/v3/webhooks", [], {"name": "backroom: order.restored", "topic": "order.restored",
                                                 "delivery_url": URL, "secret": "whsec-test", "status": "active"})]


def test_ensure_webhooks_twice_changes_nothing_the_second_time(connect: Callable[..., WooCommerceClient],
                                                               examples: Callable[[str], Any]) -> None:
    hook = examples("webhooks__retrieve_a_webhook.json")
    site = FakeSite({("GET", "/wp-json/wc/v3/webhooks"): [
        ok([{**hook, "topic": "order.created", "delivery_url": URL + "/"}], **{"X-WP-TotalPages": "1"})]})
    assert connect(site).ensure_webhooks(URL, SecretStr("s"), ["order.created", "order.created"]) == {
        "order.created": "exists"}
    assert [m for m, _, _, _ in site.calls()] == ["GET"]


def test_a_webhook_post_whose_answer_was_lost_is_not_sent_again(
        connect: Callable[..., WooCommerceClient], sleeps: list[float]) -> None:
    site = FakeSite({("GET", "/wp-json/wc/v3/webhooks"): [ok([], **{"X-WP-TotalPages": "0"})],
                     ("POST", "/wp-json/wc/v3/webhooks"): [httpx.Response(502)]})
    with pytest.raises(WooCommerceUnavailable):
        connect(site).ensure_webhooks(URL, SecretStr("s"), ["order.created"])
    assert [m for m, _, _, _ in site.calls()] == ["GET", "POST"]
    assert sleeps == []
