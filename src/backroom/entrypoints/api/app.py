"""The HTTP API: a signed inbound order endpoint, a bearer-token API under /api, and optionally the worker.

    GET  /healthz            public
    POST /inbound/orders     public but signed: X-Backroom-Signature = base64 HMAC-SHA256(raw body, inbound secret)
    POST /inbound/checkouts  the same, for carts (abandoned checkouts) in backroom's format
    POST /webhooks/shopify   public but signed: X-Shopify-Hmac-Sha256 with the Shopify app's client secret
    POST /webhooks/woocommerce  public but signed: X-WC-Webhook-Signature with the webhooks' secret
    *    /api/...            Authorization: Bearer $BACKROOM_API_TOKEN; store chosen by X-Backroom-Store (slug)
                             (orders, stock, review, rules: list/save/check/test/mode/history, summary,
                             flows and their funnels, email suppressions)

/inbound/orders imports the order before answering (``created``, ``existing``, ``duplicate``), /inbound/checkouts
records the checkout before answering (``created``, ``updated``, ``completed`` …); the platform webhooks answer once
the delivery is committed to the inbox (``accepted``, ``duplicate``, ``ignored``) and the inbox processor
imports it after the reply (docs/connectors.md, "What a webhook is answered").

Errors answer ``{"error": code, "message": text}`` with the status of the exception's branch (see errors.py).
Log lines carry ids, statuses and codes only: never an email, an address or a payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from backroom.adapters.db import queries
from backroom.adapters.db import rules as rules_db
from backroom.adapters.db import tables as t
from backroom.adapters.db.inbox import record_input
from backroom.bootstrap import Backroom, build
from backroom.connectors import checkouts, generic
from backroom.connectors.routing import STORE_SLUG, shopify_store, woocommerce_store
from backroom.connectors.shopify import webhooks as shopify_webhooks
from backroom.connectors.woocommerce import webhooks as woo_webhooks
from backroom.errors import BackroomError, Conflict, InvalidInput, NotFound, RetryableConflict, SignatureInvalid
from backroom.orders.commands import CancelOrder, ReceiveStock, ResolveReviewItem
from backroom.orders.error_codes import ReviewAction
from backroom.orders.model import OrderStatus
from backroom.rules.actions import ACTIONS
from backroom.rules.model import RuleInvalid, RuleMode, compile_all, parse_duration, parse_rules
from backroom.rules.triggers import TRIGGERS
from backroom.service_layer.messagebus import InboxEntry
from backroom.shared.hashing import signature_matches

log = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 1024 * 1024
SIGNATURE_HEADER = "X-Backroom-Signature"
DELIVERY_HEADER = "X-Backroom-Delivery-Id"
STORE_HEADER = "X-Backroom-Store"
INBOUND_SOURCE = "inbound"
MAX_DELIVERY_ID = 200

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
RuleName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]
Limit = Annotated[int, Query(ge=1, le=500)]


class ApiProblem(Exception):
    """An HTTP-level refusal (auth, limits, configuration) that has no place in the domain's exception tree."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def status_for(err: BackroomError) -> int:
    if isinstance(err, SignatureInvalid):
        return 401
    if isinstance(err, InvalidInput):
        return 400
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, Conflict):
        return 409
    if isinstance(err, RetryableConflict):
        return 503  # transient clash that outlived the bus's retries: the same request may succeed again
    return 400


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


# -- the app ----------------------------------------------------------------------------------------------------


def create_app(backroom: Backroom, with_worker: bool = False, *, close_at_shutdown: bool = False) -> FastAPI:
    """The ASGI app over one Backroom; with_worker also runs an effect worker for the app's lifetime, and
    close_at_shutdown closes the Backroom when the server stops (an app that built its own)."""
    api = FastAPI(
        title="backroom",
        version="0.1.0",
        summary="The back office of an online store: orders, stock and the review queue.",
        lifespan=_lifespan(backroom, with_worker, close_at_shutdown) if with_worker or close_at_shutdown else None,
    )
    api.state.backroom = backroom

    @api.exception_handler(BackroomError)
    async def backroom_error(request: Request, err: BackroomError) -> JSONResponse:
        status = status_for(err)
        log.info("%s %s -> %d %s", request.method, request.url.path, status, err.code)
        if isinstance(err, RuleInvalid):
            return JSONResponse({"error": err.code, "message": err.message, "problems": err.problems},
                                status_code=422)
        return _error(status, err.code, err.message)

    @api.exception_handler(ApiProblem)
    async def api_problem(request: Request, err: ApiProblem) -> JSONResponse:
        log.info("%s %s -> %d %s", request.method, request.url.path, err.status, err.code)
        return _error(err.status, err.code, err.message, err.headers)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in err.errors()]
        message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or 'request'}: {e.get('msg')}"
                            for e in errors)
        return JSONResponse({"error": "invalid_request", "message": message, "detail": jsonable_encoder(errors)},
                            status_code=422)

    api.include_router(meta)
    api.include_router(inbound)
    api.include_router(protected)
    from backroom.entrypoints.api.replenishment import router as replenishment  # it builds on this module's parts

    api.include_router(replenishment)
    from backroom.entrypoints.api.returns import router as returns

    api.include_router(returns)
    from backroom.entrypoints.api.support import inbound as support_inbound
    from backroom.entrypoints.api.support import router as support

    api.include_router(support)
    api.include_router(support_inbound)
    from backroom.entrypoints.api.unsubscribe import router as unsubscribe

    api.include_router(unsubscribe)
    from backroom.entrypoints.api.marketing import router as marketing

    api.include_router(marketing)
    from backroom.entrypoints.api.store import router as store

    api.include_router(store)
    if backroom.settings.support.widget_origins:  # the chat widget runs on the store's own site
        api.add_middleware(CORSMiddleware, allow_origins=backroom.settings.support.widget_origins,
                           allow_methods=["POST"], allow_headers=["Content-Type", "X-Backroom-Store"])
    return api


def app_from_environment() -> FastAPI:
    """The app over a Backroom built from the environment's settings, for a server that imports it: one process
    that records webhooks and imports them in its own inbox thread (no effect worker: run ``backroom worker``)."""
    return _server_app(build())


def recording_app_from_environment() -> FastAPI:
    """The same, for one of several API processes (entrypoints/api/processes.py): it records webhooks and answers;
    the supervising process's inbox processor, woken by each commit's NOTIFY, imports them."""
    backroom = build()
    backroom.inbox_elsewhere = True
    return _server_app(backroom)


def _server_app(backroom: Backroom) -> FastAPI:
    app = create_app(backroom, close_at_shutdown=True)
    quiet_collector()
    return app


def quiet_collector() -> None:
    """Take what the process built at start (modules, settings, the app: long-lived) out of the garbage collector's
    sight. Its full collections otherwise walk all of it while holding the GIL, every second or so under load:
    measured here, 50-75 ms pauses that every request in the process waits out (p99 86 ms at 8 concurrent
    webhooks; 30 ms frozen)."""
    gc.freeze()


def _lifespan(backroom: Backroom, with_worker: bool,
              close: bool) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = None
        if with_worker:
            task = asyncio.create_task(
                # uvicorn owns SIGINT/SIGTERM: the worker is stopped by cancelling this task, so one Ctrl-C stops both
                backroom.run_worker(install_signal_handlers=False), name="backroom-worker"
            )
            task.add_done_callback(_report_worker_exit)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if close:
                await asyncio.to_thread(backroom.close)

    return lifespan


def _report_worker_exit(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    err = task.exception()
    if err is not None:
        log.error("in-process worker stopped: %s", type(err).__name__, exc_info=err)
    else:
        log.warning("in-process worker stopped")


# -- dependencies -----------------------------------------------------------------------------------------------


async def get_backroom(request: Request) -> Backroom:  # async: a sync dependency costs a thread hop per request
    return cast(Backroom, request.app.state.backroom)


BackroomDep = Annotated[Backroom, Depends(get_backroom)]
StoreHeader = Annotated[str | None, Header(alias=STORE_HEADER, description="store slug; default BACKROOM_STORE")]


def store_slug(backroom: Backroom, header: str | None) -> str:
    slug = header.strip() if header else ""
    if not slug:
        return backroom.settings.store
    if not STORE_SLUG.fullmatch(slug):
        raise InvalidInput(f"{STORE_HEADER} must be a store slug (letters, digits, '.', '_', '-'; at most 64)",
                           code="invalid_store")
    return slug


@dataclasses.dataclass(frozen=True)
class Scope:
    slug: str
    id: int


def store_scope(backroom: BackroomDep, store: StoreHeader = None) -> Scope:
    slug = store_slug(backroom, store)
    return Scope(slug, backroom.store_id(slug))


StoreScope = Annotated[Scope, Depends(store_scope)]


def require_token(backroom: BackroomDep, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = backroom.settings.api_token.get_secret_value() if backroom.settings.api_token else ""
    challenge = {"WWW-Authenticate": "Bearer"}
    if not expected:
        raise ApiProblem(401, "api_token_not_set",
                         "the API is disabled until a token is configured: set BACKROOM_API_TOKEN", challenge)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise ApiProblem(401, "unauthorized", "send Authorization: Bearer <BACKROOM_API_TOKEN>", challenge)


# -- GET /healthz -----------------------------------------------------------------------------------------------

meta = APIRouter(tags=["meta"])


@meta.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# -- POST /inbound/orders ---------------------------------------------------------------------------------------

inbound = APIRouter(tags=["inbound"])


class InboundOutcome(BaseModel):
    outcome: Literal["created", "existing", "duplicate"]
    order_id: int | None
    status: str | None
    source_id: str


@inbound.post(
    "/inbound/orders",
    summary="Receive one order, signed with the inbound secret",
    responses={
        400: {"description": "not an order we can accept (kept in the inbox as 'rejected')"},
        401: {"description": "signature missing or wrong (kept in the inbox as 'rejected')"},
        413: {"description": "body over 1 MB (not kept)"},
        503: {"description": "no inbound secret configured"},
    },
)
async def inbound_order(
    request: Request,
    backroom: BackroomDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
    delivery_id: Annotated[str | None, Header(alias=DELIVERY_HEADER, description="dedupe key")] = None,
    store: StoreHeader = None,
) -> InboundOutcome:
    """The same delivery id (else the same body) is imported once; repeats answer 200 with outcome 'duplicate'."""
    slug, entry, body = await _signed_inbound(request, backroom, signature, delivery_id, store,
                                              source=INBOUND_SOURCE, kind="order", what="orders")
    outcome = await run_in_threadpool(
        backroom.ingest_order, body, entry.headers, source=INBOUND_SOURCE, source_id=entry.source_id, store=slug
    )
    log.info("inbound delivery %s: %s (order %s, %s)", outcome.source_id, outcome.outcome, outcome.order_id,
             outcome.status)
    return InboundOutcome.model_validate(dataclasses.asdict(outcome))


async def _signed_inbound(request: Request, backroom: Backroom, signature: str | None, delivery_id: str | None,
                          store: str | None, *, source: str, kind: str,
                          what: str) -> tuple[str, InboxEntry, bytes]:
    """What every signed /inbound/* endpoint checks first: a secret is configured, the headers are usable, the body
    is within the limit and signed (an unsigned or forged body is kept as 'rejected' and refused with 401)."""
    secret = backroom.settings.inbound_secret.get_secret_value() if backroom.settings.inbound_secret else ""
    if not secret:
        raise ApiProblem(503, "inbound_not_configured", f"inbound {what} are disabled: set BACKROOM_INBOUND_SECRET")
    slug = store_slug(backroom, store)
    delivery = delivery_id.strip() if delivery_id else ""
    if len(delivery) > MAX_DELIVERY_ID:
        raise InvalidInput(f"{DELIVERY_HEADER} is longer than {MAX_DELIVERY_ID} characters",
                           code="invalid_delivery_id")
    body = await _read_body(request, MAX_INBOUND_BYTES)
    entry = InboxEntry.from_raw(source, delivery or None, kind, body, dict(request.headers))
    if not signature_matches(secret, body, signature):
        await run_in_threadpool(_keep_rejected, backroom, slug, entry, SignatureInvalid.code)
        log.info("inbound delivery %s rejected: %s", entry.source_id, SignatureInvalid.code)
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is missing or does not match the body")
    return slug, entry, body


# -- POST /inbound/checkouts ------------------------------------------------------------------------------------

CheckoutResult = Literal["created", "updated", "completed", "deleted", "unchanged", "duplicate"]
#: what recording a checkout did (the handler's words) → the answer's outcome; anything else is 'unchanged'
_CHECKOUT_OUTCOMES: dict[str, CheckoutResult] = {
    "created": "created", "updated": "updated", "completed": "completed", "deleted": "deleted"}


class CheckoutOutcome(BaseModel):
    outcome: CheckoutResult
    detail: str = Field(description="what recording it did, e.g. 'unchanged: older than the version kept'")
    source_id: str


@inbound.post(
    "/inbound/checkouts",
    summary="Receive one checkout (a cart, for the abandoned-checkout flow), signed with the inbound secret",
    responses={
        400: {"description": "not a checkout we can accept, every problem listed (kept in the inbox as 'rejected')"},
        401: {"description": "signature missing or wrong (kept in the inbox as 'rejected')"},
        413: {"description": "body over 1 MB (not kept)"},
        503: {"description": "no inbound secret configured"},
    },
)
async def inbound_checkout(
    request: Request,
    backroom: BackroomDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
    delivery_id: Annotated[str | None, Header(alias=DELIVERY_HEADER, description="dedupe key")] = None,
    store: StoreHeader = None,
) -> CheckoutOutcome:
    """Recorded before the answer, through the same command as a Shopify checkout (its buyer enters the
    abandoned-checkout flow in that transaction). The same delivery id (else the same body) is recorded once."""
    slug, entry, body = await _signed_inbound(request, backroom, signature, delivery_id, store,
                                              source=checkouts.SOURCE, kind=checkouts.KIND, what="checkouts")
    out = await run_in_threadpool(backroom.ingest_webhook, checkouts.SOURCE, entry.source_id, checkouts.KIND, body,
                                  entry.headers, slug, checkouts.map_checkout)
    outcome: CheckoutResult = (
        "duplicate" if out.outcome == "duplicate" else _CHECKOUT_OUTCOMES.get(out.detail, "unchanged"))
    log.info("inbound checkout %s: %s", out.source_id, outcome)
    return CheckoutOutcome(outcome=outcome, detail=out.detail or outcome, source_id=out.source_id)


class WebhookReply(BaseModel):
    source_id: str
    topic: str
    outcome: str = Field(description="accepted (recorded, processed after this reply), duplicate, ignored, ping")
    detail: str = Field(description="'received' when accepted; why an input was ignored")

    def response(self) -> JSONResponse:
        """Sent as is: the hot path skips FastAPI's validation of what it just built."""
        return JSONResponse(self.model_dump())


def _webhook_responses(platform: str) -> dict[int | str, dict[str, Any]]:
    return {
        400: {"description": "not a payload we can accept (kept in the inbox as 'rejected')"},
        401: {"description": "signature missing or wrong (kept in the inbox as 'rejected')"},
        413: {"description": "body over 1 MB (not kept)"},
        503: {"description": f"no {platform} webhook secret configured"},
    }


def _webhook_secret(secret: SecretStr | None, platform: str, env: str) -> str:
    """The platform's webhook secret; none configured refuses the delivery with 503 before its body is read."""
    value = secret.get_secret_value() if secret else ""
    if not value:
        raise ApiProblem(503, f"{platform.lower()}_not_configured", f"{platform} webhooks are disabled: set {env}")
    return value


@inbound.post(
    "/webhooks/shopify",
    response_model=WebhookReply,
    summary="Receive a Shopify webhook (X-Shopify-Hmac-Sha256 with the app's client secret)",
    responses=_webhook_responses("Shopify"),
)
async def shopify_webhook(request: Request, backroom: BackroomDep) -> JSONResponse:
    """Answers 200 'accepted' once the delivery is committed to the inbox, under X-Shopify-Event-Id (else
    X-Shopify-Webhook-Id); it is imported after the reply. A repeat answers 200 'duplicate'. Topics backroom does
    not act on answer 200 'ignored' with the reason, so Shopify does not retry them."""
    settings = backroom.settings.shopify
    secret = _webhook_secret(settings.webhook_secret, "Shopify", "BACKROOM_SHOPIFY__WEBHOOK_SECRET")
    body = await _read_body(request, MAX_INBOUND_BYTES)
    headers = dict(request.headers)
    delivery = shopify_webhooks.delivery(headers)
    return await _platform_webhook(
        backroom, "shopify", body, headers, delivery.delivery_id, delivery.topic,
        slug=shopify_store(settings, delivery.shop),
        signature_problem=None if shopify_webhooks.verify(secret, body, headers) else SignatureInvalid(
            "X-Shopify-Hmac-Sha256 is missing or does not match the body"),
        no_store=InvalidInput("X-Shopify-Shop-Domain is missing or not a shop domain", code="invalid_shop"))


@inbound.post(
    "/webhooks/woocommerce",
    response_model=WebhookReply,
    summary="Receive a WooCommerce webhook (X-WC-Webhook-Signature with the webhook's secret)",
    responses=_webhook_responses("WooCommerce"),
)
async def woocommerce_webhook(request: Request, backroom: BackroomDep) -> JSONResponse:
    """Answers 200 'accepted' once the delivery is committed to the inbox under X-WC-Webhook-Delivery-ID (imported
    after the reply; a repeat is 'duplicate'); the unsigned ping WooCommerce sends when a webhook is created answers
    200 'ping' (WooCommerce disables a webhook after 5 failed deliveries in a row)."""
    settings = backroom.settings.woocommerce
    secret = _webhook_secret(settings.webhook_secret, "WooCommerce", "BACKROOM_WOOCOMMERCE__WEBHOOK_SECRET")
    body = await _read_body(request, MAX_INBOUND_BYTES)
    headers = dict(request.headers)
    if woo_webhooks.is_ping(body, headers):
        return WebhookReply(source_id="", topic="ping", outcome="ping", detail="webhook reachable").response()
    delivery = woo_webhooks.delivery(headers)
    host = urlsplit(delivery.source).hostname or ""
    return await _platform_webhook(
        backroom, "woocommerce", body, headers, delivery.delivery_id, delivery.topic,
        slug=woocommerce_store(settings, host),
        signature_problem=None if woo_webhooks.verify(secret, body, headers) else SignatureInvalid(
            "X-WC-Webhook-Signature is missing or does not match the body"),
        no_store=InvalidInput("X-WC-Webhook-Source is missing or not a site URL", code="invalid_site"))


async def _platform_webhook(backroom: Backroom, platform: str, body: bytes, headers: dict[str, str],
                            delivery_id: str | None, topic: str, *, slug: str | None,
                            signature_problem: SignatureInvalid | None, no_store: InvalidInput) -> JSONResponse:
    """What every platform's webhook does once its headers are read: refuse (and keep) an unverified delivery or
    one that names no store, else answer as soon as it is recorded in the inbox of the store it names (durable:
    it cannot be lost); the inbox processor imports it after the reply (Backroom.accept_webhook)."""
    if signature_problem is None and slug is not None:
        outcome = await asyncio.wrap_future(backroom.accept_webhook(platform, delivery_id, topic, body, headers, slug))
        log.info("%s delivery %s (%s): %s", platform, outcome.source_id, outcome.topic, outcome.outcome)
        return WebhookReply(source_id=outcome.source_id, topic=outcome.topic, outcome=outcome.outcome,
                            detail=outcome.detail).response()
    problem = signature_problem or no_store
    entry = InboxEntry.from_raw(platform, delivery_id, topic or "unknown", body, headers)
    await run_in_threadpool(_keep_rejected, backroom, slug or backroom.settings.store, entry, problem.code)
    log.info("%s delivery %s rejected: %s", platform, entry.source_id, problem.code)
    raise problem


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, "payload_too_large", f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(413, "payload_too_large", f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _keep_rejected(backroom: Backroom, slug: str, entry: InboxEntry, error: str) -> None:
    """Kept under the named store if it exists, else the default store: an unverified request creates no store."""
    with backroom.engine.connect() as conn:
        found = conn.execute(select(t.stores.c.id).where(t.stores.c.slug == slug)).scalar()
    store_id = int(found) if found is not None else backroom.store_id()
    record_input(backroom.engine, store_id, entry, "rejected", error)


# -- /api -------------------------------------------------------------------------------------------------------

protected = APIRouter(prefix="/api", dependencies=[Depends(require_token)])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CancelRequest(_Body):
    reason: str = Field(default="cancelled by the store", min_length=1, max_length=500)
    actor: str = Field(default="api", min_length=1, max_length=200)


class ReceiveStockRequest(_Body):
    sku: str = Field(min_length=1, max_length=100)
    location: str = Field(min_length=1, max_length=64, description="location code, e.g. MAIN")
    quantity: int = Field(ge=-1_000_000, le=1_000_000, description="units received (negative: a count correction)")
    reference: str = Field(default="api", min_length=1, max_length=500)


class ResolveRequest(_Body):
    action: ReviewAction
    note: str = Field(default="", max_length=2000)
    actor: str = Field(default="api", min_length=1, max_length=200)
    address: generic.AddressIn | None = Field(default=None, description="the corrected address, for edit_address")


class RetryRequest(_Body):
    actor: str = Field(default="api", min_length=1, max_length=200)


class ReviewStatusFilter(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    ALL = "all"


@protected.get("/orders", tags=["orders"])
def list_orders(backroom: BackroomDep, store: StoreScope, status: OrderStatus | None = None,
                limit: Limit = 50) -> list[dict[str, Any]]:
    return queries.list_orders(backroom.engine, store.id, status.value if status else None, limit)


@protected.get("/orders/{order_id}", tags=["orders"])
def order_detail(backroom: BackroomDep, store: StoreScope, order_id: Id) -> dict[str, Any]:
    return queries.order_detail(backroom.engine, store.id, order_id)


@protected.post("/orders/{order_id}/cancel", tags=["orders"])
def cancel_order(backroom: BackroomDep, store: StoreScope, order_id: Id,
                 body: CancelRequest | None = None) -> dict[str, Any]:
    """Cancel an order that has not shipped: its stock is released and offered to the backorder queue."""
    req = body or CancelRequest()
    backroom.handle(CancelOrder(order_id, req.reason, req.actor), store.slug)
    log.info("order %d cancelled", order_id)
    return {"order_id": order_id, "status": queries.order_detail(backroom.engine, store.id, order_id)["status"]}


@protected.get("/stock", tags=["stock"])
def list_stock(backroom: BackroomDep, store: StoreScope,
               sku: Annotated[str | None, Query(max_length=100)] = None) -> list[dict[str, Any]]:
    return queries.list_stock(backroom.engine, store.id, sku or None)


@protected.post("/stock/receive", tags=["stock"])
def receive_stock(backroom: BackroomDep, store: StoreScope, body: ReceiveStockRequest) -> dict[str, Any]:
    """Record stock arriving at a location; the FIFO backorder queue is served first."""
    allocated = backroom.handle(ReceiveStock(body.sku, body.location, body.quantity, body.reference), store.slug)
    log.info("received %d x %s at %s; %d backorders completed", body.quantity, body.sku, body.location, allocated)
    return {"sku": body.sku, "location": body.location, "quantity": body.quantity,
            "backorders_completed": allocated, "stock": queries.list_stock(backroom.engine, store.id, body.sku)}


@protected.get("/review", tags=["review"])
def list_review(backroom: BackroomDep, store: StoreScope, status: ReviewStatusFilter = ReviewStatusFilter.OPEN,
                limit: Limit = 100) -> list[dict[str, Any]]:
    wanted = None if status is ReviewStatusFilter.ALL else status.value
    return queries.list_review(backroom.engine, store.id, wanted, limit)


@protected.get("/review/{item_id}", tags=["review"])
def review_detail(backroom: BackroomDep, store: StoreScope, item_id: Id) -> dict[str, Any]:
    return queries.review_detail(backroom.engine, store.id, item_id)


@protected.post("/review/{item_id}/resolve", tags=["review"])
def resolve_review(backroom: BackroomDep, store: StoreScope, item_id: Id, body: ResolveRequest) -> dict[str, Any]:
    """Take one of the item's allowed actions (approve, cancel_order, edit_address, retry, dismiss)."""
    address = body.address.to_domain() if body.address else None
    command = ResolveReviewItem(item_id, body.action.value, body.actor, body.note, address)
    outcome = backroom.handle(command, store.slug)
    log.info("review item %d: %s", item_id, body.action.value)
    return _resolved(backroom, store, item_id, body.action, outcome)


@protected.post("/review/{item_id}/retry", tags=["review"])
def retry_review(backroom: BackroomDep, store: StoreScope, item_id: Id,
                 body: RetryRequest | None = None) -> dict[str, Any]:
    """Re-queue the failed effect behind this item with a fresh attempt budget."""
    req = body or RetryRequest()
    outcome = backroom.handle(ResolveReviewItem(item_id, ReviewAction.RETRY.value, req.actor), store.slug)
    log.info("review item %d: retry", item_id)
    return _resolved(backroom, store, item_id, ReviewAction.RETRY, outcome)


def _resolved(backroom: Backroom, store: Scope, item_id: int, action: ReviewAction, outcome: Any) -> dict[str, Any]:
    item = queries.review_detail(backroom.engine, store.id, item_id)
    return {"item_id": item_id, "action": action.value, "outcome": outcome, "status": item["status"],
            "subject_type": item["subject_type"], "subject_id": item["subject_id"]}


# -- rules ------------------------------------------------------------------------------------------------------


class RulesDocument(_Body):
    rules: list[dict[str, Any]] = Field(max_length=500, description="rule definitions, as in a rules YAML file")
    actor: str = Field(default="api", min_length=1, max_length=200)


class ModeRequest(_Body):
    mode: RuleMode


Since = Annotated[str, Query(pattern=r"^\d+[smhdw]$", description="how far back: 24h, 90d, 2w")]


@protected.get("/rules", tags=["rules"])
def list_rules(backroom: BackroomDep, store: StoreScope) -> list[dict[str, Any]]:
    return rules_db.list_rules(backroom.engine, store.id)


@protected.put("/rules", tags=["rules"])
def save_rules(backroom: BackroomDep, store: StoreScope, body: RulesDocument) -> list[dict[str, Any]]:
    """Save rules (all are checked first; nothing is saved if one is invalid: 422 with every problem).
    A changed definition becomes a new version; rules not listed are left as they are."""
    definitions = parse_rules(body.rules)
    saved = rules_db.save_rules(backroom.engine, store.id, definitions, body.actor, backroom.clock.now())
    log.info("rules saved: %s", ", ".join(f"{r.name} v{r.version} {r.change}" for r in saved))
    return [dataclasses.asdict(r) for r in saved]


@protected.post("/rules/check", tags=["rules"])
def check_rules(body: RulesDocument) -> dict[str, Any]:
    """Check rules without saving them: 200 when every rule would save, 422 listing every problem otherwise."""
    return {"ok": True, "rules": len(compile_all(parse_rules(body.rules)))}


@protected.post("/rules/test", tags=["rules"])
def dry_run_rules(backroom: BackroomDep, store: StoreScope, since: Since = "90d",
                  body: RulesDocument | None = None) -> dict[str, Any]:
    """Dry run over the store's recorded events (the given rules, or the saved ones). Does nothing."""
    definitions = parse_rules(body.rules) if body is not None else None
    start = backroom.clock.now() - parse_duration(since)
    return rules_db.dry_run_rules(backroom.engine, store.id, definitions, since=start).as_dict()


@protected.get("/rules/triggers", tags=["rules"])
def rule_triggers() -> list[dict[str, Any]]:
    return [{"name": t.name, "summary": t.summary, "about": t.subject, "schema": t.schema} for t in TRIGGERS.values()]


@protected.get("/rules/actions", tags=["rules"])
def rule_actions() -> list[dict[str, Any]]:
    return [{"name": a.name, "summary": a.summary, "needs": a.subject, "params": a.params.model_json_schema()}
            for a in ACTIONS.values()]


@protected.get("/rules/{name}", tags=["rules"])
def rule_detail(backroom: BackroomDep, store: StoreScope, name: RuleName) -> dict[str, Any]:
    return rules_db.rule_detail(backroom.engine, store.id, name)


@protected.put("/rules/{name}/mode", tags=["rules"])
def set_rule_mode(backroom: BackroomDep, store: StoreScope, name: RuleName, body: ModeRequest) -> dict[str, Any]:
    rules_db.set_rule_mode(backroom.engine, store.id, name, body.mode, backroom.clock.now())
    log.info("rule %s is now %s", name, body.mode.value)
    return {"name": name, "mode": body.mode.value}


@protected.get("/rules/{name}/history", tags=["rules"])
def rule_history(backroom: BackroomDep, store: StoreScope, name: RuleName, limit: Limit = 50) -> list[dict[str, Any]]:
    return rules_db.rule_history(backroom.engine, store.id, name, limit)


@protected.get("/summary", tags=["meta"])
def summary(backroom: BackroomDep, store: StoreScope) -> dict[str, Any]:
    return queries.summary(backroom.engine, store.id)
