"""A Shopify store in memory: the part of the GraphQL Admin API that backroom's client calls, and real signed webhooks.

For tests and the demo. GraphQL requests are dispatched on ``operationName`` (the query text is not parsed), so
the emulator answers exactly the named operations of :mod:`backroom.connectors.shopify.client`. Like Shopify it
checks ``X-Shopify-Access-Token`` (401), reports ``extensions.cost`` on every response from a leaky bucket on its
clock, answers ``THROTTLED`` when the bucket is short and ``MAX_COST_EXCEEDED`` above 1,000 points, honours
``@idempotent`` keys on inventory adjustments and refuses a discount code that is taken.

Webhooks are HTTP POSTs of Shopify's REST-shaped JSON, signed with the webhook secret, to every subscribed callback.
Deliveries misbehave as Shopify's may, deterministically from ``seed``: sent twice with one event id
(``duplicate_rate``), held back and sent after later ones (``reorder_rate``; released with the next delivery or by
``flush()``), or never sent (``drop_rate``: the reconciliation poll must find the order). Every attempt is kept in
``deliveries``. ``fail_next`` and ``lose_next_response`` make the API itself fail, for retry tests.

Use it in-process as an httpx transport (``httpx.MockTransport(emulator.handle)``), as an ASGI app (``.app``), or
on a loopback port (``with ShopifyEmulator() as shop: shop.url``). ``/_emulator/...`` endpoints drive it over HTTP
(place, update and cancel orders, flush, list deliveries): never expose one to a network.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import BackgroundTasks, FastAPI, Request, Response

from backroom.emulator.serving import ServedApp
from backroom.shared.clock import Clock, SystemClock
from backroom.shared.hashing import sign

API_VERSION = "2026-10"
MAX_QUERY_COST = 1000
MUTATION_COST = 10
#: ids above 2^53, beyond what a JavaScript float holds exactly
FIRST_ID = 2**53 + 1
FIRST_ORDER_NUMBER = 1001
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
INVENTORY_REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated", "movement_received",
    "movement_canceled", "other", "promotion", "quality_control", "received", "reservation_created",
    "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage"})
CANCEL_REASONS = frozenset({"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"})
DEFAULT_ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "10 Downing Street", "address2": "",
                   "city": "London", "zip": "SW1A 2AA", "province": "", "province_code": "",
                   "country": "United Kingdom", "country_code": "GB", "phone": "", "company": ""}


# --- what tests read back ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookDelivery:
    """One delivery attempt (a dropped one was never sent: ``status_code`` None, ``dropped`` True)."""

    topic: str
    event_id: str
    webhook_id: str
    order_id: str
    url: str
    status_code: int | None
    dropped: bool = False
    duplicated: bool = False  # the second send of the same event
    reordered: bool = False  # held back, then sent after later deliveries
    error: str = ""


@dataclass(frozen=True)
class EmulatedFulfillment:
    id: str
    order_id: str
    company: str
    number: str
    url: str
    notify_customer: bool


@dataclass(frozen=True)
class EmulatedDiscount:
    id: str
    code: str
    title: str
    percentage: Decimal | None  # a fraction, as Shopify holds it (0.15 = 15 %)
    amount: Decimal | None
    starts_at: str
    ends_at: str
    usage_limit: int | None
    applies_once_per_customer: bool = False
    customer_ids: tuple[str, ...] = ()  # numeric Shopify customer ids; empty: every buyer (context ``all``)


@dataclass(frozen=True)
class EmulatedCustomer:
    id: str
    email: str
    marketing_state: str  # SUBSCRIBED, NOT_SUBSCRIBED, UNSUBSCRIBED, PENDING
    consent_updated_at: str  # ISO 8601, as the last change said ("" when never)


@dataclass(frozen=True)
class EmulatedOrder:
    id: str
    name: str
    email: str
    financial_status: str
    cancelled: bool
    cancel_reason: str
    tags: tuple[str, ...]
    note: str
    fulfillment_order_statuses: tuple[str, ...]
    updated_at: datetime


# --- the store's state -------------------------------------------------------------------------------------------

@dataclass
class _Line:
    id: str
    variant_id: str
    sku: str
    title: str
    variant_title: str
    quantity: int
    price: Decimal
    requires_shipping: bool


@dataclass
class _Fulfillment:
    id: str
    created_at: datetime
    company: str
    number: str
    url: str
    notify_customer: bool


@dataclass
class _FulfillmentOrder:
    id: str
    status: str = "OPEN"


@dataclass
class _Order:
    id: str
    number: int
    email: str
    created_at: datetime
    updated_at: datetime
    currency: str
    financial_status: str
    customer_id: str
    first_name: str
    last_name: str
    shipping: dict[str, str] | None
    billing: dict[str, str] | None
    lines: list[_Line]
    fulfillment_orders: list[_FulfillmentOrder]
    fulfillments: list[_Fulfillment] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    tags: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass(frozen=True)
class _Event:
    topic: str
    order_id: str
    body: bytes
    event_id: str
    triggered_at: datetime


@dataclass(frozen=True)
class _Send:
    event: _Event
    url: str
    webhook_id: str


@dataclass
class _Fault:
    status: int
    operation: str | None
    retry_after: float | None
    lose_response: bool  # run the operation, then answer as if the response were lost


class _GraphQLError(Exception):
    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: Any
    headers: dict[str, str]
    events: tuple[_Event, ...] = ()


class ShopifyEmulator(ServedApp):
    def __init__(self, shop: str = "emulator.myshopify.com", access_token: str = "shpat_emulator",
                 webhook_secret: str = "emulator-webhook-secret", seed: int = 0, clock: Clock | None = None,
                 duplicate_rate: float = 0.0, reorder_rate: float = 0.0, drop_rate: float = 0.0,
                 bucket_max: float = 1000.0, restore_rate: float = 50.0, *, currency: str = "GBP",
                 timezone: str = "UTC", api_version: str = API_VERSION, delivery_timeout_s: float = 10.0) -> None:
        self.shop = shop
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.api_version = api_version
        self.currency = currency
        self.duplicate_rate, self.reorder_rate, self.drop_rate = duplicate_rate, reorder_rate, drop_rate
        self.bucket_max, self.restore_rate = float(bucket_max), float(restore_rate)
        self.delivery_timeout_s = delivery_timeout_s
        self._clock: Clock = clock or SystemClock()
        self._zone = ZoneInfo(timezone)
        self._chaos = random.Random(seed)
        self._event_ids = random.Random(seed + 1)
        self._webhook_ids = random.Random(seed + 2)
        self._lock = threading.RLock()
        self._next_id = FIRST_ID
        self._next_number = FIRST_ORDER_NUMBER
        self._orders: dict[str, _Order] = {}
        self._variants: dict[str, tuple[str, str]] = {}  # sku → (variant id, inventory item id)
        self.location_id = self._new_id()
        self._locations = {self.location_id}
        self._levels: dict[tuple[str, str], int] = {}
        self._idempotent: dict[str, dict[str, Any]] = {}
        self._discounts: dict[str, EmulatedDiscount] = {}
        self._customers: dict[str, EmulatedCustomer] = {}
        self._subscriptions: list[tuple[str, str, str]] = []  # (id, topic enum, uri)
        self._bucket = float(bucket_max)
        self._bucket_at = self._clock.now()
        self._faults: list[_Fault] = []
        self._deliveries: list[WebhookDelivery] = []
        self._held: list[_Send] = []
        self._delivery_lock = threading.Lock()
        self.requests: list[str] = []  # operation names, in the order they arrived
        self.app = self._build_app()

    # --- running on a port -------------------------------------------------------------------------------------

    def thread_name(self) -> str:
        return f"shopify-emulator-{self.shop}"

    # --- test controls -----------------------------------------------------------------------------------------

    def place_order(self, email: str, lines: Sequence[tuple[str, int, Decimal | str]], *,
                    first_name: str = "Ada", last_name: str = "Lovelace",
                    shipping_address: Mapping[str, str] | None = None,
                    billing_address: Mapping[str, str] | None = None, financial_status: str = "paid",
                    currency: str | None = None, no_shipping: Collection[str] = ()) -> str:
        """A new order (lines of (sku, quantity, unit price); a SKU in ``no_shipping`` needs no shipping; "" is
        a line without a SKU), sent as ``orders/create``. Its numeric id."""
        with self._lock:
            now = self._clock.now()
            order_id = self._new_id()
            shipping = {**DEFAULT_ADDRESS, "first_name": first_name, "last_name": last_name, **(shipping_address or {})}
            order = _Order(
                id=order_id, number=self._next_number, email=email, created_at=now, updated_at=now,
                currency=currency or self.currency, financial_status=financial_status, customer_id=self._new_id(),
                first_name=first_name, last_name=last_name, shipping=shipping,
                billing=dict(billing_address) if billing_address else dict(shipping),
                lines=[self._line(sku, qty, price, sku not in no_shipping) for sku, qty, price in lines],
                fulfillment_orders=[_FulfillmentOrder(self._new_id())])
            self._next_number += 1
            self._orders[order_id] = order
            events = [self._order_event("orders/create", order)]
        self._deliver(events)
        return order_id

    def update_order(self, order_id: str, *, financial_status: str | None = None, note: str | None = None,
                     tags: Sequence[str] | None = None, email: str | None = None) -> None:
        """Change an order as the merchant would in the admin: sends ``orders/updated`` (and ``orders/paid`` when
        it becomes paid)."""
        with self._lock:
            order = self._order(order_id)
            became_paid = financial_status == "paid" and order.financial_status != "paid"
            if financial_status is not None:
                order.financial_status = financial_status
            if note is not None:
                order.note = note
            if tags is not None:
                order.tags = list(dict.fromkeys(tags))
            if email is not None:
                order.email = email
            order.updated_at = self._clock.now()
            events = [self._order_event("orders/updated", order)]
            if became_paid:
                events.append(self._order_event("orders/paid", order))
        self._deliver(events)

    def cancel_order(self, order_id: str, reason: str = "customer", *, refund: bool = False) -> None:
        """Cancel as the merchant would: sends ``orders/cancelled`` then ``orders/updated``."""
        with self._lock:
            events = self._cancel(self._order(order_id), reason.upper(), refund)
        self._deliver(events)

    def fulfill_order(self, order_id: str, company: str, number: str, url: str = "") -> str:
        """Fulfil every open fulfilment order as the merchant would: sends ``fulfillments/create``. Its gid."""
        with self._lock:
            order = self._order(order_id)
            open_orders = [fo for fo in order.fulfillment_orders if fo.status in ("OPEN", "IN_PROGRESS")]
            if not open_orders:
                raise ValueError(f"order {order_id} has nothing left to fulfil")
            fulfillment, events = self._fulfil(order, open_orders, company, number, url, False)
        self._deliver(events)
        return fulfillment.id

    def subscribe(self, topic: str, uri: str) -> None:
        """A webhook subscription, as ``webhookSubscriptionCreate`` makes (``orders/create`` or ``ORDERS_CREATE``)."""
        with self._lock:
            enum = topic.replace("/", "_").upper()
            if not any(t == enum and u == uri for _, t, u in self._subscriptions):
                self._subscriptions.append((self._gid("WebhookSubscription", self._new_id()), enum, uri))

    def add_customer(self, email: str, marketing_state: str = "SUBSCRIBED") -> str:
        """A customer with this email marketing state; its id."""
        with self._lock:
            customer = EmulatedCustomer(self._new_id(), email, marketing_state, "")
            self._customers[customer.id] = customer
            return customer.id

    def set_inventory(self, sku: str, available: int, location_id: str | None = None) -> str:
        """Set a SKU's available quantity at a location (the default one); its inventory item id."""
        with self._lock:
            _, item = self._variant(sku)
            self._levels[(item, location_id or self.location_id)] = available
            return item

    def add_location(self) -> str:
        with self._lock:
            location = self._new_id()
            self._locations.add(location)
            return location

    def fail_next(self, status: int = 503, *, times: int = 1, operation: str | None = None,
                  retry_after: float | None = None) -> None:
        """Answer the next ``times`` requests (of ``operation``, if given) with this HTTP status, not running them."""
        with self._lock:
            self._faults.extend(_Fault(status, operation, retry_after, False) for _ in range(times))

    def lose_next_response(self, operation: str, *, times: int = 1, status: int = 502) -> None:
        """Run the next ``times`` calls of ``operation``, then answer ``status`` as if the response were lost."""
        with self._lock:
            self._faults.extend(_Fault(status, operation, None, True) for _ in range(times))

    def set_bucket(self, available: float) -> None:
        """Put the cost bucket at ``available`` points now."""
        with self._lock:
            self._bucket, self._bucket_at = float(available), self._clock.now()

    def flush(self) -> list[WebhookDelivery]:
        """Send every held-back delivery now; the attempts made."""
        with self._delivery_lock:
            held, self._held = self._held, []
        return self._send_all([(s, False, True) for s in held])

    # --- what tests read ---------------------------------------------------------------------------------------

    @property
    def deliveries(self) -> tuple[WebhookDelivery, ...]:
        with self._delivery_lock:
            return tuple(self._deliveries)

    def held_back(self) -> int:
        with self._delivery_lock:
            return len(self._held)

    def orders(self) -> list[EmulatedOrder]:
        with self._lock:
            return [self._view(o) for o in self._orders.values()]

    def order(self, order_id: str) -> EmulatedOrder:
        with self._lock:
            return self._view(self._order(order_id))

    def fulfillments(self, order_id: str) -> list[EmulatedFulfillment]:
        with self._lock:
            return [EmulatedFulfillment(f.id, order_id, f.company, f.number, f.url, f.notify_customer)
                    for f in self._order(order_id).fulfillments]

    def customer(self, customer_id: str) -> EmulatedCustomer:
        with self._lock:
            return self._customers[customer_id]

    def discount_codes(self) -> list[EmulatedDiscount]:
        with self._lock:
            return list(self._discounts.values())

    def webhook_subscriptions(self) -> list[tuple[str, str]]:
        """(topic enum, uri) of each subscription."""
        with self._lock:
            return [(topic, uri) for _, topic, uri in self._subscriptions]

    def inventory_level(self, sku: str, location_id: str | None = None) -> int:
        with self._lock:
            return self._levels.get((self._variant(sku)[1], location_id or self.location_id), 0)

    def inventory_item_id(self, sku: str) -> str:
        with self._lock:
            return self._variant(sku)[1]

    def bucket(self) -> float:
        with self._lock:
            self._refill()
            return self._bucket

    # --- HTTP faces --------------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """An ``httpx.MockTransport`` handler: the API without a server (webhooks still go out over HTTP)."""
        if request.method != "POST" or not re.fullmatch(r"/admin/api/[^/]+/graphql\.json", request.url.path):
            return httpx.Response(404, json={"errors": "Not Found"})
        answer = self._graphql(request.headers.get("x-shopify-access-token"), request.read())
        self._deliver(answer.events)
        return httpx.Response(answer.status, content=_dumps(answer.payload), headers=answer.headers)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Shopify emulator", openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/admin/api/{version}/graphql.json")
        async def graphql(version: str, request: Request, background: BackgroundTasks) -> Response:
            answer = self._graphql(request.headers.get("x-shopify-access-token"), await request.body())
            if answer.events:
                background.add_task(self._deliver, answer.events)
            return Response(_dumps(answer.payload), answer.status, answer.headers, media_type="application/json")

        @app.post("/_emulator/orders")
        def place(body: dict[str, Any]) -> dict[str, str]:
            lines = [(str(ln.get("sku") or ""), int(ln["quantity"]), str(ln["price"])) for ln in body["lines"]]
            order_id = self.place_order(str(body["email"]), lines,
                                        financial_status=str(body.get("financial_status") or "paid"))
            return {"id": order_id, "name": self.order(order_id).name}

        @app.post("/_emulator/orders/{order_id}/cancel")
        def cancel(order_id: str, body: dict[str, Any] | None = None) -> dict[str, str]:
            self.cancel_order(order_id, str((body or {}).get("reason") or "customer"))
            return {"id": order_id}

        @app.post("/_emulator/orders/{order_id}/update")
        def update(order_id: str, body: dict[str, Any]) -> dict[str, str]:
            self.update_order(order_id, financial_status=body.get("financial_status"), note=body.get("note"),
                              tags=body.get("tags"), email=body.get("email"))
            return {"id": order_id}

        @app.post("/_emulator/flush")
        def flush() -> dict[str, int]:
            return {"sent": len(self.flush())}

        @app.get("/_emulator/deliveries")
        def deliveries() -> list[dict[str, Any]]:
            return [asdict(d) for d in self.deliveries]

        return app

    # --- GraphQL -----------------------------------------------------------------------------------------------

    def _graphql(self, token: str | None, raw: bytes) -> _Answer:
        if token != self.access_token:
            return _Answer(401, {"errors": INVALID_TOKEN}, {})
        try:
            request = json.loads(raw)
            operation = str(request["operationName"])
            variables = request.get("variables") or {}
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            return _Answer(400, {"errors": "a JSON body with query, variables and operationName is required"}, {})
        with self._lock:
            self.requests.append(operation)
            fault = self._take_fault(operation)
            if fault is not None and not fault.lose_response:
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                return _Answer(fault.status, {"errors": "emulated failure"}, headers)
            answer = self._run(operation, variables)
        if fault is not None:  # it ran (webhooks and all); only the answer is lost
            return _Answer(fault.status, {"errors": "emulated lost response"}, {}, answer.events)
        return answer

    def _run(self, operation: str, variables: dict[str, Any]) -> _Answer:
        handler = _OPERATIONS.get(operation)
        if handler is None:
            return _Answer(200, {"errors": [{"message": f"the emulator does not know the operation {operation}",
                                             "extensions": {"code": "UNKNOWN_OPERATION"}}]}, {})
        try:
            requested = self._requested_cost(operation, variables)
        except _GraphQLError as err:
            return _Answer(200, {"errors": [{"message": str(err), "extensions": {"code": err.code}}]}, {})
        self._refill()
        if requested > MAX_QUERY_COST:
            return _Answer(200, {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                           f"({MAX_QUERY_COST}).", "extensions": {"code": "MAX_COST_EXCEEDED"}}],
                "extensions": self._cost(requested, None)}, {})
        if self._bucket < requested:
            return _Answer(200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                                 "extensions": self._cost(requested, None)}, {})
        events: list[_Event] = []
        try:
            data, actual = handler(self, variables, events)
        except _GraphQLError as err:
            return _Answer(200, {"errors": [{"message": str(err), "extensions": {"code": err.code}}],
                                 "extensions": self._cost(requested, None)}, {})
        self._bucket -= actual
        return _Answer(200, {"data": data, "extensions": self._cost(requested, actual)}, {}, tuple(events))

    def _requested_cost(self, operation: str, variables: Mapping[str, Any]) -> int:
        if operation == "OrdersUpdatedSince":
            lines, fulfillments = _int(variables, "lines", 20), _int(variables, "fulfillments", 5)
            return 2 + _int(variables, "first", 10) * _order_cost(lines, fulfillments)
        if operation == "OrderLineItems":
            return 3 + 4 * _int(variables, "first", 50)
        if operation == "OrderFulfillmentState":
            return 1 + (2 + 20) + 20 * (1 + 3)
        if operation == "WebhookSubscriptions":
            return 2 + _int(variables, "first", 100)
        if operation in ("OrderCancelState", "DiscountCodeByCode"):
            return 1
        return MUTATION_COST

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": {
            "maximumAvailable": self.bucket_max, "currentlyAvailable": round(self._bucket, 3),
            "restoreRate": self.restore_rate}}}

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = max(0.0, (now - self._bucket_at).total_seconds())
        self._bucket = min(self.bucket_max, self._bucket + elapsed * self.restore_rate)
        self._bucket_at = now

    def _take_fault(self, operation: str) -> _Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.operation in (None, operation):
                return self._faults.pop(i)
        return None

    # --- operations (called with the lock held) ----------------------------------------------------------------

    def _op_orders(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        first, lines, fulfillments = _int(v, "first", 10), _int(v, "lines", 20), _int(v, "fulfillments", 5)
        since = _updated_since(str(v.get("query") or ""))
        ordered = sorted((o for o in self._orders.values() if since is None or o.updated_at > since), key=_order_key)
        if v.get("after"):
            after = _decode_cursor(str(v["after"]))
            ordered = [o for o in ordered if _order_key(o) > after]
        page = ordered[:first]
        nodes = [self._graphql_order(o, lines, fulfillments) for o in page]
        actual = 2 + sum(4 + 2 + 4 * min(lines, len(o.lines)) + 4 * min(fulfillments, len(o.fulfillments))
                         for o in page)
        end = _encode_cursor(_order_key(page[-1])) if page else None
        return {"orders": {"pageInfo": {"hasNextPage": len(ordered) > first, "endCursor": end},
                           "nodes": nodes}}, actual

    def _op_order_lines(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        order = self._orders.get(_gid_number(v.get("id"), "Order"))
        if order is None:
            return {"order": None}, 1
        start = int(v["after"]) if v.get("after") else 0
        first = _int(v, "first", 50)
        return {"order": {"lineItems": self._line_connection(order, start, first)}}, 3 + 4 * len(
            order.lines[start:start + first])

    def _op_fulfillment_state(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        order = self._orders.get(_gid_number(v.get("id"), "Order"))
        if order is None:
            return {"order": None}, 1
        return {"order": {
            "id": self._gid("Order", order.id),
            "fulfillmentOrders": {"nodes": [{"id": self._gid("FulfillmentOrder", fo.id), "status": fo.status}
                                            for fo in order.fulfillment_orders[:20]]},
            "fulfillments": [self._graphql_fulfillment(f) for f in order.fulfillments[:20]],
        }}, 3 + len(order.fulfillment_orders) + 4 * len(order.fulfillments)

    def _op_fulfillment_create(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        spec = _object(v, "fulfillment")
        wanted = [_gid_number(p.get("fulfillmentOrderId"), "FulfillmentOrder")
                  for p in spec.get("lineItemsByFulfillmentOrder") or []]
        if not wanted:
            return _user_errors("fulfillmentCreate", "fulfillment", ["lineItemsByFulfillmentOrder"],
                               "At least one fulfillment order is required.", extra={"fulfillment": None})
        found = [(o, fo) for o in self._orders.values() for fo in o.fulfillment_orders if fo.id in wanted]
        orders = {o.id for o, _ in found}
        if len(found) != len(wanted) or len(orders) != 1:
            return _user_errors("fulfillmentCreate", "fulfillment", ["lineItemsByFulfillmentOrder"],
                               "Fulfillment orders must exist and belong to one order.", extra={"fulfillment": None})
        order = found[0][0]
        closed = [fo for _, fo in found if fo.status not in ("OPEN", "IN_PROGRESS")]
        if closed:
            return _user_errors("fulfillmentCreate", "fulfillment", ["lineItemsByFulfillmentOrder"],
                               f"Fulfillment order {closed[0].id} has an unfulfillable status= {closed[0].status}.",
                               extra={"fulfillment": None})
        tracking = spec.get("trackingInfo") or {}
        fulfillment, made = self._fulfil(order, [fo for _, fo in found], str(tracking.get("company") or ""),
                                         str(tracking.get("number") or ""), str(tracking.get("url") or ""),
                                         bool(spec.get("notifyCustomer")))
        events.extend(made)
        return {"fulfillmentCreate": {"fulfillment": {"id": fulfillment.id, "status": "SUCCESS"},
                                      "userErrors": []}}, MUTATION_COST

    def _op_tags_add(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        order = self._orders.get(_gid_number(v.get("id"), "Order"))
        if order is None:
            return _user_errors("tagsAdd", "node", ["id"], "Order does not exist")
        order.tags = list(dict.fromkeys([*order.tags, *(str(t) for t in v.get("tags") or [])]))
        order.updated_at = self._clock.now()
        events.append(self._order_event("orders/updated", order))
        return {"tagsAdd": {"node": {"id": self._gid("Order", order.id)}, "userErrors": []}}, MUTATION_COST

    def _op_note_update(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        spec = _object(v, "input")
        order = self._orders.get(_gid_number(spec.get("id"), "Order"))
        if order is None:
            return _user_errors("orderUpdate", "order", ["id"], "Order does not exist")
        order.note = str(spec.get("note") or "")
        order.updated_at = self._clock.now()
        events.append(self._order_event("orders/updated", order))
        return {"orderUpdate": {"order": {"id": self._gid("Order", order.id), "note": order.note},
                                "userErrors": []}}, MUTATION_COST

    def _op_inventory_adjust(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        key = v.get("idempotencyKey")
        if not key:
            raise _GraphQLError("The @idempotent directive is required for this mutation.", "BAD_REQUEST")
        if key in self._idempotent:
            return self._idempotent[key], MUTATION_COST
        spec = _object(v, "input")
        reason, name = str(spec.get("reason") or ""), str(spec.get("name") or "")
        changes = spec.get("changes") or []
        problem = (f"The reason {reason} is not valid." if reason not in INVENTORY_REASONS else
                   f"The quantity name {name} is not valid." if name != "available" else None)
        if problem is None:
            problem = self._change_problem(changes)
        if problem is not None:
            return _user_errors("inventoryAdjustQuantities", "inventoryAdjustmentGroup", ["input"], problem,
                                code="INVALID")
        for change in changes:
            level = (_gid_number(change["inventoryItemId"], "InventoryItem"),
                     _gid_number(change["locationId"], "Location"))
            self._levels[level] = self._levels.get(level, 0) + int(change["delta"])
        group = self._gid("InventoryAdjustmentGroup", self._new_id())
        data = {"inventoryAdjustQuantities": {
            "inventoryAdjustmentGroup": {"id": group, "reason": reason,
                                         "changes": [{"name": name, "delta": int(c["delta"])} for c in changes]},
            "userErrors": []}}
        self._idempotent[key] = data
        return data, MUTATION_COST

    def _change_problem(self, changes: Sequence[Mapping[str, Any]]) -> str | None:
        items = {item for _, item in self._variants.values()}
        for change in changes:
            if "changeFromQuantity" not in change:
                return "changeFromQuantity is required (pass null to skip the check)."
            item = _gid_number(change.get("inventoryItemId"), "InventoryItem")
            location = _gid_number(change.get("locationId"), "Location")
            if item not in items:
                return f"The specified inventory item could not be found: {change.get('inventoryItemId')}"
            if location not in self._locations:
                return f"The specified location could not be found: {change.get('locationId')}"
            expected = change["changeFromQuantity"]
            if expected is not None and int(expected) != self._levels.get((item, location), 0):
                return "CHANGE_FROM_QUANTITY_STALE: the quantity has changed."
        return None

    def _op_discount_by_code(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        found = self._discounts.get(str(v.get("code") or "").lower())
        return {"codeDiscountNodeByCode": {"id": found.id} if found else None}, 1

    def _op_discount_create(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        spec = _object(v, "discount")
        code, title = str(spec.get("code") or ""), str(spec.get("title") or "")
        if not code or not title:
            return _user_errors("discountCodeBasicCreate", "codeDiscountNode", ["basicCodeDiscount", "code"],
                                "Code and title are required.", code="BLANK")
        if code.lower() in self._discounts:
            return _user_errors("discountCodeBasicCreate", "codeDiscountNode", ["basicCodeDiscount", "code"],
                                "Code must be unique. Please try a different code.", code="TAKEN")
        value = ((spec.get("customerGets") or {}).get("value")) or {}
        percentage = _decimal(value.get("percentage"))
        amount = _decimal((value.get("discountAmount") or {}).get("amount"))
        if (percentage is None) == (amount is None) or (percentage is not None and not 0 < percentage <= 1):
            return _user_errors("discountCodeBasicCreate", "codeDiscountNode", ["basicCodeDiscount", "customerGets"],
                                "A percentage between 0 and 1 or an amount is required.", code="INVALID")
        problem = _discount_problem(spec)
        if problem is not None:
            return _user_errors("discountCodeBasicCreate", "codeDiscountNode", ["basicCodeDiscount", problem[0]],
                                problem[1], code="INVALID")
        limit = spec.get("usageLimit")
        context = spec.get("context") or {}
        customers = tuple(_gid_number(c, "Customer") for c in (context.get("customers") or {}).get("add") or ())
        discount = EmulatedDiscount(self._gid("DiscountCodeNode", self._new_id()), code, title, percentage, amount,
                                    str(spec.get("startsAt") or ""), str(spec.get("endsAt") or ""),
                                    int(limit) if limit is not None else None,
                                    bool(spec.get("appliesOncePerCustomer")), customers)
        self._discounts[code.lower()] = discount
        return {"discountCodeBasicCreate": {"codeDiscountNode": {"id": discount.id}, "userErrors": []}}, MUTATION_COST

    def _op_consent_update(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        """``customerEmailMarketingConsentUpdate``: only SUBSCRIBED, UNSUBSCRIBED and PENDING may be set."""
        spec = _object(v, "input")
        customer = self._customers.get(_gid_number(spec.get("customerId"), "Customer"))
        if customer is None:
            return _user_errors("customerEmailMarketingConsentUpdate", "customer", ["input", "customerId"],
                                "Customer does not exist", code="INVALID")
        consent = spec.get("emailMarketingConsent") or {}
        state = str(consent.get("marketingState") or "")
        if state not in ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING"):
            return _user_errors("customerEmailMarketingConsentUpdate", "customer",
                                ["input", "emailMarketingConsent", "marketingState"],
                                f"Marketing state {state or 'blank'} cannot be set", code="INVALID")
        at = str(consent.get("consentUpdatedAt") or "") or (_utc(self._clock.now()) or "")
        customer = EmulatedCustomer(customer.id, customer.email, state, at)
        self._customers[customer.id] = customer
        return {"customerEmailMarketingConsentUpdate": {"customer": {
            "id": self._gid("Customer", customer.id),
            "emailMarketingConsent": {"marketingState": state, "consentUpdatedAt": at}},
            "userErrors": []}}, MUTATION_COST

    def _op_cancel_state(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        order = self._orders.get(_gid_number(v.get("id"), "Order"))
        if order is None:
            return {"order": None}, 1
        return {"order": {"id": self._gid("Order", order.id), "cancelledAt": _utc(order.cancelled_at)}}, 1

    def _op_cancel(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        order = self._orders.get(_gid_number(v.get("orderId"), "Order"))
        reason = str(v.get("reason") or "")
        if order is None:
            return _cancel_errors("Order does not exist.", "NOT_FOUND")
        if reason not in CANCEL_REASONS:
            raise _GraphQLError(f"Variable $reason of type OrderCancelReason! was provided invalid value {reason}",
                                "INVALID_VARIABLE")
        if "restock" not in v:
            raise _GraphQLError("Variable $restock of type Boolean! was provided invalid value", "INVALID_VARIABLE")
        if order.cancelled_at is not None:
            return _cancel_errors("Cannot cancel an order that has already been cancelled.", "INVALID")
        refund = bool((v.get("refundMethod") or {}).get("originalPaymentMethodsRefund"))
        events.extend(self._cancel(order, reason, refund))
        job = self._gid("Job", str(uuid.UUID(int=self._event_ids.getrandbits(128), version=4)))
        return {"orderCancel": {"job": {"id": job, "done": True}, "orderCancelUserErrors": []}}, MUTATION_COST

    def _op_subscriptions(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        first = _int(v, "first", 100)
        start = int(v["after"]) if v.get("after") else 0
        page = self._subscriptions[start:start + first]
        more = start + first < len(self._subscriptions)
        return {"webhookSubscriptions": {
            "pageInfo": {"hasNextPage": more, "endCursor": str(start + len(page)) if page else None},
            "nodes": [{"id": sid, "topic": topic, "uri": uri} for sid, topic, uri in page]}}, 2 + len(page)

    def _op_subscription_create(self, v: dict[str, Any], events: list[_Event]) -> tuple[Any, int]:
        topic = str(v.get("topic") or "")
        spec = _object(v, "subscription")
        uri = str(spec.get("uri") or "")
        if not re.fullmatch(r"[A-Z0-9_]+", topic):
            raise _GraphQLError(f"Variable $topic was provided invalid value {topic}", "INVALID_VARIABLE")
        if not uri.startswith(("https://", "http://")) or spec.get("format", "JSON") != "JSON":
            return _user_errors("webhookSubscriptionCreate", "webhookSubscription", ["webhookSubscription", "uri"],
                                "Address is invalid")
        if any(t == topic and u == uri for _, t, u in self._subscriptions):
            return _user_errors("webhookSubscriptionCreate", "webhookSubscription", ["webhookSubscription", "uri"],
                                "Address for this topic has already been taken")
        sid = self._gid("WebhookSubscription", self._new_id())
        self._subscriptions.append((sid, topic, uri))
        return {"webhookSubscriptionCreate": {"webhookSubscription": {"id": sid, "topic": topic, "uri": uri},
                                              "userErrors": []}}, MUTATION_COST

    # --- state changes shared by the API and the test controls -------------------------------------------------

    def _fulfil(self, order: _Order, fulfillment_orders: list[_FulfillmentOrder], company: str, number: str,
                url: str, notify: bool) -> tuple[_Fulfillment, list[_Event]]:
        now = self._clock.now()
        fulfillment = _Fulfillment(self._gid("Fulfillment", self._new_id()), now, company, number, url, notify)
        order.fulfillments.append(fulfillment)
        for fo in fulfillment_orders:
            fo.status = "CLOSED"
        order.updated_at = now
        body = self._rest_fulfillment(order, fulfillment)
        return fulfillment, [self._event("fulfillments/create", order.id, body),
                             self._order_event("orders/updated", order)]

    def _cancel(self, order: _Order, reason: str, refund: bool) -> list[_Event]:
        now = self._clock.now()
        order.cancelled_at, order.cancel_reason, order.updated_at = now, reason, now
        for fo in order.fulfillment_orders:
            if fo.status in ("OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"):
                fo.status = "CLOSED"
        if refund and order.financial_status in ("paid", "partially_paid", "partially_refunded"):
            order.financial_status = "refunded"
        elif order.financial_status in ("pending", "authorized"):
            order.financial_status = "voided"
        return [self._order_event("orders/cancelled", order), self._order_event("orders/updated", order)]

    def _line(self, sku: str, quantity: int, price: Decimal | str, requires_shipping: bool) -> _Line:
        variant, _ = self._variant(sku)
        title = sku.replace("-", " ").title() if sku else "Gift wrapping"
        return _Line(self._new_id(), variant, sku, title, "", quantity, Decimal(str(price)), requires_shipping)

    def _variant(self, sku: str) -> tuple[str, str]:
        key = sku or f"(no sku {len(self._variants)})"
        if key not in self._variants:
            self._variants[key] = (self._new_id(), self._new_id())
        return self._variants[key]

    def _order(self, order_id: str) -> _Order:
        try:
            return self._orders[_gid_number(order_id, "Order")]
        except (KeyError, _GraphQLError):
            raise KeyError(f"the emulator has no order {order_id}") from None

    def _new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id - 1)

    @staticmethod
    def _gid(kind: str, number: str) -> str:
        return f"gid://shopify/{kind}/{number}"

    def _view(self, o: _Order) -> EmulatedOrder:
        return EmulatedOrder(o.id, o.name, o.email, o.financial_status, o.cancelled_at is not None,
                             o.cancel_reason.lower(), tuple(o.tags), o.note,
                             tuple(fo.status for fo in o.fulfillment_orders), o.updated_at)

    # --- the two shapes of an order ----------------------------------------------------------------------------

    def _graphql_order(self, o: _Order, lines: int, fulfillments: int) -> dict[str, Any]:
        return {
            "id": self._gid("Order", o.id), "name": o.name, "email": o.email, "createdAt": _utc(o.created_at),
            "updatedAt": _utc(o.updated_at), "cancelledAt": _utc(o.cancelled_at),
            "cancelReason": o.cancel_reason or None, "displayFinancialStatus": o.financial_status.upper(),
            "currencyCode": o.currency, "tags": list(o.tags), "note": o.note or None,
            "shippingAddress": _graphql_address(o.shipping), "billingAddress": _graphql_address(o.billing),
            "customer": {"email": o.email, "firstName": o.first_name, "lastName": o.last_name},
            "lineItems": self._line_connection(o, 0, lines),
            "fulfillments": [self._graphql_fulfillment(f) for f in o.fulfillments[:fulfillments]],
        }

    def _line_connection(self, o: _Order, start: int, first: int) -> dict[str, Any]:
        page = o.lines[start:start + first]
        more = start + first < len(o.lines)
        return {"pageInfo": {"hasNextPage": more, "endCursor": str(start + len(page)) if page else None},
                "nodes": [{
                    "id": self._gid("LineItem", ln.id), "sku": ln.sku or None, "quantity": ln.quantity,
                    "title": ln.title, "variantTitle": ln.variant_title or None,
                    "requiresShipping": ln.requires_shipping,
                    "originalUnitPriceSet": {"shopMoney": {"amount": _graphql_decimal(ln.price),
                                                           "currencyCode": o.currency}},
                    "variant": {"id": self._gid("ProductVariant", ln.variant_id)},
                } for ln in page]}

    @staticmethod
    def _graphql_fulfillment(f: _Fulfillment) -> dict[str, Any]:
        tracking = [{"company": f.company or None, "number": f.number, "url": f.url or None}] if f.number else []
        return {"id": f.id, "trackingInfo": tracking}

    def _rest_order(self, o: _Order) -> dict[str, Any]:
        return {
            "id": int(o.id), "admin_graphql_api_id": self._gid("Order", o.id), "name": o.name,
            "order_number": o.number, "number": o.number - 1000, "email": o.email, "contact_email": o.email,
            "created_at": self._local(o.created_at), "updated_at": self._local(o.updated_at),
            "cancelled_at": self._local(o.cancelled_at), "cancel_reason": o.cancel_reason.lower() or None,
            "currency": o.currency, "presentment_currency": o.currency, "financial_status": o.financial_status,
            "fulfillment_status": "fulfilled" if o.fulfillments else None, "tags": ", ".join(o.tags),
            "note": o.note or None, "test": True,
            "total_price": str(sum((ln.price * ln.quantity for ln in o.lines), Decimal("0.00"))),
            "line_items": [{
                "id": int(ln.id), "admin_graphql_api_id": self._gid("LineItem", ln.id),
                "variant_id": int(ln.variant_id),
                "sku": ln.sku or None, "quantity": ln.quantity, "price": f"{ln.price:.2f}", "title": ln.title,
                "variant_title": ln.variant_title or None, "name": ln.title, "requires_shipping": ln.requires_shipping,
                "fulfillable_quantity": 0 if o.fulfillments else ln.quantity,
            } for ln in o.lines],
            "shipping_address": _rest_address(o.shipping), "billing_address": _rest_address(o.billing),
            "customer": {"id": int(o.customer_id), "admin_graphql_api_id": self._gid("Customer", o.customer_id),
                         "email": o.email, "first_name": o.first_name, "last_name": o.last_name},
            "fulfillments": [self._rest_fulfillment(o, f) for f in o.fulfillments],
        }

    def _rest_fulfillment(self, o: _Order, f: _Fulfillment) -> dict[str, Any]:
        number = f.id.rsplit("/", 1)[-1]
        return {
            "id": int(number), "admin_graphql_api_id": f.id, "order_id": int(o.id),
            "name": f"{o.name}.{o.fulfillments.index(f) + 1}", "status": "success",
            "created_at": self._local(f.created_at), "updated_at": self._local(f.created_at),
            "tracking_company": f.company or None, "tracking_number": f.number or None,
            "tracking_numbers": [f.number] if f.number else [], "tracking_url": f.url or None,
            "tracking_urls": [f.url] if f.url else [], "email": o.email,
            "line_items": [{"id": int(ln.id), "variant_id": int(ln.variant_id), "sku": ln.sku or None,
                            "quantity": ln.quantity, "price": f"{ln.price:.2f}", "title": ln.title,
                            "requires_shipping": ln.requires_shipping} for ln in o.lines],
        }

    def _local(self, moment: datetime | None) -> str | None:
        return moment.astimezone(self._zone).isoformat(timespec="seconds") if moment else None

    # --- webhooks ----------------------------------------------------------------------------------------------

    def _order_event(self, topic: str, order: _Order) -> _Event:
        return self._event(topic, order.id, self._rest_order(order))

    def _event(self, topic: str, order_id: str, body: dict[str, Any]) -> _Event:
        event_id = str(uuid.UUID(int=self._event_ids.getrandbits(128), version=4))
        return _Event(topic, order_id, _dumps(body), event_id, self._clock.now())

    def _deliver(self, events: Sequence[_Event]) -> None:
        """Send events to their subscribers (chaos applied), then release what was held back before them."""
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscriptions)
        plan: list[tuple[_Send, bool, bool]] = []  # (send, duplicated, reordered)
        with self._delivery_lock:
            released, self._held = self._held, []
            for event in events:
                for _, topic, uri in subscribers:
                    if topic != event.topic.replace("/", "_").upper():
                        continue
                    send = _Send(event, uri, str(uuid.UUID(int=self._webhook_ids.getrandbits(128), version=4)))
                    drop, hold, twice = (self._chaos.random() for _ in range(3))
                    if drop < self.drop_rate:
                        self._deliveries.append(WebhookDelivery(event.topic, event.event_id, send.webhook_id,
                                                                event.order_id, uri, None, dropped=True))
                    elif hold < self.reorder_rate:
                        self._held.append(send)
                    else:
                        plan.append((send, False, False))
                        if twice < self.duplicate_rate:
                            plan.append((send, True, False))
        self._send_all(plan + [(s, False, True) for s in released])

    def _send_all(self, plan: Sequence[tuple[_Send, bool, bool]]) -> list[WebhookDelivery]:
        made: list[WebhookDelivery] = []
        if not plan:
            return made
        with httpx.Client(timeout=self.delivery_timeout_s) as http:
            for send, duplicated, reordered in plan:
                status, error = self._post(http, send)
                delivery = WebhookDelivery(send.event.topic, send.event.event_id, send.webhook_id,
                                           send.event.order_id, send.url, status, duplicated=duplicated,
                                           reordered=reordered, error=error)
                made.append(delivery)
                with self._delivery_lock:
                    self._deliveries.append(delivery)
        return made

    def _post(self, http: httpx.Client, send: _Send) -> tuple[int | None, str]:
        event = send.event
        headers = {
            "Content-Type": "application/json", "X-Shopify-Topic": event.topic,
            "X-Shopify-Hmac-Sha256": sign(self.webhook_secret, event.body), "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-Event-Id": event.event_id, "X-Shopify-Webhook-Id": send.webhook_id,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Triggered-At": event.triggered_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        try:
            return http.post(send.url, content=event.body, headers=headers).status_code, ""
        except httpx.HTTPError as err:
            return None, type(err).__name__


_OPERATIONS = {
    "OrdersUpdatedSince": ShopifyEmulator._op_orders,
    "OrderLineItems": ShopifyEmulator._op_order_lines,
    "OrderFulfillmentState": ShopifyEmulator._op_fulfillment_state,
    "FulfillmentCreate": ShopifyEmulator._op_fulfillment_create,
    "TagsAdd": ShopifyEmulator._op_tags_add,
    "OrderNoteUpdate": ShopifyEmulator._op_note_update,
    "InventoryAdjustQuantities": ShopifyEmulator._op_inventory_adjust,
    "DiscountCodeByCode": ShopifyEmulator._op_discount_by_code,
    "DiscountCodeBasicCreate": ShopifyEmulator._op_discount_create,
    "CustomerEmailMarketingConsentUpdate": ShopifyEmulator._op_consent_update,
    "OrderCancelState": ShopifyEmulator._op_cancel_state,
    "OrderCancel": ShopifyEmulator._op_cancel,
    "WebhookSubscriptions": ShopifyEmulator._op_subscriptions,
    "WebhookSubscriptionCreate": ShopifyEmulator._op_subscription_create,
}


# --- small helpers -----------------------------------------------------------------------------------------------

def _order_cost(lines: int, fulfillments: int) -> int:
    """Shopify's requested cost of one order node as the client asks for it: objects 1, connections 2 + first × node."""
    return 4 + (2 + 4 * lines) + 4 * fulfillments


def _order_key(o: _Order) -> tuple[str, int]:
    return (_utc(o.updated_at) or "", int(o.id))


def _encode_cursor(key: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        moment, number = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(moment), int(number)
    except (ValueError, TypeError) as err:
        raise _GraphQLError(f"Invalid cursor for current pagination sort: {cursor}", "BAD_REQUEST") from err


def _updated_since(search: str) -> datetime | None:
    found = re.search(r"updated_at:>'?([0-9T:.+\-Z]+)'?", search)
    if not found:
        return None
    moment = datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _gid_number(value: Any, kind: str) -> str:
    text = str(value or "")
    if text.isdigit():
        return text
    if text.startswith(f"gid://shopify/{kind}/") and text.rsplit("/", 1)[-1].isdigit():
        return text.rsplit("/", 1)[-1]
    raise _GraphQLError(f"Invalid global id '{text}'", "INVALID_VARIABLE")


def _int(variables: Mapping[str, Any], name: str, default: int) -> int:
    value = variables.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 250:
        raise _GraphQLError(f"Variable ${name} must be an integer from 1 to 250", "INVALID_VARIABLE")
    return value


def _object(variables: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = variables.get(name)
    if not isinstance(value, dict):
        raise _GraphQLError(f"Variable ${name} of an input type was not provided", "INVALID_VARIABLE")
    return value


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _discount_problem(spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """What ``discountCodeBasicCreate`` refuses in a ``DiscountCodeBasicInput``, as (field, message), like Shopify:
    a start is required, an end must come after it, a usage limit is a positive whole number, and the buyers are
    given as ``context`` (every buyer, or customers by gid)."""
    starts, ends = _datetime(spec.get("startsAt")), _datetime(spec.get("endsAt"))
    if starts is None:
        return "startsAt", "Starts at can't be blank"
    if spec.get("endsAt") is not None and (ends is None or ends <= starts):
        return "endsAt", "Ends at needs to be after starts_at"
    limit = spec.get("usageLimit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        return "usageLimit", "Usage limit must be greater than 0"
    once = spec.get("appliesOncePerCustomer")
    if once is not None and not isinstance(once, bool):
        return "appliesOncePerCustomer", "Applies once per customer must be a boolean"
    context = spec.get("context")
    if not isinstance(context, dict) or not context:
        return "context", "Context can't be blank"
    if "all" in context:
        return None if context["all"] == "ALL" and len(context) == 1 else ("context", "Context is invalid")
    added = (context.get("customers") or {}).get("add") if isinstance(context.get("customers"), dict) else None
    if not isinstance(added, list) or not added:
        return "context", "Context is invalid"
    try:
        for c in added:
            _gid_number(c, "Customer")
    except _GraphQLError:
        return "context", "Customer ids are invalid"
    return None


def _datetime(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo is not None else None


def _user_errors(field_name: str, result: str, path: list[str], message: str, *, code: str | None = None,
                 extra: Mapping[str, Any] | None = None) -> tuple[Any, int]:
    error: dict[str, Any] = {"field": path, "message": message} | ({"code": code} if code else {})
    return {field_name: {result: None, **(extra or {}), "userErrors": [error]}}, MUTATION_COST


def _cancel_errors(message: str, code: str) -> tuple[Any, int]:
    return {"orderCancel": {"job": None, "orderCancelUserErrors": [
        {"field": ["orderId"], "message": message, "code": code}]}}, MUTATION_COST


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def _graphql_decimal(value: Decimal) -> str:
    """Shopify's Decimal scalar: no trailing zeros beyond one decimal place (``20.0``, ``19.99``)."""
    text = f"{value.normalize():f}"
    return text if "." in text else f"{text}.0"


def _graphql_address(a: Mapping[str, str] | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"name": _full_name(a), "firstName": a.get("first_name") or None, "lastName": a.get("last_name") or None,
            "address1": a.get("address1") or None, "address2": a.get("address2") or None, "city": a.get("city") or None,
            "zip": a.get("zip") or None, "provinceCode": a.get("province_code") or None,
            "countryCodeV2": a.get("country_code") or None, "phone": a.get("phone") or None}


def _rest_address(a: Mapping[str, str] | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"first_name": a.get("first_name") or None, "last_name": a.get("last_name") or None, "name": _full_name(a),
            "address1": a.get("address1") or None, "address2": a.get("address2") or None, "city": a.get("city") or None,
            "zip": a.get("zip") or None, "province": a.get("province") or None,
            "province_code": a.get("province_code") or None, "country": a.get("country") or None,
            "country_code": a.get("country_code") or None, "phone": a.get("phone") or None,
            "company": a.get("company") or None, "latitude": None, "longitude": None}


def _full_name(a: Mapping[str, str]) -> str:
    return " ".join(p for p in (a.get("first_name"), a.get("last_name")) if p)


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


__all__ = ["EmulatedDiscount", "EmulatedFulfillment", "EmulatedOrder", "ShopifyEmulator", "WebhookDelivery"]
