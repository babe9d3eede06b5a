"""`backroom import` and `backroom export` of orders, products and stock on real PostgreSQL, through the CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from tests.conftest import rows, scalar, seed_catalog
from typer.testing import CliRunner, Result

from backroom.adapters.db import catalog_admin, csv_export
from backroom.bootstrap import Backroom
from backroom.connectors.csv.columns import ORDERS
from backroom.entrypoints.cli import csv_io
from backroom.orders import commands

pytestmark = pytest.mark.integration

ORDER_HEADER = ("order_id,order_number,email,customer_name,currency,payment_state,placed_at,shipping_name,"
                "shipping_line1,shipping_city,shipping_postal_code,shipping_country,sku,quantity,unit_price,title")
ADDRESS = "Ada Lovelace,10 Downing Street,London,SW1A 2AA,GB"


def order_row(ext: str, sku: str, quantity: str = "1", *, placed_at: str = "2026-11-27T09:00:00Z",
              email: str | None = None, price: str = "20.00") -> str:
    return (f"{ext},#{ext},{email or f'{ext}@example.com'},Ada Lovelace,GBP,paid,{placed_at},{ADDRESS},"
            f"{sku},{quantity},{price},{sku.title()}")


def next_line(ext: str, sku: str, quantity: str = "1") -> str:
    return f"{ext},,,,,,,,,,,,{sku},{quantity},20.00,{sku.title()}"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Any:
    """The CLI as main.py registers it: `backroom import …` and `backroom export …`."""
    root = typer.Typer()
    root.add_typer(csv_io.import_app, name="import")
    root.add_typer(csv_io.export_app, name="export")
    env = {"BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(tmp_path)}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(root, list(args), env=env)

    return invoke


def report(result: Result) -> Any:
    return json.loads(result.stdout)


def order_ids(app: Backroom) -> dict[str, int]:
    return dict(rows(app, "SELECT external_id, id FROM orders"))


def counts(app: Backroom, *tables: str) -> dict[str, int]:
    return {table: scalar(app, f"SELECT count(*) FROM {table}") for table in tables}


# -- orders in --------------------------------------------------------------------------------------------------


def test_good_orders_are_imported_once_and_bad_ones_kept_in_the_inbox_with_every_problem(
    app: Backroom, cli: Any, tmp_path: Path,
) -> None:
    seed_catalog(app, {"A": (10, 0), "B": (10, 0)})
    file = write(tmp_path / "orders.csv", ORDER_HEADER,
                 order_row("o-1", "A", placed_at="2026-11-27T10:00:00Z"), next_line("o-1", "B", "2"),
                 order_row("o-2", "A", "0", email="not-an-email"), next_line("o-2", "B", "x"),
                 order_row("o-3", "B", placed_at="2026-11-26T10:00:00+01:00"))

    first = cli("import", "orders", str(file), "--json")
    ids = order_ids(app)
    second = cli("import", "orders", str(file), "--json")

    assert first.exit_code == 5, first.output
    assert report(first) == {
        "kind": "orders", "dry_run": False, "warnings": [],
        "counts": {"created": 2, "existing": 0, "duplicate": 0, "rejected": 1},
        "results": [
            {"subject": "order o-3 (line 6)", "outcome": "created", "detail": "fulfillment_requested",
             "problems": [], "order_id": ids["o-3"]},
            {"subject": "order o-2 (lines 4-5)", "outcome": "rejected", "detail": "", "problems": [
                "line 4, email: String should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'",
                "line 4, quantity: Input should be greater than 0",
                "line 5, quantity: Input should be a valid integer, unable to parse string as an integer"]},
            {"subject": "order o-1 (lines 2-3)", "outcome": "created", "detail": "fulfillment_requested",
             "problems": [], "order_id": ids["o-1"]},
        ],
    }
    assert rows(app, "SELECT external_id, channel, number, status FROM orders ORDER BY id") == [
        ("o-3", "csv", "#o-3", "fulfillment_requested"), ("o-1", "csv", "#o-1", "fulfillment_requested")]
    assert rows(app, "SELECT o.external_id, l.sku, l.quantity FROM order_lines l JOIN orders o ON o.id = l.order_id"
                     " ORDER BY o.id, l.line_no") == [("o-3", "B", 1), ("o-1", "A", 1), ("o-1", "B", 2)]
    inbox = rows(app, "SELECT source, kind, status, body, error FROM inbox ORDER BY id")
    assert [(r.source, r.kind, r.status) for r in inbox] == [
        ("csv", "orders/import", "processed"), ("csv", "orders/import", "rejected"),
        ("csv", "orders/import", "processed")]
    rejected = inbox[1]
    assert json.loads(rejected.body)["lines"] == [{"quantity": 0, "sku": "A", "title": "A", "unit_price": "20.00"},
                                                  {"quantity": "x", "sku": "B", "title": "B", "unit_price": "20.00"}]
    assert rejected.error == (
        "invalid_order: order o-2 (lines 4-5): line 4, email: String should match pattern "
        "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'; line 4, quantity: Input should be greater than 0; line 5, quantity: "
        "Input should be a valid integer, unable to parse string as an integer")
    assert scalar(app, "SELECT count(*) FROM inbox WHERE source_id = encode(sha256(convert_to(body, 'UTF8')), "
                       "'hex')") == 3

    assert second.exit_code == 5, second.output
    assert report(second)["counts"] == {"created": 0, "existing": 0, "duplicate": 2, "rejected": 1}
    assert counts(app, "orders", "order_lines", "inbox", "reservations") == {
        "orders": 2, "order_lines": 3, "inbox": 3, "reservations": 3}


def test_an_edited_row_is_a_new_input_and_a_known_order_answers_existing(
    app: Backroom, cli: Any, tmp_path: Path,
) -> None:
    seed_catalog(app, {"A": (10, 0), "B": (10, 0)})
    first = cli("import", "orders", str(write(tmp_path / "a.csv", ORDER_HEADER, order_row("o-1", "A"),
                                              next_line("o-1", "B"))))
    edited = cli("import", "orders", str(write(tmp_path / "b.csv", ORDER_HEADER, order_row("o-1", "A"),
                                               next_line("o-1", "B", "3"))), "--json")

    assert first.exit_code == 0, first.output
    assert " ".join(first.stdout.split()) == "orders: 1 created, 0 existing, 0 duplicate, 0 rejected"
    assert edited.exit_code == 0, edited.output
    assert [(r["outcome"], r["order_id"]) for r in report(edited)["results"]] == [("existing", order_ids(app)["o-1"])]
    assert rows(app, "SELECT sku, quantity FROM order_lines ORDER BY line_no") == [("A", 1), ("B", 1)]
    assert rows(app, "SELECT status FROM inbox") == [("processed",), ("processed",)]


def test_a_dry_run_reports_every_problem_and_writes_nothing(app: Backroom, cli: Any, tmp_path: Path) -> None:
    file = write(tmp_path / "orders.csv", ORDER_HEADER + ",gift_note", order_row("o-1", "A") + ",hi",
                 order_row("o-2", "A", placed_at="2026-11-27 09:00") + ",", next_line("", "B") + ",")

    checked = cli("import", "orders", str(file), "--dry-run", "--json")
    in_paris = cli("import", "orders", str(file), "--dry-run", "--timezone", "Europe/Paris")

    assert checked.exit_code == 5, checked.output
    assert report(checked) == {
        "kind": "orders", "dry_run": True, "warnings": ["unknown column 'gift_note' (column 17): ignored"],
        "counts": {"valid": 1, "rejected": 2},
        "results": [
            {"subject": "line 4", "outcome": "rejected", "detail": "",
             "problems": ["line 4, order_id: Field required (the row belongs to nothing and was skipped)"]},
            {"subject": "order o-1 (line 2)", "outcome": "valid", "detail": "", "problems": []},
            {"subject": "order o-2 (line 3)", "outcome": "rejected", "detail": "", "problems": [
                "line 3, placed_at: Value error, placed_at needs a timezone (e.g. 2026-11-27T10:00:00Z)"]},
        ],
    }
    assert in_paris.exit_code == 5
    assert in_paris.stdout.splitlines() == [
        "rejected line 4", "  line 4, order_id: Field required (the row belongs to nothing and was skipped)",
        "orders: 2 valid, 1 rejected (dry run: nothing was written)"]
    assert in_paris.stderr.splitlines() == ["warning: unknown column 'gift_note' (column 17): ignored"]
    assert counts(app, "stores", "inbox", "orders", "customers", "effects") == {
        "stores": 0, "inbox": 0, "orders": 0, "customers": 0, "effects": 0}


def test_a_file_missing_a_required_column_is_refused_before_anything_is_imported(
    app: Backroom, cli: Any, tmp_path: Path,
) -> None:
    seed_catalog(app, {"A": (10, 0)})
    header = ORDER_HEADER.replace("email,", "").replace(",unit_price", ",Price")
    file = write(tmp_path / "orders.csv", header, "o-1,#o-1,Ada,GBP,paid,2026-11-27T09:00:00Z,"
                 f"{ADDRESS},A,1,20.00,A")

    refused = cli("import", "orders", str(file))
    unreadable = cli("import", "orders", str(tmp_path / "missing.csv"))

    assert refused.exit_code == 5
    assert refused.stderr.splitlines() == ["error: line 1, email: required column missing",
                                           "error: line 1, unit_price: required column missing"]
    assert unreadable.exit_code == 5
    assert " ".join(unreadable.stderr.split()) == f"error: cannot read {tmp_path / 'missing.csv'}: No such file or " \
                                                  "directory"
    assert counts(app, "inbox", "orders") == {"inbox": 0, "orders": 0}


# -- products and stock in --------------------------------------------------------------------------------------


def test_products_are_saved_by_handle_and_a_bad_product_is_refused_whole(
    app: Backroom, cli: Any, tmp_path: Path,
) -> None:
    store_id = app.store_id()
    catalog_admin.upsert_product(app.engine, store_id, "mug", "Mug", [catalog_admin.VariantSpec("MUG", "Mug",
                                                                                                Decimal("9.00"))])
    file = write(tmp_path / "products.csv", "handle,title,sku,variant_title,option1,option2,price,barcode",
                 "tee,Merino Tee,TEE-M,,Black,M,38.00,5012345678900", "tee,,TEE-L,Large,,,39.5,",
                 "cap,Cap,CAP,,,,-1,", "cap,Cap,CAP-2,,,,5,", "hat,Hat,MUG,,,,12.00,", "mug,Mug,MUG,,,,10.00,")

    result = cli("import", "products", str(file), "--json")

    assert result.exit_code == 5, result.output
    assert report(result) == {
        "kind": "products", "dry_run": False,
        "warnings": ["barcode: backroom does not store this yet; the column was ignored"],
        "counts": {"saved": 1, "rejected": 3},
        "results": [
            {"subject": "product tee (lines 2-3)", "outcome": "saved", "detail": "2 variants", "problems": []},
            {"subject": "product cap (lines 4-5)", "outcome": "rejected", "detail": "",
             "problems": ["line 4, price: Input should be greater than or equal to 0"]},
            {"subject": "product hat (line 6)", "outcome": "rejected", "detail": "",
             "problems": ["line 6, sku: MUG belongs to product mug"]},
            {"subject": "product mug (line 7)", "outcome": "rejected", "detail": "",
             "problems": ["line 7, sku: MUG is already on line 6"]},
        ],
    }
    assert rows(app, "SELECT p.handle, p.title, v.sku, v.title, v.price FROM variants v JOIN products p"
                     " ON p.id = v.product_id ORDER BY v.id") == [
        ("mug", "Mug", "MUG", "Mug", Decimal("9.00")),
        ("tee", "Merino Tee", "TEE-M", "Black / M", Decimal("38.00")),
        ("tee", "Merino Tee", "TEE-L", "Large", Decimal("39.50"))]


def test_stock_counts_go_through_the_ledger_and_are_refused_below_what_orders_hold(
    app: Backroom, cli: Any, tmp_path: Path,
) -> None:
    seed_catalog(app, {"A": (5, 0), "B": (0, 0)})
    catalog_admin.upsert_product(app.engine, app.store_id(), "c", "C", [catalog_admin.VariantSpec("C", "C",
                                                                                                  Decimal("1.00"))])
    cli("import", "orders", str(write(tmp_path / "o.csv", ORDER_HEADER, order_row("o-1", "A", "2"))))
    first = write(tmp_path / "stock.csv", "sku,location,on_hand,location_name,location_priority",
                  "A,MAIN,8,,", "A,SHOP,0,,", "B,MAIN,4,,", "B,BACK,2,Back room,30", "C,MAIN,0,,", "NOPE,MAIN,1,,",
                  "A,MAIN,9,,")
    second = write(tmp_path / "recount.csv", "sku,location,on_hand", "A,MAIN,1", "A,SHOP,0", "B,MAIN,3")

    counted = cli("import", "stock", str(first), "--json")
    recounted = cli("import", "stock", str(second), "--json")

    assert counted.exit_code == 5, counted.output
    assert [(r["subject"], r["outcome"], r["detail"], r["problems"]) for r in report(counted)["results"]] == [
        ("stock A at MAIN (line 2)", "changed", "5 → 8", []),
        ("stock A at SHOP (line 3)", "unchanged", "0", []),
        ("stock B at MAIN (line 4)", "changed", "0 → 4", []),
        ("stock B at BACK (line 5)", "changed", "0 → 2", []),
        ("stock C at MAIN (line 6)", "unchanged", "0", []),
        ("stock NOPE at MAIN (line 7)", "rejected", "",
         ["line 7, sku: unknown SKU NOPE (import it with `backroom import products` first)"]),
        ("stock A at MAIN (line 8)", "rejected", "", ["line 8, sku: A at MAIN is already on line 2"]),
    ]
    assert report(counted)["counts"] == {"changed": 3, "unchanged": 2, "rejected": 2}
    assert recounted.exit_code == 5, recounted.output
    assert [(r["outcome"], r["detail"], r["problems"]) for r in report(recounted)["results"]] == [
        ("rejected", "", ["line 2, on_hand: 1 is fewer than the 2 units reserved for orders"]),
        ("unchanged", "0", []),
        ("changed", "4 → 3", []),
    ]
    assert rows(app, "SELECT code, name, priority FROM locations ORDER BY id") == [
        ("MAIN", "Main", 10), ("SHOP", "Shop", 20), ("BACK", "Back room", 30)]
    assert rows(app, "SELECT s.sku, l.code, s.on_hand, s.reserved FROM stock_levels s"
                     " JOIN locations l ON l.id = s.location_id ORDER BY s.sku, l.priority") == [
        ("A", "MAIN", 8, 2), ("A", "SHOP", 0, 0), ("B", "MAIN", 3, 0), ("B", "SHOP", 0, 0), ("B", "BACK", 2, 0),
        ("C", "MAIN", 0, 0)]
    ref_first = "csv:" + hashlib.sha256(first.read_bytes()).hexdigest()[:12]
    ref_second = "csv:" + hashlib.sha256(second.read_bytes()).hexdigest()[:12]
    assert rows(app, "SELECT g.sku, l.code, g.delta_on_hand, g.reason, g.reference FROM stock_ledger g"
                     " JOIN locations l ON l.id = g.location_id WHERE g.reference LIKE 'csv:%' ORDER BY g.id") == [
        ("A", "MAIN", 3, "received", ref_first), ("B", "MAIN", 4, "received", ref_first),
        ("B", "BACK", 2, "received", ref_first), ("B", "MAIN", -1, "adjusted", ref_second)]


def test_a_count_that_finds_stock_serves_the_backordered_orders_first(app: Backroom, cli: Any, tmp_path: Path) -> None:
    seed_catalog(app, {"A": (0, 0)})
    cli("import", "orders", str(write(tmp_path / "o.csv", ORDER_HEADER, order_row("o-1", "A"))))
    assert scalar(app, "SELECT status FROM orders") == "backordered"

    counted = cli("import", "stock", str(write(tmp_path / "s.csv", "sku,location,on_hand", "A,MAIN,1")))

    assert counted.exit_code == 0, counted.output
    assert " ".join(counted.stdout.split()) == "stock: 1 changed, 0 unchanged, 0 rejected"
    assert scalar(app, "SELECT status FROM orders") == "fulfillment_requested"
    assert rows(app, "SELECT on_hand, reserved FROM stock_levels WHERE location_id ="
                     " (SELECT id FROM locations WHERE code = 'MAIN')") == [(1, 1)]


# -- export, and back in ----------------------------------------------------------------------------------------


def rich_order(ext: str, placed_at: str, lines: list[tuple[str, int, str, str]], **extra: Any) -> bytes:
    return json.dumps({
        "id": ext, "number": f"#{ext}", "email": f"{ext}@example.com", "customer_name": "=Eve, \"the\" buyer",
        "currency": "GBP", "payment_state": "paid", "placed_at": placed_at,
        "shipping_address": {"name": "Eve", "line1": "1 Rue \"X\"", "line2": "-2nd floor", "city": "Paris",
                             "postal_code": "75001", "area": "IDF", "country": "FR", "phone": "+33 1 23 45 67 89"},
        "lines": [{"sku": s, "quantity": q, "unit_price": p, "title": t} for s, q, p, t in lines], **extra,
    }).encode()


def seed_store_a(app: Backroom) -> None:
    store_id = app.store_id("a")
    main = catalog_admin.upsert_location(app.engine, store_id, "MAIN", "Main, \"big\"", priority=10)
    shop = catalog_admin.upsert_location(app.engine, store_id, "SHOP", "@Shop", priority=20)
    catalog_admin.upsert_product(app.engine, store_id, "tee", "=Tee", [
        catalog_admin.VariantSpec("TEE-M", "-M-", Decimal("38.00")),
        catalog_admin.VariantSpec("TEE-L", "L", Decimal("38.50"))])
    catalog_admin.upsert_product(app.engine, store_id, "mug", "Mug", [
        catalog_admin.VariantSpec("MUG", "Mug", Decimal("0.00"))])
    catalog_admin.set_opening_stock(app.engine, store_id, [
        ("TEE-M", main, 50), ("TEE-L", main, 40), ("TEE-L", shop, 3), ("MUG", shop, 20)])
    billing = {"billing_address": {"name": "Eve SARL", "line1": "2 Rue Y", "city": "Lyon", "postal_code": "69001",
                                   "country": "FR"}}
    app.ingest_order(rich_order("1", "2026-11-25T08:00:00+00:00", [("TEE-M", 2, "38.00", "Tee / M"),
                                                                    ("MUG", 1, "0.00", "")]), {}, store="a")
    shipped = app.ingest_order(rich_order("2", "2026-11-26T23:30:00-05:00", [("TEE-L", 1, "38.50", "=1+1")],
                                          **billing), {}, store="a")
    app.ingest_order(rich_order("3", "2026-11-27T09:00:00+00:00", [("TEE-L", 4, "38.50", "L")]), {}, store="a")
    assert shipped.order_id is not None
    app.handle(commands.RecordShipment(shipped.order_id, "DPD", "TRK-1"), store="a")


def importable(text: str, drop: tuple[str, ...]) -> list[list[str]]:
    table = list(csv.reader(io.StringIO(text, newline="")))
    keep = [i for i, name in enumerate(table[0]) if name not in drop]
    return [[row[i] for i in keep] for row in table]


def test_an_exported_store_imports_into_a_fresh_store_as_the_same_orders_products_and_stock(
    app: Backroom, cli: Any, tmp_path: Path,
) -> None:
    seed_store_a(app)
    exported = {kind: cli("export", kind, "--store", "a") for kind in ("orders", "products", "stock")}
    for kind, result in exported.items():
        assert result.exit_code == 0, result.output
        (tmp_path / f"{kind}.csv").write_text(result.stdout, encoding="utf-8", newline="")

    imported = [cli("import", kind, str(tmp_path / f"{kind}.csv"), "--store", "b")
                for kind in ("products", "stock", "orders")]
    again = {kind: cli("export", kind, "--store", "b").stdout for kind in ("orders", "products", "stock")}

    assert [r.exit_code for r in imported] == [0, 0, 0], [r.output for r in imported]
    assert importable(again["orders"], ORDERS.read_only) == importable(exported["orders"].stdout, ORDERS.read_only)
    assert again["products"] == exported["products"].stdout
    assert importable(again["stock"], ("reserved", "available")) == importable(exported["stock"].stdout,
                                                                               ("reserved", "available"))
    a_ids = dict(rows(app, "SELECT o.external_id, o.id FROM orders o JOIN stores s ON s.id = o.store_id"
                           " WHERE s.slug = 'a'"))
    eve = "\"'=Eve, \"\"the\"\" buyer\",GBP,paid"  # a formula-like text cell is written with an apostrophe
    to = "Eve,\"1 Rue \"\"X\"\"\",'-2nd floor,Paris,75001,IDF,FR,'+33 1 23 45 67 89"
    assert exported["orders"].stdout.splitlines() == [
        ",".join(ORDERS.header),
        f"1,#1,1@example.com,{eve},2026-11-25T08:00:00+00:00,{to},,,,,,,,,TEE-M,2,38.00,Tee / M,{a_ids['1']},"
        "fulfillment_requested,api,,",
        f"1,#1,1@example.com,{eve},2026-11-25T08:00:00+00:00,{to},,,,,,,,,MUG,1,0.00,,{a_ids['1']},"
        "fulfillment_requested,api,,",
        f"2,#2,2@example.com,{eve},2026-11-27T04:30:00+00:00,{to},Eve SARL,2 Rue Y,,Lyon,69001,,FR,,TEE-L,1,38.50,"
        f"'=1+1,{a_ids['2']},shipped,api,DPD,TRK-1",
        f"3,#3,3@example.com,{eve},2026-11-27T09:00:00+00:00,{to},,,,,,,,,TEE-L,4,38.50,L,{a_ids['3']},"
        "fulfillment_requested,api,,",
    ]
    assert exported["products"].stdout.splitlines() == [
        "handle,title,sku,variant_title,option1,option2,option3,price,barcode,low_stock_threshold",
        "mug,Mug,MUG,Mug,,,,0.00,,", "tee,'=Tee,TEE-M,'-M-,,,,38.00,,", "tee,'=Tee,TEE-L,L,,,,38.50,,"]
    assert exported["stock"].stdout.splitlines() == [
        "sku,location,on_hand,location_name,location_priority,reserved,available",
        "MUG,SHOP,20,'@Shop,20,1,19", "TEE-L,MAIN,39,\"Main, \"\"big\"\"\",10,4,35",
        "TEE-L,SHOP,3,'@Shop,20,0,3", "TEE-M,MAIN,50,\"Main, \"\"big\"\"\",10,2,48"]
    assert rows(app, "SELECT o.external_id, o.channel, o.status FROM orders o JOIN stores s ON s.id = o.store_id"
                     " WHERE s.slug = 'b' ORDER BY o.id") == [
        ("1", "csv", "fulfillment_requested"), ("2", "csv", "fulfillment_requested"),
        ("3", "csv", "fulfillment_requested")]


def test_export_streams_orders_across_fetches_and_filters_by_placed_at_in_a_timezone(
    app: Backroom, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_export, "BATCH", 2)  # each order's lines straddle the server-side cursor's fetches
    seed_catalog(app, {"A": (50, 0), "B": (50, 0), "C": (50, 0)})
    file = write(tmp_path / "orders.csv", ORDER_HEADER,
                 order_row("o-1", "A", placed_at="2026-11-26T22:59:59Z"), next_line("o-1", "B"),
                 next_line("o-1", "C"),
                 order_row("o-2", "A", placed_at="2026-11-26T23:00:00Z"),
                 order_row("o-3", "B", placed_at="2026-11-27T12:00:00Z"), next_line("o-3", "C", "2"))
    assert cli("import", "orders", str(file)).exit_code == 0

    everything = cli("export", "orders")
    since = cli("export", "orders", "--since", "2026-11-27", "--timezone", "Europe/Paris", "-o",
                str(tmp_path / "out.csv"))

    def cells(text: str) -> list[tuple[str, str, str, str]]:
        table = list(csv.DictReader(io.StringIO(text, newline="")))
        return [(r["order_id"], r["placed_at"], r["sku"], r["quantity"]) for r in table]

    assert cells(everything.stdout) == [
        ("o-1", "2026-11-26T22:59:59+00:00", "A", "1"), ("o-1", "2026-11-26T22:59:59+00:00", "B", "1"),
        ("o-1", "2026-11-26T22:59:59+00:00", "C", "1"), ("o-2", "2026-11-26T23:00:00+00:00", "A", "1"),
        ("o-3", "2026-11-27T12:00:00+00:00", "B", "1"), ("o-3", "2026-11-27T12:00:00+00:00", "C", "2")]
    assert everything.stderr == "exported 6 order lines\n"
    assert (since.exit_code, since.stdout, since.stderr) == (0, "", "exported 3 order lines\n")
    assert cells((tmp_path / "out.csv").read_text(encoding="utf-8")) == [
        ("o-2", "2026-11-27T00:00:00+01:00", "A", "1"), ("o-3", "2026-11-27T13:00:00+01:00", "B", "1"),
        ("o-3", "2026-11-27T13:00:00+01:00", "C", "2")]
    assert not (tmp_path / "out.csv.partial").exists()


def test_export_refuses_an_unknown_timezone_or_date_and_writes_no_file(cli: Any, tmp_path: Path) -> None:
    zone = cli("export", "orders", "--timezone", "Mars/Olympus", "-o", str(tmp_path / "x.csv"))
    region = cli("export", "orders", "--timezone", "Europe", "-o", str(tmp_path / "x.csv"))  # a folder of zones
    since = cli("export", "orders", "--since", "last week", "-o", str(tmp_path / "x.csv"))

    assert (zone.exit_code, zone.stderr) == (5, "error: unknown timezone 'Mars/Olympus' (an IANA name such as "
                                                "Europe/London)\n")
    assert (region.exit_code, region.stderr) == (5, "error: unknown timezone 'Europe' (an IANA name such as "
                                                    "Europe/London)\n")
    assert (since.exit_code, since.stderr) == (5, "error: --since 'last week' is neither a date (YYYY-MM-DD) nor an "
                                                  "ISO 8601 time\n")
    assert list(tmp_path.glob("x.csv*")) == []
