"""Flows at work: enrolling customers as checkouts arrive, and the tick that wakes due enrollments, decides with
fresh facts, paces the messages through the frequency cap and quiet hours, and asks for the emails.

Everything happens in the store's unit of work: an enrollment is written in the transaction that recorded its
checkout, and a tick writes the enrollment's next state, the send in the ledger and the email effect (keyed by the
domain's stable message key, which is also the Message-ID) in one transaction, so a crash before the commit sends
nothing and a crash after it sends once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backroom.marketing import lifecycle
from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment, Happened, State
from backroom.marketing.frequency import Due, pace
from backroom.marketing.model import Flow
from backroom.marketing.ports import Discount, MarketingUnitOfWork, Sent, Snapshot, StoredEnrollment
from backroom.marketing.quiet_hours import QuietHours
from backroom.marketing.steps import Decision, ExitFlow, Facts, MakeDiscount, Send, WaitUntil, apply, defer, run
from backroom.orders.checkouts import Checkout, CheckoutLine
from backroom.rules.context import checkout_context
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import RecordedEvent

AUTOMATION = "marketing_emails"  # the automation marketing mail runs under: live, shadow or off per store
CHECKOUT_EVENTS = frozenset({"checkout_created", "checkout_updated"})
FLOW_DISABLED = "flow_disabled"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand
#: the effect that creates a flow's code on the store's platform (connectors/discounts.py), under AUTOMATION so
#: shadow mode shadows the code with the email that carries it
DISCOUNT_EFFECT = "platform_discount"
#: the effect that records a one-click unsubscribe on the customer's Shopify record (connectors/consent.py), under
#: AUTOMATION too
CONSENT_EFFECT = "platform_consent"
DISCOUNT_PENDING = "discount_pending"  # the deferral of an email whose code the platform does not have yet
DISCOUNT_NOT_CREATED = "discount_not_created"  # the exit when it never got there (cancelled, or expired first)
_DISCOUNT_RECHECK = timedelta(minutes=1)  # the first look again; doubled each time, up to an hour
_DISCOUNT_RECHECK_MAX = timedelta(hours=1)
_ON_PLATFORM = frozenset({"done", "shadowed"})  # shadowed: shadow mode, where the email is only recorded too


@dataclass(frozen=True)
class FlowSettings:
    flows: tuple[Flow, ...]  # every known flow: enrollments of one that was switched off exit at their next tick
    enabled: frozenset[str]
    unsubscribe_url: Callable[[int, str], str]  # (store id, address) → the signed one-click link
    cap: timedelta = timedelta(hours=16)
    quiet: QuietHours | None = field(default_factory=QuietHours)
    batch: int = 200
    links: lifecycle.Links = field(default_factory=lifecycle.Links)  # product and review pages, for the emails

    def enabled_for(self, trigger: str) -> list[Flow]:
        return [f for f in self.flows if f.name in self.enabled and f.trigger.name == trigger]

    def flow(self, name: str) -> Flow | None:
        return next((f for f in self.flows if f.name == name and name in self.enabled), None)


@dataclass
class TickResult:
    taken: int = 0
    sent: int = 0
    deferred: int = 0
    discounts: int = 0
    finished: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:  # how much a worker's periodic check did
        return self.taken

    def add(self, other: TickResult) -> None:
        """Another batch's counts added to these (a tick over several batches and stores)."""
        for name in ("taken", "sent", "deferred", "discounts", "finished"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for label, n in other.outcomes.items():
            self.outcomes[label] = self.outcomes.get(label, 0) + n


# -- enrolling --------------------------------------------------------------------------------------------------


def enroll_from_event(uow: MarketingUnitOfWork, settings: FlowSettings, event: RecordedEvent) -> list[str]:
    """A checkout recorded (or updated) and still open enrolls its buyer in the enabled checkout_abandoned flows;
    the names of the flows entered. A delivered order enrolls its buyer in the order_delivered flows
    (``lifecycle``); a new order in the order_placed flows, once the unit of work has written it (nothing is
    returned for those: they are entered at commit)."""
    if event.name == lifecycle.DELIVERED_EVENT:
        return lifecycle.enroll_delivered(uow, settings.enabled_for("order_delivered"), event)
    if event.name == lifecycle.PLACED_EVENT:
        placed = settings.enabled_for("order_placed")
        if placed:
            uow.after_flush(lambda: lifecycle.enroll_placed(uow, placed, event))
        return []
    if event.name not in CHECKOUT_EVENTS or event.subject_id is None or event.data.get("completed"):
        return []
    email = str(event.data.get("email") or "").lower()
    if not email:
        return []
    # the checkout as rules see it (the same fields and types the flow's filter meets again at every tick)
    objects = {"checkout": checkout_context({**event.data, "checkout_id": event.subject_id}),
               "customer": {"email": email}}
    return [flow.name for flow in settings.enabled_for("checkout_abandoned")
            if lifecycle.enroll_customer(uow, flow, email, event.subject_id, objects, subject_type="checkout")]


# -- the tick ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    stored: StoredEnrollment
    enrollment: Enrollment
    send: Send
    flow: Flow
    facts: Facts


@dataclass
class _Tick:
    """One batch of a tick: its "now", the facts read for the whole batch, and what it writes at the end (the
    enrollments' new states and the sends, one statement each)."""

    uow: MarketingUnitOfWork
    settings: FlowSettings
    now: datetime
    snapshot: Snapshot
    result: TickResult = field(default_factory=TickResult)
    saved: dict[str, tuple[Enrollment, datetime | None]] = field(default_factory=dict)
    sends: list[Sent] = field(default_factory=list)
    made: dict[str, Discount] = field(default_factory=dict)  # codes made by this tick, by key

    def discount(self, key: str) -> Discount | None:
        return self.made.get(key) or self.snapshot.discounts.get(key)

    def save(self, enrollment: Enrollment) -> None:
        if enrollment.finished:
            self.result.finished += 1
            label = enrollment.state.value + (f":{enrollment.exit_reason}" if enrollment.exit_reason else "")
            self.result.outcomes[label] = self.result.outcomes.get(label, 0) + 1
        self.saved[enrollment.id] = (enrollment, wake_at(enrollment, self.now))


def advance(uow: MarketingUnitOfWork, settings: FlowSettings) -> TickResult:
    """Take up to ``batch`` due enrollments of this store and move each as far as it can go now. Messages are paced
    per customer, across flows: what the cap or quiet hours hold back is deferred, never dropped. The facts are
    read once for the batch, and the batch's enrollments and sends are written in one statement each."""
    repo = uow.marketing
    now = uow.clock.now()
    taken = repo.take_due(now, settings.batch)
    if not taken:
        return TickResult()
    tick = _Tick(uow, settings, now, repo.snapshot(taken))
    tick.result.taken = len(taken)
    pending: dict[str, list[_Pending]] = {}
    for stored in taken:
        flow = settings.flow(stored.enrollment.flow)
        if flow is None:
            tick.save(apply(stored.enrollment, ExitFlow(FLOW_DISABLED), now))
            continue
        facts = _facts(tick, stored, flow)
        enrollment, decision = _walk(tick, stored, stored.enrollment, flow, facts)
        if isinstance(decision, Send):
            pending.setdefault(stored.email, []).append(_Pending(stored, enrollment, decision, flow, facts))
        else:
            tick.save(enrollment)
    if pending:  # store-wide, read once per tick rather than once per customer
        zone, live = repo.timezone(), repo.sends_live(AUTOMATION)
        recent = repo.recent_sends(sorted(pending), now - settings.cap)
        for email, items in pending.items():
            _pace(tick, items, recent.get(email, []), tick.snapshot.zones.get(email, zone), live)
    repo.save_all(list(tick.saved.values()))
    repo.record_sends(tick.sends)
    return tick.result


def _walk(tick: _Tick, stored: StoredEnrollment, enrollment: Enrollment, flow: Flow,
          facts: Facts) -> tuple[Enrollment, Decision]:
    """``run``, creating the discount when the flow gets to one, until a message, a wait or the end. A message
    that shows a code the store's platform does not have yet is deferred until it does (``_until_on_platform``)."""
    now = tick.now
    enrollment, decision = run(enrollment, flow, facts, now)
    requested = False
    while isinstance(decision, MakeDiscount):
        requested = _make_discount(tick, stored, flow, decision) or requested
        tick.result.discounts += 1
        enrollment, decision = run(apply(enrollment, decision, now), flow, facts, now)
    if isinstance(decision, Send) and decision.discount_key:
        held = _until_on_platform(tick, enrollment, decision, requested)
        if held is not None:
            return held
    return enrollment, decision


def _make_discount(tick: _Tick, stored: StoredEnrollment, flow: Flow, decision: MakeDiscount) -> bool:
    """The code, recorded once per enrollment (a retried tick finds the first one); for a store connected to
    Shopify or WooCommerce, in the same transaction, the effect that creates it there, keyed by the discount key
    (one per enrollment, whatever the retries). True when that effect was asked for; a store without a connection
    keeps the code in backroom only."""
    uow, now = tick.uow, tick.now
    discount = uow.marketing.add_discount(stored.enrollment.id, Discount(decision.discount_key, new_discount_code(
        decision.percent), decision.percent, decision.expires_at))
    tick.made[discount.key] = discount
    platform = uow.marketing.discount_platform(stored.email)
    if platform is None:
        return False
    uow.request_effect(EffectRequest(DISCOUNT_EFFECT, discount.key, AUTOMATION, {
        "platform": platform.platform, "store_id": uow.store_id, "code": discount.code, "percent": discount.percent,
        "starts_at": now.isoformat(), "expires_at": discount.expires_at.isoformat(), "email": stored.email,
        "customer_id": platform.customer_id, "flow": flow.name}))
    return True


def _until_on_platform(tick: _Tick, enrollment: Enrollment, send: Send,
                       requested: bool) -> tuple[Enrollment, Decision] | None:
    """None when ``send`` may go: its code has no platform effect (a store without a connection, or automation
    off), or the effect is done (or shadowed). Else the enrollment deferred (``discount_pending``) to look again
    in a minute, then 2, 4 … up to an hour, so the email never shows a code the platform would refuse; it exits
    (``discount_not_created``) if the effect was cancelled or the code expired before it got there. An effect
    that failed (review queue) is waited for too: an operator's retry lets the email go."""
    assert send.discount_key is not None
    now = tick.now
    status = None if requested else tick.snapshot.effect_status.get(send.discount_key)
    if not requested and (status is None or status in _ON_PLATFORM):
        return None
    discount = tick.discount(send.discount_key)
    if status == "cancelled" or (discount is not None and discount.expires_at <= now):
        stop = ExitFlow(DISCOUNT_NOT_CREATED, f"platform discount effect {status}")
        return apply(enrollment, stop, now), stop
    waits = sum(1 for h in enrollment.history if h.what is Happened.DEFERRED and h.reason == DISCOUNT_PENDING)
    until = now + min(_DISCOUNT_RECHECK * 2 ** min(waits, 10), _DISCOUNT_RECHECK_MAX)
    return defer(enrollment, send, until, DISCOUNT_PENDING, now), WaitUntil(send.step, until)


def _pace(tick: _Tick, items: list[_Pending], recent: list[datetime], zone: ZoneInfo, live: bool) -> None:
    """One customer's due messages through the frequency cap and quiet hours (in the customer's zone)."""
    now, settings = tick.now, tick.settings
    due = [Due(p.send.message_key, p.flow.name, p.flow.priority, p.send.kind, p.stored.wake_at or now) for p in items]
    slots = {s.message_key: s for s in pace(due, recent, now, zone, settings.cap, settings.quiet)}
    for p in items:
        slot = slots[p.send.message_key]
        if not slot.now:
            assert slot.held is not None
            tick.result.deferred += 1
            tick.save(defer(p.enrollment, p.send, slot.send_at, slot.held.value, now))
            continue
        _send(tick, p, live)
        tick.result.sent += 1
        enrollment, _ = _walk(tick, p.stored, apply(p.enrollment, p.send, now), p.flow, p.facts)
        tick.save(enrollment)  # a message due right after this one waits for the next tick (and the cap)


def _send(tick: _Tick, p: _Pending, live: bool) -> None:
    uow = tick.uow
    discount = tick.discount(p.send.discount_key) if p.send.discount_key else None
    checkout = tick.snapshot.checkouts.get(p.stored.subject_id) if p.stored.subject_type == "checkout" else None
    url = tick.settings.unsubscribe_url(uow.store_id, p.stored.email)
    uow.request_effect(EffectRequest("email", p.send.message_key, AUTOMATION, {
        "template": p.send.template, "to": p.stored.email,
        "context": {**email_context(checkout, discount, url), **lifecycle.email_extras(p.facts, tick.settings.links)},
        "headers": {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }))
    tick.sends.append(Sent(p.enrollment.id, p.flow.name, p.stored.email, p.send.message_key, p.send.template,
                           p.send.kind.value, not live, tick.now))


def wake_at(enrollment: Enrollment, now: datetime) -> datetime | None:
    """When the tick should look at an enrollment next: its wait's or deferral's end, now when it stopped at a
    message it has not paced yet, never once it has finished."""
    if enrollment.finished:
        return None
    if enrollment.state in (State.WAITING, State.DEFERRED) and enrollment.until is not None:
        return enrollment.until
    return now


def _facts(tick: _Tick, stored: StoredEnrollment, flow: Flow) -> Facts:
    """What is true right now: read fresh at every wake (once per batch), never carried over from the enrollment."""
    snapshot = tick.snapshot
    if stored.subject_type == lifecycle.ORDER:
        return lifecycle.order_facts(tick.uow, snapshot, stored, flow, tick.now)
    objects: dict[str, Any] = {"customer": {"email": stored.email, "timezone": _zone_name(snapshot, stored.email)}}
    if stored.subject_type == "checkout":
        checkout = snapshot.checkouts.get(stored.subject_id)
        objects["checkout"] = checkout_object(checkout) if checkout is not None else {"completed": True}
    return Facts(snapshot.consent.get(stored.email, Consent.NEVER), stored.email in snapshot.bounced,
                 snapshot.orders_since.get(stored.enrollment.id, 0), None, objects)


def _zone_name(snapshot: Snapshot, email: str) -> str:
    """The customer's own zone as conditions read it ("" when unknown: quiet hours then use the store's)."""
    zone = snapshot.zones.get(email)
    return zone.key if zone is not None else ""


def checkout_object(checkout: Checkout) -> dict[str, Any]:
    """The checkout as flow conditions see it (the same fields as the rules' ``checkout``)."""
    return {"id": checkout.id or 0, "channel": checkout.channel, "email": checkout.email,
            "currency": checkout.currency, "total": float(checkout.total),
            "item_count": sum(line.quantity for line in checkout.lines), "line_count": len(checkout.lines),
            "skus": sorted({line.sku for line in checkout.lines}), "recovery_url": checkout.recovery_url,
            "completed": checkout.completed_at is not None, "order_id": checkout.order_id or 0}


# -- what the email shows -----------------------------------------------------------------------------------------


def email_context(checkout: Checkout | None, discount: Discount | None, unsubscribe_url: str) -> dict[str, Any]:
    lines = checkout.lines if checkout is not None else ()
    return {
        "customer_name": checkout.customer_name if checkout is not None else "",
        "lines": [{"title": line.title or line.sku, "sku": line.sku, "quantity": line.quantity,
                   "unit_price": str(line.unit_price), "line_total": str(line.unit_price * line.quantity)}
                  for line in lines],
        "currency": checkout.currency if checkout is not None else "",
        "total": str(checkout.total) if checkout is not None else "0",
        "recovery_url": checkout.recovery_url if checkout is not None else "",
        "discount": None if discount is None else {"code": discount.code, "percent": discount.percent,
                                                   "expires_at": discount.expires_at.strftime("%d %b %Y %H:%M UTC")},
        "discount_percent": discount.percent if discount is not None else 0,
        "unsubscribe_url": unsubscribe_url,
    }


def sample_context(unsubscribe_url: str = "https://backroom.example.com/unsubscribe/sample") -> dict[str, Any]:
    """What ``backroom flows preview`` renders a template with."""

    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    checkout = Checkout(0, "shopify", "sample", "tok", "ada@example.com", "Ada Lovelace", "GBP", Decimal("64.00"),
                        (CheckoutLine("LAMP", 2, Decimal("20.00"), "Desk lamp"),
                         CheckoutLine("SHADE", 1, Decimal("24.00"), "Linen shade")),
                        "https://shop.example.com/cart/recover/sample", at, at)
    return email_context(checkout, Discount("sample", "SAVE10-K7QX2M9P", 10, at + timedelta(hours=72)),
                         unsubscribe_url)


def new_discount_code(percent: int) -> str:
    return f"SAVE{percent}-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def platform_unsubscribe(store_id: int, platform_customer_id: str, at: datetime) -> EffectRequest:
    """The ``CONSENT_EFFECT`` recording that a customer (by their Shopify id) unsubscribed at ``at``: one per
    unsubscribe (a later one, after the platform subscribed them again, is another)."""
    return EffectRequest(CONSENT_EFFECT, f"consent:unsubscribe:shopify-{platform_customer_id}:{at.isoformat()}",
                         AUTOMATION, {"platform": "shopify", "store_id": store_id,
                                      "customer_id": platform_customer_id, "state": "unsubscribed",
                                      "at": at.isoformat()})
