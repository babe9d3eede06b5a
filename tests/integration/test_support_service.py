"""The support agent on the real database: the transcript, the conversation's memory across messages, a
cancellation through the order pipeline after the customer's yes, and a handover as a review item with what a person
needs. The language layer is a test double here (its own tests measure it); everything else is real."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from tests.conftest import order_body, rows, seed_catalog

from backroom.adapters.db.uow import SqlUnitOfWork
from backroom.bootstrap import Backroom
from backroom.support.commands import HandleSupportMessage
from backroom.support.model import Citation, Understanding
from backroom.support.service import SupportOutcome, SupportSettings, handle_support_message

pytestmark = pytest.mark.integration


class Keywords:
    """Understands by keywords: enough to drive the conversation deterministically."""

    def understand(self, text: str, catalog: Sequence[str]) -> Understanding:
        low = text.lower()
        intent = next((i for k, i in (("cancel", "cancel_order"), ("where", "order_status"),
                                      ("address", "change_address"), ("human", "human_agent"),
                                      ("return policy", "policy_question"))
                       if k in low), "out_of_scope")
        return Understanding(intent, 0.9, intent != "out_of_scope",
                             order_numbers=tuple(re.findall(r"#\w+", text)),
                             emails=tuple(re.findall(r"[\w.]+@[\w.]+", text)),
                             affirmative=low.strip() == "yes", negative=low.strip() == "no")


class Policies:
    def answer(self, question: str) -> tuple[str, Citation] | None:
        return ("Returns are free within 30 days.", Citation("returns.md", "Returns")) if "return" in question \
            else None


def say(app: Backroom, text: str, conversation: str = "c1", email: str | None = None) -> SupportOutcome:
    settings = SupportSettings(Keywords(), Policies())
    uow = SqlUnitOfWork(app.engine, app.store_id(), app.clock)
    return handle_support_message(HandleSupportMessage("widget", conversation, text, email, email is not None), uow,
                                  settings)


def test_a_verified_customer_cancels_after_saying_yes_and_the_pipeline_does_the_rest(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("O1", {"MUG": 2}, email="ada@example.com"), {}, source_id="o1")
    first = say(app, "please cancel #O1, I'm ada@example.com")
    assert first.reply.text == "I can cancel order #O1 (2 items, 40.00 GBP). Shall I go ahead? Reply yes to confirm."
    assert rows(app, "SELECT status FROM orders") == [("fulfillment_requested",)]
    done = say(app, "yes")
    assert done.reply.actions == [{"action": "cancel_order", "order": "#O1", "outcome": "cancelled"}]
    assert rows(app, "SELECT status FROM orders") == [("cancelled",)]
    assert rows(app, "SELECT sum(reserved) FROM stock_levels WHERE sku = 'MUG'") == [(0,)]
    assert rows(app, "SELECT direction, text FROM support_messages ORDER BY id") == [
        ("in", "please cancel #O1, I'm ada@example.com"), ("out", first.reply.text), ("in", "yes"),
        ("out", "Done — order #O1 is cancelled. Any payment taken will be refunded to the original payment method.")]
    assert rows(app, "SELECT status, messages, last_intent FROM support_conversations") == [("open", 4, "out_of_scope")]
    assert rows(app, "SELECT policy, inputs->>'intent' FROM decisions WHERE policy IN ('support_agent',"
                     " 'order_cancellation') ORDER BY id") == [
        ("support_agent", "cancel_order"), ("order_cancellation", None), ("support_agent", "out_of_scope")]


def test_someone_elses_order_reveals_nothing_and_a_handover_lands_in_review(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("O1", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")
    probe = say(app, "where is #O1? I'm eve@example.com", "c2")
    assert probe.reply.text == ("I couldn't match those details. Please check the order number and send the email "
                                "address or postal code used on the order.")
    human = say(app, "get me a human", "c2")
    assert human.reply.handover is not None
    [(reason, subject, title, context)] = rows(app, "SELECT reason_code, subject_type, title, context"
                                                    " FROM review_items")
    assert (reason, subject, title) == ("support_handover", "conversation",
                                        f"Support conversation {_conv_id(app)}: asked for human")
    assert (context["reason"], context["verified"], [m["from"] for m in context["transcript"]]) == (
        "asked_for_human", False, ["customer", "agent", "customer", "agent"])
    assert "ada@example.com" not in str(context)
    again = say(app, "hello?", "c2")
    assert again.reply.handover is not None
    assert rows(app, "SELECT count(*) FROM review_items") == [(1,)]  # one item per handed-over conversation
    assert rows(app, "SELECT status FROM support_conversations") == [("handed_over",)]


def test_an_empty_or_control_only_message_is_refused(app: Backroom) -> None:
    from backroom.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        say(app, "\x00\x07  ")
    assert err.value.code == "empty_message"
    assert rows(app, "SELECT count(*) FROM support_conversations") == [(0,)]


def _conv_id(app: Backroom) -> int:
    return int(rows(app, "SELECT id FROM support_conversations")[0][0])


def test_a_backordered_orders_address_is_changed_after_a_yes_and_a_bad_one_is_refused(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (0, 0)})
    app.ingest_order(order_body("O1", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")
    assert rows(app, "SELECT status FROM orders") == [("backordered",)]
    bad = say(app, "new address for #O1 please: 12 High Street, Leeds, 12345. ada@example.com")
    assert bad.reply.text == ("I can change the delivery address of order #O1 to: 12 High Street, Leeds, 12345, GB. "
                              "Shall I go ahead? Reply yes to confirm.")
    refused = say(app, "yes")
    assert refused.reply.text == ("I couldn't use that address (postal code: invalid). Please send the full new "
                                  "address again.")
    assert (refused.reply.actions, rows(app, "SELECT shipping_address->>'line1' FROM orders")) == (
        [], [("10 Downing Street",)])
    offer = say(app, "22 Colmore Row, Birmingham B3 2QD")
    assert offer.reply.text == ("I can change the delivery address of order #O1 to: 22 Colmore Row, Birmingham, "
                                "B3 2QD, GB. Shall I go ahead? Reply yes to confirm.")
    done = say(app, "yes")
    assert done.reply.actions == [{"action": "change_address", "order": "#O1", "outcome": "address changed"}]
    assert rows(app, "SELECT shipping_address->>'name', shipping_address->>'line1', shipping_address->>'city',"
                     " shipping_address->>'postal_code', status FROM orders") == [
        ("Ada Lovelace", "22 Colmore Row", "Birmingham", "B3 2QD", "backordered")]
    [(inputs, outcome)] = rows(app, "SELECT inputs, outcome FROM decisions WHERE policy = 'order_address_change'")
    assert (inputs["before"]["line1"], outcome["after"]["line1"], outcome["actor"]) == (
        "10 Downing Street", "22 Colmore Row", "support_agent")


def test_an_address_the_warehouse_already_has_goes_to_a_person_unchanged(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("O1", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")
    reply = say(app, "change the address of #O1 to 22 Colmore Row, Birmingham B3 2QD, ada@example.com")
    assert (reply.reply.handover.value if reply.reply.handover else None, reply.reply.actions) == (
        "needs_a_person", [])
    assert rows(app, "SELECT shipping_address->>'line1', status FROM orders") == [
        ("10 Downing Street", "fulfillment_requested")]


def test_a_rule_that_tags_an_order_vip_makes_the_agent_hand_its_cancellation_to_a_person(app: Backroom) -> None:
    from backroom.adapters.db import rules as rules_db
    from backroom.rules.model import parse_rules_text

    rules_db.save_rules(app.engine, app.store_id(), parse_rules_text("""
rules:
  - name: vip_by_email
    when: order_created
    if: order.email.endsWith('@bigclient.example')
    then:
      - tag_order(tags=['vip'])
    mode: live
"""), "test", app.clock.now())
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("O1", {"MUG": 1}, email="buyer@bigclient.example"), {}, source_id="o1")
    app.ingest_order(order_body("O2", {"MUG": 1}, email="ada@example.com"), {}, source_id="o2")
    app.drain()
    vip = say(app, "please cancel #O1, buyer@bigclient.example", "vip")
    assert (vip.reply.handover.value if vip.reply.handover else None, vip.reply.actions) == ("high_value", [])
    plain = say(app, "please cancel #O2, ada@example.com", "plain")
    assert plain.reply.text.startswith("I can cancel order #O2")
    assert rows(app, "SELECT number, status FROM orders ORDER BY number") == [
        ("#O1", "fulfillment_requested"), ("#O2", "fulfillment_requested")]
