"""Order validation findings and per-country address checks (Google i18n address data, bundled offline)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from tests.unit.orders.factories import ADDRESS, make_order

from backroom.orders.error_codes import ReasonCode
from backroom.orders.model import Address, OrderLine, PaymentState
from backroom.orders.validation import Finding, OrderPolicy, address_problems, validate_order

KNOWN = frozenset({"MUG", "TEE", "CAP"})
POLICY = OrderPolicy()


# --- validate_order --------------------------------------------------------------------------------------------


def test_clean_order_has_no_findings() -> None:
    assert validate_order(make_order(), KNOWN, POLICY, duplicate_of=None) == []


def test_unknown_skus_are_reported_once_each_in_sorted_order() -> None:
    # given two unknown SKUs, one of them on two lines
    lines = (
        OrderLine("ZED", 1, Decimal("1")),
        OrderLine("MUG", 1, Decimal("1")),
        OrderLine("ABC", 1, Decimal("1")),
        OrderLine("ZED", 2, Decimal("1")),
    )
    # when
    findings = validate_order(make_order(lines=lines), KNOWN, POLICY, duplicate_of=None)
    # then
    assert findings == [Finding(ReasonCode.UNKNOWN_SKU, "unknown SKU: ABC, ZED")]


@pytest.mark.parametrize(
    ("state", "detail"),
    [(PaymentState.FAILED, "payment failed"), (PaymentState.VOIDED, "payment voided")],
)
def test_failed_or_voided_payment_is_a_finding(state: PaymentState, detail: str) -> None:
    findings = validate_order(make_order(payment_state=state), KNOWN, POLICY, duplicate_of=None)
    assert findings == [Finding(ReasonCode.PAYMENT_FAILED, detail)]


@pytest.mark.parametrize(
    "state", [PaymentState.PAID, PaymentState.AUTHORIZED, PaymentState.PENDING, PaymentState.REFUNDED]
)
def test_other_payment_states_are_not_a_payment_finding(state: PaymentState) -> None:
    assert validate_order(make_order(payment_state=state), KNOWN, POLICY, duplicate_of=None) == []


def test_invalid_address_is_one_finding_listing_every_problem() -> None:
    # given a US address with a short ZIP and no state
    address = Address(name="Ada", line1="1 Main St", city="Springfield", postal_code="1234", country="US")
    # when
    findings = validate_order(make_order(shipping_address=address), KNOWN, POLICY, duplicate_of=None)
    # then
    assert findings == [Finding(ReasonCode.ADDRESS_INVALID, "state/province: required; postal code: invalid")]


def test_total_at_exactly_the_high_value_threshold_is_held() -> None:
    # given 2 x 500.00 = 1000.00, the default threshold
    order = make_order(lines=(OrderLine("MUG", 2, Decimal("500.00")),))
    # when
    findings = validate_order(order, KNOWN, POLICY, duplicate_of=None)
    # then
    assert [f.reason for f in findings] == [ReasonCode.HIGH_VALUE]
    assert findings[0].detail.startswith("total 1000.00 GBP ")
    assert findings[0].detail.endswith(" 1000")


def test_total_one_cent_below_the_high_value_threshold_is_not_held() -> None:
    order = make_order(lines=(OrderLine("MUG", 1, Decimal("500.00")), OrderLine("TEE", 1, Decimal("499.99"))))
    assert validate_order(order, KNOWN, POLICY, duplicate_of=None) == []


def test_high_value_threshold_comes_from_the_policy() -> None:
    # given a store that looks at anything from 50
    policy = replace(POLICY, high_value_threshold=Decimal("50"))
    # when
    findings = validate_order(make_order(), KNOWN, policy, duplicate_of=None)
    # then the 25.00 order passes; a 50.00 one is held
    assert findings == []
    held = validate_order(make_order(lines=(OrderLine("MUG", 4, Decimal("12.50")),)), KNOWN, policy, None)
    assert [f.reason for f in held] == [ReasonCode.HIGH_VALUE]


def test_duplicate_of_names_the_earlier_order() -> None:
    findings = validate_order(make_order(), KNOWN, POLICY, duplicate_of="1000")
    assert findings == [Finding(ReasonCode.DUPLICATE_ORDER, "same buyer, items and address as order 1000")]


def test_every_problem_is_reported_in_a_stable_order() -> None:
    # given an order that is wrong in every way at once
    order = make_order(
        lines=(OrderLine("NOPE", 1, Decimal("5000")),),
        payment_state=PaymentState.FAILED,
        shipping_address=replace(ADDRESS, postal_code="12345"),
    )
    # when
    findings = validate_order(order, KNOWN, POLICY, duplicate_of="999")
    # then
    assert [f.reason for f in findings] == [
        ReasonCode.UNKNOWN_SKU,
        ReasonCode.PAYMENT_FAILED,
        ReasonCode.ADDRESS_INVALID,
        ReasonCode.HIGH_VALUE,
        ReasonCode.DUPLICATE_ORDER,
    ]


def test_default_policy_is_recorded_by_name_and_version() -> None:
    assert (POLICY.name, POLICY.version, POLICY.high_value_threshold) == ("order_validation", "1", Decimal("1000"))


# --- address_problems ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        Address("Ada", "10 Downing St", "London", "SW1A 1AA", "GB"),
        Address("Ada", "10 Downing St", "London", "SW1A1AA", "GB"),
        Address("Ada", "1 Main St", "Springfield", "62701", "US", area="IL"),
        Address("Ada", "1 Main St", "Springfield", "62701-1234", "US", area="IL"),
        Address("Ada", "1 Main St", "Springfield", "62701", "us", area="IL"),
        Address("Ada", "Hauptstr. 1", "Berlin", "10115", "DE"),
    ],
    ids=["gb", "gb-no-space", "us", "us-zip4", "us-lowercase-country", "de"],
)
def test_valid_addresses_have_no_problems(address: Address) -> None:
    assert address_problems(address) == ()


@pytest.mark.parametrize(
    "address",
    [
        Address("Ada", "1 Main St", "Springfield", "1234", "US", area="IL"),
        Address("Ada", "1 Main St", "Springfield", "ABCDE", "US", area="IL"),
        Address("Ada", "10 Downing St", "London", "12345", "GB"),
        Address("Ada", "Hauptstr. 1", "Berlin", "1011", "DE"),
    ],
    ids=["us-four-digits", "us-letters", "gb-digits", "de-four-digits"],
)
def test_postal_code_in_the_wrong_format_for_the_country_is_invalid(address: Address) -> None:
    assert address_problems(address) == ("postal code: invalid",)


def test_missing_name_is_the_only_problem_reported() -> None:
    # given a blank name on an otherwise incomplete address
    address = Address(name="   ", line1="", city="", postal_code="", country="US")
    # then
    assert address_problems(address) == ("name: required",)


def test_missing_required_fields_are_named_with_friendly_labels() -> None:
    address = Address(name="Ada", line1="", city="", postal_code="", country="US")
    assert address_problems(address) == (
        "city: required",
        "state/province: required",
        "postal code: required",
        "street: required",
    )


def test_unknown_country_is_invalid() -> None:
    assert address_problems(Address("Ada", "1 St", "Town", "1", "ZZ")) == ("country: invalid",)


def test_missing_country_is_required() -> None:
    assert address_problems(Address("Ada", "1 St", "Town", "1", "")) == ("country: required",)
