"""Fulfillment requests to the warehouse/3PL: a signed HTTP POST, or a CSV file per request dropped in a folder.

HTTP: JSON body, ``X-Backroom-Signature`` = base64 HMAC-SHA256 of the raw body with the warehouse secret, and an
``Idempotency-Key`` header the receiver dedupes on. CSV: one file per key, written atomically (temp + rename), so a
repeated run finds the file and does nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

from backroom.adapters.tls import tls_context
from backroom.config import WarehouseSettings
from backroom.errors import ConfigurationError, EffectFailed
from backroom.shared.hashing import sign


class HttpWarehouse:
    batch_safe = True  # the receiver dedupes on Idempotency-Key

    def __init__(self, settings: WarehouseSettings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.url or settings.secret is None:
            raise ConfigurationError("warehouse mode 'http' needs BACKROOM_WAREHOUSE__URL and __SECRET")
        self.url = settings.url
        self.secret = settings.secret.get_secret_value()
        self._timeout_s, self._transport = settings.timeout_s, transport
        self.client = httpx.Client(verify=tls_context(), timeout=settings.timeout_s, transport=transport)

    def close(self) -> None:
        """Release pooled connections; the sender stays usable (a fresh client connects on the next call)."""
        old, self.client = self.client, httpx.Client(verify=tls_context(), timeout=self._timeout_s,
                                                     transport=self._transport)
        old.close()

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        body = json.dumps(payload, sort_keys=True).encode()
        response = self.client.post(
            self.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                "X-Backroom-Signature": sign(self.secret, body),
                "X-Backroom-Type": payload["type"],
            },
        )
        if response.status_code >= 300:
            raise EffectFailed(f"warehouse answered {response.status_code}")
        return {"status_code": response.status_code}


CSV_COLUMNS = ("type", "order_number", "sku", "quantity", "title", "name", "line1", "line2", "city", "postal_code",
               "area", "country", "phone", "location_id", "idempotency_key")


class CsvWarehouse:
    batch_safe = True  # one file per key: a repeat finds it

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / (re.sub(r"[^A-Za-z0-9._-]", "_", key) + ".csv")
        if target.exists():
            return {"file": target.name, "existing": True}
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        ship_to = payload.get("ship_to", {})
        for line in payload["lines"]:
            writer.writerow([payload["type"], payload["order_number"], line["sku"], line["quantity"], line["title"],
                             *(ship_to.get(f, "") for f in CSV_COLUMNS[5:13]), payload["location_id"], key])
        tmp = target.with_suffix(".tmp")
        tmp.write_text(buffer.getvalue())
        os.replace(tmp, target)
        return {"file": target.name}
