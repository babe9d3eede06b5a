"""Saving a rule catches what would otherwise fail at 2 a.m.: unknown fields, type mismatches, non-bool results."""

from __future__ import annotations

import pytest

from backroom.rules.expressions import ExpressionError, compile_condition
from backroom.rules.triggers import TRIGGERS

ORDER_CREATED = TRIGGERS["order_created"]


def problems(source: str, trigger: str = "order_created") -> list[str]:
    with pytest.raises(ExpressionError) as caught:
        compile_condition(source, TRIGGERS[trigger])
    return caught.value.problems


def test_the_issue_example_compiles_and_knows_what_it_reads() -> None:
    condition = compile_condition(
        "order.total > 500 && customer.orders_count == 0 "
        "&& order.shipping_address.country != order.billing_address.country", ORDER_CREATED)
    assert condition.paths == ("order.total", "customer.orders_count", "order.shipping_address.country",
                               "order.billing_address.country")


@pytest.mark.parametrize(("source", "paths"), [
    ("order.lines.exists(l, l.sku == 'MUG' && l.quantity > 2)", ("order.lines",)),
    ("'vip' in order.tags", ("order.tags",)),
    ("order.email.endsWith('@example.com')", ("order.email",)),
    ("size(order.lines) > 3 || order.lines[0].title.contains('gift')", ("order.lines",)),
    ("customer.first_order || order.total > 100.0", ("customer.first_order", "order.total")),
    ("event.hour >= 9 && event.weekday <= 5", ("event.hour", "event.weekday")),
    ("", ()),
])
def test_valid_conditions_compile_and_know_what_they_read(source: str, paths: tuple[str, ...]) -> None:
    assert compile_condition(source, ORDER_CREATED).paths == paths


def test_an_unknown_field_is_named_with_a_suggestion() -> None:
    assert problems("order.shipping_adress.country == 'GB'") == [
        "unknown field 'order.shipping_adress' (order has: billing_address, channel, currency, email, email_domain, "
        "holds, id, item_count, line_count, lines, number, payment_state, placed_at, priority, shipping_address, "
        "skus, status, tags, total); did you mean 'order.shipping_address'?"]


def test_an_object_the_trigger_does_not_offer_is_refused() -> None:
    assert problems("order.total > 1", "stock_low") == ["unknown field 'order' (the context has: event, stock)"]


def test_a_type_mismatch_behind_a_short_circuit_still_shows() -> None:
    (problem,) = problems("false && order.total + 1 > 3")
    assert problem.startswith("'order.total + 1 > 3': Unsupported operation: float + int")


def test_comparing_a_number_with_a_string_is_refused() -> None:
    (problem,) = problems("order.total > '500'")
    assert problem.startswith("condition: No such overload")


def test_a_condition_must_be_true_or_false() -> None:
    assert problems("order.total") == ["condition must be true or false, but gives a float"]


def test_a_syntax_error_says_where() -> None:
    (problem,) = problems("order.total >")
    assert problem.startswith("condition is not valid CEL: Failed to parse expression 'order.total >'")


def test_strings_are_not_mistaken_for_fields() -> None:
    assert compile_condition("order.number == 'order.nonsense'", ORDER_CREATED).paths == ("order.number",)
