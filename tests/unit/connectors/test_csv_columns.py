"""Reading and writing CSV cells: the header, line numbers, encodings, and cells a spreadsheet would run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backroom.connectors.csv.columns import STOCK, CsvInvalid, Problem, read_table
from backroom.shared.csv_cells import csv_lines, write_cells


def header_problems(raw: bytes) -> tuple[str, tuple[str, ...]]:
    with pytest.raises(CsvInvalid) as caught:
        read_table(raw, STOCK)
    return caught.value.code, tuple(map(str, caught.value.problems))


def test_header_matches_whatever_the_case_and_surrounding_spaces_with_or_without_a_bom() -> None:
    for raw in (b" SKU ,Location,ON_HAND\r\nA,MAIN,3\r\n", b"\xef\xbb\xbfsku,location,on_hand\nA,MAIN,3\n"):
        table = read_table(raw, STOCK)
        assert [(r.line, dict(r.cells)) for r in table.rows] == [
            (2, {"sku": "A", "location": "MAIN", "on_hand": "3", "location_name": "", "location_priority": ""})]
        assert table.warnings == ()


def test_unknown_and_nameless_columns_are_warned_about_and_read_only_ones_are_ignored_quietly() -> None:
    table = read_table(b"sku,Colour,location,on_hand,reserved,,available\nA,red,MAIN,3,1,,2\n", STOCK)

    assert table.warnings == ("unknown column 'Colour' (column 2): ignored", "column 6 has no name: ignored")
    assert dict(table.rows[0].cells) == {"sku": "A", "location": "MAIN", "on_hand": "3", "location_name": "",
                                         "location_priority": ""}


def test_missing_required_and_repeated_columns_stop_the_file_before_any_row_is_read() -> None:
    assert header_problems(b"SKU,qty,sku\nA,1,B\n") == ("csv_columns", (
        "line 1, sku: appears twice (columns 1 and 3)",
        "line 1, location: required column missing",
        "line 1, on_hand: required column missing",
    ))
    assert header_problems(b"") == ("csv_columns", ("line 1: no header line",))
    assert header_problems(b" , \n") == ("csv_columns", ("line 1: no header line",))


def test_a_file_that_is_not_utf8_is_refused_naming_the_line() -> None:
    assert header_problems(b"sku,location,on_hand\nA,MAIN,3\nCAF\xe9,MAIN,1\n") == (
        "csv_not_utf8", ("line 3: not UTF-8 (byte 33: invalid continuation byte)",))


def test_line_numbers_are_where_each_row_starts_in_the_file_across_quoted_line_breaks_and_blank_lines() -> None:
    raw = b'sku,location,on_hand,location_name\nA,MAIN,1,"Main\nwarehouse"\n\n,,,\nB,MAIN,2,\n'
    table = read_table(raw, STOCK)
    assert [(r.line, r["sku"], r["location_name"]) for r in table.rows] == [
        (2, "A", "Main\nwarehouse"), (6, "B", "")]


def test_a_row_with_more_cells_than_the_header_is_a_problem_of_that_row_and_short_rows_are_padded() -> None:
    table = read_table(b"sku,location,on_hand\nA,MAIN,1,extra\nB,MAIN\nC,MAIN,3,,\n", STOCK)
    assert [(r.line, r["on_hand"], r.problems) for r in table.rows] == [
        (2, "1", (Problem((2,), "", "4 cells, but the header names 3 columns"),)),
        (3, "", ()),
        (4, "3", ()),
    ]


def test_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text_numbers_as_they_are() -> None:
    cells = write_cells(["=SUM(A1:A9)", "+44 20 7946 0000", "-5", "-0.50", "+3", "@cmd", "\tx", "\rx", "'=x", "''x",
                         "'Tis", "plain", "", None, Decimal("-1.00"), -3, "a=b"])
    assert cells == ["'=SUM(A1:A9)", "'+44 20 7946 0000", "-5", "-0.50", "+3", "'@cmd", "'\tx", "'\rx", "''=x",
                     "'''x", "'Tis", "plain", "", "", "-1.00", "-3", "a=b"]


def test_an_exported_cell_reads_back_exactly_as_it_was() -> None:
    values = ["=SUM(A1)", "+44 20", "-5", "@x", "'=x", "''x", "'Tis", "a,b", 'say "hi"', "two\nlines"]
    text = "".join(csv_lines([("sku", "location", "on_hand", "location_name"),
                              *(("A", f"L{n}", "1", v) for n, v in enumerate(values))]))

    table = read_table(text.encode(), STOCK)

    assert [r["location_name"] for r in table.rows] == values
    assert text.splitlines()[:3] == ["sku,location,on_hand,location_name", "A,L0,1,'=SUM(A1)", "A,L1,1,'+44 20"]
