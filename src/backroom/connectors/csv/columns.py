"""The documented columns of each CSV file (orders, products, stock), in one place, and how a file meets them.

Reading: UTF-8 with or without a byte-order mark; header names are matched case-insensitively with surrounding
spaces stripped; a missing required column stops everything before a row is read; unknown columns are reported as
warnings and ignored; the read-only columns that export adds are ignored silently.

Writing: a text cell that a spreadsheet would run as a formula (it starts with ``= + - @``, a tab or a carriage
return, and is not a number such as ``-5``) is written with a leading apostrophe (OWASP, CSV injection). Reading
removes that apostrophe again, so an exported file imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from backroom.errors import InvalidInput
from backroom.shared.csv_cells import unescape_cell

if TYPE_CHECKING:
    from _csv import Reader


@dataclass(frozen=True)
class ColumnSet:
    kind: str
    columns: tuple[str, ...]  # what import reads and export writes, in export order
    required: frozenset[str]  # the header must name these (a cell may still be blank where the format allows)
    read_only: tuple[str, ...] = ()  # written by export after the others, ignored by import

    @property
    def header(self) -> tuple[str, ...]:
        return self.columns + self.read_only


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "area", "country", "phone")
SHIPPING = tuple(f"shipping_{f}" for f in ADDRESS_FIELDS)
BILLING = tuple(f"billing_{f}" for f in ADDRESS_FIELDS)
ORDER_FIELDS = ("order_number", "email", "customer_name", "currency", "payment_state", "placed_at")
ORDER_LEVEL = ORDER_FIELDS + SHIPPING + BILLING  # given once per order: on its first row, or repeated on every row
LINE_FIELDS = ("sku", "quantity", "unit_price", "title")

ORDERS = ColumnSet(
    "orders",
    ("order_id", *ORDER_LEVEL, *LINE_FIELDS),
    frozenset({"order_id", "email", "currency", "payment_state", "placed_at", "shipping_country", "sku", "quantity",
               "unit_price"}),
    ("backroom_order_id", "status", "channel", "carrier", "tracking_number"),
)
PRODUCTS = ColumnSet(
    "products",
    ("handle", "title", "sku", "variant_title", "option1", "option2", "option3", "price", "barcode",
     "low_stock_threshold"),
    frozenset({"handle", "title", "sku", "price"}),
)
STOCK = ColumnSet(
    "stock",
    ("sku", "location", "on_hand", "location_name", "location_priority"),
    frozenset({"sku", "location", "on_hand"}),
    ("reserved", "available"),
)



@dataclass(frozen=True)
class Problem:
    """What is wrong, where: the file line(s) and the column (blank when the whole row is at fault)."""

    lines: tuple[int, ...]
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.lines[0]}" if len(self.lines) == 1 else f"lines {', '.join(map(str, self.lines))}"
        return f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class CsvInvalid(InvalidInput):
    """A CSV file, or the rows of one order / product / stock level, that cannot be accepted: every problem listed."""

    def __init__(self, subject: str, problems: Sequence[Problem], *, code: str) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{subject}: " + "; ".join(map(str, self.problems)), code=code)


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file (the header is line 1)
    cells: Mapping[str, str]  # every column of the set → its cell, stripped ('' when blank or absent)
    problems: tuple[Problem, ...] = ()

    def __getitem__(self, column: str) -> str:
        return self.cells[column]


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    warnings: tuple[str, ...] = ()


def read_table(raw: bytes, columns: ColumnSet) -> Table:
    """A file's rows, keyed by our column names; raises CsvInvalid (code ``csv_columns``) for an unusable header."""
    reader = csv.reader(io.StringIO(_decode(raw), newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise CsvInvalid("the file", [Problem((1,), "", "no header line")], code="csv_columns")
        positions, warnings = _match_header(header, columns)
        return Table(tuple(_rows(reader, positions, columns, len(header))), tuple(warnings))
    except csv.Error as err:
        raise CsvInvalid("the file", [Problem((reader.line_num,), "", f"not readable as CSV: {err}")],
                         code="csv_unreadable") from err


def group_rows(rows: Iterable[Row], key: str) -> tuple[dict[str, list[Row]], list[Problem]]:
    """Rows by the value of their key column, in order of first appearance; rows without one belong to nothing."""
    groups: dict[str, list[Row]] = {}
    stray: list[Problem] = []
    for row in rows:
        if row[key]:
            groups.setdefault(row[key], []).append(row)
        else:
            stray.append(Problem((row.line,), key, "Field required (the row belongs to nothing and was skipped)"))
    return groups, stray


@dataclass(frozen=True)
class Shared:
    """Values given once per group (an order's email, a product's title): from the first row that has one; later
    rows may leave them blank or repeat them, not contradict them."""

    values: dict[str, str]
    lines: dict[str, int]  # the line each value came from
    problems: tuple[Problem, ...]


def shared_values(rows: Sequence[Row], columns: Iterable[str]) -> Shared:
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    for column in columns:
        values[column] = ""
        for row in rows:
            cell = row[column]
            if cell and not values[column]:
                values[column], lines[column] = cell, row.line
            elif cell and cell != values[column]:
                problems.append(Problem((row.line,), column, f"{cell!r} differs from {values[column]!r} on line "
                                                             f"{lines[column]}"))
    return Shared(values, lines, tuple(problems))


def validation_problems(err: ValidationError, where: Callable[[tuple[int | str, ...]], Problem]) -> list[Problem]:
    """pydantic's findings, each placed by ``where`` (its location → lines and column, message left blank)."""
    out = []
    for e in err.errors(include_url=False):
        place = where(tuple(e["loc"]))
        out.append(Problem(place.lines, place.column, e["msg"]))
    return out


def on_line(line: int) -> Callable[[tuple[int | str, ...]], Problem]:
    """Where a one-row model's finding is: that row's line, the field's column (fields are named as columns)."""
    return lambda loc: Problem((line,), str(loc[0]), "")


def present(row: Row, names: Iterable[str]) -> dict[str, Any]:
    """The non-blank cells among ``names`` (blank ones are left out, so a model's defaults and 'required' apply)."""
    return {name: row[name] for name in names if row[name]}


def span(lines: Sequence[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise CsvInvalid("the file", [Problem((line,), "", f"not UTF-8 (byte {err.start}: {err.reason})")],
                         code="csv_not_utf8") from err


def _match_header(header: Sequence[str], columns: ColumnSet) -> tuple[dict[str, int], list[str]]:
    known, ignored = set(columns.columns), set(columns.read_only)
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    for index, title in enumerate(header):
        name = title.strip().lower()
        if name in positions:
            problems.append(Problem((1,), name, f"appears twice (columns {positions[name] + 1} and {index + 1})"))
        elif name in known:
            positions[name] = index
        elif not name:
            warnings.append(f"column {index + 1} has no name: ignored")
        elif name not in ignored:
            warnings.append(f"unknown column {title.strip()!r} (column {index + 1}): ignored")
    problems += [Problem((1,), name, "required column missing")
                 for name in columns.columns if name in columns.required and name not in positions]
    if problems:
        raise CsvInvalid("the header", problems, code="csv_columns")
    return positions, warnings


def _rows(reader: Reader, positions: Mapping[str, int], columns: ColumnSet, width: int) -> Iterator[Row]:
    line = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            problems: tuple[Problem, ...] = ()
            if len(record) > width and any(cell.strip() for cell in record[width:]):
                problems = (Problem((line,), "", f"{len(record)} cells, but the header names {width} columns"),)
            cells = {name: _cell(record, positions.get(name)) for name in columns.columns}
            yield Row(line, cells, problems)
        line = reader.line_num + 1  # a quoted cell may span several lines


def _cell(record: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(record):
        return ""
    return unescape_cell(record[index].strip())
