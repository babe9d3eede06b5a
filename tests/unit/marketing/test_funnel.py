"""The funnel counts what each flow did, what it held back and why, and what it earned."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from tests.unit.marketing.flow_fixtures import DAY, HOUR, T0, facts, flow, started, tick

from backroom.marketing.attribution import Conversion, PlacedOrder, Touch
from backroom.marketing.consent import Consent
from backroom.marketing.enrollment import Enrollment, Happened
from backroom.marketing.funnel import FunnelRow, funnel
from backroom.marketing.steps import Facts, Send, defer, run

ABANDONED = flow("abandoned_checkout")


def walk(enrollment: Enrollment, *moments: tuple[timedelta, Facts]) -> Enrollment:
    for offset, fx in moments:
        enrollment, _ = tick(enrollment, ABANDONED, fx, T0 + offset)
    return enrollment


def test_funnel_over_four_abandoned_checkouts() -> None:
    ok = facts()
    completed = walk(started(enrollment_id="1"), (0 * HOUR, ok), (HOUR, ok), (HOUR, ok), (24 * HOUR, ok),
                     (24 * HOUR, ok), (24 * HOUR, ok))
    ordered = walk(started(enrollment_id="2"), (0 * HOUR, ok), (HOUR, ok), (HOUR, ok),
                   (24 * HOUR, facts(orders=1)))
    unsubscribed = walk(started(enrollment_id="3"), (0 * HOUR, ok), (HOUR, facts(Consent.UNSUBSCRIBED)))
    never = facts(Consent.NEVER)
    no_consent = walk(started(enrollment_id="4"), (0 * HOUR, never), (HOUR, never), (24 * HOUR, never))

    deferred, send = run(started(enrollment_id="5"), ABANDONED, ok, T0 + HOUR)
    assert isinstance(send, Send)
    deferred = defer(deferred, send, T0 + 17 * HOUR, "frequency_cap", T0 + HOUR)

    conversion = Conversion(PlacedOrder("9001", "c-1", T0 + 30 * HOUR, Decimal("84.90"), "EUR"),
                            Touch("abandoned_checkout", "2", "flow:abandoned_checkout:enr-2:step-2", "c-1",
                                  T0 + HOUR))
    rows = funnel([completed, ordered, unsubscribed, no_consent, deferred], [conversion])
    assert rows == {"abandoned_checkout": FunnelRow(
        flow="abandoned_checkout",
        enrolled=5,
        sent=3,
        skipped=Counter({"no_marketing_consent": 3}),
        deferred=Counter({"frequency_cap": 1}),
        exited=Counter({"exit_condition": 1, "unsubscribed": 1}),
        completed=2,
        converted=1,
        revenue={"EUR": Decimal("84.90")},
        unsubscribed=1,
    )}


def test_revenue_is_kept_per_currency_and_per_flow() -> None:
    def conv(flow_name: str, total: str, currency: str) -> Conversion:
        return Conversion(PlacedOrder("o", "c", T0 + DAY, Decimal(total), currency),
                          Touch(flow_name, "1", f"flow:{flow_name}:enr-1:step-1", "c", T0))

    rows = funnel([], [conv("win_back", "10.00", "EUR"), conv("win_back", "5.50", "EUR"),
                       conv("win_back", "20.00", "GBP"), conv("post_purchase", "1.00", "EUR")])
    assert rows["win_back"].revenue == {"EUR": Decimal("15.50"), "GBP": Decimal("20.00")}
    assert (rows["win_back"].converted, rows["win_back"].enrolled) == (3, 0)
    assert rows["post_purchase"].revenue == {"EUR": Decimal("1.00")}


def test_an_email_the_worker_withheld_at_the_last_look_counts_as_skipped_for_its_reason_not_sent() -> None:
    ok = facts()
    two_sent = walk(started(enrollment_id="1"), (0 * HOUR, ok), (HOUR, ok), (HOUR, ok), (24 * HOUR, ok),
                    (24 * HOUR, ok), (24 * HOUR, ok))
    assert [e.key for e in two_sent.history if e.what is Happened.SENT] == [
        "flow:abandoned_checkout:enr-1:step-2", "flow:abandoned_checkout:enr-1:step-5"]
    rows = funnel([two_sent], withheld={"flow:abandoned_checkout:enr-1:step-5": "suppressed",
                                        "flow:abandoned_checkout:enr-9:step-2": "unsubscribed"})
    assert (rows["abandoned_checkout"].sent, rows["abandoned_checkout"].skipped) == (1, Counter({"suppressed": 1}))
