"""Products as CSV: one row per variant (SKU), the rows of one product grouped by ``handle``; the product's title on
its first row, repeated or left blank on the others. A product with any bad row is rejected whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backroom.connectors.csv.columns import (
    PRODUCTS,
    Problem,
    Row,
    group_rows,
    on_line,
    present,
    read_table,
    shared_values,
    span,
    validation_problems,
)

_VARIANT_COLUMNS = ("sku", "variant_title", "option1", "option2", "option3", "price", "barcode", "low_stock_threshold")


class _VariantIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    sku: Annotated[str, Field(min_length=1, max_length=100)]
    variant_title: str = ""
    option1: str = ""
    option2: str = ""
    option3: str = ""
    price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
    barcode: str = ""
    low_stock_threshold: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


@dataclass(frozen=True)
class CsvVariant:
    line: int
    sku: str
    title: str  # variant_title, else the options joined with ' / ', else the product's title
    price: Decimal
    barcode: str
    low_stock_threshold: int | None


@dataclass(frozen=True)
class CsvProduct:
    handle: str
    title: str
    lines: tuple[int, ...]
    variants: tuple[CsvVariant, ...]  # its valid rows (a product with problems is not saved at all)
    problems: tuple[Problem, ...]

    @property
    def subject(self) -> str:
        return f"product {self.handle} ({span(self.lines)})"


@dataclass(frozen=True)
class ProductsFile:
    products: tuple[CsvProduct, ...]
    stray: tuple[Problem, ...]  # rows without a handle
    warnings: tuple[str, ...]


def parse_products(raw: bytes) -> ProductsFile:
    table = read_table(raw, PRODUCTS)
    groups, stray = group_rows(table.rows, "handle")
    first_line: dict[str, int] = {}  # SKU → the line it first appeared on: a SKU is one variant of one product
    products = [_product(handle, rows, first_line) for handle, rows in groups.items()]
    return ProductsFile(tuple(products), tuple(stray), table.warnings)


@dataclass(frozen=True)
class ProductRow:
    """One variant, as export writes it."""

    handle: str
    title: str
    sku: str
    variant_title: str
    price: Decimal
    low_stock_threshold: int | None = None
    barcode: str = ""


def export_row(row: ProductRow) -> list[object]:
    """In PRODUCTS.header's order; the variant's title is written whole, the option columns left blank."""
    return [row.handle, row.title, row.sku, row.variant_title, "", "", "", row.price, row.barcode,
            row.low_stock_threshold]


def _product(handle: str, rows: Sequence[Row], first_line: dict[str, int]) -> CsvProduct:
    shared = shared_values(rows, ("title",))
    title = shared.values["title"]
    problems = [*shared.problems]
    if not title:
        problems.append(Problem((rows[0].line,), "title", "Field required"))
    variants = []
    for row in rows:
        problems += row.problems
        if row["sku"] in first_line:
            problems.append(Problem((row.line,), "sku", f"{row['sku']} is already on line {first_line[row['sku']]}"))
            continue
        if row["sku"]:
            first_line[row["sku"]] = row.line
        try:
            spec = _VariantIn.model_validate(present(row, _VARIANT_COLUMNS))
        except ValidationError as err:
            problems += validation_problems(err, on_line(row.line))
            continue
        options = " / ".join(o for o in (spec.option1, spec.option2, spec.option3) if o)
        variants.append(CsvVariant(row.line, spec.sku, spec.variant_title or options or title, spec.price,
                                   spec.barcode, spec.low_stock_threshold))
    return CsvProduct(handle, title, tuple(r.line for r in rows), tuple(variants), tuple(problems))
