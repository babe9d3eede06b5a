"""Workers SIGKILLed in the middle of effects, then restarted: no effect is lost, and after the receivers dedupe by
idempotency key each effect is seen exactly once. Raw duplicates (sent, then killed before recording) are counted."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import WAREHOUSE_SECRET, HttpReceiver, order_body, rows, scalar, seed_catalog
from tests.fakes.workers import start_worker

from backroom.bootstrap import Backroom

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ORDERS = 60
KILLS = 6
CONCURRENCY = 4


def _worker(database_url: str, warehouse: HttpReceiver, smtp_port: int, home: Path) -> subprocess.Popen[bytes]:
    return start_worker(database_url, smtp_port, home, CONCURRENCY, BACKROOM_WAREHOUSE__MODE="http",
                        BACKROOM_WAREHOUSE__URL=warehouse.url, BACKROOM_WAREHOUSE__SECRET=WAREHOUSE_SECRET)


def _unfinished(app: Backroom) -> int:
    return int(scalar(app, "SELECT count(*) FROM effects WHERE status <> 'done'"))


def test_sigkilled_workers_lose_no_effect_and_receivers_see_each_key_once(
    app: Backroom, mail, database_url: str, tmp_path: Path
) -> None:
    slow_warehouse = HttpReceiver(delay_s=0.05)  # slow enough that a kill lands while calls are in flight
    slow_warehouse.thread.start()
    try:
        seed_catalog(app, {"A": (500, 0)})
        for n in range(ORDERS):
            app.ingest_order(order_body(f"o-{n}", {"A": 1}), {}, "api")
        assert _unfinished(app) == 2 * ORDERS

        for kill in range(1, KILLS + 1):
            worker = _worker(database_url, slow_warehouse, mail.port, tmp_path)
            progressed = slow_warehouse.wait_for(len(slow_warehouse.requests) + 3, timeout_s=60)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            assert progressed, f"worker made no progress before kill {kill}"

        survivor = _worker(database_url, slow_warehouse, mail.port, tmp_path)
        deadline = time.monotonic() + 120
        while _unfinished(app) and time.monotonic() < deadline:
            slow_warehouse.wait_for(len(slow_warehouse.requests) + 1, timeout_s=0.5)
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=30)

        keys = slow_warehouse.keys()
        message_ids = [m["Message-ID"] for m in mail.messages]
        raw_duplicates = (len(keys) - len(set(keys))) + (len(message_ids) - len(set(message_ids)))
        print(f"\nraw duplicates after {KILLS} SIGKILLs: {raw_duplicates} "
              f"(warehouse {len(keys)} requests / {len(set(keys))} keys, email {len(message_ids)} / "
              f"{len(set(message_ids))})")

        assert _unfinished(app) == 0
        assert len(set(keys)) == ORDERS
        assert len(set(message_ids)) == ORDERS
        assert set(keys) == {r.key for r in rows(app, "SELECT key FROM effects WHERE kind = 'fulfillment_request'")}
        assert raw_duplicates <= KILLS * CONCURRENCY
    finally:
        slow_warehouse.server.shutdown()
        slow_warehouse.server.server_close()
