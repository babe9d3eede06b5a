"""The support agent's storage: conversations with their memory and transcript, and the read-only facts it may use
(orders by number or by customer, what a customer spent, the catalog and its stock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.orders.handlers import TRANSIT_DAYS
from backroom.support.model import OrderFacts, ProductFacts, RefundFacts, ReturnFacts, Shipment
from backroom.support.ports import Conversation, StoredMessage

if TYPE_CHECKING:
    from backroom.adapters.db.uow import SqlUnitOfWork



class SqlConversationRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def open(self, channel: str, external_id: str, customer_email: str | None) -> Conversation:
        c, now = t.support_conversations, self.uow._now
        self.uow.execute(pg_insert(c).values(
            store_id=self.uow.store_id, channel=channel, external_id=external_id, customer_email=customer_email,
            created_at=now, updated_at=now).on_conflict_do_nothing(
            index_elements=["store_id", "channel", "external_id"]))
        row = self.uow.execute(select(c).where(c.c.store_id == self.uow.store_id, c.c.channel == channel,
                                               c.c.external_id == external_id).with_for_update()).one()
        return Conversation(row.id, row.channel, row.external_id, row.customer_email or customer_email,
                            dict(row.state), row.status, row.messages)

    def recent(self, conversation: Conversation, limit: int) -> list[tuple[str, str]]:
        m = t.support_messages
        rows = self.uow.execute(select(m.c.direction, m.c.text).where(m.c.conversation_id == conversation.id)
                                .order_by(m.c.id.desc()).limit(limit)).all()
        return [(r.direction, r.text) for r in rows[::-1]]

    def add_messages(self, conversation: Conversation, messages: Sequence[StoredMessage]) -> None:
        self.uow.execute(pg_insert(t.support_messages), [
            {"store_id": self.uow.store_id, "conversation_id": conversation.id, "direction": m.direction,
             "text": m.text, "intents": list(m.intents), "confidence": m.confidence, "actions": list(m.actions),
             "handover": m.handover, "verified": m.verified,
             "citations": [{"file": c.file, "heading": c.heading} for c in m.citations],
             "latency_ms": m.latency_ms, "created_at": self.uow._now} for m in messages])
        conversation.messages += len(messages)

    def save(self, conversation: Conversation, last_intent: str | None) -> None:
        c = t.support_conversations
        self.uow.execute(update(c).where(c.c.id == conversation.id).values(
            state=conversation.state, status=conversation.status, last_intent=last_intent,
            messages=conversation.messages, customer_email=conversation.customer_email, updated_at=self.uow._now))


_ORDER = text(
    "SELECT o.id, o.number, o.email, o.status, o.placed_at, o.updated_at, o.delivered_at, o.total, o.currency,"
    "  coalesce(o.shipping_address->>'postal_code', '') AS postal_code,"
    "  coalesce(o.shipping_address->>'country', '') AS country, o.tags,"
    "  (SELECT coalesce(json_agg(json_build_array(r.amount, r.currency, r.refunded_at) ORDER BY r.id), '[]')"
    "   FROM order_refunds r WHERE r.order_id = o.id) AS refunds,"
    "  (SELECT coalesce(json_agg(json_build_array(x.number, x.status, x.requested_at, x.lines) ORDER BY x.id), '[]')"
    "   FROM order_returns x WHERE x.order_id = o.id) AS returns,"
    "  (SELECT coalesce(json_agg(json_build_array(coalesce(nullif(l.title, ''), l.sku), l.quantity)"
    "   ORDER BY l.line_no), '[]')"
    "   FROM order_lines l WHERE l.order_id = o.id) AS items,"
    "  (SELECT coalesce(json_agg(json_build_array(s.carrier, s.tracking_number, s.tracking_url, s.shipped_at)"
    "   ORDER BY s.id), '[]') FROM shipments s WHERE s.order_id = o.id) AS shipments"
    " FROM orders o WHERE o.store_id = :s")


class SqlSupportReader:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def order_by_number(self, number: str) -> tuple[int, OrderFacts] | None:
        bare = number.strip().lstrip("#")
        rows = self.uow.execute(text(_ORDER.text + " AND o.number = ANY(:n) ORDER BY o.id DESC LIMIT 1"),
                                {"s": self.uow.store_id, "n": [bare, f"#{bare}"]}).all()
        return (int(rows[0].id), _facts(rows[0])) if rows else None

    def recent_orders(self, email: str, limit: int) -> list[OrderFacts]:
        rows = self.uow.execute(text(_ORDER.text + " AND o.email = :e ORDER BY o.placed_at DESC LIMIT :n"),
                                {"s": self.uow.store_id, "e": email.lower(), "n": limit}).all()
        return [_facts(r) for r in rows]

    def customer_spend(self, email: str) -> Decimal:
        spent = self.uow.execute(text(
            "SELECT coalesce(sum(total), 0) FROM orders WHERE store_id = :s AND email = :e AND status <> 'cancelled'"),
            {"s": self.uow.store_id, "e": email.lower()}).scalar_one()
        return Decimal(spent)

    def catalog_names(self) -> list[str]:
        rows = self.uow.execute(text(
            "SELECT DISTINCT p.title, v.title AS variant FROM products p JOIN variants v ON v.product_id = p.id"
            " WHERE p.store_id = :s"), {"s": self.uow.store_id}).all()
        names = {r.title for r in rows} | {f"{r.title} — {r.variant}" for r in rows
                                           if r.variant and r.variant not in ("Default Title", r.title)}
        return sorted(names)

    def product(self, name: str) -> ProductFacts | None:
        title, _, variant = name.partition(" — ")
        row = self.uow.execute(text(
            "SELECT p.title, min(v.price) AS price, coalesce(sum(st.available), 0) AS available,"
            "  (SELECT currency FROM stores WHERE id = :s) AS currency"
            " FROM products p JOIN variants v ON v.product_id = p.id"
            " LEFT JOIN (SELECT sku, sum(on_hand - reserved) AS available FROM stock_levels WHERE store_id = :s"
            "  GROUP BY sku) st ON st.sku = v.sku"
            " WHERE p.store_id = :s AND p.title = :t AND (:v = '' OR v.title = :v) GROUP BY p.title"),
            {"s": self.uow.store_id, "t": title, "v": variant}).first()
        if row is None:
            return None
        return ProductFacts(name, int(row.available), row.price, row.currency)


def _facts(r: Any) -> OrderFacts:
    shipments = tuple(Shipment(c, n, u, datetime.fromisoformat(at) if at else None) for c, n, u, at in r.shipments)
    shipped_at = shipments[-1].shipped_at if shipments else None
    expected = shipped_at.date() + timedelta(days=TRANSIT_DAYS) if r.status == "shipped" and shipped_at else None
    refunds = tuple(RefundFacts(Decimal(str(amount)), currency, datetime.fromisoformat(at) if at else None)
                    for amount, currency, at in r.refunds)
    returns = tuple(ReturnFacts(number, status, datetime.fromisoformat(at),
                                tuple((str(x["title"]), int(x["quantity"])) for x in lines))
                    for number, status, at, lines in r.returns)
    return OrderFacts(r.number, r.email, r.postal_code, r.status, r.placed_at, Decimal(r.total), r.currency,
                      tuple((str(title), int(q)) for title, q in r.items), shipments,
                      _delivered_at(r), expected, r.country, refunds, returns,
                      tuple(r.tags or ()))


def _delivered_at(r: Any) -> datetime | None:
    """When it was delivered; for an order delivered before backroom kept that (migration 0013 fills it from the
    delivery events), its last change is the best left."""
    if r.status != "delivered":
        return None
    at: datetime = r.delivered_at if r.delivered_at is not None else r.updated_at
    return at


def conversation_rows(conn: Any, store_id: int, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT c.id, c.channel, c.external_id, c.status, c.last_intent, c.messages, c.created_at, c.updated_at,"
        "  c.state->>'handed_over' AS handover FROM support_conversations c"
        " WHERE c.store_id = :s AND (CAST(:st AS text) IS NULL OR c.status = :st)"
        " ORDER BY c.updated_at DESC, c.id DESC LIMIT :n"), {"s": store_id, "st": status, "n": limit})
    return [r._asdict() for r in rows]


def conversation_detail(conn: Any, store_id: int, conversation_id: int) -> dict[str, Any] | None:
    head = conn.execute(text(
        "SELECT id, channel, external_id, customer_email, status, last_intent, messages, state, created_at, updated_at"
        " FROM support_conversations WHERE store_id = :s AND id = :i"), {"s": store_id, "i": conversation_id}).first()
    if head is None:
        return None
    messages = conn.execute(text(
        "SELECT direction, text, intents, confidence, actions, handover, verified, citations, latency_ms, created_at"
        " FROM support_messages WHERE conversation_id = :i ORDER BY id"), {"i": conversation_id})
    return {**head._asdict(), "transcript": [
        {**m._asdict(), "confidence": None if m.confidence is None else float(m.confidence),
         "latency_ms": None if m.latency_ms is None else float(m.latency_ms)} for m in messages]}


def support_stats(conn: Any, store_id: int, minutes_per_conversation: float) -> dict[str, Any]:
    """Deflection and time saved, from the stored conversations: a conversation that never reached a person was
    resolved by the agent; each such conversation saves ``minutes_per_conversation`` of a person's time."""
    row = conn.execute(text(
        "SELECT count(*) AS conversations, count(*) FILTER (WHERE status <> 'handed_over') AS automated,"
        "  coalesce(sum(messages), 0) AS messages FROM support_conversations WHERE store_id = :s"),
        {"s": store_id}).one()
    reasons = conn.execute(text(
        "SELECT state->>'handed_over' AS reason, count(*) AS n FROM support_conversations"
        " WHERE store_id = :s AND status = 'handed_over' GROUP BY 1 ORDER BY 2 DESC, 1"), {"s": store_id}).all()
    latency = conn.execute(text(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,"
        "  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95 FROM support_messages"
        " WHERE store_id = :s AND direction = 'out' AND latency_ms IS NOT NULL"), {"s": store_id}).one()
    total, automated = int(row.conversations), int(row.automated)
    return {"conversations": total, "automated": automated, "handed_over": total - automated,
            "deflection": round(automated / total, 4) if total else None,
            "hours_saved": round(automated * minutes_per_conversation / 60, 2), "messages": int(row.messages),
            "handover_reasons": {r.reason: int(r.n) for r in reasons},
            "reply_ms_p50": None if latency.p50 is None else round(float(latency.p50), 2),
            "reply_ms_p95": None if latency.p95 is None else round(float(latency.p95), 2)}
