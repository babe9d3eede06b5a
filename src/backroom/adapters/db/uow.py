"""The SQL unit of work: one transaction, repositories scoped to one store, and a bulk flush on commit.

Handlers append to buffers (new orders, ledger entries, effects, events, decisions, review items); ``commit``
writes each buffer with one multi-row statement, so a batch of orders costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Self
from zoneinfo import ZoneInfo

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Engine,
    Text,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from backroom.adapters.db import tables as t
from backroom.adapters.db.bulk import JSON_TEXT_ARRAY, Col, insert_rows
from backroom.adapters.db.marketing import SqlMarketingRepository
from backroom.adapters.db.purchasing import SqlPlanReader, SqlPurchaseOrderRepository, SqlSupplierRepository
from backroom.adapters.db.rules import SqlRuleRepository
from backroom.adapters.db.support import SqlConversationRepository, SqlSupportReader
from backroom.adapters.queue.defer import defer_effect_jobs
from backroom.customers.model import CustomerProfile, MarketingConsent
from backroom.errors import NotFound, RetryableConflict
from backroom.inventory.model import StockLevel, StockPool
from backroom.inventory.platform import PlatformLevel
from backroom.orders.aftercare import ReturnLine, ReturnRequest
from backroom.orders.checkouts import Checkout, CheckoutClaim, CheckoutLine
from backroom.orders.error_codes import HUMAN_HOLDS, ReasonCode
from backroom.orders.model import (
    Address,
    CustomerStats,
    Order,
    OrderLine,
    OrderStatus,
    PaymentState,
    Reservation,
)
from backroom.orders.payments import Refund, RefundLine
from backroom.review.model import SYSTEM_ACTOR, ReviewItem, ReviewStatus
from backroom.service_layer.effects import AutomationMode, EffectRequest, EffectStatus
from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest
from backroom.shared.clock import Clock

# An input kept earlier as rejected/failed (bad signature, outage) does not block a good redelivery under the same
# id: the conflict updates it, but never an input already processed.
_CLAIM_CONFLICT = (
    "ON CONFLICT (store_id, source, source_id) DO UPDATE"
    " SET status = 'processed', body = excluded.body, headers = excluded.headers, error = NULL"
    " WHERE inbox.status <> 'processed' RETURNING id"
)
_INBOX_COLUMNS = (Col("store_id", "integer"), Col("source", "text"), Col("source_id", "text"), Col("kind", "text"),
                  Col("status", "text"), Col("headers", "jsonb"), Col("body", "text"),
                  Col("received_at", "timestamptz"))
_EVENT_COLUMNS = (Col("store_id", "integer"), Col("name", "text"), Col("at", "timestamptz"),
                  Col("subject_type", "text"), Col("subject_id", "bigint"), Col("data", "jsonb"),
                  Col("context", "json"))
_DECISION_COLUMNS = (Col("store_id", "integer"), Col("at", "timestamptz"), Col("trigger", "text"),
                     Col("policy", "text"), Col("policy_version", "text"), Col("subject_type", "text"),
                     Col("subject_id", "bigint"), Col("inputs", "jsonb"), Col("outcome", "jsonb"),
                     Col("shadow", "boolean"))
_EFFECT_COLUMNS = (Col("store_id", "integer"), Col("kind", "text"), Col("key", "text"), Col("automation", "text"),
                   Col("subject_id", "bigint"), Col("payload", "jsonb"), Col("status", "text"),
                   Col("max_attempts", "integer"), Col("created_at", "timestamptz"))
_ORDER_COLUMNS = (
    Col("id", "bigint"), Col("store_id", "integer"), Col("channel", "text"), Col("external_id", "text"),
    Col("number", "text"), Col("customer_id", "bigint"), Col("email", "text"), Col("customer_name", "text"),
    Col("status", "text"), Col("payment_state", "text"), Col("currency", "text"), Col("total", "numeric"),
    Col("shipping_address", "jsonb"), Col("billing_address", "jsonb"), Col("holds", "jsonb", JSON_TEXT_ARRAY),
    Col("tags", "jsonb", JSON_TEXT_ARRAY), Col("notes", "jsonb"), Col("priority", "integer"),
    Col("fingerprint", "text"), Col("backorder_seq", "bigint"),
    Col("placed_at", "timestamptz"), Col("created_at", "timestamptz"), Col("updated_at", "timestamptz"),
)
_LINE_COLUMNS = (Col("store_id", "integer"), Col("order_id", "bigint"), Col("line_no", "integer"),
                 Col("sku", "text"), Col("title", "text"), Col("quantity", "integer"), Col("unit_price", "numeric"))
_RESERVATION_COLUMNS = (Col("store_id", "integer"), Col("order_id", "bigint"), Col("sku", "text"),
                        Col("location_id", "integer"), Col("quantity", "integer"))
_LEDGER_COLUMNS = (Col("store_id", "integer"), Col("sku", "text"), Col("location_id", "integer"),
                   Col("delta_on_hand", "integer"), Col("delta_reserved", "integer"), Col("reason", "text"),
                   Col("reference", "text"), Col("at", "timestamptz"))

#: unique indexes two transactions may race to fill (an order arriving twice at once; two plans of one store): the
#: loser runs again and finds what the winner wrote
_RACED_INSERTS = ("uq_orders_store_channel_external", "uq_purchase_orders_store_supplier_cycle", "pk_plan_lines")

_TRANSIENT = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.LockNotAvailable)


EventListener = Callable[[RecordedEvent], "dict[str, Any] | None"]
ListenerFactory = Callable[[Any], EventListener]  # given this unit of work; the engine types it by its port


class SqlUnitOfWork:
    """``listener`` (the rules engine, wired by bootstrap) sees each event as it is recorded, inside this
    transaction, and returns the context it evaluated, which is stored with the event for dry runs."""

    def __init__(
        self, engine: Engine, store_id: int, clock: Clock, max_attempts: int = 5, inbox: Sequence[InboxEntry] = (),
        listener: ListenerFactory | None = None,
    ) -> None:
        self.engine = engine
        self.store_id = store_id
        self.inbox = inbox
        self.clock = clock
        self.max_attempts = max_attempts
        self.listener_factory = listener
        self.conn: Connection

    def __enter__(self) -> Self:
        self.conn = self.engine.connect()
        self.conn.begin()
        self.orders = SqlOrderRepository(self)
        self.stock = SqlStockRepository(self)
        self.catalog = SqlCatalogRepository(self)
        self.customers = SqlCustomerRepository(self)
        self.reviews = SqlReviewRepository(self)
        self.effects = SqlEffectAdmin(self)
        self.rules = SqlRuleRepository(self)
        self._effects: list[EffectRequest] = []
        self._events: list[tuple[RecordedEvent, dict[str, Any] | None]] = []
        self._after_flush: list[Callable[[], object]] = []
        self._listener = self.listener_factory(self) if self.listener_factory else None
        self._decisions: list[Decision] = []
        self._reviews: list[ReviewRequest] = []
        self._now = self.clock.now()
        if self.inbox and not self._claim_inbox():
            self.conn.rollback()
            self.conn.close()
            raise DuplicateDelivery()
        return self

    def _claim_inbox(self) -> bool:
        """Record each input under its source id; False when every one of them was seen before."""
        entries = {(e.source, e.source_id): e for e in self.inbox}.values()  # a row may be claimed once per statement
        claimed = insert_rows(self.conn, "inbox", _INBOX_COLUMNS, [
            (self.store_id, e.source, e.source_id, e.kind, "processed", dict(e.headers), e.body, self._now)
            for e in entries], _CLAIM_CONFLICT)
        return bool(claimed)

    def __exit__(self, *exc: object) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()

    # -- the port ---------------------------------------------------------------------------------------------

    def request_effect(self, effect: EffectRequest) -> None:
        self._effects.append(effect)

    def withdraw_unsent(self, subject_id: int, keys: set[str]) -> list[str]:
        kept: list[EffectRequest] = []
        dropped: list[EffectRequest] = []
        for eff in self._effects:
            (dropped if eff.subject_id == subject_id and eff.key in keys else kept).append(eff)
        self._effects = kept
        return [eff.key for eff in dropped]

    def after_flush(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` in this transaction once the new orders and stock are written (at commit, before the
        effects and events): for what must read an order the transaction itself creates (an order_placed flow)."""
        self._after_flush.append(callback)

    def record_event(self, event: RecordedEvent) -> None:
        slot = len(self._events)
        self._events.append((event, None))
        if self._listener is not None:
            self._events[slot] = (event, self._listener(event))

    def record_decision(self, decision: Decision) -> None:
        self._decisions.append(decision)

    def request_review(self, review: ReviewRequest) -> None:
        self._reviews.append(review)

    def cancel_effects(self, subject_id: int, kinds: tuple[str, ...]) -> list[str]:
        """Withdraw effects not yet run; a worker holding one blocks this until it finishes (then it is done)."""
        e = t.effects
        result = self.conn.execute(
            update(e)
            .where(e.c.store_id == self.store_id, e.c.subject_id == subject_id, e.c.kind.in_(kinds),
                   e.c.status.in_([EffectStatus.PENDING, EffectStatus.RETRYING]))
            .values(status=EffectStatus.CANCELLED, done_at=self._now)
            .returning(e.c.key)
        )
        return list(result.scalars())

    def cancel_effect(self, key: str) -> bool:
        e = t.effects
        result = self.conn.execute(
            update(e).where(e.c.store_id == self.store_id, e.c.key == key,
                            e.c.status.in_([EffectStatus.PENDING, EffectStatus.RETRYING]))
            .values(status=EffectStatus.CANCELLED, done_at=self._now))
        return bool(result.rowcount)

    def today(self) -> date:
        s = t.stores
        tz = self.conn.execute(select(s.c.timezone).where(s.c.id == self.store_id)).scalar_one()
        return self._now.astimezone(ZoneInfo(tz)).date()

    def resolve_reviews(self, subject_type: str, subject_id: int, reasons: tuple[str, ...] | None, resolution: str,
                        *, holds_only: bool = False) -> int:
        def matches(item: ReviewRequest) -> bool:
            return (item.subject_type == subject_type and item.subject_id == subject_id
                    and (reasons is None or item.reason_code in reasons) and (not holds_only or "hold" in item.context))

        unsent = [item for item in self._reviews if matches(item)]
        self._reviews = [item for item in self._reviews if not matches(item)]
        r = t.review_items
        query = update(r).where(r.c.store_id == self.store_id, r.c.subject_type == subject_type,
                                r.c.subject_id == subject_id, r.c.status == ReviewStatus.OPEN)
        if reasons is not None:
            query = query.where(r.c.reason_code.in_(reasons))
        if holds_only:
            query = query.where(r.c.context.has_key("hold"))
        result = self.conn.execute(query.values(status=ReviewStatus.RESOLVED, resolution=resolution,
                                                resolved_by=SYSTEM_ACTOR, resolved_at=self._now))
        return result.rowcount + len(unsent)

    def commit(self) -> None:
        try:
            self._flush()
            self.conn.commit()
        except (DBAPIError, psycopg.Error) as err:
            _raise_if_retryable(err)
            raise

    def rollback(self) -> None:
        self.conn.rollback()

    def execute(self, statement: Any, params: Any = None) -> Any:
        """Run a statement, turning deadlocks and lock timeouts into RetryableConflict for the bus."""
        try:
            return self.conn.execute(statement, params)
        except (DBAPIError, psycopg.Error) as err:
            _raise_if_retryable(err)
            raise

    # -- flush --------------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        self.orders.flush()
        self.stock.flush()
        callbacks, self._after_flush = self._after_flush, []
        for callback in callbacks:
            callback()
        self._flush_effects()
        now, store = self._now, self.store_id
        insert_rows(self.conn, "events", _EVENT_COLUMNS, [
            (store, ev.name, now, ev.subject_type, ev.subject_id, ev.data, ctx) for ev, ctx in self._events])
        insert_rows(self.conn, "decisions", _DECISION_COLUMNS, [
            (store, now, d.trigger, d.policy, d.policy_version, d.subject_type, d.subject_id, d.inputs, d.outcome,
             d.shadow) for d in self._decisions])
        if self._reviews:
            self.conn.execute(
                pg_insert(t.review_items).on_conflict_do_nothing(
                    index_elements=["store_id", "subject_type", "subject_id", "reason_code"],
                    index_where=text("status = 'open' AND subject_id IS NOT NULL"),
                ),
                [{"store_id": store, "reason_code": r.reason_code, "subject_type": r.subject_type,
                  "subject_id": r.subject_id, "title": r.title, "context": r.context,
                  "allowed_actions": list(r.allowed_actions), "status": ReviewStatus.OPEN, "created_at": now}
                 for r in self._reviews],
            )

    def _flush_effects(self) -> None:
        request_effects(self.conn, self.store_id, self._effects, self.max_attempts, self._now)

    # -- what platforms report besides orders: stateless repositories that write as they go ------------------------

    @property
    def checkouts(self) -> SqlCheckoutRepository:
        return SqlCheckoutRepository(self)

    @property
    def payments(self) -> SqlPaymentRepository:
        return SqlPaymentRepository(self)

    @property
    def returns(self) -> SqlReturnRepository:
        return SqlReturnRepository(self)

    @property
    def customer_profiles(self) -> SqlCustomerProfileRepository:
        return SqlCustomerProfileRepository(self)

    @property
    def platform_stock(self) -> SqlPlatformStockRepository:
        return SqlPlatformStockRepository(self)

    @property
    def suppliers(self) -> SqlSupplierRepository:
        return SqlSupplierRepository(self)

    @property
    def purchase_orders(self) -> SqlPurchaseOrderRepository:
        return SqlPurchaseOrderRepository(self)

    @property
    def plan_reader(self) -> SqlPlanReader:
        return SqlPlanReader(self)

    @property
    def conversations(self) -> SqlConversationRepository:
        return SqlConversationRepository(self)

    @property
    def support_reader(self) -> SqlSupportReader:
        return SqlSupportReader(self)

    @cached_property
    def marketing(self) -> SqlMarketingRepository:  # one per unit of work: it keeps what it read once (the platform)
        return SqlMarketingRepository(self)


def _any(column: Any, values: Iterable[Any]) -> Any:
    """``column = ANY(:array)``: one SQL text whatever the number of values, so psycopg can prepare it once
    (an IN list is rendered anew, and parsed anew by the server, for every length)."""
    return column == any_(literal(list(values), ARRAY(column.type)))


def _raise_if_retryable(err: Exception) -> None:
    """Deadlocks, serialization failures and lock timeouts, and two transactions creating the same order at once
    (running again finds it and makes this a no-op), become RetryableConflict for the bus. Errors arrive wrapped
    by SQLAlchemy or, from the bulk writer, straight from psycopg."""
    orig = err.orig if isinstance(err, DBAPIError) else err
    lost_insert_race = isinstance(orig, pg_errors.UniqueViolation) and any(
        name in str(orig) for name in _RACED_INSERTS)
    if isinstance(orig, _TRANSIENT) or lost_insert_race:
        raise RetryableConflict(str(orig)) from err


def request_effects(conn: Connection, store_id: int, effects: Sequence[EffectRequest], max_attempts: int,
                    now: datetime) -> None:
    """Effects asked for in the caller's transaction, each under its automation's mode for the store: left out
    when off, recorded as ``shadowed`` in shadow mode, else ``pending`` with its job queued. A key the store already
    has is not asked for again."""
    if not effects:
        return
    modes = automation_modes(conn, store_id)
    rows = []
    for eff in effects:
        mode = modes.get(eff.automation, AutomationMode.LIVE)
        if mode == AutomationMode.OFF:
            continue
        status = EffectStatus.SHADOWED if mode == AutomationMode.SHADOW else EffectStatus.PENDING
        rows.append((store_id, eff.kind, eff.key, eff.automation, eff.subject_id, eff.payload, status.value,
                     max_attempts, now))
    inserted = insert_rows(conn, "effects", _EFFECT_COLUMNS, rows,
                           "ON CONFLICT (store_id, key) DO NOTHING RETURNING id, status")
    defer_effect_jobs(conn, [effect_id for effect_id, status in inserted if status == EffectStatus.PENDING])


def automation_modes(conn: Connection, store_id: int) -> dict[str, AutomationMode]:
    m = t.automation_modes
    rows = conn.execute(select(m.c.automation, m.c.mode).where(m.c.store_id == store_id))
    return {row.automation: AutomationMode(row.mode) for row in rows}


# -- repositories ---------------------------------------------------------------------------------------------


class SqlOrderRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._new: dict[int, Order] = {}  # added in this transaction, by id (ids come from next_ids)
        self._loaded: dict[int, Order] = {}
        self._shipments: list[dict[str, Any]] = []

    def next_ids(self, count: int) -> list[int]:
        rows = self.uow.conn.execute(
            text("SELECT nextval('orders_id_seq') FROM generate_series(1, :n)"), {"n": count}
        )
        return [int(r[0]) for r in rows]

    def next_backorder_seq(self) -> int:
        return int(self.uow.conn.execute(text("SELECT nextval('backorder_seq')")).scalar_one())

    def add(self, order: Order) -> None:
        self._new[_id_of(order)] = order

    def get(self, order_id: int) -> Order:
        if order_id in self._new:
            return self._new[order_id]
        if order_id in self._loaded:
            return self._loaded[order_id]
        loaded = self._load(t.orders.c.id == order_id)
        if not loaded:
            raise NotFound(f"order {order_id} not found", code="order_not_found")
        return loaded[0]

    def get_many(self, order_ids: Collection[int]) -> list[Order]:
        known = [self._new[i] for i in order_ids if i in self._new]
        wanted = [i for i in order_ids if i not in self._new]
        return known + (self._load(_any(t.orders.c.id, wanted)) if wanted else [])

    def existing(self, channel: str, external_ids: Collection[str]) -> dict[str, tuple[int, str]]:
        o = t.orders
        rows = self.uow.conn.execute(
            select(o.c.external_id, o.c.id, o.c.status).where(
                o.c.store_id == self.uow.store_id, o.c.channel == channel, _any(o.c.external_id, external_ids)
            )
        )
        return {row.external_id: (int(row.id), row.status) for row in rows}

    def recent_fingerprints(self, fingerprints: Collection[str], since: datetime) -> dict[str, str]:
        o = t.orders
        rows = self.uow.conn.execute(
            select(o.c.fingerprint, func.min(o.c.number).label("number"))
            .where(o.c.store_id == self.uow.store_id, _any(o.c.fingerprint, fingerprints),
                   o.c.placed_at >= since, o.c.status != OrderStatus.CANCELLED)
            .group_by(o.c.fingerprint)
        )
        return {row.fingerprint: row.number for row in rows}

    def backordered(self, skus: Collection[str]) -> list[Order]:
        o, lines = t.orders, t.order_lines
        waiting = (
            select(lines.c.order_id)
            .where(lines.c.store_id == self.uow.store_id, _any(lines.c.sku, skus))
            .scalar_subquery()
        )
        # an order a human must look at first keeps its place in the queue but cannot take stock: not loaded
        human = literal(sorted(h.value for h in HUMAN_HOLDS), ARRAY(Text))
        found = self._load(o.c.backorder_seq.is_not(None) & o.c.id.in_(waiting) & ~o.c.holds.overlap(human)
                           & (o.c.status != OrderStatus.CANCELLED), order_by=o.c.backorder_seq)
        return [order for order in found if not order.human_holds]

    def record_shipment(self, order: Order, carrier: str, tracking_number: str, tracking_url: str) -> None:
        self._shipments.append({
            "store_id": self.uow.store_id, "order_id": order.id, "carrier": carrier,
            "tracking_number": tracking_number, "tracking_url": tracking_url,
            "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines], "shipped_at": self.uow._now,
        })

    def _load(self, where: Any, order_by: Any = None) -> list[Order]:
        o = t.orders
        query = select(o).where(o.c.store_id == self.uow.store_id, where)
        query = query.order_by(order_by if order_by is not None else o.c.id).with_for_update(of=o)
        rows = self.uow.execute(query).all()
        fresh = [r for r in rows if r.id not in self._loaded]
        ids = [r.id for r in fresh]
        lines: dict[int, list[OrderLine]] = {i: [] for i in ids}
        held: dict[int, list[Reservation]] = {i: [] for i in ids}
        if ids:
            for ln in self.uow.conn.execute(
                select(t.order_lines).where(_any(t.order_lines.c.order_id, ids)).order_by(t.order_lines.c.line_no)
            ):
                lines[ln.order_id].append(OrderLine(ln.sku, ln.quantity, ln.unit_price, ln.title))
            for rv in self.uow.conn.execute(
                select(t.reservations).where(_any(t.reservations.c.order_id, ids)).order_by(t.reservations.c.id)
            ):
                held[rv.order_id].append(Reservation(rv.sku, rv.location_id, rv.quantity))
        for r in fresh:
            self._loaded[r.id] = _order_from_row(r, lines[r.id], held[r.id])
        self.uow.customers.prefetch_history([(r.customer_id, r.id) for r in fresh if r.customer_id is not None])
        return [self._loaded[r.id] for r in rows]

    def flush(self) -> None:
        conn, now = self.uow.conn, self.uow._now
        if self._new:
            new = list(self._new.values())
            insert_rows(conn, "orders", _ORDER_COLUMNS, [_order_row(o, now) for o in new])
            insert_rows(conn, "order_lines", _LINE_COLUMNS, [
                (o.store_id, o.id, i, ln.sku, ln.title, ln.quantity, ln.unit_price)
                for o in new for i, ln in enumerate(o.lines, 1)])
            _insert_reservations(conn, new)
        dirty = [o for o in self._loaded.values() if o.dirty]
        if dirty:
            conn.execute(
                update(t.orders).where(t.orders.c.id == bindparam("oid")).values(delivered_at=_DELIVERED_AT),
                [{"oid": o.id, "status": o.status.value, "holds": sorted(h.value for h in o.holds),
                  "backorder_seq": o.backorder_seq, "shipping_address": o.shipping_address.as_dict(),
                  "tags": list(o.tags), "notes": o.notes, "priority": o.priority,
                  "payment_state": o.payment_state.value, "updated_at": now,
                  "delivered": o.status is OrderStatus.DELIVERED, "now": now}
                 for o in dirty],
            )
            conn.execute(t.reservations.delete().where(_any(t.reservations.c.order_id, [o.id for o in dirty])))
            _insert_reservations(conn, dirty)
        if self._shipments:
            conn.execute(insert(t.shipments), self._shipments)


#: an order written delivered keeps the time it first was (SET reads the row as it was before the update)
_DELIVERED_AT = case((bindparam("delivered", type_=Boolean),
                      func.coalesce(t.orders.c.delivered_at, bindparam("now", type_=DateTime(timezone=True)))),
                     else_=t.orders.c.delivered_at)


def _id_of(order: Order) -> int:
    if order.id is None:
        raise ValueError("an order is added with the id next_ids gave it")
    return order.id


def _insert_reservations(conn: Connection, orders: Iterable[Order]) -> None:
    insert_rows(conn, "reservations", _RESERVATION_COLUMNS, [
        (o.store_id, o.id, r.sku, r.location_id, r.quantity) for o in orders for r in o.reservations])


def _order_row(o: Order, now: datetime) -> tuple[Any, ...]:
    return (
        o.id, o.store_id, o.channel, o.external_id, o.number, o.customer_id, o.email, o.customer_name,
        o.status.value, o.payment_state.value, o.currency, o.total, o.shipping_address.as_dict(),
        o.billing_address.as_dict() if o.billing_address else None, sorted(h.value for h in o.holds), list(o.tags),
        o.notes, o.priority, o.fingerprint(), o.backorder_seq, o.placed_at, now, now,
    )


def _order_from_row(r: Any, lines: list[OrderLine], held: list[Reservation]) -> Order:
    return Order(
        store_id=r.store_id, channel=r.channel, external_id=r.external_id, number=r.number, email=r.email,
        customer_name=r.customer_name, currency=r.currency, payment_state=PaymentState(r.payment_state),
        shipping_address=Address.from_dict(r.shipping_address),
        billing_address=Address.from_dict(r.billing_address) if r.billing_address else None,
        lines=tuple(lines), placed_at=r.placed_at, status=OrderStatus(r.status),
        holds={ReasonCode(h) for h in r.holds}, reservations=held, backorder_seq=r.backorder_seq,
        customer_id=r.customer_id, id=r.id, tags=tuple(r.tags), notes=list(r.notes), priority=r.priority,
    )


_UPDATE_STOCK = text(
    "UPDATE stock_levels AS s SET on_hand = v.on_hand, reserved = v.reserved"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:on_hand AS integer[]), CAST(:reserved AS integer[]))"
    " AS v(id, on_hand, reserved) WHERE s.id = v.id"
)


class SqlStockRepository:
    """The one locked path for stock: rows locked FOR UPDATE in primary-key order, written back in bulk."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._pools: list[StockPool] = []
        self._loaded: dict[int, StockLevel] = {}  # one object per stock row per transaction, shared by every pool

    def location_id(self, code: str) -> int:
        loc = t.locations
        found = self.uow.conn.execute(
            select(loc.c.id).where(loc.c.store_id == self.uow.store_id, loc.c.code == code)
        ).scalar()
        if found is None:
            raise NotFound(f"no location {code!r}", code="location_not_found")
        return int(found)

    def lock(self, skus: Collection[str], ensure_location: int | None = None) -> StockPool:
        s, loc = t.stock_levels, t.locations
        if ensure_location is not None and skus:
            self.uow.conn.execute(
                pg_insert(s).on_conflict_do_nothing(index_elements=["store_id", "sku", "location_id"]),
                [{"store_id": self.uow.store_id, "sku": sku, "location_id": ensure_location} for sku in skus],
            )
        levels: dict[str, list[StockLevel]] = {}
        if skus:
            rows = self.uow.execute(
                select(s.c.id, s.c.sku, s.c.location_id, loc.c.priority, s.c.on_hand, s.c.reserved)
                .join(loc, loc.c.id == s.c.location_id)
                .where(s.c.store_id == self.uow.store_id, _any(s.c.sku, skus))
                .order_by(s.c.id)
                .with_for_update(of=s)
            )
            for r in rows:
                # a row locked earlier in this transaction may have changed in memory since: that copy is the truth
                level = self._loaded.get(r.id)
                if level is None:
                    level = self._loaded[r.id] = StockLevel(r.sku, r.location_id, r.priority, r.on_hand,
                                                            r.reserved, id=r.id)
                levels.setdefault(r.sku, []).append(level)
        pool = StockPool(levels)
        self._pools.append(pool)
        return pool

    def flush(self) -> None:
        conn, now, store = self.uow.conn, self.uow._now, self.uow.store_id
        dirty: dict[int, StockLevel] = {}
        for pool in self._pools:
            for levels in pool.levels.values():
                for lv in levels:
                    if lv.dirty and lv.id is not None:
                        dirty[lv.id] = lv
        if dirty:
            levels = list(dirty.values())
            conn.execute(_UPDATE_STOCK, {"ids": [lv.id for lv in levels], "on_hand": [lv.on_hand for lv in levels],
                                         "reserved": [lv.reserved for lv in levels]})
        insert_rows(conn, "stock_ledger", _LEDGER_COLUMNS, [
            (store, e.sku, e.location_id, e.delta_on_hand, e.delta_reserved, e.reason.value, e.reference, now)
            for pool in self._pools for e in pool.ledger])


class SqlCatalogRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._thresholds: dict[str, int | None] = {}

    def known_skus(self, skus: Collection[str]) -> set[str]:
        v = t.variants
        rows = self.uow.conn.execute(
            select(v.c.sku, v.c.low_stock_threshold).where(v.c.store_id == self.uow.store_id, _any(v.c.sku, skus))
        )
        found = {r.sku: r.low_stock_threshold for r in rows}
        self._thresholds.update(found)
        return set(found)

    def low_stock_threshold(self, sku: str) -> int | None:
        if sku not in self._thresholds:
            self.known_skus({sku})
        return self._thresholds.get(sku)


class SqlCustomerRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._stats: dict[int, tuple[int, CustomerStats]] = {}  # id → (valid for orders from this id, stats)
        self._before: dict[tuple[int, int], CustomerStats] = {}  # (customer, order) → history before that order

    def upsert(self, customers: dict[str, str]) -> dict[str, int]:
        if not customers:
            return {}
        ids = self._find(customers)
        new = sorted(set(customers) - set(ids))  # a stable order keeps concurrent inserts deadlock-free
        if new:
            # DO NOTHING rather than DO UPDATE: an update would lock every returning customer's row until commit
            # and make concurrent batches take turns. An order carries its own customer name.
            c = t.customers
            inserted = self.uow.execute(
                pg_insert(c).values([
                    {"store_id": self.uow.store_id, "email": email, "name": customers[email],
                     "created_at": self.uow._now} for email in new])
                .on_conflict_do_nothing(index_elements=["store_id", "email"]).returning(c.c.email, c.c.id)
            )
            ids.update({r.email: int(r.id) for r in inserted})
            if len(ids) < len(customers):  # created meanwhile by a transaction that committed after our lookup
                ids.update(self._find({email: "" for email in new if email not in ids}))
        self._prefetch_stats(ids.values())
        return ids

    def stats(self, customer_id: int, before_order_id: int) -> CustomerStats:
        """Orders of this customer with a smaller id (ids rise with arrival). After ``upsert`` the history of
        every customer of the batch is known and orders of the batch itself are counted as they are added."""
        cached = self._stats.get(customer_id)
        if cached is not None and cached[0] <= before_order_id:
            return cached[1]
        known = self._before.get((customer_id, before_order_id))
        if known is not None:
            return known
        o = t.orders
        row = self.uow.conn.execute(
            select(func.count(), func.coalesce(func.sum(o.c.total), 0)).where(
                o.c.store_id == self.uow.store_id, o.c.customer_id == customer_id, o.c.id < before_order_id,
                o.c.status != OrderStatus.CANCELLED)
        ).one()
        return CustomerStats(int(row[0]), row[1])

    def counted(self, customer_id: int, order_id: int, total: Decimal) -> None:
        """An order of this batch was added: the customer's next order sees it in its history."""
        cached = self._stats.get(customer_id)
        if cached is not None and cached[0] <= order_id:
            stats = cached[1]
            self._stats[customer_id] = (order_id + 1, CustomerStats(stats.orders_count + 1,
                                                                    stats.total_spent + total))

    def _prefetch_stats(self, ids: Iterable[int]) -> None:
        wanted = [i for i in ids if i not in self._stats]
        if not wanted:
            return
        o = t.orders
        rows = self.uow.conn.execute(
            select(o.c.customer_id, func.count(), func.coalesce(func.sum(o.c.total), 0))
            .where(o.c.store_id == self.uow.store_id, _any(o.c.customer_id, wanted),
                   o.c.status != OrderStatus.CANCELLED)
            .group_by(o.c.customer_id)
        )
        found = {int(r[0]): CustomerStats(int(r[1]), r[2]) for r in rows}
        for i in wanted:  # every order already stored is older than any order this transaction will add
            self._stats[i] = (0, found.get(i, CustomerStats()))

    def prefetch_history(self, pairs: Collection[tuple[int, int]]) -> None:
        """(customer, order) pairs of orders loaded together (a batch of shipments): their customers' histories
        before each, in one query instead of one per order."""
        wanted = [p for p in pairs if p not in self._before]
        if len(wanted) < 2:
            return
        rows = self.uow.conn.execute(text(
            "SELECT x.cid, x.oid, count(o.id), coalesce(sum(o.total), 0)"
            " FROM unnest(CAST(:cids AS bigint[]), CAST(:oids AS bigint[])) AS x(cid, oid)"
            " LEFT JOIN orders o ON o.store_id = :s AND o.customer_id = x.cid AND o.id < x.oid"
            "  AND o.status <> 'cancelled' GROUP BY x.cid, x.oid"),
            {"s": self.uow.store_id, "cids": [c for c, _ in wanted], "oids": [o for _, o in wanted]})
        for cid, oid, count, total in rows:
            self._before[(int(cid), int(oid))] = CustomerStats(int(count), total)

    def _find(self, customers: dict[str, str]) -> dict[str, int]:
        c = t.customers
        rows = self.uow.conn.execute(
            select(c.c.email, c.c.id).where(c.c.store_id == self.uow.store_id, _any(c.c.email, customers))
        )
        return {r.email: int(r.id) for r in rows}


class SqlReviewRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def get(self, item_id: int) -> ReviewItem:
        r = t.review_items
        row = self.uow.execute(
            select(r).where(r.c.store_id == self.uow.store_id, r.c.id == item_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"review item {item_id} not found", code="review_item_not_found")
        return review_from_row(row)

    def close(self, item: ReviewItem, status: str, resolution: str, actor: str) -> None:
        r = t.review_items
        self.uow.conn.execute(
            update(r).where(r.c.id == item.id).values(
                status=status, resolution=resolution, resolved_by=actor, resolved_at=self.uow._now
            )
        )


def review_from_row(row: Any) -> ReviewItem:
    return ReviewItem(
        id=row.id, reason_code=row.reason_code, subject_type=row.subject_type, subject_id=row.subject_id,
        title=row.title, context=row.context, allowed_actions=tuple(row.allowed_actions),
        status=ReviewStatus(row.status), created_at=row.created_at, assignee=row.assignee,
        resolution=row.resolution, resolved_by=row.resolved_by, resolved_at=row.resolved_at,
    )


class SqlEffectAdmin:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def retry(self, effect_id: int) -> None:
        e = t.effects
        updated = self.uow.conn.execute(
            update(e)
            .where(e.c.store_id == self.uow.store_id, e.c.id == effect_id, e.c.status == EffectStatus.FAILED)
            .values(status=EffectStatus.PENDING, attempts=0, next_attempt_at=func.now())
            .returning(e.c.id)
        ).first()
        if updated is None:
            raise NotFound(f"no failed effect {effect_id}", code="effect_not_found")
        defer_effect_jobs(self.uow.conn, [effect_id])


# -- what platforms report besides orders (orders/platform_handlers.py) -----------------------------------------


_CLAIMED_CHECKOUTS = text(
    "SELECT k.*, c.order_id AS claimed_by FROM checkouts k"
    " JOIN unnest(CAST(:tokens AS text[]), CAST(:emails AS text[]), CAST(:oids AS bigint[]),"
    "  CAST(:placed AS timestamptz[])) AS c(token, email, order_id, placed_at)"
    " ON (c.token <> '' AND k.token = c.token)"
    "  OR (c.token = '' AND k.email = c.email AND k.completed_at IS NULL AND k.started_at <= c.placed_at)"
    " WHERE k.store_id = :s AND k.channel = :channel AND k.order_id IS NULL AND k.deleted_at IS NULL"
    " ORDER BY k.id, c.order_id FOR UPDATE OF k"
)


class SqlCheckoutRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def get(self, channel: str, external_id: str) -> Checkout | None:
        k = t.checkouts
        row = self.uow.execute(select(k).where(k.c.store_id == self.uow.store_id, k.c.channel == channel,
                                               k.c.external_id == external_id).with_for_update()).first()
        return _checkout_from_row(row) if row is not None else None

    def add(self, checkout: Checkout) -> bool:
        k, now = t.checkouts, self.uow._now
        row = self.uow.execute(
            pg_insert(k).values(**_checkout_values(checkout), created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["store_id", "channel", "external_id"]).returning(k.c.id)
        ).first()
        if row is None:
            return False
        checkout.id = int(row.id)
        return True

    def save(self, checkout: Checkout) -> None:
        k = t.checkouts
        self.uow.execute(update(k).where(k.c.id == checkout.id)
                         .values(**_checkout_values(checkout), updated_at=self.uow._now))

    def complete(self, claims: Sequence[CheckoutClaim], at: datetime) -> list[Checkout]:
        by_channel: dict[str, list[CheckoutClaim]] = {}
        for claim in claims:
            by_channel.setdefault(claim.channel, []).append(claim)
        linked: dict[int, Checkout] = {}
        was_open: set[int] = set()
        for channel, group in by_channel.items():
            rows = self.uow.execute(_CLAIMED_CHECKOUTS, {
                "s": self.uow.store_id, "channel": channel, "tokens": [c.token for c in group],
                "emails": [c.email for c in group], "oids": [c.order_id for c in group],
                "placed": [c.placed_at for c in group]})
            for row in rows:
                if row.id in linked:
                    continue  # two orders of this batch claim it: the first one made it
                checkout = linked[row.id] = _checkout_from_row(row)
                if checkout.completed_at is None:
                    was_open.add(row.id)
                checkout.order_id, checkout.completed_at = row.claimed_by, checkout.completed_at or at
        if linked:  # one statement for all: only the link and the completion changed
            k = t.checkouts
            self.uow.execute(update(k).where(k.c.id == bindparam("kid")), [
                {"kid": c.id, "order_id": c.order_id, "completed_at": c.completed_at, "updated_at": self.uow._now}
                for c in linked.values()])
        return [c for i, c in linked.items() if i in was_open]


def _checkout_values(c: Checkout) -> dict[str, Any]:
    return {
        "store_id": c.store_id, "channel": c.channel, "external_id": c.external_id, "token": c.token,
        "email": c.email, "customer_name": c.customer_name, "currency": c.currency, "total": c.total,
        "lines": [{"sku": ln.sku, "quantity": ln.quantity, "unit_price": str(ln.unit_price), "title": ln.title}
                  for ln in c.lines],
        "recovery_url": c.recovery_url, "started_at": c.started_at, "platform_updated_at": c.updated_at,
        "completed_at": c.completed_at, "order_id": c.order_id, "deleted_at": c.deleted_at,
    }


def _checkout_from_row(r: Any) -> Checkout:
    lines = tuple(CheckoutLine(ln["sku"], int(ln["quantity"]), Decimal(ln["unit_price"]), ln.get("title", ""))
                  for ln in r.lines)
    return Checkout(r.store_id, r.channel, r.external_id, r.token, r.email, r.customer_name, r.currency, r.total,
                    lines, r.recovery_url, r.started_at, r.platform_updated_at, r.completed_at, r.order_id,
                    r.deleted_at, r.id)


class SqlPaymentRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def recorded_refunds(self, channel: str, refund_ids: Collection[str]) -> set[str]:
        r = t.order_refunds
        rows = self.uow.execute(select(r.c.refund_id).where(
            r.c.store_id == self.uow.store_id, r.c.channel == channel, _any(r.c.refund_id, refund_ids)))
        return set(rows.scalars())

    def add_refund(self, order: Order, refund: Refund) -> None:
        self.uow.execute(insert(t.order_refunds).values(
            store_id=self.uow.store_id, order_id=order.id, channel=order.channel, refund_id=refund.refund_id,
            amount=refund.amount, currency=refund.currency, reason=refund.reason,
            lines=[{"sku": ln.sku, "quantity": ln.quantity, "restocked": ln.restocked} for ln in refund.lines],
            restocked=refund.restocked, refunded_at=refund.refunded_at, recorded_at=self.uow._now))

    def refunds_of(self, order: Order) -> list[Refund]:
        r = t.order_refunds
        rows = self.uow.execute(select(r).where(r.c.store_id == self.uow.store_id, r.c.order_id == order.id)
                                .order_by(r.c.id))
        return [Refund(row.refund_id, row.amount, row.currency, row.reason,
                       tuple(RefundLine(ln["sku"], int(ln["quantity"]), bool(ln["restocked"])) for ln in row.lines),
                       row.refunded_at) for row in rows]


class SqlReturnRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def of_order(self, order_id: int) -> list[ReturnRequest]:
        r = t.order_returns
        rows = self.uow.execute(select(r).where(r.c.store_id == self.uow.store_id, r.c.order_id == order_id)
                                .order_by(r.c.id))
        return [_return(row) for row in rows]

    def get(self, number: str) -> ReturnRequest:
        r = t.order_returns
        row = self.uow.execute(select(r).where(r.c.store_id == self.uow.store_id, r.c.number == number)
                               .with_for_update()).first()
        if row is None:
            raise NotFound(f"no return {number}", code="return_not_found")
        return _return(row)

    def save(self, request: ReturnRequest) -> None:
        r = t.order_returns
        self.uow.execute(update(r).where(r.c.id == request.id).values(status=request.status))

    def add(self, request: ReturnRequest) -> None:
        request.id = self.uow.execute(insert(t.order_returns).values(
            store_id=self.uow.store_id, order_id=request.order_id, number=request.number, status=request.status,
            lines=[{"sku": ln.sku, "title": ln.title, "quantity": ln.quantity} for ln in request.lines],
            reason=request.reason, actor=request.actor, requested_at=request.requested_at,
        ).returning(t.order_returns.c.id)).scalar_one()


def _return(row: Any) -> ReturnRequest:
    return ReturnRequest(row.order_id, "", row.number,
                         tuple(ReturnLine(ln["sku"], ln["title"], int(ln["quantity"])) for ln in row.lines),
                         row.reason, row.actor, row.requested_at, row.status, row.id)


class SqlCustomerProfileRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def find(self, channel: str, external_id: str, email: str) -> CustomerProfile | None:
        c = t.customers
        scoped = select(c).where(c.c.store_id == self.uow.store_id).with_for_update()
        row = self.uow.execute(scoped.where(c.c.channel == channel, c.c.external_id == external_id)).first()
        if row is None:
            row = self.uow.execute(scoped.where(c.c.email == email)).first()
        if row is None:
            return None
        return CustomerProfile(row.store_id, row.email, row.name, MarketingConsent(row.marketing_consent),
                               row.channel, row.external_id, row.platform_updated_at, row.id, row.unsubscribed_at)

    def email_owner(self, email: str) -> int | None:
        c = t.customers
        found = self.uow.execute(select(c.c.id).where(c.c.store_id == self.uow.store_id, c.c.email == email)).scalar()
        return int(found) if found is not None else None

    def add(self, profile: CustomerProfile) -> bool:
        c = t.customers
        row = self.uow.execute(
            pg_insert(c).values(store_id=self.uow.store_id, created_at=self.uow._now, **_profile_values(profile))
            .on_conflict_do_nothing().returning(c.c.id)
        ).first()
        if row is None:
            return False
        profile.id = int(row.id)
        return True

    def save(self, profile: CustomerProfile) -> None:
        c = t.customers
        self.uow.execute(update(c).where(c.c.store_id == self.uow.store_id, c.c.id == profile.id)
                         .values(**_profile_values(profile)))


def _profile_values(p: CustomerProfile) -> dict[str, Any]:
    return {"email": p.email, "name": p.name, "marketing_consent": p.marketing_consent.value, "channel": p.channel,
            "external_id": p.external_id, "platform_updated_at": p.platform_updated_at,
            "unsubscribed_at": p.unsubscribed_at}


class SqlPlatformStockRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def item_sku(self, channel: str, item_id: str) -> str | None:
        i = t.platform_items
        found = self.uow.execute(select(i.c.sku).where(i.c.store_id == self.uow.store_id, i.c.channel == channel,
                                                       i.c.item_id == item_id)).scalar()
        return str(found) if found is not None else None

    def map_item(self, channel: str, item_id: str, sku: str) -> None:
        i, p, store, now = t.platform_items, t.platform_stock, self.uow.store_id, self.uow._now
        self.uow.execute(pg_insert(i).values(store_id=store, channel=channel, item_id=item_id, sku=sku, updated_at=now)
                         .on_conflict_do_update(index_elements=["store_id", "channel", "item_id"],
                                                set_={"sku": sku, "updated_at": now}))
        self.uow.execute(update(p).where(p.c.store_id == store, p.c.channel == channel, p.c.item_id == item_id)
                         .values(sku=sku))

    def level(self, channel: str, item_id: str, location_id: str) -> PlatformLevel | None:
        p = t.platform_stock
        row = self.uow.execute(select(p).where(
            p.c.store_id == self.uow.store_id, p.c.channel == channel, p.c.item_id == item_id,
            p.c.location_id == location_id).with_for_update()).first()
        if row is None:
            return None
        return PlatformLevel(row.channel, row.item_id, row.location_id, row.sku, row.available, row.reported_at,
                             row.backroom_available, row.difference)

    def add(self, level: PlatformLevel) -> bool:
        p = t.platform_stock
        row = self.uow.execute(
            pg_insert(p).values(store_id=self.uow.store_id, channel=level.channel, item_id=level.item_id,
                                location_id=level.location_id, **_level_values(level, self.uow._now))
            .on_conflict_do_nothing().returning(p.c.item_id)
        ).first()
        return row is not None

    def save(self, level: PlatformLevel) -> None:
        p = t.platform_stock
        self.uow.execute(update(p).where(
            p.c.store_id == self.uow.store_id, p.c.channel == level.channel, p.c.item_id == level.item_id,
            p.c.location_id == level.location_id).values(**_level_values(level, self.uow._now)))

    def platform_available(self, channel: str, sku: str) -> int:
        p = t.platform_stock
        total = self.uow.execute(select(func.coalesce(func.sum(p.c.available), 0)).where(
            p.c.store_id == self.uow.store_id, p.c.channel == channel, p.c.sku == sku)).scalar_one()
        return int(total)

    def backroom_stock(self, sku: str) -> tuple[int, int]:
        s = t.stock_levels
        row = self.uow.execute(select(func.coalesce(func.sum(s.c.on_hand - s.c.reserved), 0),
                                      func.coalesce(func.sum(s.c.on_hand), 0))
                               .where(s.c.store_id == self.uow.store_id, s.c.sku == sku)).one()
        return int(row[0]), int(row[1])


def _level_values(level: PlatformLevel, now: datetime) -> dict[str, Any]:
    return {"sku": level.sku, "available": level.available, "backroom_available": level.backroom_available,
            "difference": level.difference, "reported_at": level.reported_at, "recorded_at": now}
