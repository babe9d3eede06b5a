"""Shared makings for the marketing tests: the shipped flows, a fixed start time, facts and a small driver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment, Entry, Happened
from backroom.marketing.model import Flow, builtin_flows
from backroom.marketing.steps import Decision, Facts, MakeDiscount, Send, apply, run

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

CHECKOUT = {"id": 501, "email": "ana@example.com", "total": 80.0, "currency": "EUR", "completed": False,
            "recovery_url": "https://shop.example/checkouts/501"}
ORDER = {"id": 9001, "number": "#1001", "status": "delivered", "total": 120.0, "currency": "EUR"}


def flow(name: str) -> Flow:
    return {f.name: f for f in builtin_flows()}[name]


def facts(consent: Consent = Consent.SUBSCRIBED, orders: int = 0, bounced: bool = False,
          interval: timedelta | None = None, **objects: Any) -> Facts:
    objs = dict(objects)
    if not objs:
        objs = {"checkout": CHECKOUT, "order": ORDER}
    return Facts(consent, bounced, orders, interval, objs)


def started(name: str = "abandoned_checkout", at: datetime = T0, enrollment_id: str = "7",
            customer_id: str = "c-1") -> Enrollment:
    return Enrollment(enrollment_id, name, customer_id, at, at, subject_id="501",
                      history=(Entry(at, Happened.ENROLLED, 0),))


def tick(enrollment: Enrollment, f: Flow, fx: Facts, now: datetime) -> tuple[Enrollment, Decision]:
    """One timer firing as the wiring will do it: run, and carry out a send or a discount at once."""
    enrollment, decision = run(enrollment, f, fx, now)
    if isinstance(decision, Send | MakeDiscount):
        enrollment = apply(enrollment, decision, now)
    return enrollment, decision
