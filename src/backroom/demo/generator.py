"""A small but realistic store, written by us: catalog with variants across two locations, customers, and a day
of orders that includes the awkward ones (out of stock, bad address, failed payment, high value, unknown SKU,
duplicate deliveries, double orders, cancellations). Deterministic for a given seed."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from backroom.adapters.db.catalog_admin import VariantSpec

PRODUCTS: list[tuple[str, str, str, list[str], Decimal, int]] = [
    # handle, title, sku stem, variant names, price, typical stock
    ("merino-tee", "Merino Crew Tee", "TEE", ["BLK-S", "BLK-M", "BLK-L", "OAT-S", "OAT-M", "OAT-L"],
     Decimal("38.00"), 25),
    ("canvas-tote", "Canvas Tote", "TOTE", ["NAT", "INK"], Decimal("18.00"), 40),
    ("ceramic-mug", "Stoneware Mug", "MUG", ["SAGE", "SAND", "CHAR"], Decimal("14.50"), 30),
    ("linen-apron", "Linen Apron", "APRON", ["RUST", "SLATE"], Decimal("42.00"), 12),
    ("wool-throw", "Wool Throw", "THROW", ["GREY", "MOSS"], Decimal("120.00"), 6),
    ("skillet", "Cast Iron Skillet", "SKILLET", ["26CM", "30CM"], Decimal("65.00"), 8),
    ("espresso-set", "Espresso Cup Set", "ESPR", ["WHITE"], Decimal("89.00"), 1),
    ("weekender", "Leather Weekender", "WKND", ["TAN", "BLACK"], Decimal("420.00"), 5),
    ("candle", "Beeswax Candle", "CANDLE", ["SMALL", "LARGE"], Decimal("16.00"), 1),
]

ADDRESSES: list[dict[str, str]] = [
    {"line1": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA", "country": "GB"},
    {"line1": "1 Piccadilly", "city": "Manchester", "postal_code": "M1 1RG", "country": "GB"},
    {"line1": "22 Queen Street", "city": "Edinburgh", "postal_code": "EH2 1JX", "country": "GB"},
    {"line1": "500 Howard St", "city": "San Francisco", "postal_code": "94105", "country": "US", "area": "CA"},
    {"line1": "350 5th Ave", "city": "New York", "postal_code": "10118", "country": "US", "area": "NY"},
    {"line1": "Unter den Linden 5", "city": "Berlin", "postal_code": "10117", "country": "DE"},
    {"line1": "12 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"},
    {"line1": "Keizersgracht 123", "city": "Amsterdam", "postal_code": "1015 CJ", "country": "NL"},
]
BAD_ADDRESSES: list[dict[str, str]] = [
    {"line1": "742 Evergreen Terrace", "city": "Springfield", "postal_code": "1234", "country": "US", "area": "IL"},
    {"line1": "Flat 3", "city": "London", "postal_code": "NOT A CODE", "country": "GB"},
    {"line1": "Hauptstrasse 1", "city": "", "postal_code": "10117", "country": "DE"},
]
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Finn", "Grace", "Hugo", "Isla", "Jonas", "Kira", "Liam", "Maya",
         "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tess"]
LAST = ["Okafor", "Smith", "Dubois", "Novak", "Garcia", "Kowalski", "Nguyen", "Brown", "Rossi", "Jensen"]
CARRIERS = [("Royal Mail", "https://track.example/rm/{}"), ("DPD", "https://track.example/dpd/{}"),
            ("UPS", "https://track.example/ups/{}")]


@dataclass
class Delivery:
    """One webhook-like delivery of an order payload at a moment of the simulated day."""

    at: datetime
    delivery_id: str
    body: bytes
    order_id: str
    kind: str = "normal"


@dataclass
class StoreData:
    products: list[tuple[str, str, list[VariantSpec]]]
    stock: list[tuple[str, str, int]]  # sku, location code, on hand
    deliveries: list[Delivery]
    cancellations: list[tuple[datetime, str]]  # (when, external order id)
    restocks: list[tuple[datetime, str, str, int]]  # (when, sku, location, quantity)
    etas: list[tuple[datetime, str, int]]  # (when, sku, days from then)


def generate(day: datetime, orders: int = 240, seed: int = 7) -> StoreData:
    rng = random.Random(seed)
    products = [(h, title, [VariantSpec(f"{stem}-{v}", f"{title} — {v.replace('-', ' ').title()}", price)
                            for v in names]) for h, title, stem, names, price, _ in PRODUCTS]
    typical = {f"{stem}-{v}": n for _, _, stem, names, _, n in PRODUCTS for v in names}
    prices = {spec.sku: spec.price for _, _, specs in products for spec in specs}
    titles = {spec.sku: spec.title for _, _, specs in products for spec in specs}
    skus = sorted(typical)
    stock: list[tuple[str, str, int]] = []
    for sku in skus:
        stock.append((sku, "MAIN", rng.randint(typical[sku] * 2, typical[sku] * 4)))
        stock.append((sku, "SHOP", rng.randint(0, max(1, typical[sku] // 5))))
    customers = [(f"{f} {la}", f"{f.lower()}.{la.lower()}{i}@example.com", rng.choice(ADDRESSES))
                 for i, (f, la) in enumerate((rng.choice(FIRST), rng.choice(LAST)) for _ in range(120))]
    popular = [s for s in skus if typical[s] >= 6]
    deliveries: list[Delivery] = []
    cancellations: list[tuple[datetime, str]] = []
    for n in range(orders):
        at = day + timedelta(seconds=int(n * 86_000 / orders) + rng.randint(0, 60))
        name, email, address = rng.choice(customers)
        lines = {rng.choice(popular): rng.choice([1, 1, 1, 2]) for _ in range(rng.choice([1, 1, 2, 2, 3, 4]))}
        payment, kind = "paid", "normal"
        roll = rng.random()
        if roll < 0.04:
            address, kind = rng.choice(BAD_ADDRESSES), "bad_address"
        elif roll < 0.07:
            payment, kind = "failed", "failed_payment"
        elif roll < 0.09:
            lines, kind = {"WKND-TAN": 3, "THROW-GREY": 1}, "high_value"
        elif roll < 0.11:
            lines[f"TEE-RETIRED-{rng.randint(1, 9)}"], kind = 1, "unknown_sku"
        elif roll < 0.16:
            lines, kind = {rng.choice(["ESPR-WHITE", "CANDLE-SMALL", "CANDLE-LARGE"]): 1}, "scarce"
        number = f"#{1001 + n}"
        body = _order_json(f"demo-{1001 + n}", number, email, name, address, payment, lines, prices, titles, at)
        deliveries.append(Delivery(at, f"dlv-{1001 + n}", body, f"demo-{1001 + n}", kind))
        if rng.random() < 0.05:  # the platform delivered the same webhook twice
            deliveries.append(Delivery(at + timedelta(seconds=rng.randint(1, 90)), f"dlv-{1001 + n}", body,
                                       f"demo-{1001 + n}", "redelivery"))
        if rng.random() < 0.02:  # the customer clicked "buy" twice: a second order, same items and address
            twin = _order_json(f"demo-{1001 + n}-b", f"{number}-B", email, name, address, payment, lines, prices,
                               titles, at + timedelta(minutes=2))
            deliveries.append(Delivery(at + timedelta(minutes=2), f"dlv-{1001 + n}-b", twin,
                                       f"demo-{1001 + n}-b", "double_order"))
        if kind == "normal" and rng.random() < 0.03:
            cancellations.append((at + timedelta(minutes=rng.randint(5, 90)), f"demo-{1001 + n}"))
    deliveries.sort(key=lambda d: d.at)
    restocks = [(day + timedelta(hours=15), sku, "MAIN", 12) for sku in ("ESPR-WHITE", "CANDLE-SMALL")]
    etas = [(day + timedelta(hours=12), "CANDLE-LARGE", 10)]
    return StoreData(products, stock, deliveries, cancellations, restocks, etas)


def _order_json(ext: str, number: str, email: str, name: str, address: dict[str, str], payment: str,
                lines: dict[str, int], prices: dict[str, Decimal], titles: dict[str, str], at: datetime) -> bytes:
    payload: dict[str, Any] = {
        "id": ext,
        "number": number,
        "email": email,
        "customer_name": name,
        "currency": "GBP",
        "payment_state": payment,
        "placed_at": at.isoformat(),
        "shipping_address": {"name": name, **address},
        "billing_address": {"name": name, **address},
        "lines": [{"sku": sku, "quantity": qty, "unit_price": str(prices.get(sku, Decimal("25.00"))),
                   "title": titles.get(sku, "Retired tee")} for sku, qty in lines.items()],
    }
    return json.dumps(payload).encode()


def tracking(rng: random.Random) -> tuple[str, str, str]:
    carrier, url = rng.choice(CARRIERS)
    number = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(12))
    return carrier, number, url.format(number)
