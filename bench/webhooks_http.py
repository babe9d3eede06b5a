"""Signed Shopify ``orders/create`` webhooks over real HTTP on loopback: requests/s and latency to a durable 200.

    python bench/webhooks_http.py [--requests 2000] [--concurrency 1 8 32] [--out PATH]

Starts backroom's API (the same ``create_app`` as ``backroom serve``, uvicorn, access log off, no in-process worker
so effects do not compete with ingest) in a subprocess on an embedded PostgreSQL in a temporary BACKROOM_HOME,
seeds a store with 300 SKUs, then POSTs realistic Shopify order payloads (1-5 lines, 2-4 KB, each with its own
``X-Shopify-Event-Id`` and a valid ``X-Shopify-Hmac-Sha256``) at each concurrency with httpx. A 200 means the order
was verified, recorded in the inbox, validated, reserved and its effects enqueued, and the transaction committed.

Prints ``name value`` lines per concurrency, then the best concurrency's ``requests_per_s``, ``p50_ms`` and
``p99_ms`` last, and writes everything to bench/results/webhooks_http.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from backroom.adapters.db import catalog_admin
from backroom.bootstrap import build
from backroom.config import Settings
from backroom.shared.hashing import sign

RESULTS = Path(__file__).resolve().parent / "results" / "webhooks_http.json"
SECRET = "bench-shopify-secret"
SHOP = "bench.myshopify.com"
SKUS = [f"SKU-{i:03d}" for i in range(300)]
SERVER = """
import uvicorn
from backroom.bootstrap import build
from backroom.entrypoints.api.app import create_app
br = build()
uvicorn.run(create_app(br), host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def payload(n: int, rng: random.Random) -> bytes:
    gid = 7_000_000_000_000_000 + n
    address = {"first_name": "Ada", "last_name": f"Buyer{n}", "address1": f"{rng.randint(1, 200)} High Street",
               "address2": "", "city": "London", "zip": "SW1A 2AA", "province_code": "", "country_code": "GB",
               "country": "United Kingdom", "phone": "+44 20 7946 0000", "company": None}
    lines = [{"id": gid * 10 + i, "admin_graphql_api_id": f"gid://shopify/LineItem/{gid * 10 + i}",
              "sku": rng.choice(SKUS), "quantity": rng.randint(1, 3), "price": f"{rng.randint(5, 120)}.00",
              "title": "Product", "variant_title": "Default", "requires_shipping": True, "taxable": True,
              "fulfillment_service": "manual", "grams": 500, "vendor": "Bench", "properties": [],
              "tax_lines": [{"price": "1.00", "rate": 0.2, "title": "VAT"}]} for i in range(rng.randint(1, 5))]
    return json.dumps({
        "id": gid, "admin_graphql_api_id": f"gid://shopify/Order/{gid}", "name": f"#B{n}", "order_number": n,
        "email": f"buyer{rng.randint(1, 5000)}@example.com", "currency": "GBP", "financial_status": "paid",
        "created_at": datetime.now(UTC).isoformat(), "shipping_address": address, "billing_address": address,
        "line_items": lines, "tags": "", "note": None, "source_name": "web", "total_price": "100.00",
        "subtotal_price": "100.00", "total_tax": "16.67", "taxes_included": True, "test": False,
        "customer": {"id": gid + 1, "email": "x@example.com", "first_name": "Ada", "last_name": "Buyer"},
    }).encode()


async def fire(url: str, bodies: list[tuple[str, bytes]], concurrency: int) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    latencies: list[float] = []
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            event_id, body = queue.get_nowait()
            headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                       "X-Shopify-Shop-Domain": SHOP, "X-Shopify-Event-Id": event_id,
                       "X-Shopify-Hmac-Sha256": sign(SECRET, body)}
            t0 = time.perf_counter()
            response = await client.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200 or response.json().get("outcome") != "created":
                failures += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return wall, latencies, failures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="backroom-bench-http-"))
    env = {**os.environ, "BACKROOM_HOME": str(home), "BACKROOM_SHOPIFY__WEBHOOK_SECRET": SECRET,
           "BACKROOM_SHOPIFY__SHOPS": json.dumps({SHOP: "bench"})}
    env.pop("BACKROOM_DATABASE_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("BACKROOM_")})
    seeder = build(Settings())  # starts the embedded server the API process will share
    store_id = seeder.store_id("bench")
    loc = catalog_admin.upsert_location(seeder.engine, store_id, "MAIN", "Main", priority=10)
    catalog_admin.upsert_product(seeder.engine, store_id, "bench", "Bench", [
        catalog_admin.VariantSpec(sku, sku, Decimal("20.00")) for sku in SKUS])
    catalog_admin.set_opening_stock(seeder.engine, store_id, [(sku, loc, 1_000_000) for sku in SKUS])

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(port=port)], env=env)
    url = f"http://127.0.0.1:{port}/webhooks/shopify"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        rng = random.Random(7)
        results: dict[str, Any] = {}
        n = 0
        asyncio.run(fire(url, [(f"warm-{i}", payload(10_000_000 + i, rng)) for i in range(100)], 4))  # warm-up
        for concurrency in args.concurrency:
            bodies = []
            for _ in range(args.requests):
                n += 1
                bodies.append((f"evt-{n}", payload(n, rng)))
            wall, latencies, failures = asyncio.run(fire(url, bodies, concurrency))
            figures = {"requests_per_s": round(len(bodies) / wall, 1), "p50_ms": round(pct(latencies, 0.50), 2),
                       "p99_ms": round(pct(latencies, 0.99), 2), "failures": failures,
                       "mean_body_bytes": round(sum(len(b) for _, b in bodies) / len(bodies))}
            results[str(concurrency)] = figures
            for name, value in figures.items():
                print(f"c{concurrency}_{name} {value}")
        best_c, best = max(results.items(), key=lambda kv: kv[1]["requests_per_s"])
        print(f"best_concurrency {best_c}")
        for name in ("requests_per_s", "p50_ms", "p99_ms"):
            print(f"{name} {best[name]}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "by_concurrency": results, "best_concurrency": int(best_c), **{k: best[k] for k in
                                                                           ("requests_per_s", "p50_ms", "p99_ms")},
            "requests_per_level": args.requests, "target": {"requests_per_s": 1000, "p99_ms": 50},
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }, indent=2) + "\n")
    finally:
        server.terminate()
        server.wait(timeout=30)
        seeder.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
