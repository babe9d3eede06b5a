"""The next decision for an enrollment, from the flow, a fresh snapshot of facts and "now" — nothing else.

``decide`` looks at one step and says what should happen: wait until T, send message M, create the discount,
skip (with a reason), move on (a wait ran out, a condition chose), complete, or exit (with a reason). Before
anything else, and so before every message, it re-checks the address (hard bounce), the unsubscribe, and the
flow's exit condition; before a message it re-checks the flow's filter and the customer's consent too.

``run`` applies the decisions that need nothing from outside (move on, skip, wait, exit, complete) and stops at
the first that does: a ``Send`` (which goes through the frequency cap and quiet hours first) or a
``MakeDiscount`` (created through the store's platform). Record it with ``apply`` once it has happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from backroom.errors import Conflict
from backroom.marketing.consent import Consent, MessageKind, refusal
from backroom.marketing.enrollment import Enrollment, Entry, Happened, State
from backroom.marketing.model import Branch, CreateDiscount, Exit, Flow, SendEmail, Wait
from backroom.marketing.triggers import build_context


@dataclass(frozen=True)
class Facts:
    """What is true about the customer right now, read just before deciding."""

    consent: Consent
    hard_bounced: bool = False
    orders_since_enrollment: int = 0
    repurchase_interval: timedelta | None = None  # None with fewer than two orders
    objects: Mapping[str, Any] = field(default_factory=dict)  # customer / checkout / order, as conditions see them
    # what a cross-sell shows, read at send time (None: not read, e.g. no such email ahead); empty: nothing to show
    recommendations: tuple[Mapping[str, Any], ...] | None = None


#: emails that show recommendations: skipped (``nothing_to_recommend``) when there are none
RECOMMENDING_TEMPLATES = frozenset({"cross_sell"})
NOTHING_TO_RECOMMEND = "nothing_to_recommend"


class ExitReason(StrEnum):
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    EXIT_CONDITION = "exit_condition"
    FILTER = "filter_no_longer_matches"
    BRANCH = "condition_chose_exit"


@dataclass(frozen=True)
class WaitUntil:
    step: int
    until: datetime


@dataclass(frozen=True)
class MoveOn:
    step: int
    to: int
    at: datetime  # the next step counts its waits from here (a wait's end, not a late timer's)
    reason: str


@dataclass(frozen=True)
class Skip:
    step: int
    reason: str


@dataclass(frozen=True)
class Send:
    step: int
    message_key: str  # stable: retries and deferrals reuse it, and so does the Message-ID
    template: str
    kind: MessageKind
    discount_key: str = ""


@dataclass(frozen=True)
class MakeDiscount:
    step: int
    discount_key: str  # the idempotency key: one discount per enrollment, whatever the retries
    percent: int
    expires_at: datetime


@dataclass(frozen=True)
class Complete:
    pass


@dataclass(frozen=True)
class ExitFlow:
    reason: str
    detail: str = ""


Decision = WaitUntil | MoveOn | Skip | Send | MakeDiscount | Complete | ExitFlow


def message_key(flow: str, enrollment_id: str, step: int) -> str:
    return f"flow:{flow}:enr-{enrollment_id}:step-{step + 1}"


def discount_key(flow: str, enrollment_id: str) -> str:
    return f"flow:{flow}:enr-{enrollment_id}:discount"


def decide(enrollment: Enrollment, flow: Flow, facts: Facts, now: datetime) -> Decision:
    if enrollment.finished:
        raise Conflict(f"enrollment {enrollment.id} is {enrollment.state}", code="enrollment_finished")
    stop = _stop(enrollment, flow, facts, now)
    if stop is not None:
        return stop
    if enrollment.step >= len(flow.steps):
        return Complete()
    i = enrollment.step
    step = flow.steps[i]
    if isinstance(step, Wait):
        until = enrollment.step_since + step.length(facts.repurchase_interval)
        return WaitUntil(i, until) if now < until else MoveOn(i, i + 1, until, "waited")
    if isinstance(step, Branch):
        chosen = step.condition.evaluate(context(enrollment, flow, facts, now))
        target = step.then if chosen else step.otherwise
        if target is None:
            return ExitFlow(ExitReason.BRANCH, step.condition.source)
        return MoveOn(i, target, now, f"condition {'true' if chosen else 'false'}: {step.condition.source}")
    if isinstance(step, CreateDiscount):
        return _discount(enrollment, flow, facts, step, now)
    if isinstance(step, SendEmail):
        return _send(enrollment, flow, facts, step, now)
    assert isinstance(step, Exit)
    return ExitFlow(step.reason)


def _stop(enrollment: Enrollment, flow: Flow, facts: Facts, now: datetime) -> ExitFlow | None:
    if facts.hard_bounced:
        return ExitFlow(ExitReason.BOUNCED)
    if facts.consent is Consent.UNSUBSCRIBED and _marketing_ahead(flow, enrollment.step):
        return ExitFlow(ExitReason.UNSUBSCRIBED)
    if flow.exit.evaluate(context(enrollment, flow, facts, now)):
        return ExitFlow(ExitReason.EXIT_CONDITION, flow.exit.source)
    return None


def _marketing_ahead(flow: Flow, step: int) -> bool:
    return any(isinstance(s, SendEmail) and s.kind is MessageKind.MARKETING for s in flow.steps[step:])


def _discount(enrollment: Enrollment, flow: Flow, facts: Facts, step: CreateDiscount, now: datetime) -> Decision:
    i = enrollment.step
    if enrollment.discount_key:
        return MoveOn(i, i + 1, now, "discount already created")
    blocked = refusal(MessageKind.MARKETING, facts.consent, facts.hard_bounced)
    if blocked is not None:
        return Skip(i, blocked.value)  # nobody could be told about it
    return MakeDiscount(i, discount_key(flow.name, enrollment.id), step.percent, now + step.expires_in)


def _send(enrollment: Enrollment, flow: Flow, facts: Facts, step: SendEmail, now: datetime) -> Decision:
    i = enrollment.step
    if not flow.filter.evaluate(context(enrollment, flow, facts, now)):
        return ExitFlow(ExitReason.FILTER, flow.filter.source)
    blocked = refusal(step.kind, facts.consent, facts.hard_bounced)
    if blocked is not None:  # only "no marketing consent" gets here: unsubscribes and bounces have exited
        return Skip(i, blocked.value)
    if step.template in RECOMMENDING_TEMPLATES and facts.recommendations is not None and not facts.recommendations:
        return Skip(i, NOTHING_TO_RECOMMEND)
    return Send(i, message_key(flow.name, enrollment.id, i), step.template, step.kind, enrollment.discount_key)


def context(enrollment: Enrollment, flow: Flow, facts: Facts, now: datetime) -> dict[str, Any]:
    """What the flow's conditions see: the caller's objects, with consent and the enrollment's own facts."""
    customer = dict(facts.objects.get("customer") or {})
    customer.update(consent=facts.consent.value, unsubscribed=facts.consent is Consent.UNSUBSCRIBED,
                    bounced=facts.hard_bounced)
    if facts.repurchase_interval is not None:
        customer.setdefault("repurchase_interval_days", facts.repurchase_interval / timedelta(days=1))
    sent = sum(1 for e in enrollment.history if e.what is Happened.SENT)
    values = {
        **facts.objects,
        "customer": customer,
        "enrollment": {
            "id": enrollment.id, "flow": flow.name,
            "hours_since_enrolled": (now - enrollment.enrolled_at) / timedelta(hours=1),
            "ordered_since": facts.orders_since_enrollment > 0, "orders_since": facts.orders_since_enrollment,
            "emails_sent": sent,
        },
        "event": {"name": flow.trigger.name, "at": now.isoformat(), "hour": now.hour, "weekday": now.isoweekday()},
    }
    return build_context(flow.trigger, values)


def apply(enrollment: Enrollment, decision: Decision, now: datetime) -> Enrollment:
    """Record a decision that has happened (for a Send: the message went; for MakeDiscount: the discount exists)."""
    e = enrollment
    if isinstance(decision, WaitUntil):
        if e.state is State.WAITING and e.until == decision.until:
            return e  # polled again before its time: nothing new to record
        return e.record(Entry(now, Happened.WAITING, decision.step, until=decision.until),
                        state=State.WAITING, until=decision.until)
    if isinstance(decision, MoveOn):
        return e.record(Entry(now, Happened.PASSED, decision.step, decision.reason),
                        state=State.ACTIVE, step=decision.to, step_since=decision.at, until=None)
    if isinstance(decision, Skip):
        return e.record(Entry(now, Happened.SKIPPED, decision.step, decision.reason),
                        state=State.ACTIVE, step=decision.step + 1, step_since=now, until=None)
    if isinstance(decision, Send):
        return e.record(Entry(now, Happened.SENT, decision.step, decision.template, decision.message_key),
                        state=State.ACTIVE, step=decision.step + 1, step_since=now, until=None)
    if isinstance(decision, MakeDiscount):
        return e.record(Entry(now, Happened.DISCOUNT_CREATED, decision.step, key=decision.discount_key),
                        state=State.ACTIVE, step=decision.step + 1, step_since=now, until=None,
                        discount_key=decision.discount_key)
    if isinstance(decision, Complete):
        return e.record(Entry(now, Happened.COMPLETED, e.step), state=State.COMPLETED, until=None)
    reason = f"{decision.reason}: {decision.detail}" if decision.detail else decision.reason
    return e.record(Entry(now, Happened.EXITED, e.step, reason), state=State.EXITED, until=None,
                    exit_reason=decision.reason)


def defer(enrollment: Enrollment, send: Send, until: datetime, reason: str, now: datetime) -> Enrollment:
    """The frequency cap or quiet hours held ``send`` back until ``until``: decide again then (exit re-checked)."""
    return enrollment.record(Entry(now, Happened.DEFERRED, send.step, reason, send.message_key, until),
                             state=State.DEFERRED, until=until)


def run(enrollment: Enrollment, flow: Flow, facts: Facts, now: datetime) -> tuple[Enrollment, Decision]:
    """Decide and apply until a decision needs the outside world (Send, MakeDiscount) or time (WaitUntil), or the
    enrollment ends. Returns the enrollment so far and that last decision (already applied unless it is a Send or
    a MakeDiscount)."""
    while True:
        decision = decide(enrollment, flow, facts, now)
        if isinstance(decision, Send | MakeDiscount):
            return enrollment, decision
        enrollment = apply(enrollment, decision, now)
        if not isinstance(decision, MoveOn | Skip):
            return enrollment, decision
