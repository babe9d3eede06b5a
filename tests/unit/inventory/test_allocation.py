"""Allocation policy and the stock pool: pure domain, no database."""

from __future__ import annotations

import pytest

from backroom.inventory.model import (
    Allocation,
    AllocationResult,
    LedgerEntry,
    LedgerReason,
    StockLevel,
    StockPool,
    plan_allocation,
)

# Location ids; a lower priority number means the location is preferred.
MAIN, OVERFLOW, STORE = 1, 2, 3


def level(sku: str, location_id: int, priority: int, on_hand: int, reserved: int = 0) -> StockLevel:
    return StockLevel(sku=sku, location_id=location_id, location_priority=priority, on_hand=on_hand, reserved=reserved)


def pool_of(*levels: StockLevel) -> StockPool:
    by_sku: dict[str, list[StockLevel]] = {}
    for lv in levels:
        by_sku.setdefault(lv.sku, []).append(lv)
    return StockPool(by_sku)


# --- available -------------------------------------------------------------------------------------------------


def test_available_is_on_hand_minus_reserved() -> None:
    # given
    stock = level("MUG", MAIN, 1, on_hand=10, reserved=3)
    # then
    assert stock.available == 7


def test_pool_available_sums_every_location_of_the_sku() -> None:
    # given
    pool = pool_of(level("MUG", MAIN, 1, 10, 3), level("MUG", OVERFLOW, 2, 5, 5), level("MUG", STORE, 3, 4, 0))
    # then
    assert pool.available("MUG") == 11


def test_pool_available_of_unknown_sku_is_zero() -> None:
    assert pool_of(level("MUG", MAIN, 1, 10)).available("TEE") == 0


# --- plan_allocation: single location ---------------------------------------------------------------------------


def test_order_goes_to_highest_priority_location_that_can_fill_everything() -> None:
    # given both locations can fill the whole order
    levels = {
        "MUG": [level("MUG", OVERFLOW, 2, 10), level("MUG", MAIN, 1, 10)],
        "TEE": [level("TEE", OVERFLOW, 2, 10), level("TEE", MAIN, 1, 10)],
    }
    # when
    result = plan_allocation({"MUG": 2, "TEE": 3}, levels)
    # then
    assert result == AllocationResult((Allocation("MUG", MAIN, 2), Allocation("TEE", MAIN, 3)), {})
    assert result.complete is True


def test_lower_priority_location_wins_when_it_alone_can_fill_the_whole_order() -> None:
    # given MAIN has plenty of MUG but too few TEE; OVERFLOW has enough of both
    levels = {
        "MUG": [level("MUG", MAIN, 1, 10), level("MUG", OVERFLOW, 2, 5)],
        "TEE": [level("TEE", MAIN, 1, 1), level("TEE", OVERFLOW, 2, 5)],
    }
    # when
    result = plan_allocation({"MUG": 2, "TEE": 3}, levels)
    # then one parcel from OVERFLOW rather than two parcels
    assert result.allocations == (Allocation("MUG", OVERFLOW, 2), Allocation("TEE", OVERFLOW, 3))
    assert result.shortfall == {}


def test_single_sku_skips_preferred_location_that_cannot_fill_the_line() -> None:
    # given
    levels = {"MUG": [level("MUG", MAIN, 1, 3), level("MUG", OVERFLOW, 2, 10)]}
    # when
    result = plan_allocation({"MUG": 5}, levels)
    # then
    assert result.allocations == (Allocation("MUG", OVERFLOW, 5),)
    assert result.shortfall == {}


def test_reserved_units_do_not_count_towards_filling_a_location() -> None:
    # given MAIN holds 10 but 8 are already reserved for other orders
    levels = {"MUG": [level("MUG", MAIN, 1, on_hand=10, reserved=8), level("MUG", OVERFLOW, 2, 4)]}
    # when
    result = plan_allocation({"MUG": 3}, levels)
    # then
    assert result.allocations == (Allocation("MUG", OVERFLOW, 3),)


def test_equal_priorities_are_broken_by_lowest_location_id() -> None:
    # given
    levels = {"MUG": [level("MUG", STORE, 5, 10), level("MUG", OVERFLOW, 5, 10)]}
    # when
    result = plan_allocation({"MUG": 1}, levels)
    # then
    assert result.allocations == (Allocation("MUG", OVERFLOW, 1),)


def test_exact_available_quantity_fills_a_location() -> None:
    # given
    levels = {"MUG": [level("MUG", MAIN, 1, on_hand=5, reserved=2), level("MUG", OVERFLOW, 2, 10)]}
    # when
    result = plan_allocation({"MUG": 3}, levels)
    # then
    assert result.allocations == (Allocation("MUG", MAIN, 3),)


# --- plan_allocation: split and shortfall -----------------------------------------------------------------------


def test_line_is_split_across_locations_in_priority_order_when_no_single_location_can_fill() -> None:
    # given neither location alone has 7
    levels = {"MUG": [level("MUG", OVERFLOW, 2, 4), level("MUG", STORE, 3, 6), level("MUG", MAIN, 1, 5)]}
    # when
    result = plan_allocation({"MUG": 7}, levels)
    # then MAIN is drained first, the rest comes from OVERFLOW; STORE is not needed
    assert result.allocations == (Allocation("MUG", MAIN, 5), Allocation("MUG", OVERFLOW, 2))
    assert result.shortfall == {}
    assert result.complete is True


def test_multi_sku_order_is_split_line_by_line_when_lines_live_in_different_locations() -> None:
    # given MUG only at MAIN, TEE only at OVERFLOW
    levels = {"MUG": [level("MUG", MAIN, 1, 5)], "TEE": [level("TEE", OVERFLOW, 2, 5)]}
    # when
    result = plan_allocation({"MUG": 2, "TEE": 1}, levels)
    # then
    assert result.allocations == (Allocation("MUG", MAIN, 2), Allocation("TEE", OVERFLOW, 1))
    assert result.shortfall == {}


def test_uncovered_units_become_the_shortfall_and_found_units_are_still_allocated() -> None:
    # given only 3 MUG in total
    levels = {"MUG": [level("MUG", MAIN, 1, 2), level("MUG", OVERFLOW, 2, on_hand=3, reserved=2)]}
    # when
    result = plan_allocation({"MUG": 5}, levels)
    # then
    assert result.allocations == (Allocation("MUG", MAIN, 2), Allocation("MUG", OVERFLOW, 1))
    assert result.shortfall == {"MUG": 2}
    assert result.complete is False


def test_sku_without_any_stock_row_is_entirely_short() -> None:
    # given
    levels = {"MUG": [level("MUG", MAIN, 1, 5)]}
    # when
    result = plan_allocation({"MUG": 1, "TEE": 4}, levels)
    # then
    assert result.allocations == (Allocation("MUG", MAIN, 1),)
    assert result.shortfall == {"TEE": 4}


def test_location_with_nothing_available_gets_no_zero_quantity_allocation() -> None:
    # given
    levels = {"MUG": [level("MUG", MAIN, 1, on_hand=4, reserved=4), level("MUG", OVERFLOW, 2, 0)]}
    # when
    result = plan_allocation({"MUG": 2}, levels)
    # then
    assert result.allocations == ()
    assert result.shortfall == {"MUG": 2}


def test_planning_does_not_change_stock_levels() -> None:
    # given
    main = level("MUG", MAIN, 1, 5, 1)
    # when
    plan_allocation({"MUG": 3}, {"MUG": [main]})
    # then
    assert (main.on_hand, main.reserved, main.dirty) == (5, 1, False)


def test_empty_needs_is_a_complete_empty_allocation() -> None:
    result = plan_allocation({}, {"MUG": [level("MUG", MAIN, 1, 5)]})
    assert result == AllocationResult((), {})
    assert result.complete is True


# --- StockPool: allocate / reserve -----------------------------------------------------------------------------


def test_allocate_reserves_the_plan_and_records_one_reserved_entry_per_allocation() -> None:
    # given neither location alone has 8 available
    main, overflow = level("MUG", MAIN, 1, 5), level("MUG", OVERFLOW, 2, on_hand=6, reserved=1)
    pool = pool_of(main, overflow)
    # when
    result = pool.allocate({"MUG": 8}, "order:42")
    # then
    assert result.allocations == (Allocation("MUG", MAIN, 5), Allocation("MUG", OVERFLOW, 3))
    assert (main.on_hand, main.reserved, main.available) == (5, 5, 0)
    assert (overflow.on_hand, overflow.reserved, overflow.available) == (6, 4, 2)
    assert main.dirty is True
    assert overflow.dirty is True
    assert pool.ledger == [
        LedgerEntry("MUG", MAIN, 0, 5, LedgerReason.RESERVED, "order:42"),
        LedgerEntry("MUG", OVERFLOW, 0, 3, LedgerReason.RESERVED, "order:42"),
    ]


def test_allocate_with_shortfall_keeps_the_units_it_found_reserved() -> None:
    # given
    main = level("MUG", MAIN, 1, 2)
    pool = pool_of(main)
    # when
    result = pool.allocate({"MUG": 5}, "order:7")
    # then
    assert result.shortfall == {"MUG": 3}
    assert (main.on_hand, main.reserved) == (2, 2)
    assert pool.ledger == [LedgerEntry("MUG", MAIN, 0, 2, LedgerReason.RESERVED, "order:7")]


def test_second_buyer_of_last_unit_gets_backorder() -> None:
    # given one unit left
    main = level("MUG", MAIN, 1, 1)
    pool = pool_of(main)
    pool.allocate({"MUG": 1}, "order:1")
    # when
    second = pool.allocate({"MUG": 1}, "order:2")
    # then
    assert second.allocations == ()
    assert second.shortfall == {"MUG": 1}
    assert (main.on_hand, main.reserved) == (1, 1)
    assert len(pool.ledger) == 1
    assert pool.ledger[0].reference == "order:1"


def test_reserving_more_than_available_raises_and_changes_nothing() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=5, reserved=3)
    pool = pool_of(main)
    # when / then
    with pytest.raises(ValueError, match="cannot reserve 3 of MUG: 2 available"):
        pool.reserve(Allocation("MUG", MAIN, 3), "order:9")
    assert (main.on_hand, main.reserved, main.dirty) == (5, 3, False)
    assert pool.ledger == []


def test_reserving_at_an_unknown_location_raises_key_error() -> None:
    # given
    pool = pool_of(level("MUG", MAIN, 1, 5))
    # when / then
    with pytest.raises(KeyError):
        pool.reserve(Allocation("MUG", OVERFLOW, 1), "order:9")
    assert pool.ledger == []


# --- StockPool: release / ship / receive ------------------------------------------------------------------------


def test_release_returns_reserved_units_to_available_and_records_it() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=5, reserved=4)
    pool = pool_of(main)
    # when
    pool.release(Allocation("MUG", MAIN, 3), "order:5")
    # then
    assert (main.on_hand, main.reserved, main.available) == (5, 1, 4)
    assert pool.ledger == [LedgerEntry("MUG", MAIN, 0, -3, LedgerReason.RELEASED, "order:5")]


def test_releasing_more_than_reserved_raises_and_changes_nothing() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=5, reserved=2)
    pool = pool_of(main)
    # when / then
    with pytest.raises(ValueError, match=r"stock invariant broken for MUG@1: on_hand=5 reserved=-1"):
        pool.release(Allocation("MUG", MAIN, 3), "order:5")
    assert (main.on_hand, main.reserved, main.dirty) == (5, 2, False)
    assert pool.ledger == []


def test_ship_removes_units_from_on_hand_and_reserved() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=5, reserved=3)
    pool = pool_of(main)
    # when
    pool.ship(Allocation("MUG", MAIN, 2), "order:11")
    # then
    assert (main.on_hand, main.reserved, main.available) == (3, 1, 2)
    assert pool.ledger == [LedgerEntry("MUG", MAIN, -2, -2, LedgerReason.SHIPPED, "order:11")]


def test_shipping_unreserved_units_raises_and_changes_nothing() -> None:
    # given 5 on hand but only 1 reserved
    main = level("MUG", MAIN, 1, on_hand=5, reserved=1)
    pool = pool_of(main)
    # when / then
    with pytest.raises(ValueError, match="stock invariant broken"):
        pool.ship(Allocation("MUG", MAIN, 2), "order:11")
    assert (main.on_hand, main.reserved, main.dirty) == (5, 1, False)
    assert pool.ledger == []


def test_receive_adds_to_on_hand_and_records_received() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=2, reserved=2)
    pool = pool_of(main)
    # when
    pool.receive("MUG", MAIN, 6, "po:2026-001")
    # then
    assert (main.on_hand, main.reserved, main.available) == (8, 2, 6)
    assert main.dirty is True
    assert pool.ledger == [LedgerEntry("MUG", MAIN, 6, 0, LedgerReason.RECEIVED, "po:2026-001")]


def test_negative_receive_is_recorded_as_an_adjustment() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=5, reserved=1)
    pool = pool_of(main)
    # when
    pool.receive("MUG", MAIN, -3, "count:shelf-b")
    # then
    assert (main.on_hand, main.reserved) == (2, 1)
    assert pool.ledger == [LedgerEntry("MUG", MAIN, -3, 0, LedgerReason.ADJUSTED, "count:shelf-b")]


def test_adjusting_on_hand_below_reserved_raises_and_changes_nothing() -> None:
    # given 3 of 5 are promised to orders
    main = level("MUG", MAIN, 1, on_hand=5, reserved=3)
    pool = pool_of(main)
    # when / then
    with pytest.raises(ValueError, match=r"on_hand=2 reserved=3"):
        pool.receive("MUG", MAIN, -3, "count:shelf-b")
    assert (main.on_hand, main.reserved, main.dirty) == (5, 3, False)
    assert pool.ledger == []


def test_adjusting_on_hand_below_zero_raises_and_changes_nothing() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=2)
    pool = pool_of(main)
    # when / then
    with pytest.raises(ValueError, match=r"on_hand=-1 reserved=0"):
        pool.receive("MUG", MAIN, -3, "count:shelf-b")
    assert (main.on_hand, main.reserved, main.dirty) == (2, 0, False)
    assert pool.ledger == []


def test_ledger_keeps_every_change_in_order() -> None:
    # given
    main = level("MUG", MAIN, 1, on_hand=0)
    pool = pool_of(main)
    # when
    pool.receive("MUG", MAIN, 4, "po:1")
    pool.reserve(Allocation("MUG", MAIN, 3), "order:1")
    pool.release(Allocation("MUG", MAIN, 1), "order:1")
    pool.ship(Allocation("MUG", MAIN, 2), "order:1")
    # then
    assert [(e.reason, e.delta_on_hand, e.delta_reserved, e.reference) for e in pool.ledger] == [
        (LedgerReason.RECEIVED, 4, 0, "po:1"),
        (LedgerReason.RESERVED, 0, 3, "order:1"),
        (LedgerReason.RELEASED, 0, -1, "order:1"),
        (LedgerReason.SHIPPED, -2, -2, "order:1"),
    ]
    assert (main.on_hand, main.reserved) == (2, 0)
    assert sum(e.delta_on_hand for e in pool.ledger) == main.on_hand
    assert sum(e.delta_reserved for e in pool.ledger) == main.reserved


def test_ledger_reasons_have_stable_string_values() -> None:
    assert [r.value for r in LedgerReason] == ["received", "adjusted", "reserved", "released", "shipped"]
