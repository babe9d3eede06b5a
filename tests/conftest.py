"""Shared fixtures: a real PostgreSQL (embedded, or BACKROOM_TEST_DATABASE_URL), a fresh database per test cloned
from a migrated template, a real SMTP server and a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from starlette.exceptions import StarletteDeprecationWarning

from backroom.adapters.db import catalog_admin, migrate
from backroom.adapters.db.engine import EmbeddedPostgres, create_database, drop_database, make_engine, normalize_url
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom, build
from backroom.config import EffectSettings, Settings, SmtpSettings, WarehouseSettings
from backroom.shared.clock import SimulatedClock

with warnings.catch_warnings():
    # starlette 1.x prefers httpx2 for its TestClient; the project pins httpx, which still works (warned once, here)
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TEMPLATE = "backroom_test_template"
WAREHOUSE_SECRET = "test-warehouse-secret"
API_TOKEN = "t0k"
INBOUND_SECRET = "s3cret"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("BACKROOM_TEST_DATABASE_URL")
    if external:
        yield normalize_url(external)
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> str:
    drop_database(pg_server, TEMPLATE)
    url = create_database(pg_server, TEMPLATE)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def database_url(pg_server: str, template_db: str) -> Iterator[str]:
    name = f"backroom_test_{uuid.uuid4().hex[:10]}"
    url = create_database(pg_server, name, template=TEMPLATE)
    yield url
    drop_database(pg_server, name)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared real data (BACKROOM_SHARED_DATA, default ../shared/data beside the checkout). Tests that
    need it skip without it, unless BACKROOM_REQUIRE_SHARED_DATA=1 (CI), where its absence is a failure."""
    candidates = [Path(os.environ["BACKROOM_SHARED_DATA"])] if os.environ.get("BACKROOM_SHARED_DATA") else [
        Path(__file__).resolve().parents[1].parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path
    message = f"shared data not found (looked in {', '.join(map(str, candidates))}); set BACKROOM_SHARED_DATA"
    if os.environ.get("BACKROOM_REQUIRE_SHARED_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def mail() -> Iterator[MailCatcher]:
    with MailCatcher() as catcher:
        yield catcher


class HttpReceiver:
    """A warehouse stand-in: records every request, dedupes by Idempotency-Key like a careful receiver would."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        self.delay_s = delay_s
        self.lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay_s:
                    threading.Event().wait(receiver.delay_s)  # a slow warehouse, so kills land mid-call
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    receiver.lock.notify_all()
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fulfillment"
        # a short poll: shutdown() waits for the loop to look again (0.5 s by default, at every test's teardown)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block until at least `count` requests have arrived (event-driven: no fixed sleeps)."""
        with self.lock:
            return self.lock.wait_for(lambda: len(self.requests) >= count, timeout=timeout_s)

    def keys(self) -> list[str]:
        with self.lock:
            return [r["headers"]["Idempotency-Key"] for r in self.requests]

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]


@contextmanager
def serving(receiver: HttpReceiver) -> Iterator[HttpReceiver]:
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def warehouse() -> Iterator[HttpReceiver]:
    with serving(HttpReceiver()) as receiver:
        yield receiver


@pytest.fixture
def slack() -> Iterator[HttpReceiver]:
    """A Slack incoming-webhook stand-in (any JSON receiver will do)."""
    with serving(HttpReceiver()) as receiver:
        yield receiver


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


def make_settings(database_url: str, home: Path, mail: MailCatcher, warehouse: HttpReceiver) -> Settings:
    return Settings(
        database_url=database_url,
        home=home,
        smtp=SmtpSettings(host="127.0.0.1", port=mail.port),
        warehouse=WarehouseSettings(mode="http", url=warehouse.url, secret=WAREHOUSE_SECRET),  # type: ignore[arg-type]
        effects=EffectSettings(max_attempts=3, backoff_base_s=0.0),
    )


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    backroom = build(make_settings(database_url, tmp_path, mail, warehouse), clock=clock, migrate_schema=False)
    yield backroom
    backroom.close()


def seed_catalog(app: Backroom, stock: dict[str, tuple[int, int]], store: str | None = None) -> dict[str, int]:
    """SKU → (units at MAIN, units at SHOP); MAIN is the higher-priority location."""
    store_id = app.store_id(store)
    main = catalog_admin.upsert_location(app.engine, store_id, "MAIN", "Main", priority=10)
    shop = catalog_admin.upsert_location(app.engine, store_id, "SHOP", "Shop", priority=20)
    catalog_admin.upsert_product(app.engine, store_id, "things", "Things", [
        catalog_admin.VariantSpec(sku, sku.title(), Decimal("20.00")) for sku in stock])
    catalog_admin.set_opening_stock(app.engine, store_id, [
        level for sku, (m, s) in stock.items() for level in ((sku, main, m), (sku, shop, s))])
    return {"MAIN": main, "SHOP": shop}


def order_body(ext: str, lines: dict[str, int], *, email: str | None = None, payment: str = "paid",
               postal_code: str = "SW1A 2AA", price: str = "20.00") -> bytes:
    return json.dumps({
        "id": ext, "number": f"#{ext}", "email": email or f"{ext}@example.com", "customer_name": "Ada Lovelace",
        "currency": "GBP", "payment_state": payment, "placed_at": "2026-11-27T09:00:00+00:00",
        "shipping_address": {"name": "Ada Lovelace", "line1": "10 Downing Street", "city": "London",
                             "postal_code": postal_code, "country": "GB"},
        "lines": [{"sku": sku, "quantity": qty, "unit_price": price} for sku, qty in lines.items()],
    }).encode()


def scalar(app: Backroom, sql: str, **params: Any) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(app: Backroom, sql: str, **params: Any) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(text(sql), params).all()


@contextmanager
def api_client(app: Backroom, **settings: Any) -> Iterator[TestClient]:
    """The HTTP API over ``app`` with these settings changed first (secrets, tokens, shops), for ``client`` fixtures."""
    from backroom.entrypoints.api.app import create_app

    app.settings = app.settings.model_copy(update=settings)
    with TestClient(create_app(app)) as c:
        yield c


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    """The API behind a bearer token (AUTH) with inbound orders signed with INBOUND_SECRET; a test module that needs
    other settings defines its own ``client`` with ``api_client``."""
    with api_client(app, api_token=SecretStr(API_TOKEN), inbound_secret=SecretStr(INBOUND_SECRET)) as c:
        yield c
