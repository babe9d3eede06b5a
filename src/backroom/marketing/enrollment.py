"""One customer's walk through one flow: its state, the step it is on, and the history of what happened and why.

    active ──wait──▶ waiting (until T) ──▶ active ──send──▶ … ──▶ completed
       │                                     │
       └──── exit condition, unsubscribe, ───┴──▶ exited (reason)       deferred (until T): the frequency cap
             bounce, filter no longer true                              or quiet hours held a message back

Enrollments are values: every change returns a new one with one more history entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from backroom.marketing.model import Flow
from backroom.marketing.triggers import build_context


class State(StrEnum):
    ACTIVE = "active"
    WAITING = "waiting"
    DEFERRED = "deferred"
    COMPLETED = "completed"
    EXITED = "exited"


FINISHED = frozenset({State.COMPLETED, State.EXITED})


class Happened(StrEnum):
    ENROLLED = "enrolled"
    WAITING = "waiting"
    PASSED = "passed"  # a wait ran out or a condition chose the next step
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    SENT = "sent"
    DISCOUNT_CREATED = "discount_created"
    COMPLETED = "completed"
    EXITED = "exited"


@dataclass(frozen=True)
class Entry:
    at: datetime
    what: Happened
    step: int | None = None  # 0-based index into the flow's steps
    reason: str = ""
    key: str = ""  # the message or discount key
    until: datetime | None = None


@dataclass(frozen=True)
class Enrollment:
    id: str
    flow: str
    customer_id: str
    enrolled_at: datetime
    step_since: datetime  # when the current step was reached: waits count from here
    subject_id: str = ""  # the checkout or order that started it
    state: State = State.ACTIVE
    step: int = 0
    until: datetime | None = None
    exit_reason: str = ""
    discount_key: str = ""
    history: tuple[Entry, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def record(self, entry: Entry, **changes: Any) -> Enrollment:
        return replace(self, history=(*self.history, entry), **changes)


class EntryRefused(StrEnum):
    ALREADY_ENROLLED = "already_enrolled"
    COOLDOWN = "cooldown"
    FILTER = "filter_not_met"


@dataclass(frozen=True)
class Refused:
    reason: EntryRefused
    retry_after: datetime | None = None  # when the cool-down ends


def enroll(flow: Flow, enrollment_id: str, customer_id: str, context: Mapping[str, Any], now: datetime,
           previous: Iterable[Enrollment] = (), subject_id: str = "") -> Enrollment | Refused:
    """Start ``customer_id`` on ``flow`` unless they are in it already, entered it within its re-entry cool-down,
    or the flow's filter does not match ``context`` (customer / checkout / order objects)."""
    mine = [e for e in previous if e.flow == flow.name and e.customer_id == customer_id]
    if any(not e.finished for e in mine):
        return Refused(EntryRefused.ALREADY_ENROLLED)
    if mine:
        ends = max(e.enrolled_at for e in mine) + flow.reentry_cooldown
        if now < ends:
            return Refused(EntryRefused.COOLDOWN, ends)
    if not flow.filter.evaluate(build_context(flow.trigger, context)):
        return Refused(EntryRefused.FILTER)
    return Enrollment(enrollment_id, flow.name, customer_id, now, now, subject_id,
                      history=(Entry(now, Happened.ENROLLED, 0),))
