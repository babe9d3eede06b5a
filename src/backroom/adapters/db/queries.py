"""Read models for the CLI, API and demo summary; scoped to one store, plain dicts out (JSON-ready)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, text

from backroom.adapters.db import tables as t
from backroom.errors import NotFound


def _jsonable(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row._mapping.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif type(value).__name__ == "Decimal":
            value = str(value)
        out[key] = value
    return out


def _all(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in conn.execute(query)]


def _one(conn: Connection, table: Table, store_id: int, row_id: int, what: str) -> dict[str, Any]:
    row = conn.execute(select(table).where(table.c.store_id == store_id, table.c.id == row_id)).first()
    if row is None:
        raise NotFound(f"{what} {row_id} not found", code=f"{what.replace(' ', '_')}_not_found")
    return _jsonable(row)


def list_orders(engine: Engine, store_id: int, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    o = t.orders
    query = select(o.c.id, o.c.number, o.c.status, o.c.payment_state, o.c.total, o.c.currency, o.c.holds,
                   o.c.placed_at, o.c.channel).where(o.c.store_id == store_id)
    if status:
        query = query.where(o.c.status == status)
    with engine.connect() as conn:
        return _all(conn, query.order_by(o.c.id.desc()).limit(limit))


def order_detail(engine: Engine, store_id: int, order_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        order = _one(conn, t.orders, store_id, order_id, "order")
        order["lines"] = _all(conn, (
            select(t.order_lines.c.sku, t.order_lines.c.title, t.order_lines.c.quantity, t.order_lines.c.unit_price)
            .where(t.order_lines.c.order_id == order_id).order_by(t.order_lines.c.line_no)))
        order["reservations"] = _all(conn, (
            select(t.reservations.c.sku, t.reservations.c.location_id, t.reservations.c.quantity)
            .where(t.reservations.c.order_id == order_id)))
        order["shipments"] = _all(conn, (
            select(t.shipments.c.carrier, t.shipments.c.tracking_number, t.shipments.c.shipped_at)
            .where(t.shipments.c.order_id == order_id)))
        order["effects"] = _all(conn, (
            select(t.effects.c.id, t.effects.c.kind, t.effects.c.key, t.effects.c.status, t.effects.c.attempts)
            .where(t.effects.c.store_id == store_id, t.effects.c.subject_id == order_id).order_by(t.effects.c.id)))
        order["decisions"] = _all(conn, (
            select(t.decisions.c.at, t.decisions.c.trigger, t.decisions.c.policy, t.decisions.c.policy_version,
                   t.decisions.c.inputs, t.decisions.c.outcome)
            .where(t.decisions.c.store_id == store_id, t.decisions.c.subject_type == "order",
                   t.decisions.c.subject_id == order_id).order_by(t.decisions.c.id)))
        order["review_items"] = _all(conn, (
            select(t.review_items.c.id, t.review_items.c.reason_code, t.review_items.c.status)
            .where(t.review_items.c.store_id == store_id, t.review_items.c.subject_type == "order",
                   t.review_items.c.subject_id == order_id)))
        return order


def list_stock(engine: Engine, store_id: int, sku: str | None = None) -> list[dict[str, Any]]:
    s, loc = t.stock_levels, t.locations
    query = (select(s.c.sku, loc.c.code.label("location"), s.c.on_hand, s.c.reserved,
                    (s.c.on_hand - s.c.reserved).label("available"))
             .join(loc, loc.c.id == s.c.location_id).where(s.c.store_id == store_id))
    if sku:
        query = query.where(s.c.sku == sku)
    with engine.connect() as conn:
        return _all(conn, query.order_by(s.c.sku, loc.c.priority))


def list_review(engine: Engine, store_id: int, status: str | None = "open", limit: int = 100) -> list[dict[str, Any]]:
    r = t.review_items
    query = select(r.c.id, r.c.reason_code, r.c.title, r.c.status, r.c.subject_type, r.c.subject_id,
                   r.c.allowed_actions, r.c.assignee, r.c.created_at).where(r.c.store_id == store_id)
    if status:
        query = query.where(r.c.status == status)
    with engine.connect() as conn:
        return _all(conn, query.order_by(r.c.id).limit(limit))


def review_detail(engine: Engine, store_id: int, item_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return _one(conn, t.review_items, store_id, item_id, "review item")


def assign_review(engine: Engine, store_id: int, item_id: int, assignee: str | None) -> None:
    r = t.review_items
    with engine.begin() as conn:
        done = conn.execute(r.update().where(r.c.store_id == store_id, r.c.id == item_id).values(assignee=assignee))
    if done.rowcount == 0:
        raise NotFound(f"review item {item_id} not found", code="review_item_not_found")


def store_profile(engine: Engine, store_id: int) -> dict[str, Any]:
    st = t.stores
    with engine.connect() as conn:
        row = conn.execute(select(st.c.slug, st.c.name, st.c.currency, st.c.timezone).where(st.c.id == store_id)).one()
    return {"store": row.slug, "name": row.name, "currency": row.currency, "timezone": row.timezone}


def set_store_timezone(engine: Engine, store_id: int, zone: str, at: datetime, via: str) -> None:
    """The store's time zone (an IANA name, checked by the caller); a ``store_timezone_changed`` event records a
    change (setting the zone it already has records nothing)."""
    st = t.stores
    with engine.begin() as conn:
        before = conn.execute(select(st.c.timezone).where(st.c.id == store_id).with_for_update()).scalar_one()
        if before == zone:
            return
        conn.execute(st.update().where(st.c.id == store_id).values(timezone=zone))
        conn.execute(t.events.insert().values(store_id=store_id, name="store_timezone_changed", at=at,
                                              subject_type="store", subject_id=store_id,
                                              data={"from": before, "to": zone, "via": via}))


def set_automation_mode(engine: Engine, store_id: int, automation: str, mode: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO automation_modes (store_id, automation, mode, updated_at) VALUES (:s, :a, :m, now())"
            " ON CONFLICT (store_id, automation) DO UPDATE SET mode = excluded.mode, updated_at = now()"),
            {"s": store_id, "a": automation, "m": mode})


def summary(engine: Engine, store_id: int) -> dict[str, Any]:
    """The pipeline's figures, computed from the records (orders, review items, effects, inbox), not estimated."""
    s = {"s": store_id}
    with engine.connect() as conn:
        def scalar(sql: str) -> int:
            return int(conn.execute(text(sql), s).scalar() or 0)

        def grouped(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in conn.execute(text(sql), s)}

        orders = scalar("SELECT count(*) FROM orders WHERE store_id = :s")
        touchless = scalar(
            "SELECT count(*) FROM orders o WHERE o.store_id = :s"
            " AND o.status IN ('fulfillment_requested', 'shipped', 'delivered')"
            " AND NOT EXISTS (SELECT 1 FROM review_items r WHERE r.store_id = o.store_id AND r.subject_type = 'order'"
            "   AND r.subject_id = o.id AND (r.resolved_by IS DISTINCT FROM 'system'))")
        return {
            "orders_imported": orders,
            "inputs_received": scalar("SELECT count(*) FROM inbox WHERE store_id = :s"),
            "inputs_rejected": scalar(
                "SELECT count(*) FROM inbox WHERE store_id = :s AND status IN ('rejected', 'failed')"),
            "touchless_orders": touchless,
            "touchless_share": round(touchless / orders, 4) if orders else 0.0,
            "orders_by_status": grouped(
                "SELECT status, count(*) FROM orders WHERE store_id = :s GROUP BY 1 ORDER BY 2 DESC"),
            "exceptions_by_reason": grouped(
                "SELECT reason_code, count(*) FROM review_items WHERE store_id = :s GROUP BY 1 ORDER BY 2 DESC"),
            "review_open_by_reason": grouped(
                "SELECT reason_code, count(*) FROM review_items WHERE store_id = :s AND status = 'open'"
                " GROUP BY 1 ORDER BY 2 DESC"),
            "effects_by_status": grouped(
                "SELECT kind || ':' || status, count(*) FROM effects WHERE store_id = :s GROUP BY 1 ORDER BY 1"),
            "negative_stock_rows": scalar(
                "SELECT count(*) FROM stock_levels WHERE store_id = :s AND (on_hand < 0 OR reserved < 0)"),
            "decisions_recorded": scalar("SELECT count(*) FROM decisions WHERE store_id = :s"),
        }


def list_returns(engine: Engine, store_id: int, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Return authorisations newest first, with their order's number and customer."""
    r, o = t.order_returns, t.orders
    query = (select(r.c.number, o.c.number.label("order"), o.c.email, r.c.status, r.c.lines, r.c.actor,
                    r.c.requested_at).join(o, o.c.id == r.c.order_id).where(r.c.store_id == store_id))
    if status:
        query = query.where(r.c.status == status)
    with engine.connect() as conn:
        return _all(conn, query.order_by(r.c.id.desc()).limit(limit))
