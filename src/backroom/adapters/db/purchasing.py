"""Replenishment's storage: suppliers and their SKUs, purchase orders, and the plan's read of demand and stock.

The plan reads a year of a store's demand in three grouped queries (sales per SKU per day, the stock ledger's daily
change, stock and backorders now), so 5,000 SKUs cost a few hundred milliseconds of SQL, not 5,000 round trips.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from backroom.adapters.db import tables as t
from backroom.adapters.db.bulk import Col, insert_rows
from backroom.errors import NotFound
from backroom.replenishment.planning import SkuState
from backroom.replenishment.purchasing import OPEN, PoLine, PoStatus, PurchaseOrder
from backroom.replenishment.suppliers import Supplier, SupplierItem, format_order_days

if TYPE_CHECKING:
    from backroom.adapters.db.uow import SqlUnitOfWork


class SqlSupplierRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def save(self, supplier: Supplier) -> Supplier:
        s, now = t.suppliers, self.uow._now
        values = _supplier_values(supplier)
        row = self.uow.execute(
            pg_insert(s).values(store_id=self.uow.store_id, **values, created_at=now, updated_at=now)
            .on_conflict_do_update(index_elements=["store_id", "code"], set_={**values, "updated_at": now})
            .returning(s.c.id)).one()
        return _supplier(supplier, int(row.id))

    def all(self) -> dict[str, Supplier]:
        s = t.suppliers
        rows = self.uow.execute(select(s).where(s.c.store_id == self.uow.store_id).order_by(s.c.code))
        return {r.code: _supplier_from_row(r) for r in rows}

    def get(self, code: str) -> Supplier:
        s = t.suppliers
        row = self.uow.execute(select(s).where(s.c.store_id == self.uow.store_id, s.c.code == code)).first()
        if row is None:
            raise NotFound(f"no supplier {code}", code="supplier_not_found")
        return _supplier_from_row(row)

    def get_by_id(self, supplier_id: int) -> Supplier:
        s = t.suppliers
        row = self.uow.execute(select(s).where(s.c.store_id == self.uow.store_id, s.c.id == supplier_id)).one()
        return _supplier_from_row(row)

    def assign(self, items: Sequence[SupplierItem]) -> None:
        ids = {code: s.id for code, s in self.all().items()}
        insert_rows(self.uow.conn, "supplier_items", _ITEM_COLUMNS, [
            (self.uow.store_id, i.sku, ids[i.supplier_code], i.unit_cost, i.supplier_sku, i.moq, i.pack_multiple,
             i.lead_time_days, self.uow._now) for i in {i.sku: i for i in items}.values()],
            "ON CONFLICT (store_id, sku) DO UPDATE SET supplier_id = excluded.supplier_id,"
            " unit_cost = excluded.unit_cost, supplier_sku = excluded.supplier_sku, moq = excluded.moq,"
            " pack_multiple = excluded.pack_multiple, lead_time_days = excluded.lead_time_days,"
            " updated_at = excluded.updated_at")

    def unknown_skus(self, skus: Collection[str]) -> set[str]:
        v = t.variants
        known = set(self.uow.execute(select(v.c.sku).where(v.c.store_id == self.uow.store_id,
                                                             v.c.sku.in_(list(skus)))).scalars())
        return set(skus) - known

    def items(self, skus: Collection[str] | None = None) -> dict[str, SupplierItem]:
        i, s = t.supplier_items, t.suppliers
        query = select(i, s.c.code).join(s, s.c.id == i.c.supplier_id).where(i.c.store_id == self.uow.store_id)
        rows = self.uow.execute(query if skus is None else query.where(i.c.sku.in_(list(skus))))
        return {r.sku: SupplierItem(r.sku, r.code, r.unit_cost, r.supplier_sku, r.moq, r.pack_multiple,
                                    None if r.lead_time_days is None else float(r.lead_time_days)) for r in rows}


_ITEM_COLUMNS = (Col("store_id", "integer"), Col("sku", "text"), Col("supplier_id", "integer"),
                 Col("unit_cost", "numeric"), Col("supplier_sku", "text"), Col("moq", "integer"),
                 Col("pack_multiple", "integer"), Col("lead_time_days", "numeric"), Col("updated_at", "timestamptz"))


def _supplier_values(s: Supplier) -> dict[str, Any]:
    return {"code": s.code, "name": s.name, "email": s.email, "lead_time_days": s.lead_time_days,
            "lead_time_sd_days": s.lead_time_sd_days, "moq": s.moq, "pack_multiple": s.pack_multiple,
            "order_days": list(s.order_days), "order_cycle_days": s.order_cycle_days, "currency": s.currency}


def _supplier(s: Supplier, supplier_id: int) -> Supplier:
    return Supplier(s.code, s.name, s.email, s.lead_time_days, s.lead_time_sd_days, s.moq, s.pack_multiple,
                    s.order_days, s.order_cycle_days, s.currency, supplier_id)


def _supplier_from_row(r: Any) -> Supplier:
    return Supplier(r.code, r.name, r.email, float(r.lead_time_days), float(r.lead_time_sd_days), r.moq,
                    r.pack_multiple, tuple(r.order_days), float(r.order_cycle_days), r.currency, r.id)


class SqlPurchaseOrderRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def get(self, number: str) -> PurchaseOrder:
        found = self._load(t.purchase_orders.c.number == number, lock=True)
        if not found:
            raise NotFound(f"no purchase order {number}", code="po_not_found")
        return found[0]

    def for_cycle(self, supplier_id: int, cycle: date) -> PurchaseOrder | None:
        p = t.purchase_orders
        found = self._load((p.c.supplier_id == supplier_id) & (p.c.cycle == cycle), lock=True)
        return found[0] if found else None

    def other_drafts(self, supplier_id: int, cycle: date) -> list[PurchaseOrder]:
        p = t.purchase_orders
        return self._load((p.c.supplier_id == supplier_id) & (p.c.cycle != cycle) & (p.c.status == PoStatus.DRAFT),
                          lock=True)

    def lock_drafts(self) -> None:
        p = t.purchase_orders
        self.uow.execute(select(p.c.id).where(p.c.store_id == self.uow.store_id, p.c.status == PoStatus.DRAFT)
                         .order_by(p.c.id).with_for_update())

    def open_orders(self) -> list[PurchaseOrder]:
        return self._load(t.purchase_orders.c.status.in_([s.value for s in OPEN]), lock=False)

    def add(self, po: PurchaseOrder) -> None:
        p, now = t.purchase_orders, self.uow._now
        po.id = int(self.uow.execute(pg_insert(p).values(
            store_id=self.uow.store_id, supplier_id=po.supplier_id, number=po.number, cycle=po.cycle,
            currency=po.currency, created_at=po.created_at or now, updated_at=now, **_po_state(po),
        ).returning(p.c.id)).scalar_one())
        self._write_lines(po)

    def save(self, po: PurchaseOrder) -> None:
        p = t.purchase_orders
        self.uow.execute(update(p).where(p.c.id == po.id).values(**_po_state(po), updated_at=self.uow._now))
        self.uow.execute(delete(t.purchase_order_lines).where(t.purchase_order_lines.c.po_id == po.id))
        self._write_lines(po)

    def _write_lines(self, po: PurchaseOrder) -> None:
        if po.lines:
            self.uow.execute(pg_insert(t.purchase_order_lines), [
                {"po_id": po.id, "sku": x.sku, "line_no": n, "quantity": x.quantity, "received": x.received,
                 "unit_cost": x.unit_cost, "supplier_sku": x.supplier_sku, "reason": x.reason}
                for n, x in enumerate(po.lines, 1)])

    def _load(self, where: Any, *, lock: bool) -> list[PurchaseOrder]:
        p, s, ln = t.purchase_orders, t.suppliers, t.purchase_order_lines
        query = (select(p, s.c.code).join(s, s.c.id == p.c.supplier_id)
                 .where(p.c.store_id == self.uow.store_id, where).order_by(p.c.id))
        if lock:
            query = query.with_for_update(of=p)
        rows = self.uow.execute(query).all()
        if not rows:
            return []
        lines: dict[int, list[PoLine]] = {}
        for r in self.uow.execute(select(ln).where(ln.c.po_id.in_([r.id for r in rows]))
                                  .order_by(ln.c.po_id, ln.c.line_no)):
            lines.setdefault(r.po_id, []).append(PoLine(r.sku, r.quantity, r.unit_cost, r.reason, r.received,
                                                        r.supplier_sku))
        return [PurchaseOrder(r.supplier_id, r.code, r.cycle, r.currency, lines.get(r.id, []), PoStatus(r.status),
                              r.created_at, r.approved_at, r.approved_by, r.expected_on, r.id) for r in rows]


def _po_state(po: PurchaseOrder) -> dict[str, Any]:
    return {"status": po.status.value, "approved_at": po.approved_at, "approved_by": po.approved_by,
            "expected_on": po.expected_on}


# -- the plan's read -------------------------------------------------------------------------------------------

_DEMAND = text(
    "SELECT l.sku, ((o.placed_at AT TIME ZONE :tz)::date - :first) AS day, sum(l.quantity) AS quantity"
    " FROM orders o JOIN order_lines l ON l.order_id = o.id"
    " WHERE o.store_id = :s AND o.status <> 'cancelled' AND o.placed_at >= :since AND o.placed_at < :until"
    " GROUP BY 1, 2")
_LEDGER = text(
    "SELECT sku, ((at AT TIME ZONE :tz)::date - :first) AS day, sum(delta_on_hand - delta_reserved) AS change"
    " FROM stock_ledger WHERE store_id = :s AND at >= :since GROUP BY 1, 2")
_STOCK = text(
    "SELECT sku, sum(on_hand) AS on_hand, sum(on_hand - reserved) AS available FROM stock_levels"
    " WHERE store_id = :s GROUP BY sku")
_BACKORDERED = text(
    "SELECT sku, sum(wanted) AS units FROM ("
    "  SELECT l.sku, l.quantity AS wanted FROM orders o JOIN order_lines l ON l.order_id = o.id"
    "  WHERE o.store_id = :s AND o.backorder_seq IS NOT NULL AND o.status <> 'cancelled'"
    "  UNION ALL"
    "  SELECT r.sku, -r.quantity FROM orders o JOIN reservations r ON r.order_id = o.id"
    "  WHERE o.store_id = :s AND o.backorder_seq IS NOT NULL AND o.status <> 'cancelled'"
    ") x GROUP BY sku HAVING sum(wanted) > 0")
_CATALOG = text(
    "SELECT v.sku, p.title || CASE WHEN v.title IN ('', 'Default Title') THEN '' ELSE ' — ' || v.title END AS title"
    " FROM variants v JOIN products p ON p.id = v.product_id WHERE v.store_id = :s")


#: the advisory lock (with the store id as its second key) one store's plans take in turn
PLAN_LOCK = 7_240_613


class SqlPlanReader:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def begin_plan(self) -> None:
        """REPEATABLE READ, so stock, POs and demand come from one snapshot; a plan that waited for another one's lock
        reads a snapshot from before that plan committed, and the conflict it then meets (a PO or plan line written
        since) is retried by the bus, which sees everything."""
        self.uow.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        self.uow.execute(text("SELECT pg_advisory_xact_lock(:k, :s)"), {"k": PLAN_LOCK, "s": self.uow.store_id})

    def sku_states(self, today: date, history_days: int, open_orders: Collection[PurchaseOrder]) -> list[SkuState]:
        store = self.uow.store_id
        tz = self._timezone()
        first = today - timedelta(days=history_days)
        since = datetime.combine(first, time(), ZoneInfo(tz))
        until = datetime.combine(today, time(), ZoneInfo(tz))
        params = {"s": store, "tz": tz, "first": first, "since": since, "until": until}
        titles = {r.sku: r.title for r in self.uow.execute(_CATALOG, params)}
        stock = {r.sku: (int(r.on_hand), int(r.available)) for r in self.uow.execute(_STOCK, params)}
        backordered = {r.sku: int(r.units) for r in self.uow.execute(_BACKORDERED, params)}
        items = {r for r in self.uow.execute(select(t.supplier_items.c.sku)
                                             .where(t.supplier_items.c.store_id == store)).scalars()}
        on_order: dict[str, int] = {}
        late: dict[str, int] = {}
        receipts: dict[str, list[tuple[date, int]]] = {}
        for po in open_orders:
            for sku, units in po.outstanding().items():
                on_order[sku] = on_order.get(sku, 0) + units
                receipts.setdefault(sku, []).append((po.expected_on or today, units))
                if po.is_late(today):
                    late[sku] = late.get(sku, 0) + units
        skus = sorted(set(titles) | set(stock) | items | set(on_order))
        index = {sku: n for n, sku in enumerate(skus)}
        demand = np.zeros((len(skus), history_days))
        for r in self.uow.execute(_DEMAND, params):
            if r.sku in index and 0 <= r.day < history_days:
                demand[index[r.sku], r.day] += float(r.quantity)
        # available at the start of each day, walked back from now through the ledger's daily changes
        change = np.zeros((len(skus), history_days + 1))  # the last column: today, until now
        for r in self.uow.execute(_LEDGER, params):
            if r.sku in index and r.day >= 0:
                change[index[r.sku], min(int(r.day), history_days)] += float(r.change)
        now_available = np.array([stock.get(sku, (0, 0))[1] for sku in skus], dtype=np.float64)
        after = np.cumsum(change[:, ::-1], axis=1)[:, ::-1]  # change from the start of day d until now
        start_level = now_available[:, None] - after[:, :history_days]
        in_stock = start_level > 0
        return [SkuState(sku, demand[n], in_stock[n], stock.get(sku, (0, 0))[0], stock.get(sku, (0, 0))[1],
                         backordered.get(sku, 0), on_order.get(sku, 0), late.get(sku, 0), titles.get(sku, ""),
                         tuple(receipts.get(sku, ())))
                for sku, n in index.items()]

    def previous_flags(self) -> dict[str, bool]:
        pl = t.plan_lines
        rows = self.uow.execute(select(pl.c.sku, pl.c.stockout_expected).where(pl.c.store_id == self.uow.store_id))
        return {r.sku: bool(r.stockout_expected) for r in rows}

    def save_plan(self, day: date, rows: Sequence[dict[str, Any]]) -> None:
        store = self.uow.store_id
        self.uow.execute(delete(t.plan_lines).where(t.plan_lines.c.store_id == store))
        insert_rows(self.uow.conn, "plan_lines", _PLAN_COLUMNS,
                    [(store, r["sku"], day, r, bool(r["stockout_expected"])) for r in rows])

    def _timezone(self) -> str:
        s = t.stores
        return str(self.uow.execute(select(s.c.timezone).where(s.c.id == self.uow.store_id)).scalar_one())


_PLAN_COLUMNS = (Col("store_id", "integer"), Col("sku", "text"), Col("day", "date"), Col("line", "jsonb"),
                 Col("stockout_expected", "boolean"))


def last_plan(conn: Any, store_id: int) -> list[dict[str, Any]]:
    """Each SKU's latest plan line, as `replenish plan --last` and the health report show it."""
    pl = t.plan_lines
    return [{**r.line, "day": r.day.isoformat()}
            for r in conn.execute(select(pl.c.line, pl.c.day).where(pl.c.store_id == store_id).order_by(pl.c.sku))]


def purchase_orders(conn: Any, store_id: int, status: str | None = None) -> list[dict[str, Any]]:
    """POs newest first with their supplier, totals, and the state of their email to the supplier."""
    rows = conn.execute(text(
        "SELECT p.id, p.number, s.code AS supplier, p.status, p.cycle, p.expected_on, p.approved_by,"
        "  p.currency, count(l.sku) AS lines, coalesce(sum(l.quantity), 0) AS units,"
        "  coalesce(sum(l.received), 0) AS received, coalesce(sum(l.quantity * l.unit_cost), 0) AS total,"
        "  (SELECT e.status FROM effects e WHERE e.store_id = p.store_id AND e.key = 'po-email:' || p.store_id"
        "   || ':' || p.number) AS email"
        " FROM purchase_orders p JOIN suppliers s ON s.id = p.supplier_id"
        " LEFT JOIN purchase_order_lines l ON l.po_id = p.id"
        " WHERE p.store_id = :s AND (CAST(:status AS text) IS NULL OR p.status = :status)"
        " GROUP BY p.id, s.code ORDER BY p.cycle DESC, p.id DESC"), {"s": store_id, "status": status})
    return [{**r._asdict(), "total": str(Decimal(r.total).quantize(Decimal("0.01")))} for r in rows]


def purchase_order_lines(conn: Any, store_id: int, number: str) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT l.line_no, l.sku, l.supplier_sku, l.quantity, l.received, l.unit_cost, l.reason"
        " FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.po_id"
        " WHERE p.store_id = :s AND p.number = :n ORDER BY l.line_no"), {"s": store_id, "n": number})
    return [r._asdict() for r in rows]


def supplier_rows(conn: Any, store_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT s.code, s.name, s.email, s.lead_time_days, s.lead_time_sd_days, s.moq, s.pack_multiple,"
        "  s.order_days, s.order_cycle_days, s.currency, (SELECT count(*) FROM supplier_items i"
        "  WHERE i.supplier_id = s.id) AS skus FROM suppliers s WHERE s.store_id = :s ORDER BY s.code"),
        {"s": store_id})
    return [{**r._asdict(), "order_days": format_order_days(tuple(r.order_days))} for r in rows]
