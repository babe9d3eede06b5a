"""A WooCommerce site in memory: the coupons part of the REST API v3 (``/wp-json/wc/v3/coupons``), over real HTTP.

For tests and the demo. Like WooCommerce it authenticates every request (HTTP Basic with the consumer key and
secret, or — over plain HTTP — OAuth 1.0a one-legged with HMAC-SHA1 or HMAC-SHA256 in the ``Authorization`` header,
the signature checked), validates a new coupon's fields as the REST schema does (``400 rest_invalid_param``),
refuses a code that exists (``400 woocommerce_rest_coupon_code_already_exists``, compared case-insensitively as
WooCommerce does), and answers with the REST shape of a coupon (``201`` on creation).

``fail_next`` makes the API fail (``lose_response``: the coupon is created, then the answer is lost), for retry
tests. Use it on a loopback port (``with WooCommerceEmulator() as site: site.url``) or in-process as an httpx
transport (``httpx.MockTransport(site.handle)``); never expose one to a network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import httpx
from fastapi import FastAPI, Request, Response

from backroom.emulator.serving import ServedApp
from backroom.shared.clock import Clock, SystemClock

DISCOUNT_TYPES = ("percent", "fixed_cart", "fixed_product")
CODE_EXISTS = "woocommerce_rest_coupon_code_already_exists"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUPONS = "/wp-json/wc/v3/coupons"


@dataclass(frozen=True)
class EmulatedCoupon:
    id: int
    code: str
    discount_type: str
    amount: str  # as WooCommerce answers it: a string with two decimals
    usage_limit: int | None
    usage_limit_per_user: int | None
    email_restrictions: tuple[str, ...]
    date_expires_gmt: str | None  # "2026-11-30T09:00:00" (UTC, without an offset, as WooCommerce writes it)
    description: str
    date_created_gmt: str


@dataclass
class _Fault:
    status: int
    lose_response: bool


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, params: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.params = status, code, message, dict(params or {})

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.params:
            data["params"] = self.params
        return {"code": self.code, "message": self.message, "data": data}


class WooCommerceEmulator(ServedApp):
    def __init__(self, consumer_key: str = "ck_emulator", consumer_secret: str = "cs_emulator",
                 clock: Clock | None = None) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._coupons: dict[int, EmulatedCoupon] = {}
        self._next_id = 100
        self._faults: list[_Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path), in the order they arrived
        self.app = self._build_app()

    # --- running on a port -------------------------------------------------------------------------------------

    def thread_name(self) -> str:
        return "woocommerce-emulator"

    # --- test controls -----------------------------------------------------------------------------------------

    def fail_next(self, status: int = 500, *, times: int = 1, lose_response: bool = False) -> None:
        """The next ``times`` requests answer ``status``; with ``lose_response`` they run first (only the answer
        is lost)."""
        with self._lock:
            self._faults += [_Fault(status, lose_response) for _ in range(times)]

    @property
    def coupons(self) -> list[EmulatedCoupon]:
        with self._lock:
            return list(self._coupons.values())

    # --- HTTP faces --------------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """An ``httpx.MockTransport`` handler."""
        status, payload = self._answer(request.method, str(request.url.copy_with(query=None)), request.url.path,
                                       list(request.url.params.multi_items()), request.headers.get("authorization"),
                                       request.read())
        return httpx.Response(status, json=payload)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="WooCommerce emulator", openapi_url=None, docs_url=None, redoc_url=None)

        @app.api_route("/wp-json/wc/v3/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
        async def rest(rest: str, request: Request) -> Response:
            url = str(request.url.replace(query=""))
            status, payload = self._answer(request.method, url.rstrip("?"), request.url.path,
                                           parse_qsl(request.url.query, keep_blank_values=True),
                                           request.headers.get("authorization"), await request.body())
            return Response(_dumps(payload), status, media_type="application/json")

        return app

    def _answer(self, method: str, url: str, path: str, query: Sequence[tuple[str, str]], authorization: str | None,
                body: bytes) -> tuple[int, Any]:
        with self._lock:
            self.requests.append((method, path))
            try:
                self._authenticate(method, url, query, authorization)
                fault = self._faults.pop(0) if self._faults else None
                if fault is not None and not fault.lose_response:
                    raise _Refused(fault.status, "emulated_failure", "Emulated failure.")
                status, payload = self._route(method, path, dict(query), body)
            except _Refused as refused:
                return refused.status, refused.body()
            if fault is not None:  # it ran; only the answer is lost
                return fault.status, {"code": "emulated_failure", "message": "Emulated lost response.",
                                      "data": {"status": fault.status}}
            return status, payload

    def _authenticate(self, method: str, url: str, query: Sequence[tuple[str, str]], authorization: str | None) -> None:
        refused = _Refused(401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature "
                           "does not match.")
        header = authorization or ""
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise refused from None
            if not (hmac.compare_digest(key, self.consumer_key) and hmac.compare_digest(secret, self.consumer_secret)):
                raise _Refused(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            return
        if not header.startswith("OAuth "):
            raise _Refused(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header[6:])}
        if oauth.get("oauth_consumer_key") != self.consumer_key:
            raise _Refused(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        method_name = oauth.get("oauth_signature_method", "")
        digest = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(method_name)
        if digest is None:
            raise _Refused(401, "woocommerce_rest_authentication_error", "Invalid signature method.")
        params = [*query, *((k, v) for k, v in oauth.items() if k != "oauth_signature")]
        pairs = sorted((_pct(k), _pct(v)) for k, v in params)
        base = "&".join((method.upper(), _pct(url), _pct("&".join(f"{k}={v}" for k, v in pairs))))
        expected = base64.b64encode(hmac.new(f"{self.consumer_secret}&".encode(), base.encode(), digest).digest())
        if not hmac.compare_digest(expected.decode(), oauth.get("oauth_signature", "")):
            raise refused

    # --- the coupons endpoint ----------------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        if path.rstrip("/") == _COUPONS and method == "POST":
            return 201, self._rest(self._create(_body(body)))
        if path.rstrip("/") == _COUPONS and method == "GET":
            code = query.get("code", "").strip().lower()
            found = [c for c in self._coupons.values() if not code or c.code.lower() == code]
            return 200, [self._rest(c) for c in sorted(found, key=lambda c: c.id)]
        match = re.fullmatch(rf"{_COUPONS}/(\d+)", path)
        if match and method == "GET":
            coupon = self._coupons.get(int(match[1]))
            if coupon is None:
                raise _Refused(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
            return 200, self._rest(coupon)
        raise _Refused(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _create(self, spec: Mapping[str, Any]) -> EmulatedCoupon:
        code = str(spec.get("code") or "").strip()
        if not code:
            raise _Refused(400, "rest_missing_callback_param", "Missing parameter(s): code", {"code": "code"})
        discount_type = spec.get("discount_type", "fixed_cart")
        if discount_type not in DISCOUNT_TYPES:
            raise _invalid("discount_type", f"discount_type is not one of {', '.join(DISCOUNT_TYPES)}.")
        amount = _amount(spec.get("amount", "0"))
        if amount is None or amount < 0:
            raise _invalid("amount", "amount is not of type string.")
        limits = {name: _limit(spec, name) for name in ("usage_limit", "usage_limit_per_user")}
        emails = spec.get("email_restrictions", [])
        if not isinstance(emails, list) or not all(isinstance(e, str) and _EMAIL.match(e) for e in emails):
            raise _invalid("email_restrictions", "email_restrictions[0] is not a valid email address.")
        expires = spec.get("date_expires_gmt", spec.get("date_expires"))
        if expires is not None and _gmt(expires) is None:
            raise _invalid("date_expires_gmt", "Invalid date.")
        if any(c.code.lower() == code.lower() for c in self._coupons.values()):
            raise _Refused(400, CODE_EXISTS, "The coupon code already exists.")
        self._next_id += 1
        coupon = EmulatedCoupon(self._next_id, code, str(discount_type), f"{amount:.2f}", limits["usage_limit"],
                                limits["usage_limit_per_user"], tuple(e.lower() for e in emails),
                                _gmt(expires) if expires is not None else None, str(spec.get("description") or ""),
                                self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        self._coupons[coupon.id] = coupon
        return coupon

    @staticmethod
    def _rest(c: EmulatedCoupon) -> dict[str, Any]:
        """The REST API's coupon (dates without an offset; ``*_gmt`` in UTC, the others in the site's time zone,
        which is UTC here)."""
        return {"id": c.id, "code": c.code, "amount": c.amount, "status": "publish",
                "date_created": c.date_created_gmt, "date_created_gmt": c.date_created_gmt,
                "date_modified": c.date_created_gmt, "date_modified_gmt": c.date_created_gmt,
                "discount_type": c.discount_type, "description": c.description,
                "date_expires": c.date_expires_gmt, "date_expires_gmt": c.date_expires_gmt, "usage_count": 0,
                "individual_use": False, "product_ids": [], "excluded_product_ids": [],
                "usage_limit": c.usage_limit, "usage_limit_per_user": c.usage_limit_per_user,
                "limit_usage_to_x_items": None, "free_shipping": False, "product_categories": [],
                "excluded_product_categories": [], "exclude_sale_items": False, "minimum_amount": "0.00",
                "maximum_amount": "0.00", "email_restrictions": list(c.email_restrictions), "used_by": [],
                "meta_data": []}


def _invalid(param: str, message: str) -> _Refused:
    return _Refused(400, "rest_invalid_param", f"Invalid parameter(s): {param}", {param: message})


def _body(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Refused(400, "rest_invalid_json", "Invalid JSON body passed.") from None
    if not isinstance(value, dict):
        raise _Refused(400, "rest_invalid_json", "Invalid JSON body passed.")
    return value


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _limit(spec: Mapping[str, Any], name: str) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(name, f"{name} is not of type integer.")
    return value or None  # 0 means no limit


def _gmt(value: Any) -> str | None:
    """A REST date (``2026-11-30T09:00:00``; an offset, if any, converted) in UTC without an offset."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _pct(value: str) -> str:
    return quote(value, safe="~-._")


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


__all__ = ["EmulatedCoupon", "WooCommerceEmulator"]
