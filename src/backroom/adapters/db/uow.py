"""The SQL unit of work: one transaction, repositories scoped to one store, and a bulk flush on commit.

Handlers append to buffers (new orders, ledger entries, effects, events, decisions, review items); ``commit``
writes each buffer with one multi-row statement, so a batch of orders costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Self

from psycopg import errors as pg_errors
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from backroom.adapters.db import tables as t
from backroom.adapters.queue.defer import defer_effect_jobs
from backroom.errors import NotFound, RetryableConflict
from backroom.inventory.model import StockLevel, StockPool
from backroom.orders.error_codes import ReasonCode
from backroom.orders.model import Address, Order, OrderLine, OrderStatus, PaymentState, Reservation
from backroom.review.model import SYSTEM_ACTOR, ReviewItem, ReviewStatus
from backroom.service_layer.effects import AutomationMode, EffectRequest, EffectStatus
from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest
from backroom.shared.clock import Clock

_TRANSIENT = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.LockNotAvailable)


class SqlUnitOfWork:
    def __init__(
        self, engine: Engine, store_id: int, clock: Clock, max_attempts: int = 5, inbox: Sequence[InboxEntry] = ()
    ) -> None:
        self.engine = engine
        self.store_id = store_id
        self.inbox = inbox
        self.clock = clock
        self.max_attempts = max_attempts
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
        self._effects: list[EffectRequest] = []
        self._events: list[RecordedEvent] = []
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
        rows = [{"store_id": self.store_id, "source": e.source, "source_id": e.source_id, "kind": e.kind,
                 "status": "processed", "headers": dict(e.headers), "body": e.body, "received_at": self._now}
                for e in self.inbox]
        stmt = pg_insert(t.inbox)
        # an input kept earlier as rejected/failed (bad signature, outage) does not block a good redelivery
        claim = stmt.on_conflict_do_update(
            index_elements=["store_id", "source", "source_id"],
            set_={"status": "processed", "body": stmt.excluded.body, "headers": stmt.excluded.headers, "error": None},
            where=t.inbox.c.status != "processed",
        ).returning(t.inbox.c.id)
        claimed = self.conn.execute(claim, rows).all()
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

    def record_event(self, event: RecordedEvent) -> None:
        self._events.append(event)

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

    def resolve_reviews(self, subject_type: str, subject_id: int, reasons: tuple[str, ...], resolution: str) -> int:
        r = t.review_items
        result = self.conn.execute(
            update(r)
            .where(r.c.store_id == self.store_id, r.c.subject_type == subject_type, r.c.subject_id == subject_id,
                   r.c.reason_code.in_(reasons), r.c.status == ReviewStatus.OPEN)
            .values(status=ReviewStatus.RESOLVED, resolution=resolution, resolved_by=SYSTEM_ACTOR,
                    resolved_at=self._now)
        )
        return result.rowcount

    def commit(self) -> None:
        try:
            self._flush()
            self.conn.commit()
        except DBAPIError as err:
            if isinstance(err.orig, _TRANSIENT) or _lost_insert_race(err):
                raise RetryableConflict(str(err.orig)) from err
            raise

    def rollback(self) -> None:
        self.conn.rollback()

    def execute(self, statement: Any, params: Any = None) -> Any:
        """Run a statement, turning deadlocks and lock timeouts into RetryableConflict for the bus."""
        try:
            return self.conn.execute(statement, params)
        except DBAPIError as err:
            if isinstance(err.orig, _TRANSIENT):
                raise RetryableConflict(str(err.orig)) from err
            raise

    # -- flush --------------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        self.orders.flush()
        self.stock.flush()
        self._flush_effects()
        now, store = self._now, self.store_id
        if self._events:
            self.conn.execute(insert(t.events), [
                {"store_id": store, "name": ev.name, "at": now, "subject_type": ev.subject_type,
                 "subject_id": ev.subject_id, "data": ev.data} for ev in self._events])
        if self._decisions:
            self.conn.execute(insert(t.decisions), [
                {"store_id": store, "at": now, "trigger": d.trigger, "policy": d.policy,
                 "policy_version": d.policy_version, "subject_type": d.subject_type, "subject_id": d.subject_id,
                 "inputs": d.inputs, "outcome": d.outcome} for d in self._decisions])
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
        if not self._effects:
            return
        modes = automation_modes(self.conn, self.store_id)
        rows = []
        for eff in self._effects:
            mode = modes.get(eff.automation, AutomationMode.LIVE)
            if mode == AutomationMode.OFF:
                continue
            status = EffectStatus.SHADOWED if mode == AutomationMode.SHADOW else EffectStatus.PENDING
            rows.append({"store_id": self.store_id, "kind": eff.kind, "key": eff.key, "automation": eff.automation,
                         "subject_id": eff.subject_id, "payload": eff.payload, "status": status,
                         "max_attempts": self.max_attempts, "created_at": self._now})
        if not rows:
            return
        inserted = self.conn.execute(
            pg_insert(t.effects).on_conflict_do_nothing(index_elements=["store_id", "key"])
            .returning(t.effects.c.id, t.effects.c.status),
            rows,
        ).all()
        defer_effect_jobs(self.conn, [row.id for row in inserted if row.status == EffectStatus.PENDING])


def _lost_insert_race(err: DBAPIError) -> bool:
    """Two transactions created the same order at once: running again finds it and makes this a no-op."""
    return isinstance(err.orig, pg_errors.UniqueViolation) and "uq_orders_store_channel_external" in str(err.orig)


def automation_modes(conn: Connection, store_id: int) -> dict[str, AutomationMode]:
    m = t.automation_modes
    rows = conn.execute(select(m.c.automation, m.c.mode).where(m.c.store_id == store_id))
    return {row.automation: AutomationMode(row.mode) for row in rows}


# -- repositories ---------------------------------------------------------------------------------------------


class SqlOrderRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._new: list[Order] = []
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
        self._new.append(order)

    def get(self, order_id: int) -> Order:
        if order_id in self._loaded:
            return self._loaded[order_id]
        loaded = self._load(t.orders.c.id == order_id)
        if not loaded:
            raise NotFound(f"order {order_id} not found", code="order_not_found")
        return loaded[0]

    def existing(self, channel: str, external_ids: Collection[str]) -> dict[str, int]:
        o = t.orders
        rows = self.uow.conn.execute(
            select(o.c.external_id, o.c.id).where(
                o.c.store_id == self.uow.store_id, o.c.channel == channel, o.c.external_id.in_(list(external_ids))
            )
        )
        return {row.external_id: int(row.id) for row in rows}

    def recent_fingerprints(self, fingerprints: Collection[str], since: datetime) -> dict[str, str]:
        o = t.orders
        rows = self.uow.conn.execute(
            select(o.c.fingerprint, func.min(o.c.number).label("number"))
            .where(o.c.store_id == self.uow.store_id, o.c.fingerprint.in_(list(fingerprints)),
                   o.c.placed_at >= since, o.c.status != OrderStatus.CANCELLED)
            .group_by(o.c.fingerprint)
        )
        return {row.fingerprint: row.number for row in rows}

    def backordered(self, skus: Collection[str]) -> list[Order]:
        o, lines = t.orders, t.order_lines
        waiting = (
            select(lines.c.order_id)
            .where(lines.c.store_id == self.uow.store_id, lines.c.sku.in_(list(skus)))
            .scalar_subquery()
        )
        found = self._load(o.c.backorder_seq.is_not(None) & o.c.id.in_(waiting), order_by=o.c.backorder_seq)
        return [order for order in found if order.status != OrderStatus.CANCELLED]

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
                select(t.order_lines).where(t.order_lines.c.order_id.in_(ids)).order_by(t.order_lines.c.line_no)
            ):
                lines[ln.order_id].append(OrderLine(ln.sku, ln.quantity, ln.unit_price, ln.title))
            for rv in self.uow.conn.execute(
                select(t.reservations).where(t.reservations.c.order_id.in_(ids)).order_by(t.reservations.c.id)
            ):
                held[rv.order_id].append(Reservation(rv.sku, rv.location_id, rv.quantity))
        for r in fresh:
            self._loaded[r.id] = _order_from_row(r, lines[r.id], held[r.id])
        return [self._loaded[r.id] for r in rows]

    def flush(self) -> None:
        conn, now = self.uow.conn, self.uow._now
        if self._new:
            conn.execute(insert(t.orders), [_order_row(o, now) for o in self._new])
            conn.execute(insert(t.order_lines), [
                {"store_id": o.store_id, "order_id": o.id, "line_no": i, "sku": ln.sku, "title": ln.title,
                 "quantity": ln.quantity, "unit_price": ln.unit_price}
                for o in self._new for i, ln in enumerate(o.lines, 1)])
            _insert_reservations(conn, self._new)
        dirty = [o for o in self._loaded.values() if o.dirty]
        if dirty:
            conn.execute(
                update(t.orders).where(t.orders.c.id == bindparam("oid")),
                [{"oid": o.id, "status": o.status.value, "holds": sorted(h.value for h in o.holds),
                  "backorder_seq": o.backorder_seq, "shipping_address": o.shipping_address.as_dict(),
                  "updated_at": now} for o in dirty],
            )
            conn.execute(t.reservations.delete().where(t.reservations.c.order_id.in_([o.id for o in dirty])))
            _insert_reservations(conn, dirty)
        if self._shipments:
            conn.execute(insert(t.shipments), self._shipments)


def _insert_reservations(conn: Connection, orders: Iterable[Order]) -> None:
    rows = [{"store_id": o.store_id, "order_id": o.id, "sku": r.sku, "location_id": r.location_id,
             "quantity": r.quantity} for o in orders for r in o.reservations]
    if rows:
        conn.execute(insert(t.reservations), rows)


def _order_row(o: Order, now: datetime) -> dict[str, Any]:
    return {
        "id": o.id, "store_id": o.store_id, "channel": o.channel, "external_id": o.external_id, "number": o.number,
        "customer_id": o.customer_id, "email": o.email, "customer_name": o.customer_name, "status": o.status.value,
        "payment_state": o.payment_state.value, "currency": o.currency, "total": o.total,
        "shipping_address": o.shipping_address.as_dict(),
        "billing_address": o.billing_address.as_dict() if o.billing_address else None,
        "holds": sorted(h.value for h in o.holds), "tags": list(o.tags), "fingerprint": o.fingerprint(),
        "backorder_seq": o.backorder_seq, "placed_at": o.placed_at, "created_at": now, "updated_at": now,
    }


def _order_from_row(r: Any, lines: list[OrderLine], held: list[Reservation]) -> Order:
    return Order(
        store_id=r.store_id, channel=r.channel, external_id=r.external_id, number=r.number, email=r.email,
        customer_name=r.customer_name, currency=r.currency, payment_state=PaymentState(r.payment_state),
        shipping_address=Address.from_dict(r.shipping_address),
        billing_address=Address.from_dict(r.billing_address) if r.billing_address else None,
        lines=tuple(lines), placed_at=r.placed_at, status=OrderStatus(r.status),
        holds={ReasonCode(h) for h in r.holds}, reservations=held, backorder_seq=r.backorder_seq,
        customer_id=r.customer_id, id=r.id, tags=tuple(r.tags),
    )


class SqlStockRepository:
    """The one locked path for stock: rows locked FOR UPDATE in primary-key order, written back in bulk."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._pools: list[StockPool] = []

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
        if ensure_location is not None:
            self.uow.conn.execute(
                pg_insert(s).on_conflict_do_nothing(index_elements=["store_id", "sku", "location_id"]),
                [{"store_id": self.uow.store_id, "sku": sku, "location_id": ensure_location} for sku in skus],
            )
        levels: dict[str, list[StockLevel]] = {}
        if skus:
            rows = self.uow.execute(
                select(s.c.id, s.c.sku, s.c.location_id, loc.c.priority, s.c.on_hand, s.c.reserved)
                .join(loc, loc.c.id == s.c.location_id)
                .where(s.c.store_id == self.uow.store_id, s.c.sku.in_(sorted(skus)))
                .order_by(s.c.id)
                .with_for_update(of=s)
            )
            for r in rows:
                levels.setdefault(r.sku, []).append(
                    StockLevel(r.sku, r.location_id, r.priority, r.on_hand, r.reserved, id=r.id)
                )
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
            conn.execute(
                update(t.stock_levels).where(t.stock_levels.c.id == bindparam("sid")),
                [{"sid": lv.id, "on_hand": lv.on_hand, "reserved": lv.reserved} for lv in dirty.values()],
            )
        ledger = [e for pool in self._pools for e in pool.ledger]
        if ledger:
            conn.execute(insert(t.stock_ledger), [
                {"store_id": store, "sku": e.sku, "location_id": e.location_id, "delta_on_hand": e.delta_on_hand,
                 "delta_reserved": e.delta_reserved, "reason": e.reason.value, "reference": e.reference, "at": now}
                for e in ledger])


class SqlCatalogRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def known_skus(self, skus: Collection[str]) -> set[str]:
        v = t.variants
        rows = self.uow.conn.execute(
            select(v.c.sku).where(v.c.store_id == self.uow.store_id, v.c.sku.in_(list(skus)))
        )
        return {r.sku for r in rows}


class SqlCustomerRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def upsert(self, customers: dict[str, str]) -> dict[str, int]:
        if not customers:
            return {}
        c = t.customers
        ordered = sorted(customers.items())  # a stable order keeps concurrent upserts deadlock-free
        stmt = pg_insert(c).values([
            {"store_id": self.uow.store_id, "email": email, "name": name, "created_at": self.uow._now}
            for email, name in ordered
        ])
        upsert = stmt.on_conflict_do_update(
            index_elements=["store_id", "email"], set_={"name": stmt.excluded.name}
        ).returning(c.c.email, c.c.id)
        return {r.email: int(r.id) for r in self.uow.execute(upsert)}


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
