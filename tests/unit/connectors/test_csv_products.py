"""Products CSV: variants grouped into products by handle; a product with any bad row is refused whole."""

from __future__ import annotations

from decimal import Decimal

from backroom.connectors.csv.columns import PRODUCTS, Problem
from backroom.connectors.csv.products import CsvProduct, CsvVariant, ProductRow, export_row, parse_products
from backroom.shared.csv_cells import csv_lines

HEADER = "handle,Title,sku,variant_title,option1,option2,price,barcode,low_stock_threshold"


def csv_file(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


def test_variants_group_into_products_with_their_titles_from_the_row_the_options_or_the_product() -> None:
    parsed = parse_products(csv_file(
        "tee,Merino Tee,TEE-BLK-M,,Black,M,38.00,5012345678900,3",
        "mug,Mug,MUG,,,,12.5,,",
        "tee,,TEE-BLK-L,Black / Large,,,38,,",
    ))

    assert parsed.products == (
        CsvProduct("tee", "Merino Tee", (2, 4), (
            CsvVariant(2, "TEE-BLK-M", "Black / M", Decimal("38.00"), "5012345678900", 3),
            CsvVariant(4, "TEE-BLK-L", "Black / Large", Decimal("38"), "", None),
        ), ()),
        CsvProduct("mug", "Mug", (3,), (CsvVariant(3, "MUG", "Mug", Decimal("12.5"), "", None),), ()),
    )
    assert (parsed.stray, parsed.warnings) == ((), ())
    assert parsed.products[0].subject == "product tee (lines 2-4)"


def test_every_problem_of_a_product_is_reported_with_its_line_and_column() -> None:
    parsed = parse_products(csv_file(
        "tee,,TEE-M,,,,-1,,",
        "tee,Tee,TEE-L,,,,1.005,,-2",
        "tee,Shirt,TEE-S,,,,abc,,x",
        "mug,Mug,TEE-M,,,,5,,",
        ",Orphan,ORPHAN,,,,5,,",
        "cap,Cap,,,,,,,",
    ))

    assert [(p.handle, p.problems) for p in parsed.products] == [
        ("tee", (
            Problem((4,), "title", "'Shirt' differs from 'Tee' on line 3"),
            Problem((2,), "price", "Input should be greater than or equal to 0"),
            Problem((3,), "price", "Decimal input should have no more than 2 decimal places"),
            Problem((3,), "low_stock_threshold", "Input should be greater than or equal to 0"),
            Problem((4,), "price", "Input should be a valid decimal"),
            Problem((4,), "low_stock_threshold",
                    "Input should be a valid integer, unable to parse string as an integer"),
        )),
        ("mug", (Problem((5,), "sku", "TEE-M is already on line 2"),)),
        ("cap", (Problem((7,), "sku", "Field required"), Problem((7,), "price", "Field required"))),
    ]
    assert parsed.stray == (Problem((6,), "handle", "Field required (the row belongs to nothing and was skipped)"),)


def test_a_product_without_a_title_on_any_row_is_refused() -> None:
    (product,) = parse_products(csv_file("tee,,TEE-M,,,,1,,", "tee,,TEE-L,,,,1,,")).products

    assert product.problems == (Problem((2,), "title", "Field required"),)


def test_exported_rows_read_back_as_the_same_product() -> None:
    rows = [ProductRow("tee", "=Tee", "TEE-M", "-M-", Decimal("38.00"), 4), ProductRow("tee", "=Tee", "TEE-L", "L",
                                                                                      Decimal("0.50"))]
    text = "".join(csv_lines([PRODUCTS.header, *map(export_row, rows)]))

    assert text.splitlines() == [
        "handle,title,sku,variant_title,option1,option2,option3,price,barcode,low_stock_threshold",
        "tee,'=Tee,TEE-M,'-M-,,,,38.00,,4",
        "tee,'=Tee,TEE-L,L,,,,0.50,,",
    ]
    assert parse_products(text.encode()).products == (CsvProduct("tee", "=Tee", (2, 3), (
        CsvVariant(2, "TEE-M", "-M-", Decimal("38.00"), "", 4), CsvVariant(3, "TEE-L", "L", Decimal("0.50"), "", None),
    ), ()),)
