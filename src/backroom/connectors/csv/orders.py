"""Orders as CSV: one row per order line, the rows of one order grouped by ``order_id``; the order's own columns
on its first row, repeated or left blank on its following rows (Shopify's export convention).

Each order becomes our generic JSON (what the inbox keeps, under its SHA-256) and is validated by
``generic.order_from`` like every other input, with each problem placed at its file line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import ValidationError

from backroom.connectors.csv.columns import (
    ADDRESS_FIELDS,
    BILLING,
    ORDER_LEVEL,
    ORDERS,
    SHIPPING,
    CsvInvalid,
    Problem,
    Row,
    group_rows,
    read_table,
    shared_values,
    span,
    validation_problems,
)
from backroom.connectors.generic import json_object, order_from
from backroom.errors import InvalidInput
from backroom.orders.commands import ImportOrders, IncomingOrder
from backroom.orders.model import Address
from backroom.shared.hashing import content_hash

SOURCE = CHANNEL = "csv"  # the inbox source and the orders' channel
TOPIC = "orders/import"

_COLUMN_OF = {"id": "order_id", "number": "order_number", "email": "email", "customer_name": "customer_name",
              "currency": "currency", "payment_state": "payment_state", "placed_at": "placed_at"}
_LAST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CsvOrder:
    order_id: str
    lines: tuple[int, ...]  # the file line of each of its rows, in order (row i is order line i)
    body: bytes  # our generic JSON of the order
    placed_at: datetime | None  # None when the cell cannot be read (order_from says why)
    problems: tuple[Problem, ...]  # found in the rows themselves: contradictions, cells beyond the header
    value_lines: Mapping[str, int]  # the line each order-level value was taken from

    @property
    def source_id(self) -> str:
        """The order's id in the inbox: a content hash, so the same rows import once and an edited row is new."""
        return content_hash(self.body)

    @property
    def subject(self) -> str:
        return f"order {self.order_id} ({span(self.lines)})"

    def as_command(self, _topic: str, body: bytes, source_ref: str) -> ImportOrders:
        """The mapping ingest runs on the order's body: the generic validation, problems placed in the file."""
        try:
            incoming = order_from(json_object(body), CHANNEL, source_ref)
        except InvalidInput as err:
            raise self._invalid([*self.problems, *self._placed(err)]) from err
        if self.problems:
            raise self._invalid(self.problems)
        return ImportOrders((incoming,))

    def _invalid(self, problems: Sequence[Problem]) -> CsvInvalid:
        return CsvInvalid(self.subject, sorted(problems, key=lambda p: p.lines[0]), code="invalid_order")

    def _placed(self, err: InvalidInput) -> list[Problem]:
        if not isinstance(err.__cause__, ValidationError):
            return [Problem(self.lines, "", err.message)]
        return validation_problems(err.__cause__, self._where)

    def _where(self, loc: tuple[int | str, ...]) -> Problem:
        if loc[0] == "lines" and len(loc) == 3 and isinstance(loc[1], int):
            return Problem((self.lines[loc[1]],), str(loc[2]), "")
        if loc[0] == "lines":
            return Problem(self.lines, "sku", "")
        if loc[0] in ("shipping_address", "billing_address"):
            column = str(loc[0]).replace("_address", "") + (f"_{loc[1]}" if len(loc) > 1 else "_country")
        else:
            column = _COLUMN_OF.get(str(loc[0]), ".".join(map(str, loc)))
        return Problem((self.value_lines.get(column, self.lines[0]),), column, "")


@dataclass(frozen=True)
class OrdersFile:
    orders: tuple[CsvOrder, ...]  # oldest first (by placed_at), whatever the file's order: the earliest get stock
    stray: tuple[Problem, ...]  # rows without an order id
    warnings: tuple[str, ...]


def parse_orders(raw: bytes, timezone: tzinfo | None = None) -> OrdersFile:
    """A file's orders; ``timezone`` is where a placed_at without a UTC offset was written (else it is a problem)."""
    table = read_table(raw, ORDERS)
    groups, stray = group_rows(table.rows, "order_id")
    orders = [_order(order_id, rows, timezone) for order_id, rows in groups.items()]
    orders.sort(key=lambda o: o.placed_at or _LAST)
    return OrdersFile(tuple(orders), tuple(stray), table.warnings)


@dataclass(frozen=True)
class ReadOnly:
    """What export adds after the importable columns; import ignores these."""

    backroom_order_id: int
    status: str
    carrier: str  # of each shipment, '; '-separated
    tracking_number: str


def export_rows(order: IncomingOrder, read_only: ReadOnly, timezone: tzinfo = UTC) -> Iterator[list[object]]:
    """An order's rows (one per line, its own columns repeated on each), in ORDERS.header's order; the read-only
    channel column is the order's own."""
    head: list[object] = [order.external_id, order.number, order.email, order.customer_name, order.currency,
                          order.payment_state.value, order.placed_at.astimezone(timezone).isoformat(),
                          *_address_cells(order.shipping_address), *_address_cells(order.billing_address)]
    tail: list[object] = [read_only.backroom_order_id, read_only.status, order.channel, read_only.carrier,
                          read_only.tracking_number]
    for line in order.lines:
        yield [*head, line.sku, line.quantity, line.unit_price, line.title, *tail]


def _order(order_id: str, rows: Sequence[Row], timezone: tzinfo | None) -> CsvOrder:
    shared = shared_values(rows, ORDER_LEVEL)
    values = shared.values
    placed_at, placed_text = _placed_at(values["placed_at"], timezone)
    data: dict[str, Any] = {field: values[column] for field, column in _COLUMN_OF.items()
                            if field not in ("id", "placed_at") and values[column]}
    data["id"] = order_id
    if placed_text:
        data["placed_at"] = placed_text
    data["shipping_address"] = _address(values, "shipping")
    if billing := _address(values, "billing"):
        data["billing_address"] = billing
    data["lines"] = [_line(row) for row in rows]
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    problems = (*(p for row in rows for p in row.problems), *shared.problems)
    return CsvOrder(order_id, tuple(row.line for row in rows), body, placed_at, problems, _value_lines(shared.lines))


def _value_lines(lines: Mapping[str, int]) -> dict[str, int]:
    """Where each value came from; an address's missing field is placed where the rest of that address is."""
    out = dict(lines)
    for address in (SHIPPING, BILLING):
        if given := [lines[c] for c in address if c in lines]:
            for column in address:
                out.setdefault(column, min(given))
    return out


def _placed_at(text: str, timezone: tzinfo | None) -> tuple[datetime | None, str]:
    if not text:
        return None, ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None, text  # order_from says what is wrong with it
    if when.tzinfo is None:
        if timezone is None:
            return None, text  # order_from asks for a timezone
        when = when.replace(tzinfo=timezone)
    return when, when.isoformat()


def _address(values: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {f: values[f"{prefix}_{f}"] for f in ADDRESS_FIELDS if values[f"{prefix}_{f}"]}


def _line(row: Row) -> dict[str, Any]:
    line: dict[str, Any] = {f: row[f] for f in ("sku", "unit_price", "title") if row[f]}
    if row["quantity"]:
        digits = row["quantity"].isascii() and row["quantity"].isdigit()
        line["quantity"] = int(row["quantity"]) if digits else row["quantity"]  # else order_from says why
    return line


def _address_cells(address: Address | None) -> list[object]:
    if address is None:
        return [""] * len(ADDRESS_FIELDS)
    cells = address.as_dict()
    return [cells[f] for f in ADDRESS_FIELDS]
