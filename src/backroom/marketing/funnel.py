"""Per-flow funnel from enrollment histories and attributed orders: what each flow did, held back, and earned."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from backroom.marketing.attribution import Conversion
from backroom.marketing.enrollment import Enrollment, Happened, State
from backroom.marketing.steps import ExitReason


@dataclass
class FunnelRow:
    flow: str
    enrolled: int = 0
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → messages/discounts skipped
    deferred: Counter[str] = field(default_factory=Counter)  # reason → deferrals (one message may defer twice)
    exited: Counter[str] = field(default_factory=Counter)  # reason → enrollments
    completed: int = 0
    converted: int = 0  # orders credited to this flow
    revenue: dict[str, Decimal] = field(default_factory=dict)  # currency → attributed order totals
    unsubscribed: int = 0


def funnel(enrollments: Iterable[Enrollment], conversions: Iterable[Conversion] = (),
           withheld: Mapping[str, str] = {}) -> dict[str, FunnelRow]:
    """``withheld``: message key → why the worker's last look cancelled an email the flow asked for (the address was
    suppressed or unsubscribed in between); such an email counts as skipped for that reason, not sent."""
    rows: dict[str, FunnelRow] = {}
    for enrollment in enrollments:
        row = rows.setdefault(enrollment.flow, FunnelRow(enrollment.flow))
        _count(row, enrollment, withheld)
    for conversion in conversions:
        row = rows.setdefault(conversion.flow, FunnelRow(conversion.flow))
        row.converted += 1
        currency = conversion.order.currency
        row.revenue[currency] = row.revenue.get(currency, Decimal(0)) + conversion.order.total
    return rows


def _count(row: FunnelRow, enrollment: Enrollment, withheld: Mapping[str, str]) -> None:
    row.enrolled += 1
    for entry in enrollment.history:
        if entry.what is Happened.SENT and entry.key in withheld:
            row.skipped[withheld[entry.key]] += 1
        elif entry.what is Happened.SENT:
            row.sent += 1
        elif entry.what is Happened.SKIPPED:
            row.skipped[entry.reason] += 1
        elif entry.what is Happened.DEFERRED:
            row.deferred[entry.reason] += 1
    if enrollment.state is State.COMPLETED:
        row.completed += 1
    elif enrollment.state is State.EXITED:
        row.exited[enrollment.exit_reason] += 1
        if enrollment.exit_reason == ExitReason.UNSUBSCRIBED:
            row.unsubscribed += 1
