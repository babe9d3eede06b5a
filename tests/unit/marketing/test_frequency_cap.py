"""At most one marketing email per 16 hours per customer, across flows: the rest wait their turn, never dropped."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from tests.unit.marketing.flow_fixtures import DAY, HOUR, T0, facts, flow, started

from backroom.marketing.consent import Consent, MessageKind
from backroom.marketing.enrollment import Enrollment, Happened, State
from backroom.marketing.frequency import Due, Held, Slot, pace
from backroom.marketing.steps import ExitFlow, Send, apply, defer, run

UTC_ZONE = ZoneInfo("UTC")
CAP = 16 * HOUR


def due(key: str, priority: int, at: datetime = T0, kind: MessageKind = MessageKind.MARKETING) -> Due:
    return Due(key, key.split(":")[0], priority, kind, at)


def test_two_flows_due_together_the_higher_priority_goes_now_the_other_one_cap_later() -> None:
    slots = pace([due("win_back:1", 10), due("abandoned:1", 30)], [], T0, UTC_ZONE)
    assert slots == [Slot("abandoned:1", T0), Slot("win_back:1", T0 + CAP, Held.FREQUENCY_CAP)]


def test_the_deferred_message_goes_when_its_turn_comes() -> None:
    sent = [T0]
    assert pace([due("win_back:1", 10)], sent, T0 + CAP - timedelta(seconds=1), UTC_ZONE) == [
        Slot("win_back:1", T0 + CAP, Held.FREQUENCY_CAP)]
    assert pace([due("win_back:1", 10)], sent, T0 + CAP, UTC_ZONE) == [Slot("win_back:1", T0 + CAP)]


def test_a_recent_send_pushes_everything_back() -> None:
    slots = pace([due("a:1", 5), due("b:1", 5, T0 - HOUR)], [T0 - 10 * HOUR], T0, UTC_ZONE)
    assert slots == [Slot("b:1", T0 + 6 * HOUR, Held.FREQUENCY_CAP),  # equal priority: the one due first
                     Slot("a:1", T0 + 22 * HOUR, Held.FREQUENCY_CAP)]


def test_transactional_mail_is_never_capped() -> None:
    slots = pace([due("receipt:1", 0, kind=MessageKind.TRANSACTIONAL), due("abandoned:1", 30)], [T0 - HOUR], T0,
                 UTC_ZONE)
    assert slots == [Slot("receipt:1", T0), Slot("abandoned:1", T0 + 15 * HOUR, Held.FREQUENCY_CAP)]


def test_many_flows_over_days_every_message_goes_once_and_never_two_within_the_cap() -> None:
    """Five messages fall due at scattered times; the scheduler wakes every hour and paces what is due."""
    arrivals = {"abandoned:1": (30, T0), "post:1": (20, T0 + 2 * HOUR), "win:1": (10, T0 + 3 * HOUR),
                "abandoned:2": (30, T0 + 20 * HOUR), "post:2": (20, T0 + 20 * HOUR)}
    sent: dict[str, datetime] = {}
    now = T0
    while now <= T0 + 5 * DAY:
        waiting = [due(k, p, at) for k, (p, at) in arrivals.items() if at <= now and k not in sent]
        for slot in pace(waiting, list(sent.values()), now, UTC_ZONE):
            if slot.now:
                sent[slot.message_key] = now
        now += HOUR
    assert sent == {"abandoned:1": T0, "post:1": T0 + 16 * HOUR, "abandoned:2": T0 + 32 * HOUR,
                    "post:2": T0 + 48 * HOUR, "win:1": T0 + 64 * HOUR}
    times = sorted(sent.values())
    assert all(b - a >= CAP for a, b in pairwise(times))


def test_two_enrollments_due_within_the_cap_the_lower_is_deferred_then_sent() -> None:
    abandoned, post = flow("abandoned_checkout"), flow("post_purchase")
    a: Enrollment = started("abandoned_checkout", T0 - HOUR, "1")
    p: Enrollment = started("post_purchase", T0 - 7 * DAY, "2")
    a, send_a = run(a, abandoned, facts(), T0)
    p, send_p = run(p, post, facts(), T0)
    assert isinstance(send_a, Send)
    assert isinstance(send_p, Send)
    priorities = {send_a.message_key: abandoned.priority, send_p.message_key: post.priority}
    slots = pace([due(k, v) for k, v in priorities.items()], [], T0, UTC_ZONE)
    assert slots == [Slot(send_a.message_key, T0), Slot(send_p.message_key, T0 + CAP, Held.FREQUENCY_CAP)]

    a = apply(a, send_a, T0)
    p = defer(p, send_p, T0 + CAP, Held.FREQUENCY_CAP, T0)
    assert p.state is State.DEFERRED

    p, again = run(p, post, facts(), T0 + CAP)
    assert again == send_p  # same message, same key: not dropped, not duplicated
    assert pace([due(again.message_key, post.priority)], [T0], T0 + CAP, UTC_ZONE) == [
        Slot(again.message_key, T0 + CAP)]
    p = apply(p, again, T0 + CAP)
    assert [(h.what, h.reason) for h in p.history if h.what in (Happened.DEFERRED, Happened.SENT)] == [
        (Happened.DEFERRED, "frequency_cap"), (Happened.SENT, "review_request")]
    assert [h.at for h in a.history if h.what is Happened.SENT] == [T0]
    assert [h.at for h in p.history if h.what is Happened.SENT] == [T0 + CAP]


def test_a_deferred_message_whose_exit_came_true_meanwhile_is_not_sent() -> None:
    abandoned = flow("abandoned_checkout")
    a, send_a = run(started("abandoned_checkout", T0 - HOUR, "1"), abandoned, facts(), T0)
    assert isinstance(send_a, Send)
    a = defer(a, send_a, T0 + CAP, Held.FREQUENCY_CAP, T0)
    a, decision = run(a, abandoned, facts(Consent.UNSUBSCRIBED), T0 + CAP)
    assert decision == ExitFlow("unsubscribed")
    assert (a.state, a.exit_reason) == (State.EXITED, "unsubscribed")
    assert [h.what for h in a.history].count(Happened.SENT) == 0
