"""The HTTP API on real PostgreSQL: signed inbound orders, bearer-token auth, store scoping, review, errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from tests.conftest import API_TOKEN, AUTH, INBOUND_SECRET, HttpReceiver, TestClient, order_body, scalar, seed_catalog

from backroom.bootstrap import Backroom
from backroom.entrypoints.api.app import create_app
from backroom.shared.hashing import content_hash, sign

pytestmark = pytest.mark.integration

TOKEN = API_TOKEN
SECRET = INBOUND_SECRET


def configure(app: Backroom, api_token: str | None = TOKEN, inbound_secret: str | None = SECRET) -> None:
    app.settings = app.settings.model_copy(update={
        "api_token": SecretStr(api_token) if api_token is not None else None,
        "inbound_secret": SecretStr(inbound_secret) if inbound_secret is not None else None,
    })


def post_order(client: TestClient, body: bytes, delivery_id: str | None = None, *, secret: str = SECRET,
               store: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json", "X-Backroom-Signature": sign(secret, body)}
    if delivery_id is not None:
        headers["X-Backroom-Delivery-Id"] = delivery_id
    if store is not None:
        headers["X-Backroom-Store"] = store
    response = client.post("/inbound/orders", content=body, headers=headers)
    return response.status_code, response.json()


def inbox_rows(app: Backroom) -> list[tuple[str, str, str, str, str]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT source, source_id, status, body, error FROM inbox"))]


def test_healthz_is_public(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_api_refuses_missing_and_wrong_tokens(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": TOKEN}):
        response = client.get("/api/orders", headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"error": "unauthorized",
                                   "message": "send Authorization: Bearer <BACKROOM_API_TOKEN>"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/orders", headers=AUTH).json() == []


def test_api_without_a_configured_token_refuses_every_call_and_says_how_to_enable_it(app: Backroom) -> None:
    configure(app, api_token=None)
    with TestClient(create_app(app)) as client:
        for path in ("/api/orders", "/api/summary", "/api/review"):
            response = client.get(path, headers={"Authorization": "Bearer "})
            assert response.status_code == 401
            assert response.json()["error"] == "api_token_not_set"
            assert "BACKROOM_API_TOKEN" in response.json()["message"]


def test_signed_order_is_imported_and_listed(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)})
    status, outcome = post_order(client, order_body("o-1", {"A": 2}), "dlv-1")

    assert status == 200
    order_id = outcome["order_id"]
    assert outcome == {"outcome": "created", "order_id": order_id, "status": "fulfillment_requested",
                       "source_id": "dlv-1"}
    orders = client.get("/api/orders", headers=AUTH).json()
    assert [(o["id"], o["number"], o["status"], o["total"], o["channel"]) for o in orders] == [
        (order_id, "#o-1", "fulfillment_requested", "40.00", "inbound")]
    detail = client.get(f"/api/orders/{order_id}", headers=AUTH).json()
    assert [(ln["sku"], ln["quantity"]) for ln in detail["lines"]] == [("A", 2)]
    assert client.get("/api/orders", params={"status": "cancelled"}, headers=AUTH).json() == []
    assert scalar(app, "SELECT status FROM inbox WHERE source = 'inbound' AND source_id = 'dlv-1'") == "processed"


def test_repeated_delivery_is_a_duplicate_and_imports_nothing(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)})
    body = order_body("o-1", {"A": 1})
    first = post_order(client, body, "dlv-1")
    second = post_order(client, body, "dlv-1")
    unnamed = post_order(client, body)  # no delivery id: the body's hash is the key
    unnamed_again = post_order(client, body)

    assert first[0] == 200
    assert first[1]["outcome"] == "created"
    assert second == (200, {"outcome": "duplicate", "order_id": None, "status": None, "source_id": "dlv-1"})
    # a new key for a known order: recognised by (channel, external id), not imported again
    assert unnamed == (200, {"outcome": "existing", "order_id": first[1]["order_id"], "status": "fulfillment_requested",
                             "source_id": content_hash(body)})
    assert unnamed_again == (200, {"outcome": "duplicate", "order_id": None, "status": None,
                                   "source_id": content_hash(body)})
    assert scalar(app, "SELECT count(*) FROM orders") == 1
    assert scalar(app, "SELECT count(*) FROM inbox") == 2
    assert scalar(app, "SELECT sum(reserved) FROM stock_levels") == 1


def test_bad_or_missing_signature_is_refused_and_the_payload_kept(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)})
    body = order_body("o-1", {"A": 1})

    status, error = post_order(client, body, "dlv-forged", secret="wrong")
    unsigned = client.post("/inbound/orders", content=body,
                           headers={"X-Backroom-Delivery-Id": "dlv-unsigned", "Authorization": "Bearer x"})

    assert (status, error["error"]) == (401, "signature_invalid")
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "signature_invalid")
    assert sorted(inbox_rows(app)) == [
        ("inbound", "dlv-forged", "rejected", body.decode(), "signature_invalid"),
        ("inbound", "dlv-unsigned", "rejected", body.decode(), "signature_invalid"),
    ]
    assert scalar(app, "SELECT headers->>'x-backroom-signature' FROM inbox WHERE source_id = 'dlv-forged'") == (
        sign("wrong", body))
    assert scalar(app, "SELECT headers ? 'authorization' FROM inbox WHERE source_id = 'dlv-unsigned'") is False
    for table in ("orders", "reservations", "effects", "review_items"):
        assert scalar(app, f"SELECT count(*) FROM {table}") == 0


def test_malformed_json_with_a_valid_signature_is_400_and_kept(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)})
    status, error = post_order(client, b"{not json", "dlv-bad")

    assert status == 400
    assert error["error"] == "malformed_json"
    assert error["message"].startswith("body is not JSON")
    ((source, source_id, row_status, body, row_error),) = inbox_rows(app)
    assert (source, source_id, row_status, body) == ("inbound", "dlv-bad", "rejected", "{not json")
    assert row_error.startswith("malformed_json: ")
    assert scalar(app, "SELECT count(*) FROM orders") == 0


def test_invalid_order_with_a_valid_signature_is_400_invalid_order(client: TestClient, app: Backroom) -> None:
    status, error = post_order(client, b'{"id": "x"}', "dlv-partial")
    assert (status, error["error"]) == (400, "invalid_order")
    assert scalar(app, "SELECT status FROM inbox WHERE source_id = 'dlv-partial'") == "rejected"
    assert scalar(app, "SELECT count(*) FROM orders") == 0


def test_inbound_without_a_secret_is_503_and_keeps_nothing(app: Backroom) -> None:
    configure(app, inbound_secret=None)
    with TestClient(create_app(app)) as client:
        status, error = post_order(client, order_body("o-1", {"A": 1}), "dlv-1")
    assert (status, error["error"]) == (503, "inbound_not_configured")
    assert scalar(app, "SELECT count(*) FROM inbox") == 0


def test_inbound_body_over_1_mb_is_413_and_not_kept(client: TestClient, app: Backroom) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    status, error = post_order(client, body, "dlv-big")
    assert (status, error["error"]) == (413, "payload_too_large")
    assert scalar(app, "SELECT count(*) FROM inbox") == 0


def test_high_value_order_is_approved_through_the_review_api_once(
    client: TestClient, app: Backroom, warehouse: HttpReceiver
) -> None:
    seed_catalog(app, {"A": (5, 0)})
    _, outcome = post_order(client, order_body("big", {"A": 1}, price="1500.00"), "dlv-big")
    order_id = outcome["order_id"]
    assert (outcome["outcome"], outcome["status"]) == ("created", "on_hold")

    items = client.get("/api/review", headers=AUTH).json()
    assert [(i["reason_code"], i["subject_type"], i["subject_id"], i["status"]) for i in items] == [
        ("high_value", "order", order_id, "open")]
    item_id = items[0]["id"]
    assert client.get(f"/api/review/{item_id}", headers=AUTH).json()["allowed_actions"] == ["approve", "cancel_order"]

    resolved = client.post(f"/api/review/{item_id}/resolve", headers=AUTH,
                           json={"action": "approve", "note": "known customer", "actor": "owner"})
    again = client.post(f"/api/review/{item_id}/resolve", headers=AUTH, json={"action": "approve"})
    app.drain()

    assert resolved.status_code == 200
    assert resolved.json() == {"item_id": item_id, "action": "approve",
                               "outcome": "hold cleared; fulfillment requested", "status": "resolved",
                               "subject_type": "order", "subject_id": order_id}
    assert again.status_code == 409
    assert again.json()["error"] == "action_not_allowed"
    assert client.get(f"/api/orders/{order_id}", headers=AUTH).json()["status"] == "fulfillment_requested"
    assert client.get("/api/review", headers=AUTH).json() == []
    assert [i["id"] for i in client.get("/api/review", params={"status": "all"}, headers=AUTH).json()] == [item_id]
    assert scalar(app, "SELECT resolved_by FROM review_items WHERE id = :i", i=item_id) == "owner"
    assert [b["order_number"] for b in warehouse.bodies()] == ["#big"]


def test_review_request_validation_is_422_and_unknown_action_never_reaches_the_bus(
    client: TestClient, app: Backroom
) -> None:
    response = client.post("/api/review/1/resolve", headers=AUTH, json={"action": "explode"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert response.json()["detail"][0]["loc"] == ["body", "action"]
    missing = client.post("/api/review/123456/resolve", headers=AUTH, json={"action": "approve"})
    assert (missing.status_code, missing.json()["error"]) == (404, "review_item_not_found")


def test_unknown_order_is_404(client: TestClient) -> None:
    for method, path in (("GET", "/api/orders/999999"), ("POST", "/api/orders/999999/cancel")):
        response = client.request(method, path, headers=AUTH)
        assert response.status_code == 404
        assert response.json() == {"error": "order_not_found", "message": "order 999999 not found"}
    assert client.get("/api/orders/0", headers=AUTH).status_code == 422


def test_cancel_and_receive_stock_through_the_api(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (1, 0)})
    first = post_order(client, order_body("o-1", {"A": 1}), "dlv-1")[1]["order_id"]
    second = post_order(client, order_body("o-2", {"A": 1}), "dlv-2")[1]["order_id"]

    cancelled = client.post(f"/api/orders/{first}/cancel", headers=AUTH, json={"reason": "changed mind"})
    received = client.post("/api/stock/receive", headers=AUTH,
                           json={"sku": "A", "location": "SHOP", "quantity": 3, "reference": "PO-1"})
    zero = client.post("/api/stock/receive", headers=AUTH,
                       json={"sku": "A", "location": "SHOP", "quantity": 0, "reference": "PO-2"})
    nowhere = client.post("/api/stock/receive", headers=AUTH,
                          json={"sku": "A", "location": "MOON", "quantity": 1, "reference": "PO-3"})

    assert cancelled.json() == {"order_id": first, "status": "cancelled"}
    again = client.post(f"/api/orders/{first}/cancel", headers=AUTH)
    assert (again.status_code, again.json()) == (200, {"order_id": first, "status": "cancelled"})
    assert client.get(f"/api/orders/{second}", headers=AUTH).json()["status"] == "fulfillment_requested"
    assert received.status_code == 200
    assert received.json()["backorders_completed"] == 0
    assert client.get("/api/stock", params={"sku": "A"}, headers=AUTH).json() == [
        {"sku": "A", "location": "MAIN", "on_hand": 1, "reserved": 1, "available": 0},
        {"sku": "A", "location": "SHOP", "on_hand": 3, "reserved": 0, "available": 3},
    ]
    assert (zero.status_code, zero.json()["error"]) == (400, "invalid_input")
    assert (nowhere.status_code, nowhere.json()["error"]) == (404, "location_not_found")
    summary = client.get("/api/summary", headers=AUTH).json()
    assert (summary["orders_imported"], summary["orders_by_status"]) == (
        2, {"cancelled": 1, "fulfillment_requested": 1})


def test_stores_are_scoped_by_header(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (5, 0)}, store="a")
    status, outcome = post_order(client, order_body("o-1", {"A": 1}), "dlv-1", store="a")
    order_id = outcome["order_id"]
    in_a = {**AUTH, "X-Backroom-Store": "a"}
    in_b = {**AUTH, "X-Backroom-Store": "b"}

    assert (status, outcome["status"]) == (200, "fulfillment_requested")
    assert [o["id"] for o in client.get("/api/orders", headers=in_a).json()] == [order_id]
    assert client.get("/api/orders", headers=in_b).json() == []
    assert client.get("/api/orders", headers=AUTH).json() == []  # the default store
    assert client.get(f"/api/orders/{order_id}", headers=in_b).status_code == 404
    assert client.post(f"/api/orders/{order_id}/cancel", headers=in_b).status_code == 404
    assert client.get(f"/api/orders/{order_id}", headers=in_a).json()["status"] == "fulfillment_requested"
    bad = client.get("/api/orders", headers={**AUTH, "X-Backroom-Store": "no such/store"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_store")


def test_forged_delivery_naming_an_unknown_store_creates_no_store(client: TestClient, app: Backroom) -> None:
    stores = scalar(app, "SELECT count(*) FROM stores")
    status, _ = post_order(client, order_body("o-1", {"A": 1}), "dlv-1", secret="wrong", store="invented")
    assert status == 401
    assert scalar(app, "SELECT count(*) FROM stores WHERE slug = 'invented'") == 0
    assert scalar(app, "SELECT count(*) FROM stores") == max(stores, 1)
    assert scalar(app, "SELECT s.slug FROM inbox i JOIN stores s ON s.id = i.store_id") == "default"


def test_in_process_worker_runs_effects_for_the_apps_lifetime(app: Backroom, warehouse: HttpReceiver) -> None:
    configure(app)
    seed_catalog(app, {"A": (5, 0)})
    with TestClient(create_app(app, with_worker=True)) as client:
        status, _ = post_order(client, order_body("o-1", {"A": 1}), "dlv-1")
        assert warehouse.wait_for(1, timeout_s=20)
    assert status == 200
    assert [b["order_number"] for b in warehouse.bodies()] == ["#o-1"]
    assert scalar(app, "SELECT status FROM effects WHERE kind = 'fulfillment_request'") == "done"
