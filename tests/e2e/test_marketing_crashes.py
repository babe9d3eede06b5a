"""Marketing emails from many enrollments, sent by workers that are SIGKILLed mid-send at many points and restarted:
no email is lost, and the SMTP server sees each email's stable Message-ID at least once and, after dedupe by that
id, exactly once. Raw duplicates (sent, then killed before "done" was committed) are counted and bounded.

The flow runs on a simulated clock in this process (the tick is what a worker runs every minute; here the workers
only send, so their own clock never moves an enrollment); the emails go from `backroom worker` processes to a real
local SMTP server that keeps each message before it answers, and answers slowly, so kills land between the two."""

from __future__ import annotations

import asyncio
import email
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from tests.conftest import rows, scalar
from tests.fakes.workers import start_worker

from backroom.adapters.email.catcher import free_port
from backroom.adapters.email.smtp import message_id
from backroom.bootstrap import Backroom, build
from backroom.config import EffectSettings, MarketingConfig, Settings, SmtpSettings, WarehouseSettings
from backroom.customers.model import MarketingConsent
from backroom.orders.checkouts import CheckoutLine
from backroom.orders.commands import RecordCheckout, RecordCustomer
from backroom.shared.clock import SimulatedClock

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ENROLLMENTS = 40  # two emails each: the reminder after 1 h, the discount a day after the checkout
KILLS = 8
CONCURRENCY = 4
SECRET = "crash-test-unsubscribe-secret"
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the clock fixture's start
REPLY_DELAY_S = 0.05  # the server keeps the message, then takes this long to say 250: a kill lands in between


class SlowMailbox:
    """A real SMTP server (aiosmtpd) that keeps every message's Message-ID the moment its DATA is in, then answers
    after a delay, so a sender killed while waiting has delivered an email it never recorded as sent."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Condition()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self.lock:
            self.ids.append(str(msg["Message-ID"]))
            self.lock.notify_all()
        await asyncio.sleep(REPLY_DELAY_S)
        return "250 OK"

    def received(self) -> int:
        with self.lock:
            return len(self.ids)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block until at least ``count`` messages have arrived (event-driven: no fixed sleeps)."""
        with self.lock:
            return self.lock.wait_for(lambda: len(self.ids) >= count, timeout=timeout_s)

    def message_ids(self) -> list[str]:
        with self.lock:
            return list(self.ids)


@pytest.fixture
def mailbox() -> Iterator[SlowMailbox]:
    box = SlowMailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


def marketing_env() -> dict[str, str]:
    """The flow as an operator enables it; the workers never tick (TICK_EVERY_S 0): the test's clock does."""
    return {"BACKROOM_MARKETING__ENABLED_FLOWS": '["abandoned_checkout"]',
            "BACKROOM_MARKETING__UNSUBSCRIBE_SECRET": SECRET,
            "BACKROOM_MARKETING__PUBLIC_URL": "https://backroom.example.com",
            "BACKROOM_MARKETING__TICK_EVERY_S": "0"}


@pytest.fixture
def app(database_url: str, tmp_path: Path, mailbox: SlowMailbox) -> Iterator[Backroom]:
    settings = Settings(
        database_url=database_url,
        home=tmp_path,
        smtp=SmtpSettings(host="127.0.0.1", port=mailbox.port),
        warehouse=WarehouseSettings(mode="csv", csv_dir=tmp_path / "warehouse"),
        effects=EffectSettings(max_attempts=3, backoff_base_s=0.0),
        marketing=MarketingConfig(enabled_flows=["abandoned_checkout"], unsubscribe_secret=SecretStr(SECRET),
                                  public_url="https://backroom.example.com", tick_every_s=0),
    )
    backroom = build(settings, clock=SimulatedClock(START), migrate_schema=False)
    yield backroom
    backroom.close()


def _worker(database_url: str, smtp_port: int, home: Path) -> subprocess.Popen[bytes]:
    return start_worker(database_url, smtp_port, home, CONCURRENCY, BACKROOM_WAREHOUSE__MODE="csv",
                        **marketing_env())


def abandon_checkouts(app: Backroom, count: int) -> None:
    """``count`` subscribed customers, each leaving a checkout: recorded through the bus, which enrolls them."""
    for n in range(count):
        address = f"buyer-{n}@example.com"
        app.handle(RecordCustomer("shopify", f"cust-{n}", address, f"Buyer {n}", MarketingConsent.SUBSCRIBED, START))
        app.handle(RecordCheckout("shopify", f"chk-{n}", f"tok-{n}", address, f"Buyer {n}", "GBP", Decimal("40.00"),
                                  (CheckoutLine("LAMP", 2, Decimal("20.00"), "Desk lamp"),),
                                  f"https://shop.example.com/recover/{n}", START, START))


def tick_at(app: Backroom, when: timedelta) -> None:
    """Move the simulated clock to START + when and tick, as a worker's periodic check would (no sending here)."""
    clock = app.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(START + when)
    app.advance_flows()


def _unsent(app: Backroom) -> int:
    return int(scalar(app, "SELECT count(*) FROM effects WHERE kind = 'email' AND status <> 'done'"))


def test_sigkilled_workers_lose_no_marketing_email_and_the_smtp_server_sees_each_message_id_once_after_dedupe(
    app: Backroom, mailbox: SlowMailbox, database_url: str, tmp_path: Path
) -> None:
    abandon_checkouts(app, ENROLLMENTS)
    assert scalar(app, "SELECT count(*) FROM marketing_enrollments") == ENROLLMENTS
    tick_at(app, timedelta(0))  # every enrollment starts its hour's wait
    tick_at(app, timedelta(hours=1))  # the first reminders are asked for
    assert _unsent(app) == ENROLLMENTS

    for kill in range(1, KILLS + 1):
        worker = _worker(database_url, mailbox.port, tmp_path)
        progressed = mailbox.wait_for(mailbox.received() + 1 + kill % 4, timeout_s=60)  # 1-4 emails in: many points
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert progressed, f"worker made no progress before kill {kill}"
        if kill == KILLS // 2:  # a day on, the second emails (with the code) join the queue while workers die
            tick_at(app, timedelta(hours=24))
            assert scalar(app, "SELECT count(*) FROM effects WHERE kind = 'email'") == 2 * ENROLLMENTS

    survivor = _worker(database_url, mailbox.port, tmp_path)
    deadline = time.monotonic() + 120
    while _unsent(app) and time.monotonic() < deadline:
        mailbox.wait_for(mailbox.received() + 1, timeout_s=0.5)
    survivor.send_signal(signal.SIGTERM)
    survivor.wait(timeout=30)

    received = mailbox.message_ids()
    raw_duplicates = len(received) - len(set(received))
    print(f"\nmarketing emails after {KILLS} SIGKILLs: {len(received)} received, {len(set(received))} Message-IDs, "
          f"{raw_duplicates} raw duplicates")

    assert _unsent(app) == 0
    keys = [r.message_key for r in rows(app, "SELECT message_key FROM marketing_sends")]
    assert len(keys) == 2 * ENROLLMENTS
    assert set(received) == {message_id(k) for k in keys}  # every email arrived; after dedupe, each exactly once
    assert raw_duplicates <= KILLS * CONCURRENCY  # a kill repeats at most the emails in flight
    assert rows(app, "SELECT state, count(*) FROM marketing_enrollments GROUP BY state") == [("completed", ENROLLMENTS)]
    assert rows(app, "SELECT count(*) FROM marketing_discounts") == [(ENROLLMENTS,)]
