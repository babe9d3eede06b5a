"""The optional language model, against a small local server speaking the /v1/chat/completions wire format: it may
route a message the classifier is unsure of and reword a reply, but a rewording that states a fact the reply did
not (a date, an amount, a link) is thrown away, and a model that fails changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import HttpReceiver, MailCatcher, make_settings, order_body, seed_catalog

from backroom.bootstrap import Backroom, build
from backroom.shared.clock import SimulatedClock
from backroom.support.commands import HandleSupportMessage
from backroom.support.llm import facts, grounded

pytestmark = pytest.mark.integration


class FakeModel:
    """Answers like a chat model would: a label for labelling prompts, a rewording for phrasing prompts."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.rewording = ""
        self.label = "order_status"
        self.status = 200
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                system = body["messages"][0]["content"]
                content = model.label if system.startswith("You label") else model.rewording
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(model.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def app(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, clock: SimulatedClock,
        model: FakeModel) -> Iterator[Backroom]:
    settings = make_settings(database_url, tmp_path, mail, warehouse).model_copy(
        update={"llm_url": model.url, "llm_model": "local-test"})
    backroom = build(settings, clock=clock, migrate_schema=False)
    yield backroom
    backroom.close()


def say(app: Backroom, text: str, conversation: str = "c1") -> Any:
    return app.handle(HandleSupportMessage("api", conversation, text, "ada@example.com", True)).reply


def test_the_model_rewords_but_a_new_fact_is_thrown_away(app: Backroom, model: FakeModel) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("1001", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")
    model.rewording = "Good news, Ada! Your order #1001 is being packed at our warehouse right now."
    assert say(app, "where is my order #1001?").text == model.rewording
    model.rewording = "Your order #1001 is being packed and will arrive on 2 December with free shipping over £50."
    assert say(app, "where is my order #1001?", "c2").text == "Order #1001 is being packed at our warehouse."
    [call] = [r for r in model.requests if r["body"]["messages"][0]["content"].startswith("Rewrite")][:1]
    assert (call["path"], call["body"]["model"], call["body"]["temperature"]) == ("/v1/chat/completions",
                                                                                  "local-test", 0)


def test_an_unsure_message_may_be_routed_by_the_model_and_a_failing_model_changes_nothing(
        app: Backroom, model: FakeModel) -> None:
    model.label = "human_agent"
    routed = say(app, "blorp the frobnicator please")
    assert (routed.intents, routed.handover.value if routed.handover else None) == (["human_agent"],
                                                                                    "asked_for_human")
    model.label = "make me a sandwich"  # not a label: ignored
    ignored = say(app, "blorp the frobnicator please", "c2")
    assert (ignored.intents, ignored.handover.value if ignored.handover else None) == (["out_of_scope"],
                                                                                      "out_of_scope")
    model.status = 500
    down = say(app, "hello", "c3")
    assert (down.text, down.handover) == ("Hello! How can I help you today?", None)


def test_facts_are_numbers_links_and_emails() -> None:
    assert facts("Order #1001 ships with DPD: https://t.example/1 by 2 December, £3.95, ada@example.com.") == {
        "#1001", "https://t.example/1", "2", "£3.95", "ada@example.com"}
    assert grounded("Hi! Order #1001 is packed.", "Order #1001 is being packed at our warehouse.")
    assert not grounded("Order #1002 is packed.", "Order #1001 is being packed at our warehouse.")
