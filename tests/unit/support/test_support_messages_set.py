"""The team's labelled support conversations (bench/support_messages.yaml): well-formed, and a few of them run end to
end through the agent, the shipped classifier and the bundled policies with the bench's own judge."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backroom.support.model import Understanding
from backroom.support.understanding import ClassifierInterpreter, LibraryAnswers

BENCH = Path(__file__).resolve().parents[3] / "bench"
ORDER_MENTION = re.compile(r"#(\d{4})\b|\border(?: number)? (\d{4})\b", re.I)


@pytest.fixture(scope="module")
def agent_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_eval_under_test", BENCH / "agent_eval.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def labelled(agent_eval: ModuleType) -> dict[str, Any]:
    data: dict[str, Any] = agent_eval.load_messages()
    return data


def test_the_set_is_well_formed(labelled: dict[str, Any], agent_eval: ModuleType) -> None:
    store, cases = labelled["store"], labelled["cases"]
    orders = agent_eval.store_orders(store)
    products = agent_eval.store_products(store)
    assert len(orders) >= 8
    assert len(products) >= 8
    assert any(o.total >= 1000 for o in orders.values())
    assert {o.status for o in orders.values()} >= {"fulfillment_requested", "shipped", "delivered", "cancelled",
                                                   "backordered"}
    assert all(o.shipments for o in orders.values() if o.status == "shipped")
    assert len(cases) >= 150
    assert len({c["id"] for c in cases}) == len(cases)
    allowed = {"id", "category", "text", "turns", "automate", "must_contain", "must_not_contain", "actions", "sender",
               "unknown_orders"}
    for case in cases:
        assert set(case) <= allowed, case["id"]
        assert ("text" in case) != ("turns" in case), case["id"]
        turns = agent_eval.case_turns(case)
        assert turns, case["id"]
        assert all(t.strip() for t in turns), case["id"]
        assert isinstance(case["automate"], bool), case["id"]
        assert case.get("category"), case["id"]
        for fact in case.get("must_contain", []) + case.get("must_not_contain", []):
            assert all(isinstance(x, str) and x for x in (fact if isinstance(fact, list) else [fact])), case["id"]
        if not case["automate"]:
            assert not case.get("must_contain"), case["id"]
            assert not case.get("actions"), case["id"]
        for action in case.get("actions", []):
            kind, number = action.split()
            assert kind in ("cancel_order", "change_address", "start_return"), case["id"]
            assert number in orders, case["id"]
        unknown = set(case.get("unknown_orders", []))
        for text in turns:
            for m in ORDER_MENTION.finditer(text):
                number = "#" + (m.group(1) or m.group(2))
                assert number in orders or number in unknown, (case["id"], number)
        if "sender" in case:
            assert any(o.email == case["sender"]["email"] for o in orders.values()), case["id"]
    categories = {c["category"] for c in cases}
    assert categories >= {"order_status", "cancel", "cancel_shipped", "policy_returns", "policy_shipping",
                          "policy_payments", "policy_sizing", "product", "small_talk", "typos", "two_questions",
                          "angry", "human_request", "legal", "out_of_scope", "other_language", "prompt_injection",
                          "someone_elses_order", "returns", "change_address", "refund_status"}


@pytest.fixture(scope="module")
def interpreter() -> ClassifierInterpreter:
    return ClassifierInterpreter()


@pytest.mark.parametrize(("case_id", "outcome", "handover", "actions"), [
    ("status-shipped-email", "resolved", None, []),
    ("cancel-yes-email", "resolved", None, ["cancel_order #1001"]),
    ("inject-piggyback", "resolved", None, []),
    ("other-cancel-attempt", "resolved", None, []),
    ("legal-chargeback", "handed_over", "legal_or_dispute", []),
    ("return-which-items", "resolved", None, ["start_return #1010"]),
    ("address-asked-for", "resolved", None, ["change_address #1006"]),
    ("person-address-unshipped", "handed_over", "needs_a_person", []),
    ("person-faulty-item", "handed_over", "needs_a_person", []),
])
def test_hand_picked_cases_end_to_end(case_id: str, outcome: str, handover: str | None, actions: list[str],
                                      labelled: dict[str, Any], agent_eval: ModuleType,
                                      interpreter: ClassifierInterpreter) -> None:
    case = next(c for c in labelled["cases"] if c["id"] == case_id)
    result = agent_eval.run_case(case, labelled["store"], interpreter, LibraryAnswers())
    assert (result["outcome"], result["handover"], result["actions"], result["problems"], result["wrong"]) == (
        outcome, handover, actions, [], False)


class Fixed:
    """An interpreter that understands every message the same way: to test the judge, not the classifier."""

    def __init__(self, u: Understanding) -> None:
        self.u = u

    def understand(self, text: str, catalog: object) -> Understanding:
        return self.u


def test_the_judge_counts_missing_facts_leaks_actions_and_answers_that_should_have_gone_to_a_person(
        labelled: dict[str, Any], agent_eval: ModuleType) -> None:
    store = labelled["store"]
    status = Fixed(Understanding("order_status", 0.9, True, ("1002",), ("ben.carter@example.com",)))
    case = {"id": "t", "text": "where is #1002", "automate": True, "must_contain": ["30 days", ["royal mail", "x"]],
            "must_not_contain": ["AB123456789GB"], "actions": ["cancel_order #1002"]}
    result = agent_eval.run_case(case, store, status, LibraryAnswers())
    assert (result["outcome"], result["wrong"]) == ("wrong", True)
    assert result["problems"] == ["missing '30 days'", "contains 'AB123456789GB'",
                                  "actions [] (expected ['cancel_order #1002'])"]
    should_not = agent_eval.run_case({"id": "t", "text": "x", "automate": False}, store, status, LibraryAnswers())
    assert (should_not["outcome"], should_not["problems"]) == ("wrong", ["answered a case that should go to a person"])
    person = Fixed(Understanding("human_agent", 0.9, True))
    handed = agent_eval.run_case({"id": "t", "text": "a person please", "automate": True}, store, person,
                                 LibraryAnswers())
    assert (handed["outcome"], handed["automated"], handed["wrong"]) == ("handed_over_should_automate", False, False)
