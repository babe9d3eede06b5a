"""Marketing flows in PostgreSQL: enrollments (each with its whole history as JSONB, and ``wake_at`` for the tick),
the per-customer send ledger, discount codes, and the one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.adapters.db.bulk import Col, insert_rows, update_rows
from backroom.adapters.db.customer_zones import customer_zones
from backroom.customers.model import MarketingConsent
from backroom.marketing.attribution import PlacedOrder, Touch
from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment, Entry, Happened, State
from backroom.marketing.ports import Discount, LapseCandidate, PlatformCustomer, Sent, Snapshot, StoredEnrollment
from backroom.marketing.service import AUTOMATION, platform_unsubscribe
from backroom.orders.checkouts import Checkout
from backroom.service_layer.effects import AutomationMode, EffectStatus

if TYPE_CHECKING:
    from backroom.adapters.db.uow import SqlUnitOfWork

MARKETING_TICK_LOCK = 7_240_614  # with the store id: one tick per store at a time, so the cap sees every send

_CONSENT = {MarketingConsent.SUBSCRIBED: Consent.SUBSCRIBED, MarketingConsent.UNSUBSCRIBED: Consent.UNSUBSCRIBED}


class SqlMarketingRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self._platform: str | None = None  # the store's discount platform ("" for none), once read

    def next_id(self) -> str:
        seq = text("SELECT nextval(pg_get_serial_sequence('marketing_enrollments', 'id'))")
        return str(self.uow.execute(seq).scalar_one())

    def history(self, flow: str, email: str) -> list[Enrollment]:
        m = t.marketing_enrollments
        rows = self.uow.execute(select(m.c.value).where(m.c.store_id == self.uow.store_id, m.c.email == email,
                                                        m.c.flow == flow).order_by(m.c.id))
        return [enrollment_from_json(v) for v in rows.scalars()]

    def add(self, stored: StoredEnrollment) -> bool:
        e, m = stored.enrollment, t.marketing_enrollments
        row = self.uow.execute(pg_insert(m).values(
            id=int(e.id), store_id=self.uow.store_id, flow=e.flow, email=stored.email,
            subject_type=stored.subject_type, subject_id=stored.subject_id, state=e.state.value,
            wake_at=stored.wake_at, enrolled_at=e.enrolled_at, value=enrollment_json(e), updated_at=self.uow._now,
        ).on_conflict_do_nothing(constraint="uq_marketing_enrollments_subject").returning(m.c.id)).first()
        return row is not None

    def take_due(self, now: datetime, limit: int) -> list[StoredEnrollment]:
        m = t.marketing_enrollments
        rows = self.uow.execute(
            select(m).where(m.c.store_id == self.uow.store_id, m.c.wake_at <= now)
            .order_by(m.c.wake_at, m.c.id).limit(limit).with_for_update(skip_locked=True))
        return [StoredEnrollment(enrollment_from_json(r.value), r.email, r.subject_type, int(r.subject_id), r.wake_at)
                for r in rows]

    def snapshot(self, taken: list[StoredEnrollment]) -> Snapshot:
        """The facts of a batch of due enrollments, one query per kind (see ``Snapshot``)."""
        store = self.uow.store_id
        emails = sorted({s.email for s in taken})
        by_checkout = [s for s in taken if s.subject_type == "checkout"]
        by_order = [s for s in taken if s.subject_type == "order"]
        c = t.customers
        consent = {r.email: _CONSENT.get(MarketingConsent(r.marketing_consent), Consent.NEVER)
                   for r in self.uow.execute(select(c.c.email, c.c.marketing_consent).where(
                       c.c.store_id == store, c.c.email.in_(emails)))}
        orders_since: dict[str, int] = {}
        if by_checkout:
            rows = self.uow.execute(_ORDERS_SINCE, {
                "s": store, "ids": [int(s.enrollment.id) for s in by_checkout],
                "emails": [s.email for s in by_checkout], "since": [s.enrollment.enrolled_at for s in by_checkout]})
            orders_since = {str(r.id): int(r.n) for r in rows}
        orders, purchases, orders_after = self._order_facts(by_order)
        keys = sorted({s.enrollment.discount_key for s in taken if s.enrollment.discount_key})
        d, e = t.marketing_discounts, t.effects
        discounts = {r.key: Discount(r.key, r.code, int(r.percent), r.expires_at) for r in self.uow.execute(
            select(d).where(d.c.store_id == store, d.c.key.in_(keys)))} if keys else {}
        status = {r.key: str(r.status) for r in self.uow.execute(
            select(e.c.key, e.c.status).where(e.c.store_id == store, e.c.key.in_(keys)))} if keys else {}
        sup = t.email_suppressions  # addresses that hard-bounced (adapters/db/suppressions.py)
        bounced = frozenset(self.uow.execute(select(sup.c.email).where(
            sup.c.store_id == store, sup.c.email.in_(emails))).scalars())
        return Snapshot(consent, bounced,
                        customer_zones(self.uow, store, emails), orders_since,
                        self._checkouts([s.subject_id for s in by_checkout]), orders, purchases, orders_after,
                        discounts, status)

    def _order_facts(self, by_order: list[StoredEnrollment]) -> tuple[
            dict[int, dict[str, Any]], dict[str, list[tuple[datetime, Decimal]]], dict[str, int]]:
        """For enrollments that follow an order: the orders, the customers' purchases (cancelled orders left out)
        and, per enrollment, how many of those were placed after the order it follows."""
        if not by_order:
            return {}, {}, {}
        orders = self._orders(sorted({s.subject_id for s in by_order}))
        o = t.orders
        rows = self.uow.execute(select(o.c.email, o.c.id, o.c.placed_at, o.c.total).where(
            o.c.store_id == self.uow.store_id, o.c.email.in_(sorted({s.email for s in by_order})),
            o.c.status != "cancelled").order_by(o.c.placed_at, o.c.id)).all()
        purchases: dict[str, list[tuple[datetime, Decimal]]] = {}
        placed: dict[str, list[tuple[datetime, int]]] = {}
        for r in rows:
            purchases.setdefault(r.email, []).append((r.placed_at, Decimal(r.total)))
            placed.setdefault(r.email, []).append((r.placed_at, int(r.id)))
        after: dict[str, int] = {}
        for s in by_order:
            subject = orders.get(s.subject_id)
            if subject is not None:
                mark = (datetime.fromisoformat(subject["placed_at"]), s.subject_id)
                after[s.enrollment.id] = sum(1 for p in placed.get(s.email, []) if p > mark)
        return orders, purchases, after

    def save_all(self, enrollments: list[tuple[Enrollment, datetime | None]]) -> None:
        update_rows(self.uow.conn, "marketing_enrollments", Col("id", "bigint"), _ENROLLMENT_COLUMNS,
                    [(int(e.id), e.state.value, wake, enrollment_json(e)) for e, wake in enrollments],
                    also="updated_at = now()")

    def order(self, order_id: int) -> dict[str, Any] | None:
        return self._orders([order_id]).get(order_id)

    def _orders(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The orders as flow conditions see them (the rules' ``order`` fields they need); ``status`` reads
        ``refunded`` once the order is paid back in full (a delivered order keeps its status in the pipeline)."""
        o, ln = t.orders, t.order_lines
        rows = self.uow.execute(select(o).where(o.c.store_id == self.uow.store_id, o.c.id.in_(ids))).all()
        if not rows:
            return {}
        lines: dict[int, list[Any]] = {}
        for r in self.uow.execute(select(ln).where(ln.c.order_id.in_([row.id for row in rows]))
                                  .order_by(ln.c.order_id, ln.c.line_no)):
            lines.setdefault(int(r.order_id), []).append(r)
        return {int(row.id): _order_object(row, lines.get(int(row.id), [])) for row in rows}

    def purchases(self, email: str) -> list[tuple[datetime, Decimal]]:
        """When the customer ordered and for how much (cancelled orders left out), oldest first."""
        o = t.orders
        rows = self.uow.execute(select(o.c.placed_at, o.c.total).where(
            o.c.store_id == self.uow.store_id, o.c.email == email, o.c.status != "cancelled")
            .order_by(o.c.placed_at, o.c.id))
        return [(r.placed_at, Decimal(r.total)) for r in rows]

    def recommendations(self, order_id: int, email: str, limit: int = 3) -> list[dict[str, Any]]:
        """What customers who bought this order's items bought in their next order, most often first (counted in
        customers), leaving out whatever this customer has bought already; cancelled orders do not count."""
        rows = self.uow.execute(text(_RECOMMENDATIONS), {"s": self.uow.store_id, "o": order_id, "email": email,
                                                         "n": limit})
        return [{"sku": r.sku, "title": r.title, "buyers": int(r.buyers)} for r in rows]

    def lapse_candidates(self, flow: str, quiet_since: datetime, entered_since: datetime, limit: int,
                         after: tuple[datetime, int] | None = None) -> list[LapseCandidate]:
        """Subscribed customers whose last order was placed by ``quiet_since``, who have not entered ``flow`` for
        that last order, are not in it now, and have not entered it since ``entered_since`` (its cool-down); the
        longest quiet first, from after ``after`` (the last order's time and id of the previous page). Each with
        their last order and their purchases (time, total)."""
        at, order_id = after if after is not None else (datetime.min.replace(tzinfo=quiet_since.tzinfo), 0)
        rows = self.uow.execute(text(_LAPSE_CANDIDATES), {
            "s": self.uow.store_id, "flow": flow, "quiet": quiet_since, "entered": entered_since, "n": limit,
            "after_at": at, "after_id": order_id})
        return [LapseCandidate(r.email, int(r.order_id), [(at, Decimal(v)) for at, v in zip(
            r.placed, r.totals, strict=True)]) for r in rows]

    def _checkouts(self, ids: list[int]) -> dict[int, Checkout]:
        from backroom.adapters.db.uow import _checkout_from_row

        if not ids:
            return {}
        k = t.checkouts
        return {int(row.id): _checkout_from_row(row) for row in self.uow.execute(
            select(k).where(k.c.store_id == self.uow.store_id, k.c.id.in_(ids)))}

    def recent_sends(self, emails: list[str], since: datetime) -> dict[str, list[datetime]]:
        s = t.marketing_sends
        found: dict[str, list[datetime]] = {}
        for r in self.uow.execute(select(s.c.email, s.c.sent_at).where(
                s.c.store_id == self.uow.store_id, s.c.email.in_(emails), s.c.kind == "marketing",
                s.c.sent_at >= since)):
            found.setdefault(r.email, []).append(r.sent_at)
        return found

    def record_sends(self, sends: list[Sent]) -> None:
        """Into the ledger, once per message key (a retried tick's second write is nothing)."""
        insert_rows(self.uow.conn, "marketing_sends", _SEND_COLUMNS, [
            (self.uow.store_id, int(x.enrollment_id), x.flow, x.email, x.message_key, x.template, x.kind, x.shadow,
             x.sent_at) for x in sends], tail=_ONCE_PER_MESSAGE)

    def _discount(self, key: str) -> Discount | None:
        d = t.marketing_discounts
        row = self.uow.execute(select(d).where(d.c.store_id == self.uow.store_id, d.c.key == key)).first()
        return Discount(row.key, row.code, int(row.percent), row.expires_at) if row is not None else None

    def add_discount(self, enrollment_id: str, discount: Discount) -> Discount:
        """At most one per key: a second call returns the first code."""
        made = self.uow.execute(_ADD_DISCOUNT, {
            "s": self.uow.store_id, "e": int(enrollment_id), "key": discount.key, "code": discount.code,
            "pct": discount.percent, "exp": discount.expires_at, "now": self.uow._now}).first()
        if made is not None:
            return discount
        found = self._discount(discount.key)
        assert found is not None
        return found

    def discount_platform(self, email: str) -> PlatformCustomer | None:
        """The store's Shopify or WooCommerce connection (`backroom connect`; the first made, if several; read once
        per unit of work) and the customer's id on that platform; None for a store without one."""
        c, k = t.connections, t.customers
        if self._platform is None:
            self._platform = self.uow.execute(select(c.c.platform).where(
                c.c.store_id == self.uow.store_id, c.c.platform.in_(("shopify", "woocommerce"))).order_by(c.c.id)
                .limit(1)).scalar() or ""
        if not self._platform:
            return None
        customer = self.uow.execute(select(k.c.external_id).where(
            k.c.store_id == self.uow.store_id, k.c.email == email, k.c.channel == self._platform)).scalar()
        return PlatformCustomer(self._platform, customer or "")

    def sends_live(self, automation: str) -> bool:
        from backroom.adapters.db.uow import automation_modes

        return automation_modes(self.uow.conn, self.uow.store_id).get(automation, AutomationMode.LIVE) \
            == AutomationMode.LIVE

    def timezone(self) -> ZoneInfo:
        s = t.stores
        return ZoneInfo(self.uow.execute(select(s.c.timezone).where(s.c.id == self.uow.store_id)).scalar_one())

    def lock_store(self) -> bool:
        return bool(self.uow.execute(text("SELECT pg_try_advisory_xact_lock(:k, :s)"),
                                     {"k": MARKETING_TICK_LOCK, "s": self.uow.store_id}).scalar_one())


_ENROLLMENT_COLUMNS = (Col("state", "text"), Col("wake_at", "timestamptz"), Col("value", "jsonb"))
_SEND_COLUMNS = (Col("store_id", "integer"), Col("enrollment_id", "bigint"), Col("flow", "text"),
                 Col("email", "text"), Col("message_key", "text"), Col("template", "text"), Col("kind", "text"),
                 Col("shadow", "boolean"), Col("sent_at", "timestamptz"))
_ONCE_PER_MESSAGE = "ON CONFLICT ON CONSTRAINT uq_marketing_sends_store_message_key DO NOTHING"
_ADD_DISCOUNT = text("""
INSERT INTO marketing_discounts (store_id, enrollment_id, key, code, percent, expires_at, created_at)
VALUES (:s, :e, :key, :code, :pct, :exp, :now)
ON CONFLICT ON CONSTRAINT uq_marketing_discounts_store_key DO NOTHING RETURNING id""")
# the orders each checkout enrollment's address placed since it entered; orders keep the address lower-cased, as
# enrollments do, so the (store_id, email, placed_at) index serves the probe
_ORDERS_SINCE = text("""
SELECT v.id, count(o.id) AS n
FROM unnest(CAST(:ids AS bigint[]), CAST(:emails AS text[]), CAST(:since AS timestamptz[])) AS v(id, email, since)
LEFT JOIN orders o ON o.store_id = :s AND o.email = v.email AND o.created_at >= v.since
GROUP BY v.id""")


def _order_object(row: Any, lines: list[Any]) -> dict[str, Any]:
    status = "refunded" if row.payment_state == "refunded" and row.status != "cancelled" else row.status
    return {"id": int(row.id), "number": row.number, "channel": row.channel, "status": status,
            "payment_state": row.payment_state, "currency": row.currency, "total": float(row.total),
            "item_count": sum(r.quantity for r in lines), "line_count": len(lines),
            "skus": sorted({r.sku for r in lines}), "tags": list(row.tags), "email": row.email.lower(),
            "email_domain": row.email.rpartition("@")[2].lower(), "placed_at": row.placed_at.isoformat(),
            "customer_name": row.customer_name,
            "lines": [{"sku": r.sku, "title": r.title, "quantity": r.quantity, "unit_price": float(r.unit_price),
                       "total": float(r.unit_price * r.quantity)} for r in lines]}


_LIVE_ORDERS = "SELECT o.id, o.email, o.placed_at FROM orders o" \
               " WHERE o.store_id = :s AND o.status <> 'cancelled' AND o.email <> ''"

_RECOMMENDATIONS = f"""
WITH bought AS (SELECT DISTINCT sku FROM order_lines WHERE store_id = :s AND order_id = :o),
mine AS (SELECT DISTINCT l.sku FROM order_lines l JOIN ({_LIVE_ORDERS}) o ON o.id = l.order_id
         WHERE o.email = :email),
buyers AS (SELECT DISTINCT o.email FROM order_lines l JOIN ({_LIVE_ORDERS}) o ON o.id = l.order_id
           WHERE l.store_id = :s AND l.sku IN (SELECT sku FROM bought) AND o.email <> :email),
sequenced AS (SELECT o.id, o.email, lead(o.id) OVER (PARTITION BY o.email ORDER BY o.placed_at, o.id) AS next_id
              FROM ({_LIVE_ORDERS}) o WHERE o.email IN (SELECT email FROM buyers)),
next_orders AS (SELECT DISTINCT s.email, s.next_id FROM sequenced s JOIN order_lines l ON l.order_id = s.id
                WHERE s.next_id IS NOT NULL AND l.sku IN (SELECT sku FROM bought))
SELECT l.sku, coalesce(nullif(max(l.title), ''), l.sku) AS title, count(DISTINCT n.email) AS buyers
FROM next_orders n JOIN order_lines l ON l.order_id = n.next_id
WHERE l.sku NOT IN (SELECT sku FROM mine)
GROUP BY l.sku ORDER BY buyers DESC, count(*) DESC, l.sku LIMIT :n
"""

_LAPSE_CANDIDATES = """
WITH live AS (SELECT o.id, o.email, o.placed_at, o.total FROM orders o
              WHERE o.store_id = :s AND o.status <> 'cancelled' AND o.email <> ''),
last AS (SELECT DISTINCT ON (email) email, id AS order_id, placed_at FROM live ORDER BY email, placed_at DESC, id DESC)
SELECT last.email, last.order_id,
       ARRAY(SELECT l.placed_at FROM live l WHERE l.email = last.email ORDER BY l.placed_at, l.id) AS placed,
       ARRAY(SELECT l.total FROM live l WHERE l.email = last.email ORDER BY l.placed_at, l.id) AS totals
FROM last JOIN customers c ON c.store_id = :s AND c.email = last.email AND c.marketing_consent = 'subscribed'
WHERE last.placed_at <= :quiet AND (last.placed_at, last.order_id) > (:after_at, :after_id) AND NOT EXISTS (
    SELECT 1 FROM marketing_enrollments m WHERE m.store_id = :s AND m.flow = :flow AND m.email = last.email
    AND ((m.subject_type = 'order' AND m.subject_id = last.order_id) OR m.enrolled_at > :entered
         OR m.state NOT IN ('completed', 'exited')))
ORDER BY last.placed_at, last.order_id LIMIT :n
"""


# -- outside a unit of work ----------------------------------------------------------------------------------------


def stores_due(engine: Engine, now: datetime) -> list[int]:
    m = t.marketing_enrollments
    with engine.connect() as conn:
        return list(conn.execute(select(m.c.store_id).where(m.c.wake_at <= now).distinct().order_by(m.c.store_id))
                    .scalars())


def record_unsubscribe(engine: Engine, store_id: int, email: str, at: datetime, max_attempts: int = 5) -> bool:
    """The customer's marketing consent becomes ``unsubscribed`` (a customer known only from a checkout gets a
    record); False when it already was. An audit event records it, in the same transaction, and for a customer
    backroom knows by their Shopify id, the effect that records it on Shopify too (connectors/consent.py)."""
    c = t.customers
    with engine.begin() as conn:
        before = conn.execute(select(c.c.marketing_consent).where(c.c.store_id == store_id, c.c.email == email)
                              .with_for_update()).scalar()
        if before == MarketingConsent.UNSUBSCRIBED:
            return False
        customer = conn.execute(pg_insert(c).values(
            store_id=store_id, email=email, name="", created_at=at, marketing_consent=MarketingConsent.UNSUBSCRIBED,
            unsubscribed_at=at,
        ).on_conflict_do_update(constraint="uq_customers_store_email",
                                set_={"marketing_consent": MarketingConsent.UNSUBSCRIBED, "unsubscribed_at": at})
            .returning(c.c.id, c.c.channel, c.c.external_id)
        ).one()
        conn.execute(pg_insert(t.events).values(
            store_id=store_id, name="customer_unsubscribed", at=at, subject_type="customer", subject_id=customer.id,
            data={"email": email, "via": "one_click_link", "was": before or "unknown"}))
        if customer.channel == "shopify" and customer.external_id:
            from backroom.adapters.db.uow import request_effects  # uow imports this module

            request_effects(conn, store_id, [platform_unsubscribe(store_id, str(customer.external_id), at)],
                            max_attempts, at)
    return True


def enrollments(engine: Engine, store_id: int, flow: str | None = None) -> list[Enrollment]:
    m = t.marketing_enrollments
    query = select(m.c.value).where(m.c.store_id == store_id).order_by(m.c.id)
    if flow:
        query = query.where(m.c.flow == flow)
    with engine.connect() as conn:
        return [enrollment_from_json(v) for v in conn.execute(query).scalars()]


def withheld_messages(engine: Engine, store_id: int) -> dict[str, str]:
    """Flow emails the effect worker's last look cancelled: message key → why (``suppressed``, ``unsubscribed``)."""
    e = t.effects
    with engine.connect() as conn:
        return {r.key: r.last_error or "withheld" for r in conn.execute(select(e.c.key, e.c.last_error).where(
            e.c.store_id == store_id, e.c.kind == "email", e.c.automation == AUTOMATION,
            e.c.status == EffectStatus.CANCELLED))}


def touches_and_orders(engine: Engine, store_id: int) -> tuple[list[Touch], list[PlacedOrder]]:
    """Flow emails that really went (not shadowed), and the orders their recipients placed after the first."""
    s, o = t.marketing_sends, t.orders
    with engine.connect() as conn:
        touches = [Touch(r.flow, str(r.enrollment_id), r.message_key, r.email, r.sent_at) for r in conn.execute(
            select(s).where(s.c.store_id == store_id, s.c.shadow.is_(False)).order_by(s.c.sent_at))]
        first = min((t_.sent_at for t_ in touches), default=None)
        if first is None:
            return [], []
        rows = conn.execute(select(o.c.id, o.c.email, o.c.placed_at, o.c.total, o.c.currency).where(
            o.c.store_id == store_id, o.c.placed_at >= first, o.c.email.in_({t_.customer_id for t_ in touches})))
        orders = [PlacedOrder(str(r.id), r.email, r.placed_at, Decimal(r.total), r.currency) for r in rows]
    return touches, orders


# -- an enrollment as JSON -----------------------------------------------------------------------------------------


def enrollment_json(e: Enrollment) -> dict[str, Any]:
    return {"id": e.id, "flow": e.flow, "customer_id": e.customer_id, "enrolled_at": e.enrolled_at.isoformat(),
            "step_since": e.step_since.isoformat(), "subject_id": e.subject_id, "state": e.state.value,
            "step": e.step, "until": _iso(e.until), "exit_reason": e.exit_reason, "discount_key": e.discount_key,
            "history": [{"at": h.at.isoformat(), "what": h.what.value, "step": h.step, "reason": h.reason,
                         "key": h.key, "until": _iso(h.until)} for h in e.history]}


def enrollment_from_json(v: dict[str, Any]) -> Enrollment:
    return Enrollment(v["id"], v["flow"], v["customer_id"], datetime.fromisoformat(v["enrolled_at"]),
                      datetime.fromisoformat(v["step_since"]), v["subject_id"], State(v["state"]), int(v["step"]),
                      _time(v["until"]), v["exit_reason"], v["discount_key"],
                      tuple(Entry(datetime.fromisoformat(h["at"]), Happened(h["what"]), h["step"], h["reason"],
                                  h["key"], _time(h["until"])) for h in v["history"]))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None
