"""The flows and each flow's funnel over the API (GET /api/flows, GET /api/flows/{name}/funnel): the same data as
`backroom flows list --json` and `backroom flows funnel --flow NAME --json`, behind the bearer token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.conftest import API_TOKEN, AUTH, HttpReceiver, TestClient, api_client, rows
from tests.integration.test_marketing_flows import (
    REMINDER,
    SHOPIFY,
    START,
    abandon,
    at,
    build_app,
    cli,
    enrollment,
    marketing,
)

from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

FLOWS = [
    {"flow": "abandoned_checkout", "trigger": "checkout_abandoned", "enabled": True, "trigger_wired": True,
     "priority": 30, "emails": ["abandoned_checkout_reminder", "abandoned_checkout_discount"]},
    {"flow": "post_purchase", "trigger": "order_delivered", "enabled": False, "trigger_wired": True, "priority": 20,
     "emails": ["review_request", "cross_sell"]},
    {"flow": "win_back", "trigger": "customer_lapsed", "enabled": False, "trigger_wired": True, "priority": 10,
     "emails": ["win_back"]},
]


def zeros(flow: str) -> dict[str, object]:
    return {"flow": flow, "enrolled": 0, "sent": 0, "skipped": {}, "deferred": {}, "exited": {}, "completed": 0,
            "unsubscribed": 0, "converted": 0, "revenue": {}}


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver,
        clock: SimulatedClock) -> Iterator[Backroom]:
    backroom = build_app(database_url, tmp_path, mail, warehouse, clock)
    yield backroom
    backroom.close()


@pytest.fixture
def client(app: Backroom) -> Iterator[TestClient]:
    with api_client(app, shopify=SHOPIFY, api_token=SecretStr(API_TOKEN)) as c:
        yield c


def test_the_flows_list_is_the_cli_s(app: Backroom, client: TestClient) -> None:
    response = client.get("/api/flows", headers=AUTH)

    assert (response.status_code, response.json()) == (200, FLOWS)
    assert json.loads(cli(app, "flows", "list", "--json").stdout) == FLOWS


def test_a_flow_s_funnel_counts_what_it_did_and_is_the_cli_s(
        app: Backroom, client: TestClient, shared_data: Path) -> None:
    abandon(app, client, shared_data)
    at(app, timedelta(hours=1))  # the reminder goes

    response = client.get("/api/flows/abandoned_checkout/funnel", headers=AUTH)

    expected = {**zeros("abandoned_checkout"), "enrolled": 1, "sent": 1}
    assert (response.status_code, response.json()) == (200, expected)
    assert json.loads(cli(app, "flows", "funnel", "--flow", "abandoned_checkout", "--json").stdout) == [expected]


def test_a_flow_nobody_entered_shows_zeros_and_an_unknown_flow_is_404(client: TestClient) -> None:
    quiet = client.get("/api/flows/win_back/funnel", headers=AUTH)
    unknown = client.get("/api/flows/no_such_flow/funnel", headers=AUTH)

    assert (quiet.status_code, quiet.json()) == (200, zeros("win_back"))
    assert (unknown.status_code, unknown.json()) == (404, {"error": "flow_not_found",
                                                           "message": "no flow named no_such_flow"})


def test_the_flows_endpoints_need_the_token(client: TestClient) -> None:
    for path in ("/api/flows", "/api/flows/abandoned_checkout/funnel"):
        refused = client.get(path)
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")
        assert (wrong.status_code, wrong.json()["error"]) == (401, "unauthorized")


# -- the store's own time zone (quiet hours for customers of unknown zone, business hours, the nightly plan) ---------


def test_the_store_s_time_zone_is_set_by_api_or_cli_checked_and_recorded(app: Backroom, client: TestClient) -> None:
    profile = {"store": "default", "name": "default", "currency": "GBP", "timezone": "UTC"}
    assert (client.get("/api/store", headers=AUTH).json()) == profile
    assert client.get("/api/store").status_code == 401
    assert client.patch("/api/store", json={"timezone": "Europe/London"}).status_code == 401

    changed = client.patch("/api/store", json={"timezone": "America/Los_Angeles"}, headers=AUTH)
    unknown = client.patch("/api/store", json={"timezone": "Mars/Olympus_Mons"}, headers=AUTH)
    sneaky = client.patch("/api/store", json={"timezone": "../../etc/passwd"}, headers=AUTH)
    region = client.patch("/api/store", json={"timezone": "Europe"}, headers=AUTH)  # a folder of zones, not one
    extra = client.patch("/api/store", json={"timezone": "Europe/Paris", "currency": "EUR"}, headers=AUTH)
    typed = cli(app, "store", "timezone", "Europe/London")
    with pytest.raises(AssertionError, match=r"(?s)unknown time zone 'Europe/Londn'.*unknown_timezone.*assert 5 == 0"):
        cli(app, "store", "timezone", "Europe/Londn")  # exit 5 (cli() insists on 0)

    assert (changed.status_code, changed.json()) == (200, {**profile, "timezone": "America/Los_Angeles"})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unknown_timezone")
    assert (sneaky.status_code, sneaky.json()["error"]) == (400, "unknown_timezone")
    assert (region.status_code, region.json()["error"]) == (400, "unknown_timezone")
    assert extra.status_code == 422
    assert (typed.exit_code, typed.stdout.strip()) == (0, "default: time zone Europe/London")
    assert json.loads(cli(app, "store", "show", "--json").stdout) == {**profile, "timezone": "Europe/London"}
    assert [tuple(r) for r in rows(app, "SELECT data->>'from', data->>'to', data->>'via' FROM events"
                                        " WHERE name = 'store_timezone_changed' ORDER BY id")] == [
        ("UTC", "America/Los_Angeles", "api"), ("America/Los_Angeles", "Europe/London", "cli")]


def test_quiet_hours_follow_the_store_s_zone_for_a_customer_whose_own_zone_is_unknown(
        app: Backroom, client: TestClient, mail: MailCatcher, shared_data: Path) -> None:
    client.patch("/api/store", json={"timezone": "America/Los_Angeles"}, headers=AUTH)
    abandon(app, client, shared_data)  # no order yet, so no shipping address: the store's zone stands in

    at(app, timedelta(hours=1))  # 10:00 UTC is 02:00 in Los Angeles: quiet

    assert marketing(mail) == []
    assert enrollment(app)[3:5] == ("deferred", START + timedelta(hours=7))  # to 08:00 PST
    at(app, timedelta(hours=7))
    assert [m["Message-ID"] for m in marketing(mail)] == [REMINDER]
