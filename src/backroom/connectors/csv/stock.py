"""Stock as CSV: one row per SKU × location with the units on hand there, an absolute count. A location the store
does not have yet is created with the row's location_name and location_priority (given once per location)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backroom.connectors.csv.columns import (
    STOCK,
    Problem,
    Row,
    group_rows,
    on_line,
    present,
    read_table,
    shared_values,
    validation_problems,
)

_INT32 = 2**31 - 1


class _LevelIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    sku: Annotated[str, Field(min_length=1, max_length=100)]
    location: Annotated[str, Field(min_length=1, max_length=64)]
    on_hand: Annotated[int, Field(ge=0, le=_INT32)]
    location_name: str = ""
    location_priority: Annotated[int, Field(ge=-_INT32, le=_INT32)] | None = None


@dataclass(frozen=True)
class CsvLocation:
    code: str
    name: str  # the code when the file gives no name
    priority: int | None  # None: the store's default


@dataclass(frozen=True)
class CsvStockLevel:
    line: int
    sku: str
    location: str
    on_hand: int  # the values are meaningful only without problems
    location_name: str
    location_priority: int | None
    problems: tuple[Problem, ...]

    @property
    def subject(self) -> str:
        return f"stock {self.sku or '?'} at {self.location or '?'} (line {self.line})"


@dataclass(frozen=True)
class StockFile:
    levels: tuple[CsvStockLevel, ...]
    locations: dict[str, CsvLocation]  # the locations the valid rows name
    warnings: tuple[str, ...]


def parse_stock(raw: bytes) -> StockFile:
    table = read_table(raw, STOCK)
    clashes = _clashes(table.rows)
    seen: dict[tuple[str, str], int] = {}
    levels = tuple(_level(row, seen, clashes.get(row.line, ())) for row in table.rows)
    return StockFile(levels, _locations(lv for lv in levels if not lv.problems), table.warnings)


@dataclass(frozen=True)
class StockRow:
    """One level, as export writes it (reserved and available are read-only)."""

    sku: str
    location: str
    on_hand: int
    location_name: str
    location_priority: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def export_row(row: StockRow) -> list[object]:
    return [row.sku, row.location, row.on_hand, row.location_name, row.location_priority, row.reserved,
            row.available]


def _clashes(rows: Sequence[Row]) -> dict[int, tuple[Problem, ...]]:
    """A location's name and priority are given once: a row contradicting an earlier one is rejected."""
    by_location, _ = group_rows(rows, "location")  # a row without a location is rejected by its validation
    out: dict[int, tuple[Problem, ...]] = {}
    for location_rows in by_location.values():
        for problem in shared_values(location_rows, ("location_name", "location_priority")).problems:
            out[problem.lines[0]] = (*out.get(problem.lines[0], ()), problem)
    return out


def _level(row: Row, seen: dict[tuple[str, str], int], clashes: Sequence[Problem]) -> CsvStockLevel:
    problems = [*row.problems, *clashes]
    key = (row["sku"], row["location"])
    if key in seen:
        problems.append(Problem((row.line,), "sku", f"{key[0]} at {key[1]} is already on line {seen[key]}"))
    seen.setdefault(key, row.line)
    try:
        spec = _LevelIn.model_validate(present(row, STOCK.columns))
    except ValidationError as err:
        problems += validation_problems(err, on_line(row.line))
        return CsvStockLevel(row.line, row["sku"], row["location"], 0, "", None, tuple(problems))
    return CsvStockLevel(row.line, spec.sku, spec.location, spec.on_hand, spec.location_name, spec.location_priority,
                         tuple(problems))


def _locations(levels: Iterable[CsvStockLevel]) -> dict[str, CsvLocation]:
    names: dict[str, str] = {}
    priorities: dict[str, int | None] = {}
    for level in levels:
        if not names.get(level.location):
            names[level.location] = level.location_name
        if priorities.get(level.location) is None:
            priorities[level.location] = level.location_priority
    return {code: CsvLocation(code, name or code, priorities[code]) for code, name in names.items()}
