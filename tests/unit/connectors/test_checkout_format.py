"""backroom's own checkout format (POST /inbound/checkouts) → RecordCheckout / DeleteCheckout, without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from backroom.connectors.checkouts import SOURCE, map_checkout
from backroom.connectors.webhook_mappers import MAPPERS
from backroom.errors import InvalidInput
from backroom.orders.checkouts import CheckoutLine
from backroom.orders.commands import DeleteCheckout, RecordCheckout

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def mapped(payload: dict[str, Any]) -> RecordCheckout | DeleteCheckout:
    return map_checkout("checkout", json.dumps(payload).encode(), "inbound-checkout:x")


def minimal(**changes: Any) -> dict[str, Any]:
    return {"id": "c-1", "currency": "eur", "recovery_url": "https://shop.example/cart?k=1",
            "updated_at": "2026-11-27T10:00:00+01:00",
            "lines": [{"sku": "A", "quantity": 3, "unit_price": "2.50"},
                      {"sku": "B", "quantity": 1, "unit_price": "4"}],
            **changes}


def test_a_minimal_checkout_defaults_its_channel_start_and_total_from_its_lines() -> None:
    command = mapped(minimal())
    assert command == RecordCheckout(
        channel="inbound", external_id="c-1", token="", email="", customer_name="", currency="EUR",
        total=Decimal("11.50"), lines=(CheckoutLine("A", 3, Decimal("2.50")), CheckoutLine("B", 1, Decimal("4"))),
        recovery_url="https://shop.example/cart?k=1", started_at=T0, updated_at=T0, completed_at=None)
    assert isinstance(command, RecordCheckout)
    assert command.updated_at.tzinfo is UTC  # given at +01:00, kept in UTC


def test_a_given_total_is_kept_as_the_storefront_computed_it() -> None:
    command = mapped(minimal(total="14.99", email="Ada@Example.COM"))
    assert isinstance(command, RecordCheckout)
    assert (command.total, command.email) == (Decimal("14.99"), "ada@example.com")


def test_an_order_id_without_a_completion_time_completes_the_checkout_at_its_update() -> None:
    command = mapped(minimal(order_id="wc-1001"))
    assert isinstance(command, RecordCheckout)
    assert command.completed_at == T0


def test_an_explicit_completion_time_wins_over_the_update_time() -> None:
    command = mapped(minimal(order_id="wc-1001", completed_at="2026-11-27T08:30:00Z"))
    assert isinstance(command, RecordCheckout)
    assert command.completed_at == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


def test_a_deletion_needs_only_the_checkout_id() -> None:
    assert mapped({"id": "c-1", "deleted": True}) == DeleteCheckout("inbound", "c-1")
    assert mapped({"id": "c-1", "channel": "woocommerce", "deleted": True}) == DeleteCheckout("woocommerce", "c-1")


@pytest.mark.parametrize(("changes", "problem"), [
    ({"channel": "shopify"}, "channel: Input should be 'inbound' or 'woocommerce'"),
    ({"recovery_url": "ftp://shop.example/cart"}, "recovery_url: Value error, must be an http:// or https:// address"),
    ({"recovery_url": "https:///no-host"}, "recovery_url: Value error, must be an http:// or https:// address"),
    ({"currency": "EURO"}, "currency: String should match pattern '^[A-Za-z]{3}$'"),
    ({"total": "-1"}, "total: Input should be greater than or equal to 0"),
    ({"lines": [{"sku": "", "quantity": 1, "unit_price": "1.005"}]},
     "lines.0.sku: String should have at least 1 character; "
     "lines.0.unit_price: Decimal input should have no more than 2 decimal places"),
    ({"id": ""}, "id: String should have at least 1 character"),
])
def test_each_problem_is_named_at_its_field(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        mapped(minimal(**changes))
    assert (refused.value.code, refused.value.message) == ("invalid_checkout", f"invalid checkout: {problem}")


def test_a_body_that_is_not_an_object_is_malformed_json() -> None:
    with pytest.raises(InvalidInput) as refused:
        map_checkout("checkout", b"[1, 2]", "inbound-checkout:x")
    assert refused.value.code == "malformed_json"


def test_the_inbox_knows_how_to_read_a_kept_checkout_again() -> None:
    assert MAPPERS[SOURCE] is map_checkout
