"""CSV that is safe to open in a spreadsheet: a text cell that would run as a formula is written with a leading
quote, and read back without it (so a file backroom wrote imports unchanged)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def write_cells(values: Iterable[object]) -> list[str]:
    """One CSV row out: None is blank, numbers as they are, text made safe to open in a spreadsheet."""
    return [safe_cell(v) for v in values]


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Rows as CSV text, one record at a time (RFC 4180: comma, double quotes, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(write_cells(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def safe_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and ((text[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(text))
                                   or unescape_cell(text) != text):
        return "'" + text
    return text


def unescape_cell(cell: str) -> str:
    if cell[:1] == "'" and (cell[1:2] in FORMULA_STARTS or cell[1:2] == "'"):
        return cell[1:]
    return cell
