"""The WooCommerce REST API v3 (``<site>/wp-json/wc/v3/``): what backroom sends a store (order status and notes,
stock, coupons, its own webhooks) and the reconciliation read (orders modified since a moment).

One exception tree; the message names the site, the request and WooCommerce's own ``code``, never a credential::

    EffectFailed                       (backroom.errors) an effect's remote call failed
    └── WooCommerceError               anything that went wrong talking to a site; ``retryable`` says what to do
        ├── WooCommerceUnavailable     retryable: 429, 5xx, timeout or connection error, still so after max_attempts
        └── WooCommerceRejected        not retryable: a 4xx (``status``, ``woo_code``), a redirect, or not JSON

Authentication follows WooCommerce's page: over HTTPS, HTTP Basic with the consumer key and secret; over plain HTTP,
OAuth 1.0a one-legged (HMAC-SHA256) in the ``Authorization`` header, never in the query string (URLs end up in
access logs). Plain HTTP is accepted only for a site on this machine or a private network (a local test site): over
the internet every order's personal data, and the webhook secret backroom sets, would travel in clear.

Retries: 429 (``Retry-After`` honoured up to ``max_retry_after_s``), 5xx and connection errors are retried with
exponential backoff and jitter, up to ``max_attempts``. A request that may have been applied (a POST whose answer
was lost, or that answered 5xx) is retried only if repeating it is harmless; an order note is not (a customer note
emails the customer), nor a new webhook (``ensure_webhooks`` is safe to run again instead).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import hmac
import ipaddress
import logging
import random
import secrets
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from backroom.config import WooCommerceSettings
from backroom.errors import ConfigurationError, EffectFailed
from backroom.shared.clock import Clock, SystemClock

log = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3/"
#: the REST API key access level backroom needs (WooCommerce → Settings → Advanced → REST API)
KEY_PERMISSIONS = "Read/Write"
#: what that access is used for
KEY_USES = (
    "read: orders (the reconciliation poll), products by SKU, webhooks, coupons by code",
    "write: order status and notes, product and variation stock, coupons, backroom's webhooks",
)
COUPON_CODE_EXISTS = "woocommerce_rest_coupon_code_already_exists"
_MAX_PER_PAGE = 100  # WordPress refuses a larger per_page


class WooCommerceError(EffectFailed):
    code = "woocommerce_error"

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, woo_code: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.woo_code = woo_code


class WooCommerceUnavailable(WooCommerceError):
    code = "woocommerce_unavailable"

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, retryable=True, status=status)
        self.retry_after_s = retry_after_s


class WooCommerceRejected(WooCommerceError):
    code = "woocommerce_rejected"

    def __init__(self, message: str, *, status: int | None = None, woo_code: str = "") -> None:
        super().__init__(message, retryable=False, status=status, woo_code=woo_code)


@dataclass(frozen=True)
class Product:
    """A product or a variation (``parent_id`` is its variable product), as stock updates need it."""

    id: int
    parent_id: int | None
    sku: str
    name: str
    manage_stock: bool
    stock_quantity: int | None


class WooCommerceClient:
    def __init__(self, site_url: str, consumer_key: SecretStr, consumer_secret: SecretStr, *,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 10.0, max_attempts: int = 5,
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 8.0, max_retry_after_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Clock | None = None, nonce: Callable[[], str] = lambda: secrets.token_hex(16)) -> None:
        self.host = site_host(site_url)
        parts = urlsplit(site_url.strip())
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._clock = clock or SystemClock()
        auth: httpx.Auth = (
            httpx.BasicAuth(consumer_key.get_secret_value(), consumer_secret.get_secret_value())
            if parts.scheme == "https" else _OAuth1(consumer_key, consumer_secret, self._clock, nonce))
        self._http = httpx.Client(
            base_url=f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{API_PATH}", auth=auth,
            timeout=timeout_s, transport=transport,
            headers={"Accept": "application/json", "User-Agent": "backroom (WooCommerce REST v3)"})
        self._max_attempts = max_attempts
        self._backoff = (backoff_base_s, backoff_cap_s)
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- reconciliation reads ---------------------------------------------------------------------------------------

    def orders_modified_since(self, since: datetime, per_page: int = 100) -> Iterator[dict[str, Any]]:
        """Every order modified after ``since``, in the REST shape webhooks deliver (map each with
        ``mapping.map_webhook("order.updated", …)``). Sorted by id, not by modification date: an order modified
        while the pages are read keeps its place, so none is skipped (one may come twice; importing is idempotent).
        Take the next cursor from ``modified_at`` of what came back, and overlap it a little."""
        if since.tzinfo is None:
            raise ValueError("since needs a timezone")
        return self._pages("orders", {
            "modified_after": _gmt(since), "dates_are_gmt": "true", "orderby": "id", "order": "asc",
        }, per_page)

    def find_product_by_sku(self, sku: str) -> Product | None:
        """The product or variation with exactly this SKU (WooCommerce's filter also splits on commas)."""
        found = self._json("GET", "products", params={"sku": sku})
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict) and item.get("sku") == sku:
                return _product(item)
        return None

    # -- orders -----------------------------------------------------------------------------------------------------

    def complete_order(self, order_id: int | str, note: str | None = None, *, notify_customer: bool = False) -> None:
        """Status ``completed`` (WooCommerce sends its own "order completed" email unless turned off), then the note
        (a shipment's carrier and tracking: WooCommerce core has no tracking fields)."""
        self._json("PUT", f"orders/{_id(order_id)}", body={"status": "completed"})
        if note:
            self.add_order_note(order_id, note, customer_note=notify_customer)

    def cancel_order(self, order_id: int | str) -> bool:
        """Status ``cancelled``; False when it already was (or was refunded, which is left as it is)."""
        order = self._json("GET", f"orders/{_id(order_id)}")
        if isinstance(order, dict) and order.get("status") in ("cancelled", "refunded"):
            return False
        self._json("PUT", f"orders/{_id(order_id)}", body={"status": "cancelled"})
        return True

    def add_order_note(self, order_id: int | str, note: str, customer_note: bool = False) -> int:
        """A private note, or with ``customer_note`` one the customer sees and is emailed about; the note's id."""
        created = self._json("POST", f"orders/{_id(order_id)}/notes",
                             body={"note": note, "customer_note": customer_note}, repeatable=False)
        return _int_field(created, "id")

    # -- stock ------------------------------------------------------------------------------------------------------

    def set_stock(self, product_id: int, quantity: int, *, parent_id: int | None = None) -> int:
        """Stock of a product (or, with its ``parent_id``, a variation), managed from now on; the new quantity."""
        updated = self._json("PUT", _product_path(product_id, parent_id),
                             body={"manage_stock": True, "stock_quantity": quantity})
        return _int_field(updated, "stock_quantity")

    def adjust_stock(self, product_id: int, delta: int, *, parent_id: int | None = None) -> int:
        """Stock moved by ``delta``; the new quantity. Read then write: the REST API has no atomic increment, so a
        sale in between is overwritten. Prefer ``set_stock`` from backroom's ledger, which reconciles."""
        current = self._json("GET", _product_path(product_id, parent_id))
        if not isinstance(current, dict) or current.get("manage_stock") is not True:
            raise WooCommerceRejected(f"WooCommerce at {self.host}: product {product_id} does not manage its own "
                                      "stock; set it with set_stock", woo_code="stock_not_managed")
        return self.set_stock(product_id, _int_field(current, "stock_quantity") + delta, parent_id=parent_id)

    # -- coupons ----------------------------------------------------------------------------------------------------

    def create_coupon(self, code: str, *, amount: Decimal, discount_type: Literal["percent", "fixed_cart"],
                      expires_at: datetime | None = None, usage_limit: int | None = 1,
                      email_restrictions: Sequence[str] = (), description: str = "",
                      usage_limit_per_user: int | None = None) -> int:
        """The coupon's id. Idempotent: a coupon already there with this code and the same discount is returned
        (a retry after a lost answer); one with another discount is refused."""
        if discount_type == "percent" and not Decimal(0) < amount <= Decimal(100):
            raise ValueError("a percent coupon's amount is between 0 and 100")
        if amount <= 0:
            raise ValueError("a coupon's amount must be positive")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at needs a timezone")
        body: dict[str, Any] = {"code": code, "discount_type": discount_type, "amount": _money(amount),
                                "usage_limit": usage_limit, "email_restrictions": list(email_restrictions)}
        if usage_limit_per_user is not None:
            body["usage_limit_per_user"] = usage_limit_per_user
        if expires_at is not None:
            body["date_expires_gmt"] = _gmt(expires_at)
        if description:
            body["description"] = description
        try:
            return _int_field(self._json("POST", "coupons", body=body), "id")
        except WooCommerceRejected as err:
            if err.woo_code != COUPON_CODE_EXISTS:
                raise
            return self._same_coupon(code, discount_type, amount, err)

    def _same_coupon(self, code: str, discount_type: str, amount: Decimal, exists: WooCommerceRejected) -> int:
        found = self._json("GET", "coupons", params={"code": code})
        for coupon in found if isinstance(found, list) else []:
            if isinstance(coupon, dict) and str(coupon.get("code", "")).lower() == code.lower():
                if coupon.get("discount_type") == discount_type and _decimal(coupon.get("amount")) == amount:
                    return _int_field(coupon, "id")
                raise WooCommerceRejected(
                    f"WooCommerce at {self.host}: coupon code {code!r} is taken by another discount "
                    f"({coupon.get('discount_type')} {coupon.get('amount')})", status=exists.status,
                    woo_code=COUPON_CODE_EXISTS)
        raise exists

    # -- webhooks ---------------------------------------------------------------------------------------------------

    def ensure_webhooks(self, delivery_url: str, secret: SecretStr, topics: Sequence[str]) -> dict[str, str]:
        """A webhook per topic delivering to ``delivery_url`` with ``secret``: topic → ``created``, ``exists`` or
        ``reactivated`` (one WooCommerce disabled after failed deliveries, or an admin paused, is set active again
        with the secret). WooCommerce never shows a webhook's secret, so an active one is trusted to have it. A
        webhook created through ``/wc/v3/`` delivers the v3 payload (WooCommerce sets ``wp_api_v3`` itself)."""
        existing = [w for w in self._pages("webhooks", {}, _MAX_PER_PAGE)
                    if _same_url(w.get("delivery_url"), delivery_url)]
        done: dict[str, str] = {}
        for topic in dict.fromkeys(topics):
            mine = [w for w in existing if w.get("topic") == topic]
            if any(w.get("status") == "active" for w in mine):
                done[topic] = "exists"
            elif mine:
                self._json("PUT", f"webhooks/{_id(mine[0].get('id'))}",
                           body={"status": "active", "secret": secret.get_secret_value()})
                done[topic] = "reactivated"
            else:
                self._json("POST", "webhooks", repeatable=False, body={
                    "name": f"backroom: {topic}", "topic": topic, "delivery_url": delivery_url,
                    "secret": secret.get_secret_value(), "status": "active"})
                done[topic] = "created"
        return done

    # -- transport --------------------------------------------------------------------------------------------------

    def _pages(self, path: str, params: Mapping[str, str], per_page: int) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page until ``X-WP-TotalPages`` (or, without it, a short page)."""
        if not 1 <= per_page <= _MAX_PER_PAGE:
            raise ValueError(f"per_page is between 1 and {_MAX_PER_PAGE}")
        return self._walk(path, params, per_page)

    def _walk(self, path: str, params: Mapping[str, str], per_page: int) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            response = self._send("GET", path, params={**params, "per_page": str(per_page), "page": str(page)})
            items = self._decode(response, "GET", path)
            if not isinstance(items, list):
                raise WooCommerceRejected(f"WooCommerce at {self.host}: GET {path} answered no list",
                                          woo_code="unexpected_response")
            yield from (item for item in items if isinstance(item, dict))
            total = response.headers.get("x-wp-totalpages", "")
            last_page = int(total) if total.isdigit() else page + (len(items) == per_page)
            if not items or page >= last_page:
                return
            page += 1

    def _json(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              body: dict[str, Any] | None = None, repeatable: bool = True) -> Any:
        return self._decode(self._send(method, path, params=params, body=body, repeatable=repeatable), method, path)

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              body: dict[str, Any] | None = None, repeatable: bool = True) -> httpx.Response:
        where = f"WooCommerce at {self.host}: {method} {path}"
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            try:
                response = self._http.request(method, path, params=params, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:  # never reached the site
                if last:
                    raise WooCommerceUnavailable(f"{where}: cannot connect ({type(err).__name__})") from err
                self._wait(attempt, None, where, type(err).__name__)
                continue
            except httpx.TransportError as err:  # sent, answer lost: it may have been applied
                if last or not repeatable:
                    raise WooCommerceUnavailable(f"{where}: no answer ({type(err).__name__}); it may have been "
                                                 "applied") from err
                self._wait(attempt, None, where, type(err).__name__)
                continue
            status = response.status_code
            if status != 429 and status < 500:
                return response
            retry_after = _retry_after(response.headers.get("retry-after"), self._clock.now())
            unsure = status >= 500 and not repeatable
            if last or unsure or (retry_after or 0) > self._max_retry_after_s:
                maybe = "; it may have been applied" if unsure else ""
                raise WooCommerceUnavailable(f"{where}: answered {status}{_woo_reason(response)}{maybe}",
                                             status=status, retry_after_s=retry_after)
            self._wait(attempt, retry_after, where, str(status))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, attempt: int, retry_after: float | None, where: str, why: str) -> None:
        base, cap = self._backoff
        delay = min(cap, base * 2 ** (attempt - 1))
        seconds = retry_after if retry_after is not None else delay / 2 + self._rng.uniform(0, delay / 2)
        log.warning("%s: %s, attempt %d of %d, retrying in %.2f s", where, why, attempt, self._max_attempts, seconds)
        self._sleep(seconds)

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        where = f"WooCommerce at {self.host}: {method} {path}"
        if 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("location", "")).netloc or "elsewhere"
            raise WooCommerceRejected(f"{where}: redirected ({response.status_code}) to {target}; use the site's "
                                      "own address", status=response.status_code, woo_code="redirected")
        if response.status_code >= 400:
            code, _ = _woo_error(response)
            raise WooCommerceRejected(f"{where}: answered {response.status_code}{_woo_reason(response)}",
                                      status=response.status_code, woo_code=code)
        try:
            return response.json()
        except ValueError as err:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise WooCommerceRejected(f"{where}: answered {kind}, not JSON (is the REST API at /wp-json/? it needs "
                                      "pretty permalinks)", status=response.status_code,
                                      woo_code="not_json") from err


class _OAuth1(httpx.Auth):
    """OAuth 1.0a one-legged, HMAC-SHA256, as WooCommerce checks it over plain HTTP: the base string covers the
    method, the URL without its query, and every query and ``oauth_*`` parameter (a JSON body is not signed)."""

    def __init__(self, key: SecretStr, secret: SecretStr, clock: Clock, nonce: Callable[[], str]) -> None:
        self._key, self._secret, self._clock, self._nonce = key, secret, clock, nonce

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = {"oauth_consumer_key": self._key.get_secret_value(), "oauth_nonce": self._nonce(),
                 "oauth_signature_method": "HMAC-SHA256",
                 "oauth_timestamp": str(int(self._clock.now().timestamp()))}
        url = str(request.url.copy_with(query=None))
        oauth["oauth_signature"] = oauth1_signature(
            request.method, url, [*request.url.params.multi_items(), *oauth.items()], self._secret)
        request.headers["Authorization"] = "OAuth " + ", ".join(f'{k}="{_pct(v)}"' for k, v in oauth.items())
        yield request


def oauth1_signature(method: str, url: str, params: Sequence[tuple[str, str]], secret: SecretStr) -> str:
    """Base64 HMAC-SHA256 of ``METHOD&url&params`` (each percent-encoded, parameters sorted by encoded key and
    value), keyed with the consumer secret and ``&`` (one-legged: there is no token secret)."""
    pairs = sorted((_pct(k), _pct(v)) for k, v in params)
    base = "&".join((method.upper(), _pct(url), _pct("&".join(f"{k}={v}" for k, v in pairs))))
    digest = hmac.new(f"{secret.get_secret_value()}&".encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def site_host(site_url: str) -> str:
    """The host of a WooCommerce site's URL, which names the site in settings; ValueError for a URL the client
    refuses (not http(s), credentials in it, plain http beyond a local test site)."""
    parts = urlsplit(site_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username is not None:
        raise ValueError("not a site URL (https://shop.example.com, without credentials)")
    if parts.scheme == "http" and not allows_plain_http(host):
        raise ValueError(f"{host}: use https:// (plain http is accepted only for a local test site)")
    return host


def allows_plain_http(host: str) -> bool:
    """A host plain HTTP may reach: this machine or a private network (``localhost``, ``*.test``, ``*.local``,
    a single-label name such as a compose service, a private address)."""
    host = host.lower().strip("[]")
    if host == "localhost" or ("." not in host and ":" not in host):
        return True
    if host.endswith((".localhost", ".test", ".local", ".internal")):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def modified_at(order: Mapping[str, Any]) -> datetime | None:
    """When an order (REST shape) was last modified, in UTC (``date_modified_gmt`` carries no offset)."""
    value = order.get("date_modified_gmt")
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.removesuffix("Z"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _product(item: Mapping[str, Any]) -> Product:
    quantity = item.get("stock_quantity")
    return Product(
        id=_int_field(item, "id"),
        parent_id=_int_field(item, "parent_id") if item.get("type") == "variation" else None,
        sku=str(item.get("sku") or ""), name=str(item.get("name") or ""),
        manage_stock=item.get("manage_stock") is True,
        stock_quantity=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else None)


def _product_path(product_id: int, parent_id: int | None) -> str:
    if parent_id is None:
        return f"products/{_id(product_id)}"
    return f"products/{_id(parent_id)}/variations/{_id(product_id)}"


def _id(value: Any) -> str:
    """A platform id placed in a path: digits only, so nothing else can be (``../``, a query)."""
    text = str(value)
    if isinstance(value, bool) or not text.isdigit():
        raise ValueError(f"not a WooCommerce id: {value!r}")
    return text


def _int_field(data: Any, name: str) -> int:
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WooCommerceRejected(f"WooCommerce answered without an integer {name}", woo_code="unexpected_response")
    return value


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _same_url(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.rstrip("/") == b.rstrip("/")


def _pct(text: str) -> str:
    """RFC 3986 percent-encoding (PHP's ``rawurlencode``, which WooCommerce uses to check the signature)."""
    return quote(text, safe="")


def _woo_error(response: httpx.Response) -> tuple[str, str]:
    """WooCommerce's ``code`` and ``message`` from an error body (``{"code", "message", "data": {"status"}}``)."""
    with contextlib.suppress(ValueError):
        data = response.json()
        if isinstance(data, dict):
            return str(data.get("code") or "")[:100], str(data.get("message") or "")[:300]
    return "", ""


def _woo_reason(response: httpx.Response) -> str:
    code, message = _woo_error(response)
    return f" {code}: {message}" if code else ""


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is not None:
            return max(0.0, (when - now).total_seconds())
    return None


def woocommerce_client(settings: WooCommerceSettings, site_url: str, **kwargs: Any) -> WooCommerceClient:
    """The client for a site whose REST key is in ``BACKROOM_WOOCOMMERCE__CONSUMER_KEYS`` / ``__CONSUMER_SECRETS``."""
    host = site_host(site_url)
    keys = {k.strip().lower(): v for k, v in settings.consumer_keys.items()}
    secrets_ = {k.strip().lower(): v for k, v in settings.consumer_secrets.items()}
    if host not in keys or host not in secrets_:
        raise ConfigurationError(f"no WooCommerce REST key for {host}: set BACKROOM_WOOCOMMERCE__CONSUMER_KEYS and "
                                 "BACKROOM_WOOCOMMERCE__CONSUMER_SECRETS")
    return WooCommerceClient(site_url, keys[host], secrets_[host], **kwargs)
