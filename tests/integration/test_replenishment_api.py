"""The replenishment API: suppliers, the plan, and a PO from draft to received, all behind the bearer token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import AUTH, order_body, rows, seed_catalog

from backroom.bootstrap import Backroom

pytestmark = pytest.mark.integration
PO = "PO-ACME-20261127"



def test_every_replenishment_endpoint_needs_the_token(client: TestClient) -> None:
    for method, path in (("get", "/api/suppliers"), ("post", "/api/suppliers"), ("post", "/api/suppliers/items"),
                         ("post", "/api/replenishment/plan"), ("get", "/api/replenishment/plan"),
                         ("get", "/api/purchase-orders"), ("get", f"/api/purchase-orders/{PO}"),
                         ("post", f"/api/purchase-orders/{PO}/approve"), ("post", f"/api/purchase-orders/{PO}/cancel"),
                         ("post", f"/api/purchase-orders/{PO}/receive")):
        assert getattr(client, method)(path).status_code == 401, path


def test_a_po_from_plan_to_receipt_over_http(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    app.ingest_order(order_body("B1", {"MUG": 4}), {}, source_id="b1")
    assert client.post("/api/suppliers", headers=AUTH, json={
        "code": "ACME", "name": "Acme", "email": "orders@acme.example", "lead_time_days": 7, "moq": 12,
        "order_days": "mon,fri"}).status_code == 200
    bad = client.post("/api/suppliers", headers=AUTH, json={"code": "X", "name": "X", "email": "x@x.example",
                                                            "lead_time_days": 7, "order_days": "someday"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_order_days")
    assert client.post("/api/suppliers/items", headers=AUTH, json=[
        {"sku": "MUG", "supplier": "ACME", "unit_cost": "2.50"}]).json() == {"assigned": 1}
    unknown = client.post("/api/suppliers/items", headers=AUTH, json=[
        {"sku": "MUG", "supplier": "NOPE", "unit_cost": "1"}])
    assert (unknown.status_code, unknown.json()["error"]) == (409, "unknown_supplier")

    plan = client.post("/api/replenishment/plan", headers=AUTH, json={}).json()
    assert (plan["purchase_orders"], plan["summary"]["to_order"], plan["skus"][0]["order"]) == (
        {PO: "drafted"}, 1, 12)
    assert [r["sku"] for r in client.get("/api/replenishment/plan", headers=AUTH).json()] == ["MUG"]
    detail = client.get(f"/api/purchase-orders/{PO}", headers=AUTH).json()
    assert (detail["status"], detail["total"], [(x["sku"], x["quantity"]) for x in detail["lines"]]) == (
        "draft", "30.00", [("MUG", 12)])

    approved = client.post(f"/api/purchase-orders/{PO}/approve", headers=AUTH, json={"actor": "ada"}).json()
    assert approved == {"number": PO, "status": "ordered", "total": "30.00", "currency": "GBP",
                        "expected_on": "2026-12-04"}
    received = client.post(f"/api/purchase-orders/{PO}/receive", headers=AUTH, json={"location": "MAIN"}).json()
    assert received == {"number": PO, "skus_received": 1, "backorders_completed": 1}
    assert rows(app, "SELECT status FROM orders WHERE external_id = 'B1'") == [("fulfillment_requested",)]
    again = client.post(f"/api/purchase-orders/{PO}/receive", headers=AUTH, json={"location": "MAIN"})
    assert (again.status_code, again.json()["error"]) == (409, "po_not_open")
    missing = client.get("/api/purchase-orders/PO-NOPE-1", headers=AUTH)
    assert (missing.status_code, missing.json()["error"]) == (404, "po_not_found")
