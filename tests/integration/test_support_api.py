"""The message API over HTTP: one message in, the reply with its intents, actions, identity and handover out, so
any evaluation can be scripted against it; conversations and deflection figures; all behind the token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import AUTH, order_body, seed_catalog

from backroom.bootstrap import Backroom

pytestmark = pytest.mark.integration



def test_support_endpoints_need_the_token(client: TestClient) -> None:
    for method, path in (("post", "/api/support/messages"), ("get", "/api/support/conversations"),
                         ("get", "/api/support/conversations/1"), ("get", "/api/support/stats")):
        assert getattr(client, method)(path).status_code == 401, path


def test_a_conversation_over_http(app: Backroom, client: TestClient) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("1001", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")

    def send(text: str, conversation: str = "w1", **sender: object) -> dict[str, object]:
        response = client.post("/api/support/messages", headers=AUTH, json={
            "conversation_id": conversation, "channel": "widget", "text": text, "sender": sender})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    first = send("where is my order #1001?")
    assert (first["intents"], first["verified"], first["handover"], first["actions"]) == (
        ["order_status"], False, None, [])
    assert first["reply"] == ("To keep your order details private, please send the email address or postal code "
                              "used on order #1001.")
    second = send("ada@example.com")
    assert second["reply"] == "Order #1001 is being packed at our warehouse."
    assert second["verified"] is True
    logged_in = send("where's my order?", "w2", email="ada@example.com", verified=True)
    assert logged_in["reply"] == "Order #1001 is being packed at our warehouse."
    human = send("let me talk to a real person", "w3")
    assert human["handover"] == {"reason": "asked_for_human", "summary": "customer asked for a person; intent "
                                 "human_agent (99%); identity not verified",
                                 "suggested_reply": "Hello, thanks for getting in touch — …"}
    empty = client.post("/api/support/messages", headers=AUTH, json={"conversation_id": "w4", "text": "\x00"})
    assert (empty.status_code, empty.json()["error"]) == (400, "empty_message")

    listed = client.get("/api/support/conversations", headers=AUTH).json()
    assert sorted((c["external_id"], c["status"], c["messages"]) for c in listed) == [
        ("w1", "open", 4), ("w2", "open", 2), ("w3", "handed_over", 2)]
    w1 = next(c for c in listed if c["external_id"] == "w1")
    detail = client.get(f"/api/support/conversations/{w1['id']}", headers=AUTH).json()
    assert [m["direction"] for m in detail["transcript"]] == ["in", "out", "in", "out"]
    stats = client.get("/api/support/stats", headers=AUTH).json()
    assert {k: stats[k] for k in ("conversations", "automated", "handed_over", "deflection", "hours_saved",
                                  "handover_reasons")} == {
        "conversations": 3, "automated": 2, "handed_over": 1, "deflection": 0.6667, "hours_saved": 0.2,
        "handover_reasons": {"asked_for_human": 1}}
