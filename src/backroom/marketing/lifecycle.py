"""Flows that follow a customer's orders rather than a checkout: ``order_placed`` enrolls from a new order, in the
transaction that records it (once the order is written); ``order_delivered`` (post-purchase) from the order
pipeline's delivery, in the transaction that records it; ``customer_lapsed`` (win-back) from a daily scan of
customers quiet for longer than their own repurchase interval (``lapse``). Their facts are read fresh at every
wake like a checkout's: the order as it is now (``refunded`` once paid back in full), the customer's purchases and
interval, and — only when a cross-sell is the next email — what to recommend, computed then from the store's order
history and kept in the email it goes with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment, enroll
from backroom.marketing.lapse import customer_object, lapse_after, repurchase_interval, shortest_lapse
from backroom.marketing.model import Flow, SendEmail
from backroom.marketing.ports import MarketingUnitOfWork, Snapshot, StoredEnrollment
from backroom.marketing.steps import RECOMMENDING_TEMPLATES, Facts
from backroom.service_layer.messages import RecordedEvent

DELIVERED_EVENT = "shipment_delivered"  # what the order pipeline records when the carrier delivers
PLACED_EVENT = "order_created"  # what the order pipeline records when an order arrives
#: an order placed longer ago than this when backroom records it is history (an import, a backfill), not a
#: purchase happening now: it enrolls no one in order_placed flows
PLACED_RECENTLY = timedelta(hours=24)
ORDER = "order"  # the enrollments' subject: the delivered order, or the lapsed customer's last order
RECOMMENDATIONS = 3  # products a cross-sell shows at most
SCAN_BATCH = 500  # lapsed candidates read per query


def enroll_customer(uow: MarketingUnitOfWork, flow: Flow, email: str, subject_id: int, objects: Mapping[str, Any],
                    step_since: datetime | None = None, subject_type: str = ORDER) -> bool:
    """``email`` enters ``flow`` for this order (or checkout) unless the domain refuses (in it, cool-down, filter) or
    the subject entered it before (unique per store, flow and subject). ``step_since``: when the first wait started
    counting."""
    repo = uow.marketing
    now = uow.clock.now()
    result = enroll(flow, repo.next_id(), email, objects, now, repo.history(flow.name, email), str(subject_id))
    if not isinstance(result, Enrollment):
        return False
    if step_since is not None:
        result = replace(result, step_since=step_since)
    return repo.add(StoredEnrollment(result, email, subject_type, subject_id, now))


def enroll_delivered(uow: MarketingUnitOfWork, flows: list[Flow], event: RecordedEvent) -> list[str]:
    """A delivered order enrolls its buyer in the enabled ``order_delivered`` flows; the names entered."""
    if event.subject_id is None or not flows:  # the caller dispatches on the event's name
        return []
    order = uow.marketing.order(event.subject_id)
    if order is None or not order["email"]:
        return []
    if order["status"] != "refunded":
        order = {**order, "status": "delivered"}  # this transaction writes the order's new status at its commit
    return _enroll_buyer(uow, flows, event.subject_id, order)


def enroll_placed(uow: MarketingUnitOfWork, flows: list[Flow], event: RecordedEvent) -> list[str]:
    """A new order enrolls its buyer in the enabled ``order_placed`` flows, read as flows see orders once it is
    written (the unit of work runs this after writing it, in the same transaction); the names entered. An order
    placed more than PLACED_RECENTLY before now (history being imported) enrolls no one."""
    if event.subject_id is None or not flows:
        return []
    order = uow.marketing.order(event.subject_id)
    if order is None or not order["email"] or order["status"] == "cancelled":
        return []
    if datetime.fromisoformat(order["placed_at"]) < uow.clock.now() - PLACED_RECENTLY:
        return []
    return _enroll_buyer(uow, flows, event.subject_id, order)


def _enroll_buyer(uow: MarketingUnitOfWork, flows: list[Flow], order_id: int, order: dict[str, Any]) -> list[str]:
    """The order's buyer enters these flows, their conditions seeing the order and the customer; the names entered."""
    objects = {"order": order, "customer": _customer(uow, order["email"])}
    return [f.name for f in flows if enroll_customer(uow, f, order["email"], order_id, objects)]


def scan_lapsed(uow: MarketingUnitOfWork, flows: Iterable[Flow], batch: int = SCAN_BATCH) -> list[str]:
    """Subscribed customers whose time since their last order exceeds their own lapse time (``lapse``) enter the
    enabled ``customer_lapsed`` flows, once per last order and never within the flow's cool-down; the flow's first
    wait counts from that last order, so it has run out. The addresses entered, one per enrollment."""
    now = uow.clock.now()
    entered: list[str] = []
    for flow in flows:
        after: tuple[datetime, int] | None = None
        while True:
            found = uow.marketing.lapse_candidates(flow.name, now - shortest_lapse(flow), now - flow.reentry_cooldown,
                                                   batch, after)
            for c in found:
                placed = [at for at, _ in c.purchases]
                last = max(placed)
                if now < last + lapse_after(flow, repurchase_interval(placed)):
                    continue
                spent = float(sum(total for _, total in c.purchases))
                if enroll_customer(uow, flow, c.email, c.last_order_id,
                                   {"customer": customer_object(c.email, placed, spent, now)}, last):
                    entered.append(c.email)
            if len(found) < batch:
                break
            after = (max(at for at, _ in found[-1].purchases), found[-1].last_order_id)
    return entered


def order_facts(uow: MarketingUnitOfWork, snapshot: Snapshot, stored: StoredEnrollment, flow: Flow | None,
                now: datetime) -> Facts:
    """What is true now for an enrollment that follows an order (from the tick's snapshot; the recommendations
    are read only when a cross-sell is the next email)."""
    order = snapshot.orders.get(stored.subject_id)
    purchases = snapshot.purchases.get(stored.email, [])
    recommendations = None
    if flow is not None and _recommends_next(flow, stored.enrollment.step):
        recommendations = tuple(uow.marketing.recommendations(stored.subject_id, stored.email, RECOMMENDATIONS))
    zone = snapshot.zones.get(stored.email)
    objects = {"customer": {**customer_object(stored.email, [at for at, _ in purchases],
                                              float(sum(total for _, total in purchases)), now),
                            "timezone": zone.key if zone is not None else ""},
               "order": order if order is not None else {"status": "cancelled"}}  # an order gone is no order
    # "ordered since": placed after the order the enrollment follows (the delivered one, or the lapsed customer's
    # last), whenever backroom recorded it
    return Facts(snapshot.consent.get(stored.email, Consent.NEVER), stored.email in snapshot.bounced,
                 snapshot.orders_after.get(stored.enrollment.id, 0), repurchase_interval([at for at, _ in purchases]),
                 objects, recommendations)


def _recommends_next(flow: Flow, step: int) -> bool:
    """The next email of the flow shows recommendations (so they are read only when it may go)."""
    nxt = next((s for s in flow.steps[step:] if isinstance(s, SendEmail)), None)
    return nxt is not None and nxt.template in RECOMMENDING_TEMPLATES


def _customer(uow: MarketingUnitOfWork, email: str) -> dict[str, Any]:
    purchases = uow.marketing.purchases(email)
    return customer_object(email, [at for at, _ in purchases], float(sum(total for _, total in purchases)),
                           uow.clock.now())


@dataclass(frozen=True)
class Links:
    """Where the order-following emails point: a product's page and where to review it, as URL patterns with
    ``{sku}`` (URL-encoded) and ``{order_number}``; "" shows no link."""

    product: str = ""
    review: str = ""

    def of(self, pattern: str, sku: str, order_number: str = "") -> str:
        return pattern.format(sku=quote(sku, safe=""), order_number=quote(order_number, safe="")) if pattern else ""


def email_extras(facts: Facts, links: Links = Links()) -> dict[str, Any]:
    """What an order-following email shows besides the discount and the unsubscribe link: the order (its number,
    lines, total, each line's product and review links) and, for a cross-sell, the recommendations as they were
    read for this send, with their product links."""
    order = facts.objects.get("order")
    if not order or "number" not in order:
        return {}
    number = order["number"]
    return {
        "customer_name": order.get("customer_name", ""),
        "order_number": number,
        "lines": [{"title": ln["title"] or ln["sku"], "sku": ln["sku"], "quantity": ln["quantity"],
                   "unit_price": f"{ln['unit_price']:.2f}", "line_total": f"{ln['total']:.2f}",
                   "url": links.of(links.product, ln["sku"], number),
                   "review_url": links.of(links.review, ln["sku"], number)} for ln in order["lines"]],
        "currency": order["currency"],
        "total": f"{order['total']:.2f}",
        "recommendations": [{**r, "url": links.of(links.product, str(r["sku"]), number)}
                            for r in facts.recommendations or ()],
    }


def sample_extras(links: Links = Links(), lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What ``backroom flows preview`` adds for the order-following emails (``lines``: the sample's, given the
    links the settings make)."""
    number = "#1001"
    return {"order_number": number,
            "lines": [{**ln, "url": links.of(links.product, ln["sku"], number),
                       "review_url": links.of(links.review, ln["sku"], number)} for ln in lines or []],
            "recommendations": [{"sku": sku, "title": title, "buyers": buyers,
                                 "url": links.of(links.product, sku, number)}
                                for sku, title, buyers in (("BULB", "LED bulb", 12), ("CORD", "Braided cord", 7))]}
