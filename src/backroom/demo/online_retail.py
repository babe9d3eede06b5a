"""The UCI Online Retail file (a UK gift retailer's every invoice line, Dec 2010 → Dec 2011) read as what its store
would have sent us: sales, cancellations, stock adjustments and bookkeeping entries.

The data is dirty and kept that way; each trap has a rule here:

- ``C`` invoices (negative quantities) cancel or return goods of an earlier invoice, which they do not name: the
  replay matches them to the customer's latest order with those items.
- A sales invoice without a CustomerID is a guest checkout: one guest per invoice.
- Non-product codes are not stock: postage and carriage (``POST``, ``DOT``, ``C2``), manual lines (``M``),
  discounts (``D``), samples (``S``), fees and commissions (``BANK CHARGES``, ``AMAZONFEE``, ``CRUK``), bad-debt
  adjustments (``B``, in ``A`` invoices), gift vouchers (``gift_…``, nothing to ship) and ``PADS`` (a 0.001 filler).
  They stay on the invoice's money but never reserve stock.
- Lines with no customer, no price and a quantity are the warehouse's stock notes ("damaged", "found", "?"),
  not sales: they become stock adjustments.
- Exact duplicate lines are both kept (the invoice charged both), summed per SKU and price.
- Invoice times are UK local time.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")

#: code → what it is; none of them is a product that takes stock
NON_PRODUCT: dict[str, str] = {
    "POST": "postage", "DOT": "postage", "C2": "carriage", "M": "manual entry", "D": "discount",
    "S": "samples", "BANK CHARGES": "bank charges", "AMAZONFEE": "marketplace fee", "CRUK": "charity commission",
    "B": "bad debt adjustment", "PADS": "filler line", "CRUK COMMISSION": "charity commission",
}


class Kind(StrEnum):
    SALE = "sale"
    CANCELLATION = "cancellation"  # a C invoice
    ADJUSTMENT = "adjustment"  # the warehouse's stock notes
    BOOKKEEPING = "bookkeeping"  # fees, bad debt: no goods move


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def non_product(self) -> str | None:
        """Why this code takes no stock, or None for a product."""
        if self.code.startswith("gift_"):
            return "gift voucher"
        return NON_PRODUCT.get(self.code.upper())


@dataclass(frozen=True)
class Invoice:
    number: str
    at: datetime
    customer_id: str | None
    country: str
    lines: tuple[Line, ...]

    @property
    def kind(self) -> Kind:
        if self.number.startswith("C"):
            return Kind.CANCELLATION
        if self.number.startswith("A") or all(ln.non_product in _BOOKKEEPING for ln in self.lines):
            return Kind.BOOKKEEPING
        if self.customer_id is None and all(ln.unit_price <= 0 for ln in self.lines):
            return Kind.ADJUSTMENT
        return Kind.SALE

    def product_lines(self) -> list[Line]:
        """Product lines with their quantities summed per code and price (duplicate lines are both charged)."""
        summed: Counter[tuple[str, Decimal]] = Counter()
        titles: dict[str, str] = {}
        for ln in self.lines:
            if ln.non_product is None and ln.quantity != 0:
                summed[(ln.code, ln.unit_price)] += ln.quantity
                titles.setdefault(ln.code, ln.description)
        return [Line(code, titles[code], qty, price) for (code, price), qty in summed.items() if qty != 0]


_BOOKKEEPING = frozenset({"bank charges", "marketplace fee", "charity commission", "bad debt adjustment"})


class MalformedFile(ValueError):
    """The file is not the Online Retail CSV (its header or a row cannot be read)."""


def open_text(path: Path) -> IO[str]:
    """The file as UCI publishes it (.xlsx converted to CSV) or gzipped, UTF-8 with or without a BOM."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def read_invoices(path: Path) -> list[Invoice]:
    """Every invoice in the file, in time order (then by number): the .xlsx UCI serves, or it as CSV (gzipped or
    not)."""
    if path.suffix.lower() in (".xlsx", ".xls"):
        return parse_rows(_xlsx_rows(path))
    with open_text(path) as fh:
        return parse(fh)


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    """The workbook's first sheet as CSV would give it: dates as ``YYYY-MM-DD HH:MM:SS``, whole numbers without
    ``.0`` (Excel stores CustomerID and Quantity as floats)."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        for row in sheet.iter_rows():
            yield [_cell(value) for value in row]
    except CalamineError as err:
        raise MalformedFile(f"cannot read {path.name} as a workbook: {err}") from err


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def parse(rows_text: Iterable[str]) -> list[Invoice]:
    return parse_rows(csv.reader(rows_text))


def parse_rows(reader: Iterator[list[str]]) -> list[Invoice]:
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise MalformedFile(f"expected the columns {', '.join(COLUMNS)}; found {', '.join(header or ['nothing'])}")
    grouped: dict[str, list[list[str]]] = defaultdict(list)
    for row in _numbered(reader):
        grouped[row[0]].append(row)
    times: dict[str, datetime] = {}  # a few thousand distinct stamps and prices across 541,909 lines: each parsed once
    prices: dict[str, Decimal] = {}
    invoices = [_invoice(number, rows, times, prices) for number, rows in grouped.items()]
    invoices.sort(key=lambda inv: (inv.at, inv.number))
    return invoices


def _numbered(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    width = len(COLUMNS)
    for lineno, row in enumerate(reader, start=2):
        if len(row) != width:
            raise MalformedFile(f"line {lineno}: {len(row)} fields, expected {width}")
        yield row


def _when(stamp: str, seen: dict[str, datetime]) -> datetime:
    """'2010-12-01 08:26:00' (or '12/1/2010 8:26' as the .xlsx export writes it), UK time."""
    at = seen.get(stamp)
    if at is None:
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"):
            try:
                at = datetime.strptime(stamp, fmt).replace(tzinfo=UK)
                break
            except ValueError:
                continue
        else:
            raise MalformedFile(f"unreadable InvoiceDate {stamp!r}")
        seen[stamp] = at
    return at


def _price(text: str, seen: dict[str, Decimal]) -> Decimal:
    price = seen.get(text)
    if price is None:
        price = seen[text] = Decimal(text.strip())
    return price


def _invoice(number: str, rows: list[list[str]], times: dict[str, datetime], prices: dict[str, Decimal]) -> Invoice:
    first = rows[0]
    customer = first[6].strip()
    if customer.endswith(".0"):  # the .xlsx export writes CustomerID as a float
        customer = customer[:-2]
    try:
        lines = tuple(Line(r[1].strip(), r[2].strip(), int(r[3]), _price(r[5], prices)) for r in rows)
    except (ValueError, InvalidOperation) as err:
        raise MalformedFile(f"invoice {number}: {err}") from err
    return Invoice(number, _when(first[4].strip(), times), customer or None, first[7].strip(), lines)


#: the file's country names → ISO 3166 codes; "Unspecified" and "European Community" name no country
COUNTRIES: dict[str, str] = {
    "United Kingdom": "GB", "Germany": "DE", "France": "FR", "EIRE": "IE", "Spain": "ES", "Netherlands": "NL",
    "Belgium": "BE", "Switzerland": "CH", "Portugal": "PT", "Australia": "AU", "Norway": "NO", "Italy": "IT",
    "Channel Islands": "JE", "Finland": "FI", "Cyprus": "CY", "Sweden": "SE", "Austria": "AT", "Denmark": "DK",
    "Japan": "JP", "Poland": "PL", "Israel": "IL", "USA": "US", "Hong Kong": "HK", "Singapore": "SG",
    "Iceland": "IS", "Canada": "CA", "Greece": "GR", "Malta": "MT", "United Arab Emirates": "AE", "RSA": "ZA",
    "Lebanon": "LB", "Lithuania": "LT", "Brazil": "BR", "Czech Republic": "CZ", "Bahrain": "BH",
    "Saudi Arabia": "SA",
}
