"""Orders CSV: rows grouped into orders, validated like every other input, problems placed at line and column."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backroom.connectors.csv.columns import ORDERS, CsvInvalid, Problem
from backroom.connectors.csv.orders import CsvOrder, ReadOnly, export_rows, parse_orders
from backroom.orders.commands import ImportOrders, IncomingOrder
from backroom.orders.model import Address, OrderLine, PaymentState
from backroom.shared.csv_cells import csv_lines

HEADER = ("Order_ID,order_number,email,customer_name,currency,payment_state,placed_at,shipping_name,shipping_line1,"
          "shipping_city,shipping_postal_code,shipping_country,shipping_phone,billing_name,billing_line1,billing_city,"
          "billing_postal_code,billing_country,sku,quantity,unit_price,title")
ADA = ("1001,#1001,ada@example.com,Ada Lovelace,gbp,paid,2026-11-27T10:00:00+01:00,Ada Lovelace,10 Downing St,"
       "London,SW1A 2AA,GB,+44 20 7925 0918,Ada Books Ltd,1 Bank St,London,E14 5AB,GB")
ADA_BLANK = ",,,,,,,,,,,,,,,,"  # the order's own columns left blank on its following rows


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join((header, *rows)) + "\r\n").encode()


def only(raw: bytes, tz: timezone | ZoneInfo | None = None) -> CsvOrder:
    (order,) = parse_orders(raw, tz).orders
    return order


def command(order: CsvOrder) -> IncomingOrder:
    (incoming,) = order.as_command("orders/import", order.body, "csv:ref").orders
    return incoming


def problems(order: CsvOrder) -> list[str]:
    with pytest.raises(CsvInvalid) as caught:
        order.as_command("orders/import", order.body, "csv:ref")
    assert caught.value.code == "invalid_order"
    return [str(p) for p in caught.value.problems]


def test_rows_of_one_order_become_exactly_this_command() -> None:
    order = only(csv_file(f"{ADA},MUG,2,12.50,Mug", f"1001,{ADA_BLANK},TEE,1,19.99,"))

    assert (order.order_id, order.lines, order.subject) == ("1001", (2, 3), "order 1001 (lines 2-3)")
    assert order.as_command("orders/import", order.body, "csv:ref") == ImportOrders((IncomingOrder(
        channel="csv", external_id="1001", number="#1001", email="ada@example.com", customer_name="Ada Lovelace",
        currency="GBP", payment_state=PaymentState.PAID,
        shipping_address=Address("Ada Lovelace", "10 Downing St", "London", "SW1A 2AA", "GB",
                                 phone="+44 20 7925 0918"),
        billing_address=Address("Ada Books Ltd", "1 Bank St", "London", "E14 5AB", "GB"),
        lines=(OrderLine("MUG", 2, Decimal("12.50"), "Mug"), OrderLine("TEE", 1, Decimal("19.99"), "")),
        placed_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC), source_ref="csv:ref"),))


def test_the_inbox_body_is_our_generic_json_and_its_hash_is_the_source_id() -> None:
    order = only(csv_file(f"{ADA},MUG,2,12.50,Mug"))

    assert json.loads(order.body) == {
        "id": "1001", "number": "#1001", "email": "ada@example.com", "customer_name": "Ada Lovelace",
        "currency": "gbp", "payment_state": "paid", "placed_at": "2026-11-27T10:00:00+01:00",
        "shipping_address": {"name": "Ada Lovelace", "line1": "10 Downing St", "city": "London",
                             "postal_code": "SW1A 2AA", "country": "GB", "phone": "+44 20 7925 0918"},
        "billing_address": {"name": "Ada Books Ltd", "line1": "1 Bank St", "city": "London",
                            "postal_code": "E14 5AB", "country": "GB"},
        "lines": [{"sku": "MUG", "quantity": 2, "unit_price": "12.50", "title": "Mug"}],
    }
    assert order.source_id == hashlib.sha256(order.body).hexdigest()


def test_the_same_rows_have_the_same_source_id_and_an_edited_row_a_new_one() -> None:
    blank = only(csv_file(f"{ADA},MUG,2,12.50,Mug", f"1001,{ADA_BLANK},TEE,1,19.99,"))
    repeated = only(csv_file(f"{ADA},MUG,2,12.50,Mug", f"{ADA},TEE,1,19.99,"))
    edited = only(csv_file(f"{ADA},MUG,2,12.50,Mug", f"1001,{ADA_BLANK},TEE,2,19.99,"))
    columns_moved = only(csv_file(*(",".join(reversed(r.split(","))) for r in (
        f"{ADA},MUG,2,12.50,Mug", f"1001,{ADA_BLANK},TEE,1,19.99,")), header=",".join(reversed(HEADER.split(",")))))

    assert blank.source_id == repeated.source_id == columns_moved.source_id
    assert edited.source_id != blank.source_id


def test_every_problem_is_reported_with_its_line_and_column() -> None:
    order = only(csv_file(
        "1002,,not-an-email,,GBP,paid,2026-11-27T09:00:00Z,Bob,1 Road,London,SW1A 2AA,,,,,,,,TEE,0,x,",
        "1002,,,,,,,,,,,,,,,,,,,1,-1,",
        "1002,,,,,,,,,,,,,Bob,,,,,MUG,2,1.234,",
    ))

    assert problems(order) == [
        "line 2, email: String should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'",
        "line 2, shipping_country: Field required",
        "line 2, quantity: Input should be greater than 0",
        "line 2, unit_price: Input should be a valid decimal",
        "line 3, sku: Field required",
        "line 3, unit_price: Input should be greater than or equal to 0",
        "line 4, billing_country: Field required",
        "line 4, unit_price: Decimal input should have no more than 2 decimal places",
    ]


def test_a_following_row_may_repeat_the_orders_own_cells_but_not_contradict_them() -> None:
    order = only(csv_file(f"{ADA},MUG,2,12.50,Mug",
                          "1001,#1001,eve@example.com,,,,,,,,,,,,,,,,TEE,1,19.99,"))

    assert problems(order) == ["line 3, email: 'eve@example.com' differs from 'ada@example.com' on line 2"]


def test_placed_at_without_an_offset_is_read_in_the_timezone_given_and_refused_without_one() -> None:
    row = ADA.replace("2026-11-27T10:00:00+01:00", "2026-07-01 10:00") + ",MUG,1,12.50,Mug"

    assert command(only(csv_file(row), ZoneInfo("Europe/London"))).placed_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert command(only(csv_file(row), timezone(timedelta(hours=-5)))).placed_at == datetime(
        2026, 7, 1, 15, 0, tzinfo=UTC)
    assert problems(only(csv_file(row))) == [
        "line 2, placed_at: Value error, placed_at needs a timezone (e.g. 2026-11-27T10:00:00Z)"]
    assert problems(only(csv_file(row.replace("2026-07-01 10:00", "yesterday")))) == [
        "line 2, placed_at: Input should be a valid datetime or date, input is too short"]


def test_orders_come_oldest_first_whatever_the_files_order_and_rows_of_an_order_need_not_be_adjacent() -> None:
    def row(ext: str, placed: str, sku: str) -> str:
        return ADA.replace("1001,#1001", f"{ext},#{ext}").replace("2026-11-27T10:00:00+01:00", placed) + f",{sku},1,1,"

    parsed = parse_orders(csv_file(row("3", "2026-11-27T12:00:00Z", "A"), row("1", "2026-11-25T12:00:00Z", "B"),
                                   row("3", "", "C"), row("2", "2026-11-26T12:00:00+09:00", "D"), row("bad", "", "E")))

    assert [(o.order_id, o.lines) for o in parsed.orders] == [("1", (3,)), ("2", (5,)), ("3", (2, 4)), ("bad", (6,))]


def test_a_row_without_an_order_id_belongs_to_no_order_and_is_reported() -> None:
    parsed = parse_orders(csv_file(f"{ADA},MUG,2,12.50,Mug", f" ,{ADA_BLANK},TEE,1,19.99,"))

    assert [o.lines for o in parsed.orders] == [(2,)]
    assert parsed.stray == (Problem((3,), "order_id", "Field required (the row belongs to nothing and was skipped)"),)


def test_too_many_lines_are_refused_on_the_orders_rows() -> None:
    order = only(csv_file(f"{ADA},SKU-0,1,1.00,", *(f"1001,{ADA_BLANK},SKU-{n},1,1.00," for n in range(1, 5001))))

    assert problems(order) == [f"lines {', '.join(map(str, range(2, 5003)))}, sku: List should have at most 5000 "
                               "items after validation, not 5001"]


def test_exported_rows_read_back_as_the_same_order() -> None:
    incoming = IncomingOrder(
        channel="shopify", external_id="5001", number="#5001", email="=cmd@example.com", customer_name="-Eve",
        currency="EUR", payment_state=PaymentState.AUTHORIZED,
        shipping_address=Address("Eve, Ltd.", "1 \"Quoted\" Rd", "Paris", "75001", "FR", "Flat 2", "IDF", "+33 1"),
        billing_address=None,
        lines=(OrderLine("A", 1, Decimal("0.00"), "=HYPERLINK(\"x\")"), OrderLine("B", 3, Decimal("10.50"), "")),
        placed_at=datetime(2026, 11, 27, 23, 30, tzinfo=UTC))

    text = "".join(csv_lines([ORDERS.header, *export_rows(incoming, ReadOnly(7, "shipped", "DPD", "TRK1"),
                                                          ZoneInfo("Europe/Paris"))]))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    parsed = parse_orders(text.encode())

    assert rows[1][ORDERS.header.index("placed_at")] == "2026-11-28T00:30:00+01:00"
    assert rows[1][ORDERS.header.index("title")] == "'=HYPERLINK(\"x\")"
    assert rows[2][-5:] == ["7", "shipped", "shopify", "DPD", "TRK1"]
    assert parsed.warnings == ()
    assert command(parsed.orders[0]) == dataclasses.replace(incoming, channel="csv", source_ref="csv:ref")
