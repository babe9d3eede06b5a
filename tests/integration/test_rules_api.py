"""Rules over the HTTP API and the CLI on real PostgreSQL: auth on every route, save/check/mode/history/dry run,
store isolation, and `backroom rules …` end to end against the same database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import TestClient, api_client, order_body, rows, scalar, seed_catalog
from typer.testing import CliRunner

from backroom.bootstrap import Backroom
from backroom.entrypoints.cli.main import app as cli_app
from backroom.rules.model import compile_all, parse_rules_text
from backroom.shared.clock import SimulatedClock
from backroom.shared.hashing import sign

pytestmark = pytest.mark.integration

TOKEN = "t0k"
SECRET = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

TAG_BIG = {"name": "tag_big", "when": "order_created", "if": "order.item_count >= 2",
           "then": ["tag_order(tags='big')"], "mode": "live"}
TYPO_PROBLEM = (
    "unknown field 'order.totl' (order has: billing_address, channel, currency, email, email_domain, holds, id, "
    "item_count, line_count, lines, number, payment_state, placed_at, priority, shipping_address, skus, status, "
    "tags, total); did you mean 'order.total'?")
UNKNOWN_ACTION_PROBLEM = "unknown action 'tag_ordr'; did you mean 'tag_order'? (see `backroom rules actions`)"


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, api_token=SecretStr(TOKEN), inbound_secret=SecretStr(SECRET)) as c:
        yield c


def in_store(store: str) -> dict[str, str]:
    return {**AUTH, "X-Backroom-Store": store}


def post_order(client: TestClient, body: bytes, store: str | None = None) -> int:
    """The API's order path: a signed POST to /inbound/orders; returns the new order's id."""
    headers = {"Content-Type": "application/json", "X-Backroom-Signature": sign(SECRET, body)}
    if store is not None:
        headers["X-Backroom-Store"] = store
    response = client.post("/inbound/orders", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"
    return int(response.json()["order_id"])


def tags_of(app: Backroom, order_id: int) -> list[str]:
    return list(scalar(app, "SELECT tags FROM orders WHERE id = :i", i=order_id))


def footprint(app: Backroom) -> dict[str, Any]:
    """Everything a rule (or a save) could change."""
    return {
        "decisions": scalar(app, "SELECT count(*) FROM decisions"),
        "effects": scalar(app, "SELECT count(*) FROM effects"),
        "review_items": scalar(app, "SELECT count(*) FROM review_items"),
        "events": scalar(app, "SELECT count(*) FROM events"),
        "orders": [tuple(r) for r in rows(app, "SELECT id, status, tags, holds, priority FROM orders ORDER BY id")],
        "rules": [tuple(r) for r in rows(app, "SELECT store_id, name, mode, current_version, position, updated_at"
                                              " FROM rules ORDER BY id")],
        "rule_versions": scalar(app, "SELECT count(*) FROM rule_versions"),
        "revisions": [tuple(r) for r in rows(app, "SELECT id, rules_revision FROM stores ORDER BY id")],
    }


# -- 1. auth ----------------------------------------------------------------------------------------------------

RULE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/rules", None),
    ("PUT", "/api/rules", {"rules": [{**TAG_BIG, "if": "order.item_count >= 9"}]}),
    ("POST", "/api/rules/check", {"rules": [TAG_BIG]}),
    ("POST", "/api/rules/test?since=90d", {"rules": [TAG_BIG]}),
    ("GET", "/api/rules/triggers", None),
    ("GET", "/api/rules/actions", None),
    ("GET", "/api/rules/tag_big", None),
    ("PUT", "/api/rules/tag_big/mode", {"mode": "off"}),
    ("GET", "/api/rules/tag_big/history", None),
]


def test_every_rules_route_is_listed_here(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    routes = {(method.upper(), path) for path, operations in paths.items() if path.startswith("/api/rules")
              for method in operations}
    listed = {(method, path.split("?")[0].replace("tag_big", "{name}")) for method, path, _ in RULE_ROUTES}
    assert routes == listed


def test_every_rules_route_refuses_a_request_without_the_token_and_changes_nothing(
        client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (10, 0)})
    assert client.put("/api/rules", headers=AUTH, json={"rules": [TAG_BIG]}).status_code == 200
    post_order(client, order_body("o-1", {"A": 2}))
    before = footprint(app)
    listed = client.get("/api/rules", headers=AUTH).json()

    for method, path, body in RULE_ROUTES:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"},
                        {"X-Backroom-Store": "default"}):
            response = client.request(method, path, headers=headers, json=body)
            assert response.status_code == 401, (method, path, headers)
            assert response.json() == {"error": "unauthorized",
                                       "message": "send Authorization: Bearer <BACKROOM_API_TOKEN>"}
            assert response.headers["WWW-Authenticate"] == "Bearer"

    assert footprint(app) == before
    assert client.get("/api/rules", headers=AUTH).json() == listed
    assert [(r["name"], r["mode"], r["version"]) for r in listed] == [("tag_big", "live", 1)]


# -- 2. save ----------------------------------------------------------------------------------------------------


def test_an_invalid_rule_is_422_with_every_problem_and_nothing_is_saved(client: TestClient, app: Backroom) -> None:
    document = {"rules": [
        TAG_BIG,
        {"name": "typo", "when": "order_created", "if": "order.totl > 5", "then": ["tag_order(tags='x')"]},
        {"name": "bad_action", "when": "order_created", "then": ["tag_ordr(tags='x')"]},
    ]}
    response = client.put("/api/rules", headers=AUTH, json=document)

    assert response.status_code == 422
    assert response.json() == {
        "error": "rule_invalid",
        "message": f"typo: {TYPO_PROBLEM}; bad_action: {UNKNOWN_ACTION_PROBLEM}",
        "problems": {"typo": [TYPO_PROBLEM], "bad_action": [UNKNOWN_ACTION_PROBLEM]},
    }
    assert scalar(app, "SELECT count(*) FROM rules") == 0
    assert scalar(app, "SELECT count(*) FROM rule_versions") == 0
    assert client.get("/api/rules", headers=AUTH).json() == []


def test_a_rule_missing_its_fields_and_a_malformed_document_are_422(client: TestClient, app: Backroom) -> None:
    missing = client.put("/api/rules", headers=AUTH, json={"rules": [{"name": "bare"}]})
    not_a_list = client.put("/api/rules", headers=AUTH, json={"rules": {"name": "bare"}})
    extra = client.put("/api/rules", headers=AUTH, json={"rules": [TAG_BIG], "surprise": 1})

    assert (missing.status_code, missing.json()) == (422, {
        "error": "rule_invalid", "message": "bare: when: Field required; bare: then: Field required",
        "problems": {"bare": ["when: Field required", "then: Field required"]}})
    assert (not_a_list.status_code, not_a_list.json()["error"]) == (422, "invalid_request")
    assert not_a_list.json()["detail"][0]["loc"] == ["body", "rules"]
    assert (extra.status_code, extra.json()["error"]) == (422, "invalid_request")
    assert extra.json()["detail"][0]["loc"] == ["body", "surprise"]
    assert scalar(app, "SELECT count(*) FROM rules") == 0


def test_saving_creates_versions_only_when_the_definition_changes(client: TestClient, app: Backroom) -> None:
    shadow = {"name": "note_first", "when": "order_created", "if": "customer.first_order",
              "then": [{"add_order_note": {"note": "first order"}}]}

    created = client.put("/api/rules", headers=AUTH, json={"rules": [TAG_BIG, shadow], "actor": "ada"})
    again = client.put("/api/rules", headers=AUTH, json={"rules": [TAG_BIG, shadow]})
    changed = client.put("/api/rules", headers=AUTH, json={"rules": [{**TAG_BIG, "if": "order.item_count >= 3"}]})
    mode_only = client.put("/api/rules", headers=AUTH, json={"rules": [{**shadow, "mode": "live"}]})

    assert (created.status_code, created.json()) == (200, [
        {"name": "tag_big", "version": 1, "change": "created"},
        {"name": "note_first", "version": 1, "change": "created"}])
    assert (again.status_code, again.json()) == (200, [
        {"name": "tag_big", "version": 1, "change": "unchanged"},
        {"name": "note_first", "version": 1, "change": "unchanged"}])
    assert (changed.status_code, changed.json()) == (200, [{"name": "tag_big", "version": 2, "change": "new version"}])
    assert (mode_only.status_code, mode_only.json()) == (200, [
        {"name": "note_first", "version": 1, "change": "mode changed"}])

    # rules not listed in a save are left as they are; the list runs in save order
    assert client.get("/api/rules", headers=AUTH).json() == [
        {"name": "tag_big", "mode": "live", "version": 2, "position": 10, "when": "order_created",
         "if": "order.item_count >= 3", "then": ["tag_order"], "fired_live": 0, "fired_shadow": 0},
        {"name": "note_first", "mode": "live", "version": 1, "position": 20, "when": "order_created",
         "if": "customer.first_order", "then": ["add_order_note"], "fired_live": 0, "fired_shadow": 0},
    ]
    detail = client.get("/api/rules/tag_big", headers=AUTH).json()
    assert (detail["name"], detail["mode"], detail["version"], detail["position"]) == ("tag_big", "live", 2, 10)
    assert detail["definition"] == {"name": "tag_big", "description": "", "when": "order_created",
                                    "if": "order.item_count >= 3",
                                    "then": [{"action": "tag_order", "params": {"tags": "big"}}],
                                    "stop": False, "limit": None}
    assert [(v["version"], v["created_by"], v["definition"]["if"]) for v in detail["versions"]] == [
        (2, "api", "order.item_count >= 3"), (1, "ada", "order.item_count >= 2")]
    assert scalar(app, "SELECT count(*) FROM rule_versions") == 3
    missing = client.get("/api/rules/nope", headers=AUTH)
    assert (missing.status_code, missing.json()) == (404, {"error": "rule_not_found",
                                                           "message": "no rule named 'nope'"})
    assert client.get("/api/rules/Not_A_Name", headers=AUTH).status_code == 422


# -- 3. check ---------------------------------------------------------------------------------------------------


def test_check_answers_ok_or_every_problem_and_saves_nothing(client: TestClient, app: Backroom) -> None:
    ok = client.post("/api/rules/check", headers=AUTH, json={"rules": [TAG_BIG, {**TAG_BIG, "name": "tag_big_2"}]})
    bad = client.post("/api/rules/check", headers=AUTH, json={"rules": [
        TAG_BIG, {"name": "typo", "when": "order_created", "if": "order.totl > 5", "then": ["tag_order(tags='x')"]}]})
    wrong_trigger = client.post("/api/rules/check", headers=AUTH,
                                json={"rules": [{**TAG_BIG, "when": "order_craeted"}]})
    twice = client.post("/api/rules/check", headers=AUTH, json={"rules": [TAG_BIG, TAG_BIG]})

    assert (ok.status_code, ok.json()) == (200, {"ok": True, "rules": 2})
    assert (bad.status_code, bad.json()) == (422, {"error": "rule_invalid", "message": f"typo: {TYPO_PROBLEM}",
                                                   "problems": {"typo": [TYPO_PROBLEM]}})
    assert (wrong_trigger.status_code, wrong_trigger.json()["problems"]) == (422, {"tag_big": [
        "unknown trigger 'order_craeted'; did you mean 'order_created'? (see `backroom rules triggers`)"]})
    assert (twice.status_code, twice.json()["problems"]) == (422, {"tag_big": ["the same name is used twice"]})
    assert scalar(app, "SELECT count(*) FROM rules") == 0


def test_triggers_and_actions_are_listed(client: TestClient) -> None:
    triggers = client.get("/api/rules/triggers", headers=AUTH).json()
    actions = client.get("/api/rules/actions", headers=AUTH).json()

    assert [t["name"] for t in triggers] == [
        "order_created", "stock_reserved", "order_backordered", "backorder_allocated", "fulfillment_requested",
        "order_held", "order_released", "order_shipped", "shipment_delivered", "order_cancelled",
        "review_item_created", "stock_received", "stock_low", "stockout_expected", "order_paid", "order_refunded",
        "checkout_created",
        "checkout_updated", "checkout_completed", "platform_stock_drift"]
    assert (triggers[0]["about"], sorted(triggers[0]["schema"])) == ("order", ["customer", "event", "order"])
    assert [a["name"] for a in actions] == [
        "tag_order", "hold_fulfillment", "release_fulfillment", "add_order_note", "create_review_item", "send_email",
        "notify_slack", "call_webhook", "set_priority", "cancel_order"]
    assert (actions[0]["needs"], actions[0]["params"]["required"]) == ("order", ["tags"])


# -- 4. mode ----------------------------------------------------------------------------------------------------


def test_mode_switches_live_shadow_off_and_refuses_unknown_rules_and_modes(client: TestClient, app: Backroom) -> None:
    client.put("/api/rules", headers=AUTH, json={"rules": [{**TAG_BIG, "mode": "off"}]})

    for mode in ("live", "shadow", "off", "live"):
        response = client.put("/api/rules/tag_big/mode", headers=AUTH, json={"mode": mode})
        assert (response.status_code, response.json()) == (200, {"name": "tag_big", "mode": mode})
        detail = client.get("/api/rules/tag_big", headers=AUTH).json()
        assert (detail["mode"], detail["version"]) == (mode, 1)  # the mode is not part of the version

    unknown = client.put("/api/rules/nope/mode", headers=AUTH, json={"mode": "live"})
    bad_mode = client.put("/api/rules/tag_big/mode", headers=AUTH, json={"mode": "loud"})
    no_mode = client.put("/api/rules/tag_big/mode", headers=AUTH, json={})
    bad_name = client.put("/api/rules/Tag Big/mode", headers=AUTH, json={"mode": "off"})

    assert (unknown.status_code, unknown.json()) == (404, {"error": "rule_not_found",
                                                           "message": "no rule named 'nope'"})
    assert (bad_mode.status_code, bad_mode.json()) == (422, {
        "error": "invalid_request", "message": "body.mode: Input should be 'live', 'shadow' or 'off'",
        "detail": [{"type": "enum", "loc": ["body", "mode"], "msg": "Input should be 'live', 'shadow' or 'off'"}]})
    assert (no_mode.status_code, no_mode.json()["detail"][0]["loc"]) == (422, ["body", "mode"])
    assert (bad_name.status_code, bad_name.json()["detail"][0]["loc"]) == (422, ["path", "name"])
    assert client.get("/api/rules/tag_big", headers=AUTH).json()["mode"] == "live"
    assert scalar(app, "SELECT count(*) FROM rules") == 1
    assert scalar(app, "SELECT count(*) FROM rule_versions") == 1


# -- 5. firing and history --------------------------------------------------------------------------------------


def test_a_live_rule_fires_on_an_inbound_order_and_its_history_and_counts_show_it(
        client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (50, 0)})
    first_only = {"name": "note_first", "when": "order_created", "if": "customer.first_order",
                  "then": [{"add_order_note": {"note": "first order"}}], "mode": "shadow"}
    client.put("/api/rules", headers=AUTH, json={"rules": [TAG_BIG, first_only]})

    big = post_order(client, order_body("o-1", {"A": 2}, email="ada@example.com"))
    small = post_order(client, order_body("o-2", {"A": 1}, email="ada@example.com"))
    client.put("/api/rules", headers=AUTH, json={"rules": [{**TAG_BIG, "if": "order.item_count >= 1"}]})
    after_v2 = post_order(client, order_body("o-3", {"A": 1}, email="ada@example.com"))
    assert client.put("/api/rules/tag_big/mode", headers=AUTH, json={"mode": "off"}).status_code == 200
    while_off = post_order(client, order_body("o-4", {"A": 5}, email="ada@example.com"))

    assert {o: tags_of(app, o) for o in (big, small, after_v2, while_off)} == {
        big: ["big"], small: [], after_v2: ["big"], while_off: []}
    history = client.get("/api/rules/tag_big/history", headers=AUTH).json()
    assert [{k: v for k, v in h.items() if k != "id"} for h in history] == [
        {"at": "2026-11-27T09:00:00+00:00", "version": 2, "trigger": "order_created", "subject": f"order:{after_v2}",
         "mode": "live", "inputs": {"order.item_count": 1},
         "outcome": {"mode": "live", "subject": f"order:{after_v2}",
                     "actions": [{"action": "tag_order", "result": "tagged big"}]}},
        {"at": "2026-11-27T09:00:00+00:00", "version": 1, "trigger": "order_created", "subject": f"order:{big}",
         "mode": "live", "inputs": {"order.item_count": 2},
         "outcome": {"mode": "live", "subject": f"order:{big}",
                     "actions": [{"action": "tag_order", "result": "tagged big"}]}},
    ]
    assert history[0]["id"] > history[1]["id"]
    limited = client.get("/api/rules/tag_big/history", params={"limit": 1}, headers=AUTH).json()
    assert [h["version"] for h in limited] == [2]
    assert client.get("/api/rules/tag_big/history", params={"limit": 0}, headers=AUTH).status_code == 422

    shadow_history = client.get("/api/rules/note_first/history", headers=AUTH).json()
    assert [(h["mode"], h["subject"], h["inputs"], h["outcome"]) for h in shadow_history] == [
        ("shadow", f"order:{big}", {"customer.first_order": True},
         {"mode": "shadow", "subject": f"order:{big}",
          "would": [{"action": "add_order_note", "params": {"note": "first order"}}]})]

    assert [(r["name"], r["mode"], r["version"], r["fired_live"], r["fired_shadow"])
            for r in client.get("/api/rules", headers=AUTH).json()] == [
        ("tag_big", "off", 2, 2, 0), ("note_first", "shadow", 1, 0, 1)]


def test_a_live_rule_fires_on_an_order_ingested_by_the_app(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (10, 0)})
    client.put("/api/rules", headers=AUTH, json={"rules": [TAG_BIG]})

    outcome = app.ingest_order(order_body("o-1", {"A": 3}), {}, source="api")

    assert tags_of(app, outcome.order_id or 0) == ["big"]
    (fired,) = client.get("/api/rules/tag_big/history", headers=AUTH).json()
    assert (fired["version"], fired["subject"], fired["inputs"], fired["outcome"]["actions"]) == (
        1, f"order:{outcome.order_id}", {"order.item_count": 3}, [{"action": "tag_order", "result": "tagged big"}])


# -- 6. dry run -------------------------------------------------------------------------------------------------

DRY_RULES = [
    {**TAG_BIG, "mode": "off"},
    {"name": "repeat_buyer", "when": "order_created", "if": "customer.orders_count >= 1",
     "then": ["set_priority(priority=5)"]},
    {"name": "low", "when": "stock_low", "if": "stock.available <= stock.threshold",
     "then": ["notify_slack(text='{{ stock.sku }} {{ stock.available }}')"]},
    {"name": "never", "when": "order_shipped", "then": ["tag_order(tags='shipped')"]},
]


def test_a_dry_run_reports_exact_counts_over_recorded_events_and_does_nothing(
        client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (8, 0)})
    o1 = post_order(client, order_body("o-1", {"A": 2}, email="ada@example.com"))  # 6 available
    o2 = post_order(client, order_body("o-2", {"A": 1}, email="bob@example.com"))  # 5: low
    o3 = post_order(client, order_body("o-3", {"A": 3}, email="ada@example.com"))  # 2: still low
    # each order records order_created, stock_reserved and fulfillment_requested; stock_low once on crossing
    assert [tuple(r) for r in rows(app, "SELECT name, subject_id FROM events ORDER BY id")] == [
        ("order_created", o1), ("stock_reserved", o1), ("fulfillment_requested", o1),
        ("order_created", o2), ("stock_reserved", o2), ("stock_low", None), ("fulfillment_requested", o2),
        ("order_created", o3), ("stock_reserved", o3), ("fulfillment_requested", o3)]
    before = footprint(app)

    response = client.post("/api/rules/test", params={"since": "90d"}, headers=AUTH, json={"rules": DRY_RULES})

    assert response.status_code == 200
    report = response.json()
    assert (report["events"], report["from"], report["to"]) == (
        10, "2026-11-27T09:00:00+00:00", "2026-11-27T09:00:00+00:00")
    assert [(r["name"], r["version"], r["trigger"], r["mode"], r["evaluated"], r["fired"], r["distinct_subjects"],
             r["limited"], r["errors"]) for r in report["rules"]] == [
        ("tag_big", 0, "order_created", "off", 3, 2, 2, 0, 0),
        ("repeat_buyer", 0, "order_created", "shadow", 3, 1, 1, 0, 0),
        ("low", 0, "stock_low", "shadow", 1, 1, 1, 0, 0),
        ("never", 0, "order_shipped", "shadow", 0, 0, 0, 0, 0)]
    by_name = {r["name"]: r for r in report["rules"]}
    assert [(e["subject"], e["order_number"], e["inputs"], e["would"]) for e in by_name["tag_big"]["examples"]] == [
        (f"order:{o1}", "#o-1", {"order.item_count": 2}, [{"action": "tag_order", "params": {"tags": ["big"]}}]),
        (f"order:{o3}", "#o-3", {"order.item_count": 3}, [{"action": "tag_order", "params": {"tags": ["big"]}}])]
    assert [(e["event"], e["subject"], e["order_number"], e["would"]) for e in by_name["low"]["examples"]] == [
        ("stock_low", "sku:A", None, [{"action": "notify_slack", "params": {"channel": "", "text": "A 5"}}])]
    assert [(e["subject"], e["inputs"]) for e in by_name["repeat_buyer"]["examples"]] == [
        (f"order:{o3}", {"customer.orders_count": 1})]
    assert all(r["error_examples"] == [] for r in report["rules"])

    # nothing was done: no decisions, effects, tags, priorities, events or saved rules
    assert footprint(app) == before
    assert scalar(app, "SELECT count(*) FROM decisions WHERE policy LIKE 'rule:%'") == 0
    assert [tags_of(app, o) for o in (o1, o2, o3)] == [[], [], []]
    assert client.get("/api/rules", headers=AUTH).json() == []


def test_a_dry_run_of_the_saved_rules_and_its_window(client: TestClient, app: Backroom,
                                                      clock: SimulatedClock) -> None:
    seed_catalog(app, {"A": (20, 0)})
    post_order(client, order_body("o-1", {"A": 2}))
    clock.advance(timedelta(hours=3))
    later = post_order(client, order_body("o-2", {"A": 4}))
    client.put("/api/rules", headers=AUTH, json={"rules": [{**TAG_BIG, "mode": "shadow"}]})
    clock.advance(timedelta(hours=1))
    before = footprint(app)

    saved = client.post("/api/rules/test", headers=AUTH).json()  # no body: the saved rules; default 90d
    last_2h = client.post("/api/rules/test", params={"since": "2h"}, headers=AUTH).json()
    last_30m = client.post("/api/rules/test", params={"since": "30m"}, headers=AUTH).json()
    bad_since = client.post("/api/rules/test", params={"since": "90 days"}, headers=AUTH)

    assert (saved["events"], saved["from"], saved["to"]) == (6, "2026-11-27T09:00:00+00:00",
                                                             "2026-11-27T12:00:00+00:00")
    assert [(r["name"], r["version"], r["mode"], r["evaluated"], r["fired"]) for r in saved["rules"]] == [
        ("tag_big", 1, "shadow", 2, 2)]
    assert (last_2h["events"], last_2h["from"]) == (3, "2026-11-27T12:00:00+00:00")
    assert [(r["evaluated"], r["fired"], r["examples"][0]["subject"]) for r in last_2h["rules"]] == [
        (1, 1, f"order:{later}")]
    assert (last_30m["events"], last_30m["from"], last_30m["to"]) == (0, None, None)
    assert [(r["evaluated"], r["fired"], r["examples"]) for r in last_30m["rules"]] == [(0, 0, [])]
    assert (bad_since.status_code, bad_since.json()["detail"][0]["loc"]) == (422, ["query", "since"])
    invalid = client.post("/api/rules/test", headers=AUTH, json={"rules": [{**TAG_BIG, "if": "order.totl > 5"}]})
    assert (invalid.status_code, invalid.json()["problems"]) == (422, {"tag_big": [TYPO_PROBLEM]})
    assert footprint(app) == before


# -- 7. stores --------------------------------------------------------------------------------------------------


def test_rules_of_one_store_are_invisible_to_another_and_never_fire_there(client: TestClient, app: Backroom) -> None:
    seed_catalog(app, {"A": (10, 0)}, store="a")
    seed_catalog(app, {"A": (10, 0)}, store="b")
    saved = client.put("/api/rules", headers=in_store("a"), json={"rules": [TAG_BIG]})
    assert saved.json() == [{"name": "tag_big", "version": 1, "change": "created"}]

    in_a = post_order(client, order_body("o-1", {"A": 2}), store="a")
    in_b = post_order(client, order_body("o-1", {"A": 2}), store="b")

    assert [r["name"] for r in client.get("/api/rules", headers=in_store("a")).json()] == ["tag_big"]
    assert client.get("/api/rules", headers=in_store("b")).json() == []
    assert client.get("/api/rules", headers=AUTH).json() == []  # the default store
    assert client.get("/api/rules/tag_big", headers=in_store("b")).status_code == 404
    assert client.put("/api/rules/tag_big/mode", headers=in_store("b"), json={"mode": "off"}).status_code == 404
    assert client.get("/api/rules/tag_big/history", headers=in_store("b")).status_code == 404
    assert [h["subject"] for h in client.get("/api/rules/tag_big/history", headers=in_store("a")).json()] == [
        f"order:{in_a}"]
    assert (tags_of(app, in_a), tags_of(app, in_b)) == (["big"], [])
    assert scalar(app, "SELECT count(*) FROM decisions WHERE store_id = :s AND policy LIKE 'rule:%'",
                  s=app.store_id("b")) == 0
    assert client.get("/api/rules", headers=in_store("a")).json()[0]["mode"] == "live"

    # the same name saved in b is b's own rule, at its own version 1; a's is untouched
    changed = client.put("/api/rules", headers=in_store("b"), json={"rules": [{**TAG_BIG, "if": "false"}]})
    assert changed.json() == [{"name": "tag_big", "version": 1, "change": "created"}]
    assert client.get("/api/rules/tag_big", headers=in_store("a")).json()["definition"]["if"] == (
        "order.item_count >= 2")
    dry_b = client.post("/api/rules/test", headers=in_store("b")).json()
    assert (dry_b["events"], [(r["evaluated"], r["fired"]) for r in dry_b["rules"]]) == (3, [(1, 0)])
    bad = client.get("/api/rules", headers={**AUTH, "X-Backroom-Store": "no such/store"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_store")


# -- 8. CLI -----------------------------------------------------------------------------------------------------

CLI_RULES = """
rules:
  - name: tag_big
    when: order_created
    if: order.item_count >= 2
    then: [tag_order(tags='big')]
  - name: repeat_buyer
    when: order_created
    if: customer.orders_count >= 1
    then:
      - set_priority(priority=5)
    mode: off
"""
# the CLI builds its own Backroom on a SystemClock, so `--since` counts back from the real date while the orders
# below carry the fixture's simulated 2026-11-27 09:00: a ten-year window holds them whatever today is
CLI_SINCE = "3650d"


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Any:
    runner = CliRunner()
    env = {"BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(tmp_path)}

    def invoke(*args: str) -> Any:
        return runner.invoke(cli_app, list(args), env=env)

    return invoke


def flat(text: str) -> str:
    """Rich wraps to the console's width: compare text with runs of whitespace as one space."""
    return " ".join(text.split())


def test_cli_checks_applies_lists_switches_and_shows_history(cli: Any, app: Backroom, tmp_path: Path) -> None:
    seed_catalog(app, {"A": (20, 0)})
    good = tmp_path / "rules.yaml"
    good.write_text(CLI_RULES)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLI_RULES.replace("order.item_count >= 2", "order.totl > 5"))

    checked = cli("rules", "check", str(good))
    refused = cli("rules", "check", str(bad))
    refused_apply = cli("rules", "apply", str(bad))

    assert (checked.exit_code, flat(checked.stdout)) == (0, f"ok: 2 rules in {good}")
    assert refused.exit_code == 5
    assert flat(refused.stdout) == f"The rules cannot be saved: tag_big: {TYPO_PROBLEM}"
    assert refused_apply.exit_code == 5
    assert scalar(app, "SELECT count(*) FROM rules") == 0

    applied = cli("rules", "apply", str(good), "--actor", "ada", "--json")
    assert (applied.exit_code, json.loads(applied.stdout)) == (0, [
        {"name": "tag_big", "version": 1, "change": "created", "mode": "shadow"},
        {"name": "repeat_buyer", "version": 1, "change": "created", "mode": "off"}])
    assert json.loads(cli("rules", "apply", str(good), "--json").stdout) == [
        {"name": "tag_big", "version": 1, "change": "unchanged", "mode": "shadow"},
        {"name": "repeat_buyer", "version": 1, "change": "unchanged", "mode": "off"}]

    switched = cli("rules", "mode", "tag_big", "live")
    unknown = cli("rules", "mode", "nope", "live")
    bad_mode = cli("rules", "mode", "tag_big", "loud")
    assert (switched.exit_code, flat(switched.stdout)) == (0, "tag_big is now live")
    assert unknown.exit_code == 3
    assert flat(unknown.stderr).startswith("error: no rule named 'nope'")
    assert bad_mode.exit_code == 2

    listed = cli("rules", "list", "--json")
    assert (listed.exit_code, json.loads(listed.stdout)) == (0, [
        {"name": "tag_big", "mode": "live", "version": 1, "position": 10, "when": "order_created",
         "if": "order.item_count >= 2", "then": ["tag_order"], "fired_live": 0, "fired_shadow": 0},
        {"name": "repeat_buyer", "mode": "off", "version": 1, "position": 20, "when": "order_created",
         "if": "customer.orders_count >= 1", "then": ["set_priority"], "fired_live": 0, "fired_shadow": 0}])

    big = app.ingest_order(order_body("o-1", {"A": 2}), {}, source="api").order_id
    small = app.ingest_order(order_body("o-2", {"A": 1}), {}, source="api").order_id

    history = cli("rules", "history", "tag_big", "--json")
    assert history.exit_code == 0
    assert [{k: v for k, v in h.items() if k != "id"} for h in json.loads(history.stdout)] == [
        {"at": "2026-11-27T09:00:00+00:00", "version": 1, "trigger": "order_created", "subject": f"order:{big}",
         "mode": "live", "inputs": {"order.item_count": 2},
         "outcome": {"mode": "live", "subject": f"order:{big}",
                     "actions": [{"action": "tag_order", "result": "tagged big"}]}}]
    assert (tags_of(app, big or 0), tags_of(app, small or 0)) == (["big"], [])
    assert [r["fired_live"] for r in json.loads(cli("rules", "list", "--json").stdout)] == [1, 0]

    shown = cli("rules", "show", "tag_big", "--json")
    detail = json.loads(shown.stdout)
    assert (detail["mode"], detail["version"], [(v["version"], v["created_by"]) for v in detail["versions"]]) == (
        "live", 1, [(1, "ada")])

    good.write_text(CLI_RULES.replace("order.item_count >= 2", "order.item_count >= 3"))
    assert json.loads(cli("rules", "apply", str(good), "--json").stdout)[0] == {
        "name": "tag_big", "version": 2, "change": "new version", "mode": "shadow"}  # the file's mode wins


def test_cli_dry_run_counts_recorded_orders_and_does_nothing(cli: Any, app: Backroom, tmp_path: Path) -> None:
    seed_catalog(app, {"A": (20, 0)})
    for ext, qty, email in (("o-1", 2, "ada@example.com"), ("o-2", 1, "ada@example.com"),
                            ("o-3", 3, "bob@example.com")):
        app.ingest_order(order_body(ext, {"A": qty}, email=email), {}, source="api")
    path = tmp_path / "rules.yaml"
    path.write_text(CLI_RULES)
    before = footprint(app)

    tested = cli("rules", "test", str(path), "--since", CLI_SINCE, "--json")

    assert tested.exit_code == 0
    report = json.loads(tested.stdout)
    assert (report["events"], report["from"], report["to"]) == (
        9, "2026-11-27T09:00:00+00:00", "2026-11-27T09:00:00+00:00")
    assert [(r["name"], r["mode"], r["evaluated"], r["fired"], r["distinct_subjects"], r["errors"])
            for r in report["rules"]] == [("tag_big", "shadow", 3, 2, 2, 0), ("repeat_buyer", "off", 3, 1, 1, 0)]
    assert footprint(app) == before
    assert scalar(app, "SELECT count(*) FROM rules") == 0
    bad_since = cli("rules", "test", str(path), "--since", "forever")
    assert (bad_since.exit_code, flat(bad_since.stderr)) == (
        5, "error: 'forever' is not a duration like 15m, 24h or 90d")


def test_cli_starter_rules_compile_apply_and_the_catalogues_list_everything(cli: Any, tmp_path: Path) -> None:
    starter = cli("rules", "starter")
    triggers = cli("rules", "triggers", "--json")
    actions = cli("rules", "actions", "--json")
    unknown = cli("rules", "triggers", "nope")

    assert starter.exit_code == 0
    assert starter.stdout == files("backroom.rules").joinpath("starter.yaml").read_text()
    compiled = compile_all(parse_rules_text(starter.stdout))
    assert [(r.name, r.mode.value) for r in compiled] == [
        ("tag_repeat_customer", "live"), ("bulk_order_priority", "live"), ("first_order_high_value", "off"),
        ("backorder_heads_up", "off"), ("stock_low_heads_up", "off"), ("big_first_order_welcome", "shadow"),
        ("bulk_first_order_review", "off")]
    path = tmp_path / "starter.yaml"
    path.write_text(starter.stdout)
    applied = cli("rules", "apply", str(path), "--json")
    assert (applied.exit_code, [(r["name"], r["version"], r["change"], r["mode"])
                                for r in json.loads(applied.stdout)]) == (0, [
        (r.name, 1, "created", r.mode.value) for r in compiled])

    assert [t["name"] for t in json.loads(triggers.stdout)] == [
        "order_created", "stock_reserved", "order_backordered", "backorder_allocated", "fulfillment_requested",
        "order_held", "order_released", "order_shipped", "shipment_delivered", "order_cancelled",
        "review_item_created", "stock_received", "stock_low", "stockout_expected", "order_paid", "order_refunded",
        "checkout_created",
        "checkout_updated", "checkout_completed", "platform_stock_drift"]
    assert json.loads(actions.stdout)[0] == {"name": "tag_order",
                                             "summary": "Add tags to the order (tags: ['vip'] or tags: vip)",
                                             "needs": "order", "params": {"tags": "list"}}
    assert unknown.exit_code == 5


# -- CLI output is printed as text, never read as rich markup ----------------------------------------------------


def test_cli_errors_show_their_code(cli: Any) -> None:
    unknown = cli("rules", "mode", "nope", "live")
    assert (unknown.exit_code, flat(unknown.stderr)) == (3, "error: no rule named 'nope' [rule_not_found]")


def test_cli_check_prints_a_problem_with_brackets_as_it_is(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: Tag Big\n    when: order_created\n    then: [\"tag_order(tags='x')\"]\n")
    checked = cli("rules", "check", str(path))
    assert (checked.exit_code, flat(checked.stdout)) == (
        5, "The rules cannot be saved: Tag Big: name: String should match pattern '^[a-z0-9][a-z0-9_\\-]{0,63}$'")


def test_cli_check_survives_a_rule_name_that_looks_like_markup(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: '[/]'\n    when: order_created\n    then: [\"tag_order(tags='x')\"]\n")
    checked = cli("rules", "check", str(path))
    assert checked.exit_code == 5, repr(checked.exception)
