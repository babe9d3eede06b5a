"""Reading the UCI Online Retail file: every trap in the data has a rule, and the .xlsx UCI serves reads the same."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backroom.demo.online_retail import Invoice, Kind, Line, MalformedFile, parse, read_invoices

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
    "536365,POST,POSTAGE,1,2010-12-01 08:26:00,18.0,17850,United Kingdom",
    'C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom',
    "536589,21777,,-10,2010-12-01 16:50:00,0.0,,United Kingdom",
    "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom",
    '556000,"22633","HAND WARMER, UNION JACK",12,2011-06-08 10:15:00,1.85,,France',
    "556001,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2011-06-08 11:00:00,17.02,,United Kingdom",
]


def invoices(*rows: str) -> list[Invoice]:
    return parse([HEADER, *rows])


def test_invoices_group_lines_and_come_in_time_order_in_uk_time() -> None:
    found = invoices(*reversed(ROWS))
    assert [i.number for i in found] == ["536365", "C536379", "536589", "556000", "556001", "A563185"]
    assert found[0].at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)  # GMT in winter
    assert found[3].at == datetime(2011, 6, 8, 9, 15, tzinfo=UTC)  # BST in summer
    assert found[0].customer_id == "17850"
    assert found[1].customer_id == "14527"  # the .xlsx export's float ids lose their ".0"
    assert found[3].customer_id is None
    assert found[3].lines == (Line("22633", "HAND WARMER, UNION JACK", 12, Decimal("1.85")),)


def test_each_kind_of_invoice_is_told_apart() -> None:
    kinds = {i.number: i.kind for i in invoices(*ROWS)}
    assert kinds == {"536365": Kind.SALE, "C536379": Kind.CANCELLATION, "536589": Kind.ADJUSTMENT,
                     "A563185": Kind.BOOKKEEPING, "556000": Kind.SALE, "556001": Kind.SALE}


def test_duplicate_lines_are_summed_and_non_product_codes_take_no_stock() -> None:
    sale = invoices(*ROWS)[0]
    assert sale.product_lines() == [Line("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 12, Decimal("2.55"))]
    assert [ln.non_product for ln in sale.lines] == [None, None, "postage"]
    voucher = invoices(*ROWS)[4]
    assert voucher.lines[0].non_product == "gift voucher"
    assert voucher.product_lines() == []


def test_a_wrong_header_is_refused_naming_the_columns_expected() -> None:
    with pytest.raises(MalformedFile) as err:
        parse(["Invoice,Code", "1,2"])
    assert str(err.value) == ("expected the columns InvoiceNo, StockCode, Description, Quantity, InvoiceDate, "
                              "UnitPrice, CustomerID, Country; found Invoice, Code")


def test_a_short_row_is_refused_with_its_line_number() -> None:
    with pytest.raises(MalformedFile) as err:
        invoices(ROWS[0], "536366,22633,HAND WARMER,6")
    assert str(err.value) == "line 3: 4 fields, expected 8"


def test_an_unreadable_number_names_its_invoice() -> None:
    with pytest.raises(MalformedFile) as err:
        invoices("536366,22633,HAND WARMER,six,2010-12-01 08:28:00,1.85,17850,United Kingdom")
    assert str(err.value) == "invoice 536366: invalid literal for int() with base 10: 'six'"


def test_the_xlsx_uci_serves_reads_as_its_csv(tmp_path: Path) -> None:
    csv_file = tmp_path / "online_retail.csv"
    csv_file.write_text("\n".join([HEADER, *ROWS[:3], ROWS[6]]) + "\n", encoding="utf-8-sig")
    xlsx = tmp_path / "Online Retail.xlsx"
    write_xlsx(xlsx, [
        ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
        [536365, "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, 40513.35138888889, 2.55, 17850, "United Kingdom"],
        [536365, "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, 40513.35138888889, 2.55, 17850, "United Kingdom"],
        [536365, "POST", "POSTAGE", 1, 40513.35138888889, 18, 17850, "United Kingdom"],
        [556000, 22633, "HAND WARMER, UNION JACK", 12, 40702.42708333333, 1.85, None, "France"],
    ])
    assert read_invoices(xlsx) == read_invoices(csv_file)


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    """A minimal workbook: numbers, inline strings, and column E as dates (Excel serial days, style m/d/yy h:mm)."""
    def cell(ref: str, value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
        style = ' s="1"' if ref.startswith("E") and not isinstance(value, str) else ""
        return f'<c r="{ref}"{style}><v>{value}</v></c>'

    sheet_rows = "".join(
        f'<row r="{n}">' + "".join(cell(f"{'ABCDEFGH'[i]}{n}", v) for i, v in enumerate(row)) + "</row>"
        for n, row in enumerate(rows, 1))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Online Retail" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            '</Relationships>'),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}"><cellXfs count="2">'
            '<xf numFmtId="0"/><xf numFmtId="22" applyNumberFormat="1"/></cellXfs></styleSheet>'),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>{sheet_rows}</sheetData>'
            '</worksheet>'),
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, body in files.items():
            z.writestr(name, body)
