"""The τ-bench retail world at scale: 80 of its orders (20 in each state) loaded through the real import, and three
scripted conversations per order through the real language layer and agent — 240 conversations whose expected
outcome is computed from the world itself, not hand-written: the owner (proving it with the order's zip code) gets
the order's real state; someone with another order's zip gets the same refusal for every order and learns nothing;
a cancellation is offered exactly when τ's policy allows it (a pending order), after proof, and refused otherwise."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import rows

from backroom.bootstrap import Backroom
from backroom.demo.tau_store import load_tau_store
from backroom.support.commands import HandleSupportMessage
from backroom.support.model import Reply
from backroom.support.tau import TauOrder, TauWorld, load_world

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

PER_STATE = 20
REFUSAL = ("I couldn't match those details. Please check the order number and send the email address or postal code "
           "used on the order.")


@pytest.fixture(scope="module")
def world(shared_data: Path) -> TauWorld:
    return load_world(shared_data / "support" / "tau_bench_retail")


def sample(world: TauWorld) -> list[TauOrder]:
    by_state: dict[str, list[TauOrder]] = {}
    for order in sorted(world.orders.values(), key=lambda o: o.id):
        by_state.setdefault(order.status, []).append(order)
    return [o for state in ("pending", "processed", "delivered", "cancelled") for o in by_state[state][:PER_STATE]]


def say(app: Backroom, text: str, conversation: str) -> Reply:
    reply: Reply = app.handle(HandleSupportMessage("widget", conversation, text), "tau").reply
    return reply


def expected_status(order: TauOrder) -> str:
    if order.status == "pending":
        return f"Order {order.id} is being packed at our warehouse."
    if order.status == "processed":
        tracking = order.tracking_ids[0] if order.tracking_ids else f"TAU{order.id.lstrip('#')}"
        return f"Order {order.id} has shipped with UPS, tracking number {tracking}:"
    if order.status == "delivered":
        return f"Order {order.id} was delivered on 27 November."
    return f"Order {order.id} was cancelled."


def test_240_conversations_reveal_only_to_the_owner_and_act_only_within_policy(app: Backroom,
                                                                                world: TauWorld) -> None:
    orders = sample(world)
    load_tau_store(app, world, "tau", [o.id for o in orders])
    spend: dict[str, Decimal] = {}
    for o in orders:
        if o.status != "cancelled":
            spend[o.user_id] = spend.get(o.user_id, Decimal(0)) + sum((i.price for i in o.items), Decimal(0))
    outcomes: dict[str, list[str]] = {"status": [], "stranger": [], "cancel": []}
    for n, order in enumerate(orders):
        stranger_zip = next(o.address.zip for o in orders if o.user_id != order.user_id
                            and o.address.zip != order.address.zip)
        status = say(app, f"Hi, where is my order {order.id}? My zip code is {order.address.zip}", f"s{n}")
        outcomes["status"].append("ok" if status.text.startswith(expected_status(order)) and status.verified
                                  else f"{order.id}: {status.text}")
        stranger = say(app, f"where is order {order.id}? zip {stranger_zip}", f"x{n}")
        outcomes["stranger"].append("ok" if (stranger.text, stranger.verified) == (REFUSAL, False)
                                    else f"{order.id}: {stranger.text}")
        cancel = say(app, f"Please cancel my order {order.id}, zip {order.address.zip}", f"c{n}")
        total = sum((i.price for i in order.items), Decimal(0))
        if order.status == "pending" and total < 1000 and spend[order.user_id] < 2500:
            good = cancel.text.startswith(f"I can cancel order {order.id} (") and cancel.handover is None
        elif order.status == "pending":
            good = cancel.handover is not None and cancel.handover.value == "high_value"
        else:
            good = cancel.handover is None and cancel.text == {
                "processed": f"Order {order.id} has already shipped, so it can't be cancelled — you can return it "
                             "once it arrives.",
                "delivered": f"Order {order.id} has been delivered, so it can't be cancelled — you can return it "
                             "instead.",
                "cancelled": f"Order {order.id} is already cancelled."}[order.status]
        outcomes["cancel"].append("ok" if good and not cancel.actions else f"{order.id}: {cancel.text}")
    assert {k: [x for x in v if x != "ok"] for k, v in outcomes.items()} == {"status": [], "stranger": [],
                                                                            "cancel": []}
    assert {k: len(v) for k, v in outcomes.items()} == {"status": 80, "stranger": 80, "cancel": 80}
    # nothing was done: no "yes" was ever said
    assert rows(app, "SELECT count(*) FROM orders WHERE store_id = :s AND status = 'cancelled'",
                s=app.store_id("tau")) == [(PER_STATE,)]  # the world's own cancelled ones, no more
    assert rows(app, "SELECT count(*) FROM decisions WHERE policy = 'order_cancellation' AND trigger LIKE"
                     " 'cancel:support%'") == [(0,)]
