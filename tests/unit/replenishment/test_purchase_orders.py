"""The purchase order's life: draft → ordered → received in part → received, and the CSV a supplier gets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backroom.errors import Conflict, InvalidInput
from backroom.replenishment.purchasing import PoLine, PoStatus, PurchaseOrder, po_csv, po_number

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def draft(*lines: PoLine) -> PurchaseOrder:
    return PurchaseOrder(1, "acme", date(2026, 11, 27), "GBP",
                         list(lines) or [PoLine("MUG", 36, Decimal("2.50")), PoLine("CUP", 12, Decimal("1.25"))])


def test_the_number_names_the_supplier_and_the_cycle() -> None:
    assert po_number("acme", date(2026, 11, 27)) == "PO-ACME-20261127"
    assert draft().number == "PO-ACME-20261127"
    assert draft().total == Decimal("105.00")


def test_a_draft_has_nothing_on_order_until_approved() -> None:
    po = draft()
    assert po.outstanding() == {}
    po.approve("ada", AT, AT.date(), lead_time_days=6.2)
    assert (po.status, po.approved_by, po.expected_on) == (PoStatus.ORDERED, "ada", date(2026, 12, 4))
    assert po.outstanding() == {"MUG": 36, "CUP": 12}
    assert not po.is_late(date(2026, 12, 4))
    assert po.is_late(date(2026, 12, 5))


def test_receiving_in_part_then_in_full() -> None:
    po = draft()
    po.approve("ada", AT, AT.date(), 7)
    assert po.receive({"MUG": 20, "CUP": 0}) == {"MUG": 20}
    assert (po.status, po.outstanding()) == (PoStatus.PARTIALLY_RECEIVED, {"MUG": 16, "CUP": 12})
    assert po.receive({"MUG": 18, "CUP": 12}) == {"MUG": 18, "CUP": 12}  # two over: taken, shown as received
    assert (po.status, po.outstanding(), po.lines[0].received) == (PoStatus.RECEIVED, {}, 38)


@pytest.mark.parametrize(("quantities", "code"), [
    ({"TEA": 1}, "po_unknown_sku"), ({"MUG": -1}, "invalid_quantity"), ({"MUG": 0}, "invalid_quantity")])
def test_a_receipt_that_cannot_apply_is_refused_and_changes_nothing(quantities: dict[str, int], code: str) -> None:
    po = draft()
    po.approve("ada", AT, AT.date(), 7)
    with pytest.raises(InvalidInput) as err:
        po.receive(quantities)
    assert err.value.code == code
    assert (po.status, [line.received for line in po.lines]) == (PoStatus.ORDERED, [0, 0])


def test_only_a_draft_is_approved_or_replanned_and_only_an_open_po_received() -> None:
    po = draft()
    with pytest.raises(Conflict) as err:
        po.receive({"MUG": 1})
    assert err.value.code == "po_not_open"
    po.approve("ada", AT, AT.date(), 7)
    for action in (lambda: po.approve("bob", AT, AT.date(), 7), lambda: po.replace_lines([])):
        with pytest.raises(Conflict) as err:
            action()
        assert err.value.code == "po_not_draft"
    assert po.approved_by == "ada"


def test_an_empty_draft_cannot_be_approved_and_a_closed_po_cannot_be_cancelled() -> None:
    po = draft()
    po.replace_lines([])
    with pytest.raises(Conflict) as err:
        po.approve("ada", AT, AT.date(), 7)
    assert err.value.code == "po_empty"
    po.cancel()
    with pytest.raises(Conflict) as err:
        po.cancel()
    assert err.value.code == "po_closed"


def test_the_csv_lists_every_line_and_the_total_and_defuses_formulas() -> None:
    po = draft(PoLine("MUG", 36, Decimal("2.50"), supplier_sku="AC-1"), PoLine("=HYPERLINK()", 6, Decimal("1")))
    assert po_csv(po, "@Acme").splitlines() == [
        "po_number,supplier,line,sku,supplier_sku,quantity,unit_cost,line_total,currency",
        "PO-ACME-20261127,'@Acme,1,MUG,AC-1,36,2.50,90.00,GBP",
        "PO-ACME-20261127,'@Acme,2,'=HYPERLINK(),,6,1.00,6.00,GBP",
        "PO-ACME-20261127,'@Acme,,TOTAL,,42,,96.00,GBP"]
