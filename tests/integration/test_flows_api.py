"""The flows and each flow's funnel over the API (GET /api/flows, GET /api/flows/{name}/funnel): the same data as
`backroom flows list --json` and `backroom flows funnel --flow NAME --json`, behind the bearer token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.conftest import API_TOKEN, AUTH, HttpReceiver, TestClient, api_client
from tests.integration.test_marketing_flows import SHOPIFY, abandon, at, build_app, cli

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
