"""backroom's own order format: a valid payload maps exactly; anything else is rejected with the field named."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from backroom.connectors.generic import parse_order
from backroom.errors import InvalidInput
from backroom.orders.commands import IncomingOrder
from backroom.orders.model import Address, OrderLine, PaymentState


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "000123",
        "number": "#1001",
        "email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "currency": "gbp",
        "payment_state": "paid",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "10 Downing St",
            "line2": "Flat 1",
            "city": "London",
            "postal_code": "SW1A 1AA",
            "area": "",
            "country": "gb",
            "phone": "+44 20 7925 0918",
        },
        "lines": [
            {"sku": "MUG", "quantity": 2, "unit_price": "12.50", "title": "Mug"},
            {"sku": "TEE", "quantity": 1, "unit_price": 19.99},
        ],
        "placed_at": "2026-11-27T10:00:00+01:00",
    }
    body.update(overrides)
    return body


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def rejection(body: bytes | str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_order(body)
    return caught.value


# --- valid payloads ----------------------------------------------------------------------------------------------


def test_valid_payload_maps_to_exactly_this_command() -> None:
    # when
    command = parse_order(encode(payload()), channel="import", source_ref="file:orders.json#3")
    # then
    assert command == IncomingOrder(
        channel="import",
        external_id="000123",
        number="#1001",
        email="ada@example.com",
        customer_name="Ada Lovelace",
        currency="GBP",
        payment_state=PaymentState.PAID,
        shipping_address=Address(
            name="Ada Lovelace",
            line1="10 Downing St",
            city="London",
            postal_code="SW1A 1AA",
            country="GB",
            line2="Flat 1",
            area="",
            phone="+44 20 7925 0918",
        ),
        billing_address=None,
        lines=(
            OrderLine("MUG", 2, Decimal("12.50"), "Mug"),
            OrderLine("TEE", 1, Decimal("19.99"), ""),
        ),
        placed_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        source_ref="file:orders.json#3",
    )


def test_prices_are_exact_decimals_not_floats() -> None:
    # when
    command = parse_order(encode(payload()))
    # then
    prices = [line.unit_price for line in command.lines]
    assert all(type(p) is Decimal for p in prices)
    assert prices == [Decimal("12.50"), Decimal("19.99")]
    assert sum(line.total for line in command.lines) == Decimal("44.99")


def test_external_id_is_kept_exactly_as_sent() -> None:
    command = parse_order(encode(payload(id="000123")))
    assert command.external_id == "000123"
    assert type(command.external_id) is str


def test_placed_at_keeps_its_instant_and_is_timezone_aware() -> None:
    # when
    command = parse_order(encode(payload(placed_at="2026-11-27T10:00:00+01:00")))
    # then
    assert command.placed_at.tzinfo is not None
    assert command.placed_at.utcoffset() == timedelta(hours=1)
    assert command.placed_at == datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=1)))


def test_zulu_timestamp_is_utc() -> None:
    command = parse_order(encode(payload(placed_at="2026-11-27T10:00:00Z")))
    assert command.placed_at.utcoffset() == timedelta(0)
    assert command.placed_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_str_body_is_accepted_like_bytes() -> None:
    assert parse_order(json.dumps(payload())) == parse_order(encode(payload()))


def test_defaults_are_api_channel_and_empty_source_ref() -> None:
    command = parse_order(encode(payload()))
    assert (command.channel, command.source_ref) == ("api", "")


def test_missing_number_falls_back_to_the_id() -> None:
    body = payload()
    del body["number"]
    assert parse_order(encode(body)).number == "000123"


def test_missing_customer_name_falls_back_to_the_shipping_name() -> None:
    body = payload()
    del body["customer_name"]
    assert parse_order(encode(body)).customer_name == "Ada Lovelace"


def test_billing_address_is_mapped_when_present() -> None:
    # when
    command = parse_order(encode(payload(billing_address={"name": "Ada", "country": "fr", "city": "Paris"})))
    # then
    assert command.billing_address == Address("Ada", "", "Paris", "", "FR")


def test_surrounding_whitespace_is_stripped_and_unknown_fields_ignored() -> None:
    # when
    command = parse_order(encode(payload(email="  ada@example.com ", id=" 000123 ", shop_note="ignored")))
    # then
    assert (command.email, command.external_id) == ("ada@example.com", "000123")


# --- rejections --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"", b"not json", b"\xff\xfe\xfd", "{'id': 1}"])
def test_body_that_is_not_json_is_malformed_json(body: bytes | str) -> None:
    err = rejection(body)
    assert err.code == "malformed_json"
    assert err.message.startswith("body is not JSON: ")


@pytest.mark.parametrize("body", [b"[]", b"null", b'"order"', b"42"])
def test_json_that_is_not_an_object_is_an_invalid_order(body: bytes) -> None:
    err = rejection(body)
    assert err.code == "invalid_order"
    assert err.message.startswith("invalid order: body: ")


@pytest.mark.parametrize(
    "field", ["id", "email", "currency", "payment_state", "shipping_address", "lines", "placed_at"]
)
def test_missing_required_field_is_named(field: str) -> None:
    # given
    body = payload()
    del body[field]
    # when
    err = rejection(encode(body))
    # then
    assert err.code == "invalid_order"
    assert err.message == f"invalid order: {field}: Field required"


def _set_line(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["lines"][1][key] = value

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set_line("quantity", 0), "lines.1.quantity"),
        (_set_line("quantity", -1), "lines.1.quantity"),
        (_set_line("quantity", 2.5), "lines.1.quantity"),
        (_set_line("sku", ""), "lines.1.sku"),
        (_set_line("unit_price", "-0.01"), "lines.1.unit_price"),
        (_set_line("unit_price", "1.999"), "lines.1.unit_price"),
        (lambda b: b.update(lines=[]), "lines"),
        (lambda b: b.update(email="not-an-email"), "email"),
        (lambda b: b.update(currency="EURO"), "currency"),
        (lambda b: b.update(payment_state="captured"), "payment_state"),
        (lambda b: b.update(id=123), "id"),
        (lambda b: b.update(id="   "), "id"),
        (lambda b: b["shipping_address"].update(country="GBR"), "shipping_address.country"),
        (lambda b: b["shipping_address"].pop("country"), "shipping_address.country"),
    ],
    ids=[
        "zero-quantity",
        "negative-quantity",
        "fractional-quantity",
        "empty-sku",
        "negative-price",
        "sub-cent-price",
        "no-lines",
        "bad-email",
        "long-currency",
        "unknown-payment-state",
        "numeric-id",
        "blank-id",
        "three-letter-country",
        "missing-country",
    ],
)
def test_invalid_field_is_rejected_with_the_field_named(change: Callable[[dict[str, Any]], None], field: str) -> None:
    # given
    body = payload()
    change(body)
    # when
    err = rejection(encode(body))
    # then
    assert err.code == "invalid_order"
    assert err.message.startswith(f"invalid order: {field}: ")


def test_zero_quantity_message_says_what_is_wrong() -> None:
    body = payload()
    body["lines"][0]["quantity"] = 0
    err = rejection(encode(body))
    assert err.message == "invalid order: lines.0.quantity: Input should be greater than 0"


@pytest.mark.parametrize("placed_at", ["2026-11-27T10:00:00", "2026-11-27"])
def test_naive_placed_at_is_rejected_with_a_hint(placed_at: str) -> None:
    err = rejection(encode(payload(placed_at=placed_at)))
    assert err.code == "invalid_order"
    assert err.message == (
        "invalid order: placed_at: Value error, placed_at needs a timezone (e.g. 2026-11-27T10:00:00Z)"
    )


def test_every_problem_is_listed_in_one_rejection() -> None:
    # given
    body = payload(email="nope")
    del body["currency"]
    body["lines"][0]["quantity"] = 0
    # when
    err = rejection(encode(body))
    # then
    problems = err.message.removeprefix("invalid order: ").split("; ")
    assert [p.split(": ")[0] for p in problems] == ["email", "currency", "lines.0.quantity"]


def test_rejection_is_an_invalid_input_with_the_validation_error_as_cause() -> None:
    err = rejection(encode(payload(lines=[])))
    assert isinstance(err, InvalidInput)
    assert err.__cause__ is not None
