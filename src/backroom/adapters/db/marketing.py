"""Marketing flows in PostgreSQL: enrollments (each with its whole history as JSONB, and ``wake_at`` for the tick),
the per-customer send ledger, discount codes, and the one-click unsubscribe."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.customers.model import MarketingConsent
from backroom.marketing.attribution import PlacedOrder, Touch
from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment, Entry, Happened, State
from backroom.marketing.ports import Discount, Sent, StoredEnrollment
from backroom.orders.checkouts import Checkout
from backroom.service_layer.effects import AutomationMode

if TYPE_CHECKING:
    from backroom.adapters.db.uow import SqlUnitOfWork

MARKETING_TICK_LOCK = 7_240_614  # with the store id: one tick per store at a time, so the cap sees every send

_CONSENT = {MarketingConsent.SUBSCRIBED: Consent.SUBSCRIBED, MarketingConsent.UNSUBSCRIBED: Consent.UNSUBSCRIBED}


class SqlMarketingRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

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

    def save(self, enrollment: Enrollment, wake_at: datetime | None) -> None:
        m = t.marketing_enrollments
        self.uow.execute(update(m).where(m.c.id == int(enrollment.id)).values(
            state=enrollment.state.value, wake_at=wake_at, value=enrollment_json(enrollment),
            updated_at=self.uow._now))

    def consent(self, email: str) -> Consent:
        c = t.customers
        found = self.uow.execute(select(c.c.marketing_consent).where(
            c.c.store_id == self.uow.store_id, c.c.email == email)).scalar()
        return _CONSENT.get(MarketingConsent(found), Consent.NEVER) if found is not None else Consent.NEVER

    def orders_since(self, email: str, since: datetime) -> int:
        o = t.orders
        return int(self.uow.execute(select(func.count()).where(
            o.c.store_id == self.uow.store_id, func.lower(o.c.email) == email, o.c.created_at >= since)).scalar_one())

    def checkout(self, checkout_id: int) -> Checkout | None:
        from backroom.adapters.db.uow import _checkout_from_row

        k = t.checkouts
        row = self.uow.execute(select(k).where(k.c.store_id == self.uow.store_id, k.c.id == checkout_id)).first()
        return _checkout_from_row(row) if row is not None else None

    def recent_sends(self, email: str, since: datetime) -> list[datetime]:
        s = t.marketing_sends
        rows = self.uow.execute(select(s.c.sent_at).where(
            s.c.store_id == self.uow.store_id, s.c.email == email, s.c.kind == "marketing", s.c.sent_at >= since))
        return list(rows.scalars())

    def record_send(self, sent: Sent) -> bool:
        values = {k: v for k, v in asdict(sent).items() if k != "enrollment_id"}
        row = self.uow.execute(pg_insert(t.marketing_sends).values(
            store_id=self.uow.store_id, enrollment_id=int(sent.enrollment_id), **values,
        ).on_conflict_do_nothing(constraint="uq_marketing_sends_store_message_key")
            .returning(t.marketing_sends.c.id)).first()
        return row is not None

    def discount(self, key: str) -> Discount | None:
        d = t.marketing_discounts
        row = self.uow.execute(select(d).where(d.c.store_id == self.uow.store_id, d.c.key == key)).first()
        return Discount(row.key, row.code, int(row.percent), row.expires_at) if row is not None else None

    def add_discount(self, enrollment_id: str, discount: Discount) -> Discount:
        """At most one per key: a second call returns the first code."""
        self.uow.execute(pg_insert(t.marketing_discounts).values(
            store_id=self.uow.store_id, enrollment_id=int(enrollment_id), key=discount.key, code=discount.code,
            percent=discount.percent, expires_at=discount.expires_at, created_at=self.uow._now,
        ).on_conflict_do_nothing(constraint="uq_marketing_discounts_store_key"))
        found = self.discount(discount.key)
        assert found is not None
        return found

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


# -- outside a unit of work ----------------------------------------------------------------------------------------


def stores_due(engine: Engine, now: datetime) -> list[int]:
    m = t.marketing_enrollments
    with engine.connect() as conn:
        return list(conn.execute(select(m.c.store_id).where(m.c.wake_at <= now).distinct().order_by(m.c.store_id))
                    .scalars())


def record_unsubscribe(engine: Engine, store_id: int, email: str, at: datetime) -> bool:
    """The customer's marketing consent becomes ``unsubscribed`` (a customer known only from a checkout gets a
    record); False when it already was. An audit event records it, in the same transaction."""
    c = t.customers
    with engine.begin() as conn:
        before = conn.execute(select(c.c.marketing_consent).where(c.c.store_id == store_id, c.c.email == email)
                              .with_for_update()).scalar()
        if before == MarketingConsent.UNSUBSCRIBED:
            return False
        customer_id = conn.execute(pg_insert(c).values(
            store_id=store_id, email=email, name="", created_at=at, marketing_consent=MarketingConsent.UNSUBSCRIBED,
        ).on_conflict_do_update(constraint="uq_customers_store_email",
                                set_={"marketing_consent": MarketingConsent.UNSUBSCRIBED}).returning(c.c.id)
        ).scalar_one()
        conn.execute(pg_insert(t.events).values(
            store_id=store_id, name="customer_unsubscribed", at=at, subject_type="customer", subject_id=customer_id,
            data={"email": email, "via": "one_click_link", "was": before or "unknown"}))
    return True


def enrollments(engine: Engine, store_id: int, flow: str | None = None) -> list[Enrollment]:
    m = t.marketing_enrollments
    query = select(m.c.value).where(m.c.store_id == store_id).order_by(m.c.id)
    if flow:
        query = query.where(m.c.flow == flow)
    with engine.connect() as conn:
        return [enrollment_from_json(v) for v in conn.execute(query).scalars()]


def touches_and_orders(engine: Engine, store_id: int) -> tuple[list[Touch], list[PlacedOrder]]:
    """Flow emails that really went (not shadowed), and the orders their recipients placed after the first."""
    s, o = t.marketing_sends, t.orders
    with engine.connect() as conn:
        touches = [Touch(r.flow, str(r.enrollment_id), r.message_key, r.email, r.sent_at) for r in conn.execute(
            select(s).where(s.c.store_id == store_id, s.c.shadow.is_(False)).order_by(s.c.sent_at))]
        first = min((t_.sent_at for t_ in touches), default=None)
        if first is None:
            return [], []
        rows = conn.execute(select(o.c.id, func.lower(o.c.email).label("email"), o.c.placed_at, o.c.total,
                                   o.c.currency).where(o.c.store_id == store_id, o.c.placed_at >= first,
                                                       func.lower(o.c.email).in_({t_.customer_id for t_ in touches})))
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
