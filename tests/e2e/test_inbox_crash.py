"""An API process SIGKILLed after answering 200 to webhooks it had not processed: the deliveries wait in the inbox,
and a worker started later imports each of them exactly once (its safety net runs at its start)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.conftest import rows, scalar, seed_catalog
from tests.integration.test_webhook_inbox import shopify_body

from backroom.bootstrap import Backroom
from backroom.shared.hashing import sign

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SECRET = "shpss_crash_test"
SHOP = "crash.myshopify.com"
# records and answers, and leaves processing to another process (one that, here, never comes): as if the process
# had died between the 200 and the import
API = ("import uvicorn; uvicorn.run('backroom.entrypoints.api.app:recording_app_from_environment', factory=True,"
       " host='127.0.0.1', port={port}, log_level='warning')")


def environment(database_url: str, home: Path) -> dict[str, str]:
    return {**os.environ, "BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(home),
            "BACKROOM_SHOPIFY__WEBHOOK_SECRET": SECRET, "BACKROOM_SHOPIFY__SHOPS": json.dumps({SHOP: "default"}),
            "BACKROOM_WORKER__POLL_S": "0.2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Wait for another process to make ``condition()`` true, looking every 50 ms."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_deliveries_answered_before_a_crash_are_imported_once_by_a_worker_started_later(
        app: Backroom, database_url: str, tmp_path: Path) -> None:
    seed_catalog(app, {"LAMP": (10, 0)})
    env = environment(database_url, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([sys.executable, "-c", API.format(port=port)], env=env)
    try:
        assert until(lambda: healthy(url), 60), "the API did not start"
        replies = []
        for n in range(5):
            body = shopify_body(n)
            response = httpx.post(f"{url}/webhooks/shopify", content=body, timeout=10, headers={
                "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Event-Id": f"evt-{n}",
                "X-Shopify-Hmac-Sha256": sign(SECRET, body)})
            replies.append((response.status_code, response.json()["outcome"]))
    finally:
        api.send_signal(signal.SIGKILL)
        api.wait()

    assert replies == [(200, "accepted")] * 5
    assert rows(app, "SELECT source_id, status FROM inbox ORDER BY id") == [(f"evt-{n}", "received") for n in range(5)]
    assert scalar(app, "SELECT count(*) FROM orders") == 0

    cli = [sys.executable, "-c", "from backroom.entrypoints.cli.main import main; main()", "worker"]
    worker = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert until(lambda: scalar(app, "SELECT count(*) FROM inbox WHERE status = 'processed'") == 5, 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    assert rows(app, "SELECT number, count(*) FROM orders GROUP BY 1 ORDER BY 1") == [(f"#{n}", 1) for n in range(5)]
    assert rows(app, "SELECT status, attempts FROM inbox GROUP BY 1, 2") == [("processed", 1)]
