"""Calls from backroom to a Shopify store: the GraphQL Admin API over httpx, within the shop's cost budget.

Every call is a named operation POSTed to ``{base_url}/admin/api/{version}/graphql.json``. Before it goes, the call
waits until the shop's :class:`~backroom.connectors.shopify.throttle.CostBudget` holds its cost; after it, the budget
is resynchronised from ``extensions.cost``. Throttling (a ``THROTTLED`` error, or HTTP 429 with its Retry-After) is
waited out and retried; server errors and lost connections are retried with exponential backoff and jitter, up to
``max_attempts``; everything Shopify refuses is raised at once.

Exceptions — catch at the level you need::

    EffectFailed                 (backroom.errors) an effect's remote call failed
    └── ShopifyError             anything that went wrong talking to a shop; ``retryable``: may the same call succeed
        ├── ShopifyThrottled     still throttled after every attempt                      (retryable)
        ├── ShopifyUnavailable   5xx, timeouts, lost connections after every attempt      (retryable)
        └── ShopifyRejected      GraphQL errors, 4xx (bad token, bad input)                (not retryable)
            │                    ``messages`` holds what Shopify said; never the token
            └── UserErrors       a mutation's ``userErrors`` (``problems`` keeps field and code)

Order ids in and out are the numeric id as a string (backroom's ``external_id``); ``gid://shopify/Order/N`` is
built and taken apart here. Mutations are safe to repeat after a lost response: fulfilments are looked up by
tracking number before one is created, inventory adjustments carry an ``@idempotent`` key derived from their
reference, discount codes and webhook subscriptions are found when they already exist, cancelling a cancelled
order succeeds.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from backroom.config import ShopifySettings
from backroom.connectors.shopify.throttle import CostBudget, QueryCost, budget_for, cost_from_extensions
from backroom.errors import ConfigurationError, EffectFailed

log = logging.getLogger(__name__)

#: the stable Admin API version this client is written against (ShopifySettings.api_version defaults to it)
API_VERSION = "2026-10"
#: Shopify refuses any single query whose requested cost exceeds this
MAX_QUERY_COST = 1000
ORDERS_PAGE_SIZE = 8
LINES_PER_ORDER = 20
FULFILLMENTS_PER_ORDER = 5
OPEN_FULFILLMENT_ORDER = ("OPEN", "IN_PROGRESS")
CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF")


class ShopifyError(EffectFailed):
    retryable = False
    code = "shopify_error"

    def __init__(self, message: str, *, operation: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status


class ShopifyThrottled(ShopifyError):
    retryable = True
    code = "shopify_throttled"


class ShopifyUnavailable(ShopifyError):
    retryable = True
    code = "shopify_unavailable"


class ShopifyRejected(ShopifyError):
    code = "shopify_rejected"

    def __init__(self, messages: Sequence[str], *, operation: str = "", status: int | None = None) -> None:
        self.messages = tuple(messages) or ("rejected",)
        super().__init__(f"Shopify rejected {operation or 'the call'}: {'; '.join(self.messages)}",
                         operation=operation, status=status)


@dataclass(frozen=True)
class Cancellation:
    order_id: str
    already_cancelled: bool
    job_id: str | None


# --- ids ---------------------------------------------------------------------------------------------------------

def gid(kind: str, value: str | int) -> str:
    """``gid://shopify/{kind}/{n}`` from a numeric id (a gid of that kind is passed through)."""
    text = str(value).strip()
    if text.startswith(f"gid://shopify/{kind}/") and text.rsplit("/", 1)[-1].isdigit():
        return text
    if not text.isdigit():
        raise ValueError(f"not a Shopify {kind} id: {text!r}")
    return f"gid://shopify/{kind}/{text}"


def numeric_id(value: str) -> str:
    """The number at the end of a gid (``gid://shopify/Order/5`` → ``"5"``)."""
    tail = value.rsplit("/", 1)[-1].split("?", 1)[0]
    if not tail.isdigit():
        raise ValueError(f"not a Shopify global id: {value!r}")
    return tail


def discount_context(customer_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Who may use a code discount (``DiscountContextInput``): these customers, or every buyer."""
    if customer_ids:
        return {"customers": {"add": [gid("Customer", c) for c in customer_ids]}}
    return {"all": "ALL"}


def topic_enum(topic: str) -> str:
    """A webhook topic as Shopify's GraphQL enum (``orders/create`` → ``ORDERS_CREATE``)."""
    return topic.strip().replace("/", "_").replace(".", "_").upper()


# --- operations --------------------------------------------------------------------------------------------------

_ADDRESS = "name firstName lastName address1 address2 city zip provinceCode countryCodeV2 phone"
_LINE = ("id sku quantity title variantTitle requiresShipping "
         "originalUnitPriceSet { shopMoney { amount currencyCode } } variant { id }")
ORDERS_UPDATED_SINCE = f"""
query OrdersUpdatedSince($first: Int!, $after: String, $query: String!, $lines: Int!, $fulfillments: Int!) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id name email createdAt updatedAt cancelledAt cancelReason displayFinancialStatus currencyCode tags note
      shippingAddress {{ {_ADDRESS} }}
      billingAddress {{ {_ADDRESS} }}
      customer {{ email firstName lastName }}
      lineItems(first: $lines) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE} }} }}
      fulfillments(first: $fulfillments) {{ id trackingInfo(first: 3) {{ company number url }} }}
    }}
  }}
}}"""
ORDER_LINE_ITEMS = f"""
query OrderLineItems($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE} }} }}
  }}
}}"""
ORDER_FULFILLMENT_STATE = """
query OrderFulfillmentState($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 20) { nodes { id status } }
    fulfillments(first: 20) { id trackingInfo(first: 3) { company number url } }
  }
}"""
FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id status } userErrors { field message } }
}"""
TAGS_ADD = """
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
ORDER_NOTE_UPDATE = """
mutation OrderNoteUpdate($input: OrderInput!) {
  orderUpdate(input: $input) { order { id note } userErrors { field message } }
}"""
INVENTORY_ADJUST = """
mutation InventoryAdjustQuantities($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id reason changes { name delta } }
    userErrors { field message code }
  }
}"""
DISCOUNT_BY_CODE = """
query DiscountCodeByCode($code: String!) { codeDiscountNodeByCode(code: $code) { id } }"""
DISCOUNT_CREATE = """
mutation DiscountCodeBasicCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) { codeDiscountNode { id } userErrors { field message code } }
}"""
CONSENT_UPDATE = """
mutation CustomerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id emailMarketingConsent { marketingState consentUpdatedAt } }
    userErrors { field message code }
  }
}"""
ORDER_CANCEL_STATE = """
query OrderCancelState($id: ID!) { order(id: $id) { id cancelledAt } }"""
ORDER_CANCEL = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!, $notifyCustomer: Boolean,
                     $refundMethod: OrderCancelRefundMethodInput, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: $notifyCustomer,
              refundMethod: $refundMethod, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}"""
WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}"""
WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""


def orders_query_cost(page_size: int, lines: int, fulfillments: int = FULFILLMENTS_PER_ORDER) -> int:
    """The requested cost Shopify computes for ORDERS_UPDATED_SINCE: objects 1, connections 2 + first × node."""
    line = 4  # line item, its price set, the shop money, the variant
    order = 4 + (2 + lines * line) + fulfillments * (1 + 3)  # order, two addresses, customer; lines; fulfilments
    return 2 + page_size * order


class ShopifyClient:
    """One shop's Admin API. Thread-safe; share one per shop or make one per job (the cost budget is shared)."""

    def __init__(self, shop: str, access_token: SecretStr, *, api_version: str = API_VERSION,
                 base_url: str | None = None, budget: CostBudget | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 transport: httpx.BaseTransport | None = None, max_attempts: int = 5, timeout_s: float = 10.0,
                 backoff_base_s: float = 1.0, backoff_cap_s: float = 30.0) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.shop = shop.strip().lower()
        self.api_version = api_version
        self.endpoint = f"{(base_url or f'https://{self.shop}').rstrip('/')}/admin/api/{api_version}/graphql.json"
        self.budget = budget if budget is not None else budget_for(self.shop)
        self.max_attempts = max_attempts
        self._token = access_token
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._http = httpx.Client(transport=transport, timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: ShopifySettings, shop: str, **kwargs: Any) -> ShopifyClient:
        """The client for a shop configured in ``BACKROOM_SHOPIFY__ACCESS_TOKENS`` (and ``__API_URLS``)."""
        key = shop.strip().lower()
        tokens = {k.strip().lower(): v for k, v in settings.access_tokens.items()}
        if key not in tokens:
            raise ConfigurationError(f"no Shopify Admin API token for {key}: set BACKROOM_SHOPIFY__ACCESS_TOKENS")
        urls = {k.strip().lower(): v for k, v in settings.api_urls.items()}
        return cls(key, tokens[key], api_version=settings.api_version, base_url=urls.get(key), **kwargs)

    def __repr__(self) -> str:
        return f"ShopifyClient({self.shop!r}, api_version={self.api_version!r})"

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the call itself ---------------------------------------------------------------------------------------

    def execute(self, operation: str, query: str, variables: Mapping[str, Any] | None = None, *,
                resend: bool = True) -> dict[str, Any]:
        """``data`` of one named operation. ``resend=False`` for a mutation that must not be sent twice: a 5xx or
        lost connection then raises ShopifyUnavailable at once (the caller checks what happened), while throttling
        — which guarantees the call did not run — is still waited out and retried."""
        body = json.dumps({"query": query, "variables": dict(variables or {}), "operationName": operation})
        last: ShopifyError | None = None
        for attempt in range(1, self.max_attempts + 1):
            reserved = self.budget.estimate(operation)
            wait = self.budget.reserve(reserved)
            if wait > 0:
                log.info("shopify %s: waiting %.2fs for %g cost points on %s", operation, wait, reserved, self.shop)
                self._sleep(wait)
            try:
                response = self._http.post(self.endpoint, content=body, headers=self._headers())
            except httpx.TransportError as err:
                self.budget.settle(operation, reserved, None)  # it may have run: keep the reservation spent
                last = ShopifyUnavailable(f"{operation} on {self.shop}: {type(err).__name__}", operation=operation)
                if not resend:
                    raise last from err
                self._pause_before_retry(attempt, operation, last)
                continue
            outcome = self._outcome(operation, reserved, response)
            if isinstance(outcome, dict):
                return outcome
            last = outcome
            if isinstance(outcome, ShopifyUnavailable):
                if not resend:
                    raise outcome
                self._pause_before_retry(attempt, operation, outcome)
            elif attempt < self.max_attempts:  # throttled: wait for the bucket (or Retry-After) and go again
                self._sleep(self._throttle_pause(operation, response))
        assert last is not None
        raise last

    def _outcome(self, operation: str, reserved: float,
                 response: httpx.Response) -> dict[str, Any] | ShopifyThrottled | ShopifyUnavailable:
        status = response.status_code
        payload = _json(response)
        cost = cost_from_extensions(payload.get("extensions")) if payload is not None else None
        if status == 429:
            self.budget.settle(operation, reserved, cost, ran=False)
            return ShopifyThrottled(f"{operation} on {self.shop}: HTTP 429", operation=operation, status=status)
        if status >= 500:
            self.budget.settle(operation, reserved, cost)
            return ShopifyUnavailable(f"{operation} on {self.shop}: HTTP {status}", operation=operation,
                                      status=status)
        if status >= 300:  # a redirect too: the shop's address is wrong, trying again will not help
            self.budget.settle(operation, reserved, cost, ran=False)
            raise ShopifyRejected(_error_messages(payload) or [f"HTTP {status}"], operation=operation, status=status)
        if payload is None:
            self.budget.settle(operation, reserved, cost)
            return ShopifyUnavailable(f"{operation} on {self.shop}: response is not JSON", operation=operation,
                                      status=status)
        errors = payload.get("errors")
        if errors and _has_code(errors, "THROTTLED"):
            self.budget.settle(operation, reserved, cost, ran=False)
            return ShopifyThrottled(f"{operation} on {self.shop}: throttled", operation=operation, status=status)
        self.budget.settle(operation, reserved, cost)
        if errors and _has_code(errors, "INTERNAL_SERVER_ERROR"):
            return ShopifyUnavailable(f"{operation} on {self.shop}: internal server error", operation=operation,
                                      status=status)
        if errors:
            raise ShopifyRejected(_error_messages(payload), operation=operation, status=status)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ShopifyRejected(["response has no data"], operation=operation, status=status)
        return data

    def _headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self._token.get_secret_value(), "Content-Type": "application/json",
                "Accept": "application/json"}

    def _pause_before_retry(self, attempt: int, operation: str, error: ShopifyError) -> None:
        if attempt >= self.max_attempts:
            return
        delay = self.backoff(attempt)
        log.warning("shopify %s on %s failed (%s); retry %d/%d in %.2fs", operation, self.shop, error,
                    attempt + 1, self.max_attempts, delay)
        self._sleep(delay)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half the ceiling fixed, half random (``rng``)."""
        ceiling = min(self._backoff_cap_s, self._backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def _throttle_pause(self, operation: str, response: httpx.Response) -> float:
        retry_after = _retry_after(response)
        if retry_after is not None:
            return retry_after
        wait = self.budget.wait_for(self.budget.estimate(operation))
        # a throttle with no cost report to learn from: give the bucket a second rather than spin
        return wait if wait > 0 else 1.0

    def _mutation(self, operation: str, query: str, variables: Mapping[str, Any], field: str,
                  errors_field: str = "userErrors", *, resend: bool = True) -> dict[str, Any]:
        data = self.execute(operation, query, variables, resend=resend)
        payload = data.get(field)
        if not isinstance(payload, dict):
            raise ShopifyRejected([f"{field} returned nothing"], operation=operation)
        problems = payload.get(errors_field) or []
        if problems:
            raise UserErrors(problems, operation)
        return payload

    # --- reads -------------------------------------------------------------------------------------------------

    def orders_updated_since(self, since: datetime, page_size: int = ORDERS_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Raw GraphQL order nodes updated after ``since`` (exclusive, to the second), oldest update first, every
        line item included (orders with more lines than one page holds are completed with follow-up queries)."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if orders_query_cost(page_size, LINES_PER_ORDER) > MAX_QUERY_COST:
            raise ValueError(f"a page of {page_size} orders would cost more than Shopify's {MAX_QUERY_COST} points")
        search = f"updated_at:>'{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        after: str | None = None
        while True:
            data = self.execute("OrdersUpdatedSince", ORDERS_UPDATED_SINCE, {
                "first": page_size, "after": after, "query": search, "lines": LINES_PER_ORDER,
                "fulfillments": FULFILLMENTS_PER_ORDER})
            connection = data.get("orders") or {}
            for node in connection.get("nodes") or []:
                yield self._with_every_line(node)
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return
            after = str(page["endCursor"])

    def _with_every_line(self, node: dict[str, Any]) -> dict[str, Any]:
        lines = node.get("lineItems") or {}
        page = lines.get("pageInfo") or {}
        nodes = list(lines.get("nodes") or [])
        while page.get("hasNextPage") and page.get("endCursor"):
            data = self.execute("OrderLineItems", ORDER_LINE_ITEMS,
                                {"id": node["id"], "first": 50, "after": page["endCursor"]})
            more = ((data.get("order") or {}).get("lineItems")) or {}
            nodes.extend(more.get("nodes") or [])
            page = more.get("pageInfo") or {}
        return {**node, "lineItems": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    # --- writes ------------------------------------------------------------------------------------------------

    def create_fulfillment(self, order_id: str, carrier: str, tracking_number: str, tracking_url: str = "",
                           notify_customer: bool = False) -> str:
        """The gid of the order's fulfilment with this tracking number: an existing one, else a new one covering
        every open fulfilment order. A lost response is never retried blindly: the order is looked at again."""
        order_gid = gid("Order", order_id)
        last: ShopifyError | None = None
        for attempt in range(1, self.max_attempts + 1):
            state = self.execute("OrderFulfillmentState", ORDER_FULFILLMENT_STATE, {"id": order_gid}).get("order")
            if not isinstance(state, dict):
                raise ShopifyRejected([f"order {order_id} not found"], operation="OrderFulfillmentState")
            existing = _fulfillment_with(state, tracking_number)
            if existing:
                return existing
            open_orders = [fo["id"] for fo in (state.get("fulfillmentOrders") or {}).get("nodes") or []
                           if fo.get("status") in OPEN_FULFILLMENT_ORDER]
            if not open_orders:
                raise ShopifyRejected([f"order {order_id} has nothing left to fulfil"], operation="FulfillmentCreate")
            tracking = {"company": carrier, "number": tracking_number} | ({"url": tracking_url} if tracking_url else {})
            fulfillment = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in open_orders],
                           "trackingInfo": tracking, "notifyCustomer": notify_customer}
            try:
                payload = self._mutation("FulfillmentCreate", FULFILLMENT_CREATE, {"fulfillment": fulfillment},
                                         "fulfillmentCreate", resend=False)
            except ShopifyUnavailable as err:
                last = err
                self._pause_before_retry(attempt, "FulfillmentCreate", err)
                continue
            created = payload.get("fulfillment") or {}
            return str(created.get("id") or "")
        assert last is not None
        raise last

    def add_tags(self, order_id: str, tags: Sequence[str]) -> None:
        wanted = [t.strip() for t in tags if t.strip()]
        if wanted:
            self._mutation("TagsAdd", TAGS_ADD, {"id": gid("Order", order_id), "tags": wanted}, "tagsAdd")

    def set_note(self, order_id: str, note: str) -> None:
        self._mutation("OrderNoteUpdate", ORDER_NOTE_UPDATE, {"input": {"id": gid("Order", order_id), "note": note}},
                       "orderUpdate")

    def adjust_inventory(self, inventory_item_id: str, location_id: str, delta: int, reason: str = "correction", *,
                         reference: str) -> str | None:
        """Change ``available`` by ``delta``; the adjustment group's gid (None when delta is 0: nothing sent).
        ``reference`` names the movement in backroom: the same reference is applied once, however often sent."""
        if delta == 0:
            return None
        if not reference.strip():
            raise ValueError("an inventory adjustment needs a reference (its idempotency key)")
        change = {"delta": delta, "inventoryItemId": gid("InventoryItem", inventory_item_id),
                  "locationId": gid("Location", location_id), "changeFromQuantity": None}
        document = reference if "://" in reference else f"gid://backroom/StockMovement/{quote(reference, safe='')}"
        variables = {"input": {"name": "available", "reason": reason, "referenceDocumentUri": document,
                               "changes": [change]},
                     "idempotencyKey": str(uuid.uuid5(uuid.NAMESPACE_URL, f"backroom:{self.shop}:{reference}"))}
        payload = self._mutation("InventoryAdjustQuantities", INVENTORY_ADJUST, variables, "inventoryAdjustQuantities")
        return str((payload.get("inventoryAdjustmentGroup") or {}).get("id") or "") or None

    def create_discount_code(self, code: str, *, percentage: Decimal | None = None, amount: Decimal | None = None,
                             ends_at: datetime, usage_limit: int = 1, title: str,
                             starts_at: datetime | None = None, customer_ids: Sequence[str] = ()) -> str:
        """The gid of the code discount with this code: the existing one if the code is taken, else a new one.
        ``percentage`` is in percent (``Decimal("15")`` is 15 % off); ``amount`` is off the order, shop currency.
        ``customer_ids`` (Shopify customer ids) restrict it to those customers; without them any buyer may use it."""
        if (percentage is None) == (amount is None):
            raise ValueError("give exactly one of percentage and amount")
        if percentage is not None and not Decimal(0) < percentage <= Decimal(100):
            raise ValueError("percentage must be in (0, 100]")
        if amount is not None and amount <= 0:
            raise ValueError("amount must be positive")
        if ends_at.tzinfo is None or (starts_at is not None and starts_at.tzinfo is None):
            raise ValueError("discount dates must be timezone-aware")
        found = self._discount_by_code(code)
        if found:
            return found
        value: dict[str, Any] = (
            {"percentage": float(percentage / 100)} if percentage is not None
            else {"discountAmount": {"amount": str(amount), "appliesOnEachItem": False}})
        discount = {
            "title": title, "code": code, "startsAt": _iso(starts_at or datetime.now(UTC)), "endsAt": _iso(ends_at),
            "usageLimit": usage_limit, "appliesOncePerCustomer": True, "context": discount_context(customer_ids),
            "customerGets": {"value": value, "items": {"all": True}},
        }
        try:
            payload = self._mutation("DiscountCodeBasicCreate", DISCOUNT_CREATE, {"discount": discount},
                                     "discountCodeBasicCreate")
        except UserErrors as err:
            # created by an earlier attempt whose response was lost, or by someone else meanwhile
            found = self._discount_by_code(code) if err.has_code("TAKEN") or err.mentions("unique") else None
            if found:
                return found
            raise
        return str((payload.get("codeDiscountNode") or {}).get("id") or "")

    def _discount_by_code(self, code: str) -> str | None:
        node = self.execute("DiscountCodeByCode", DISCOUNT_BY_CODE, {"code": code}).get("codeDiscountNodeByCode")
        return str(node["id"]) if isinstance(node, dict) and node.get("id") else None

    def unsubscribe_email(self, customer_id: str, at: datetime) -> str:
        """Record on the customer that they unsubscribed from email marketing at ``at``
        (``customerEmailMarketingConsentUpdate``); setting it again changes nothing. The state Shopify now holds."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        payload = self._mutation("CustomerEmailMarketingConsentUpdate", CONSENT_UPDATE, {"input": {
            "customerId": gid("Customer", customer_id),
            "emailMarketingConsent": {"marketingState": "UNSUBSCRIBED", "consentUpdatedAt": _iso(at)}}},
            "customerEmailMarketingConsentUpdate")
        return str(((payload.get("customer") or {}).get("emailMarketingConsent") or {}).get("marketingState") or "")

    def cancel_order(self, order_id: str, reason: str, *, restock: bool, notify_customer: bool,
                     refund: bool) -> Cancellation:
        """Cancel in Shopify (an order already cancelled is a success). ``reason`` is one of Shopify's reasons
        (customer, declined, fraud, inventory, staff, other) or free text, sent as OTHER with a staff note."""
        order_gid = gid("Order", order_id)
        if self._is_cancelled(order_gid):
            return Cancellation(order_id, already_cancelled=True, job_id=None)
        enum = reason.strip().upper()
        variables = {"orderId": order_gid, "reason": enum if enum in CANCEL_REASONS else "OTHER",
                     "restock": restock, "notifyCustomer": notify_customer,
                     "refundMethod": {"originalPaymentMethodsRefund": refund},
                     "staffNote": None if enum in CANCEL_REASONS else reason[:255]}
        try:
            payload = self._mutation("OrderCancel", ORDER_CANCEL, variables, "orderCancel", "orderCancelUserErrors")
        except UserErrors:
            if self._is_cancelled(order_gid):  # an earlier attempt (or someone in the admin) got there first
                return Cancellation(order_id, already_cancelled=True, job_id=None)
            raise
        job = payload.get("job") or {}
        return Cancellation(order_id, already_cancelled=False, job_id=str(job["id"]) if job.get("id") else None)

    def _is_cancelled(self, order_gid: str) -> bool:
        order = self.execute("OrderCancelState", ORDER_CANCEL_STATE, {"id": order_gid}).get("order")
        if not isinstance(order, dict):
            raise ShopifyRejected([f"order {numeric_id(order_gid)} not found"], operation="OrderCancelState")
        return bool(order.get("cancelledAt"))

    def ensure_webhooks(self, callback_url: str, topics: Sequence[str]) -> dict[str, str]:
        """Subscribe ``callback_url`` to each topic (``orders/create`` form, JSON): topic → "created" | "exists"."""
        existing = self._subscriptions()
        result: dict[str, str] = {}
        for topic in topics:
            enum = topic_enum(topic)
            if (enum, callback_url) in existing:
                result[topic] = "exists"
                continue
            try:
                self._mutation("WebhookSubscriptionCreate", WEBHOOK_SUBSCRIPTION_CREATE,
                               {"topic": enum, "subscription": {"uri": callback_url, "format": "JSON"}},
                               "webhookSubscriptionCreate")
            except UserErrors:
                existing = self._subscriptions()
                if (enum, callback_url) not in existing:
                    raise
                result[topic] = "exists"
                continue
            existing.add((enum, callback_url))
            result[topic] = "created"
        return result

    def _subscriptions(self) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        after: str | None = None
        while True:
            data = self.execute("WebhookSubscriptions", WEBHOOK_SUBSCRIPTIONS, {"first": 100, "after": after})
            connection = data.get("webhookSubscriptions") or {}
            found |= {(str(n.get("topic")), str(n.get("uri"))) for n in connection.get("nodes") or []}
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return found
            after = str(page["endCursor"])


class UserErrors(ShopifyRejected):
    """A mutation's ``userErrors``: Shopify understood the call and refused it."""

    def __init__(self, problems: Sequence[Mapping[str, Any]], operation: str) -> None:
        self.problems = tuple(dict(p) for p in problems)
        super().__init__([str(p.get("message") or p) for p in self.problems], operation=operation)

    def has_code(self, code: str) -> bool:
        return any(str(p.get("code") or "").upper() == code for p in self.problems)

    def mentions(self, word: str) -> bool:
        return any(word in str(p.get("message") or "").lower() for p in self.problems)


# --- small helpers -----------------------------------------------------------------------------------------------

def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _has_code(errors: Any, code: str) -> bool:
    if not isinstance(errors, list):
        return False
    return any(isinstance(e, dict) and isinstance(e.get("extensions"), dict) and e["extensions"].get("code") == code
               for e in errors)


def _error_messages(payload: dict[str, Any] | None) -> list[str]:
    errors = (payload or {}).get("errors")
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, list):
        return [str(e.get("message") or e) if isinstance(e, dict) else str(e) for e in errors]
    if isinstance(errors, dict):
        return [f"{k}: {v}" for k, v in errors.items()]
    return []


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _fulfillment_with(state: Mapping[str, Any], tracking_number: str) -> str | None:
    """An existing fulfilment carrying this tracking number (or, for a shipment without one, one without any)."""
    wanted = tracking_number.strip()
    for fulfillment in state.get("fulfillments") or []:
        numbers = {str(t.get("number") or "").strip() for t in fulfillment.get("trackingInfo") or []} - {""}
        if (wanted in numbers) if wanted else not numbers:
            return str(fulfillment["id"])
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


__all__ = [
    "API_VERSION", "Cancellation", "CostBudget", "QueryCost", "ShopifyClient", "ShopifyError", "ShopifyRejected",
    "ShopifyThrottled", "ShopifyUnavailable", "UserErrors", "budget_for", "gid", "numeric_id", "topic_enum",
]
