"""Stock CSV: absolute counts per SKU and location; locations named once, with their name and priority."""

from __future__ import annotations

from backroom.connectors.csv.columns import STOCK, Problem
from backroom.connectors.csv.stock import CsvLocation, CsvStockLevel, StockRow, export_row, parse_stock
from backroom.shared.csv_cells import csv_lines

HEADER = "sku,location,on_hand,location_name,location_priority"


def csv_file(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


def test_rows_become_levels_and_the_locations_they_name() -> None:
    parsed = parse_stock(csv_file("TEE,MAIN,12,,", "TEE,SHOP,0,High Street,20", "MUG,MAIN,3,Main warehouse,10",
                                  "MUG,SHOP,1,,"))

    assert parsed.levels == (
        CsvStockLevel(2, "TEE", "MAIN", 12, "", None, ()),
        CsvStockLevel(3, "TEE", "SHOP", 0, "High Street", 20, ()),
        CsvStockLevel(4, "MUG", "MAIN", 3, "Main warehouse", 10, ()),
        CsvStockLevel(5, "MUG", "SHOP", 1, "", None, ()),
    )
    assert parsed.locations == {"MAIN": CsvLocation("MAIN", "Main warehouse", 10),
                                "SHOP": CsvLocation("SHOP", "High Street", 20)}


def test_a_location_without_a_name_is_named_by_its_code() -> None:
    assert parse_stock(csv_file("TEE,MAIN,1,,")).locations == {"MAIN": CsvLocation("MAIN", "MAIN", None)}


def test_every_problem_of_a_row_is_reported_with_its_line_and_column_and_only_that_row_is_refused() -> None:
    parsed = parse_stock(csv_file("TEE,MAIN,-1,,", "TEE,MAIN,2,,", "TEE,MAIN,3,,", "MUG,,x,,", "MUG,MAIN,1,Other,",
                                  "CAP,MAIN,1,,first", "CAP,SHOP,2.5,,"))

    assert [(lv.subject, lv.problems) for lv in parsed.levels] == [
        ("stock TEE at MAIN (line 2)", (Problem((2,), "on_hand", "Input should be greater than or equal to 0"),)),
        ("stock TEE at MAIN (line 3)", (Problem((3,), "sku", "TEE at MAIN is already on line 2"),)),
        ("stock TEE at MAIN (line 4)", (Problem((4,), "sku", "TEE at MAIN is already on line 2"),)),
        ("stock MUG at ? (line 5)", (Problem((5,), "location", "Field required"), Problem(
            (5,), "on_hand", "Input should be a valid integer, unable to parse string as an integer"))),
        ("stock MUG at MAIN (line 6)", ()),
        ("stock CAP at MAIN (line 7)", (Problem((7,), "location_priority",
                                                "Input should be a valid integer, unable to parse string as an "
                                                "integer"),)),
        ("stock CAP at SHOP (line 8)", (Problem((8,), "on_hand",
                                                "Input should be a valid integer, unable to parse string as an "
                                                "integer"),)),
    ]
    assert parsed.locations == {"MAIN": CsvLocation("MAIN", "Other", None)}  # from the valid rows only


def test_a_location_described_twice_differently_is_a_problem_of_the_later_row() -> None:
    parsed = parse_stock(csv_file("TEE,MAIN,1,Main,10", "MUG,MAIN,1,Main,10", "CAP,MAIN,1,Warehouse,5"))

    assert [lv.problems for lv in parsed.levels] == [(), (), (
        Problem((4,), "location_name", "'Warehouse' differs from 'Main' on line 2"),
        Problem((4,), "location_priority", "'5' differs from '10' on line 2"))]


def test_exported_rows_read_back_as_the_same_levels() -> None:
    text = "".join(csv_lines([STOCK.header, export_row(StockRow("TEE", "MAIN", 5, "@Main", 10, 2))]))

    assert text.splitlines() == ["sku,location,on_hand,location_name,location_priority,reserved,available",
                                 "TEE,MAIN,5,'@Main,10,2,3"]
    parsed = parse_stock(text.encode())
    assert (parsed.levels, parsed.warnings) == ((CsvStockLevel(2, "TEE", "MAIN", 5, "@Main", 10, ()),), ())
