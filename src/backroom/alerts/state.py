"""The life of an alert: a condition that holds is announced once (opened), again every ``repeat_after`` while it
still holds (repeated), and once more when it clears (resolved). Each notice has its own idempotency key.

An effect_failed alert is opened by the runner (one per automation and effect kind, while it is open further
failures only count); the checks remind about it and resolve it like any other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from backroom.alerts.checks import duration, when
from backroom.alerts.model import Alert, AlertKind, CheckResult


class NoticeAction(StrEnum):
    OPENED = "opened"
    REPEATED = "repeated"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertState:
    """An open alert as stored (alert_state)."""

    kind: AlertKind
    subject: str
    opened_at: datetime
    last_sent_at: datetime
    sent: int  # notices sent since it opened
    title: str
    failed: int = 0  # effect_failed: effects that gave up since it opened
    unsent: int = 0  # effect_failed: of those, the ones that gave up since the last notice


@dataclass(frozen=True)
class Notice:
    action: NoticeAction
    alert: Alert
    opened_at: datetime
    sent: int  # notices for this opening, this one included

    @property
    def key(self) -> str:
        """``alert:<kind>:<subject>:<opened_at>``, then ``:repeat-N`` or ``:resolved``: once per opening."""
        base = f"alert:{self.alert.kind}:{self.alert.subject}:{self.opened_at.astimezone(UTC).isoformat()}"
        suffix = {NoticeAction.OPENED: "", NoticeAction.REPEATED: f":repeat-{self.sent - 1}",
                  NoticeAction.RESOLVED: ":resolved"}[self.action]
        return base + suffix

    def message(self, store: str) -> tuple[str, str]:
        """(subject line, body) for Slack and email."""
        prefix = {NoticeAction.OPENED: "", NoticeAction.REPEATED: "Still: ",
                  NoticeAction.RESOLVED: "Resolved: "}[self.action]
        body = self.alert.text
        if self.action == NoticeAction.REPEATED:
            body += f"\n\nFirst reported {when(self.opened_at, 'UTC')}; reminder {self.sent - 1}."
        return f"[{store}] {prefix}{self.alert.title}", body


def plan(states: Mapping[tuple[AlertKind, str], AlertState], result: CheckResult, now: datetime,
         repeat_after: timedelta) -> list[Notice]:
    """The notices to send, given the open alerts and what the checks found (``repeat_after`` 0: never repeat).
    An alert that does not open (``Alert.opens`` False) only keeps an open alert from resolving."""
    notices = []
    raised = {(a.kind, a.subject): a for a in result.alerts}
    for key, alert in raised.items():
        state = states.get(key)
        if state is None:
            if alert.opens:
                notices.append(Notice(NoticeAction.OPENED, alert, now, 1))
        elif repeat_after and now - state.last_sent_at >= repeat_after:
            notices.append(Notice(NoticeAction.REPEATED, _with_counts(alert, state), state.opened_at, state.sent + 1))
    for key, state in states.items():
        if key not in raised and state.kind in result.checked:
            text = (f"Cleared at {when(now, 'UTC')}, {duration(now - state.opened_at)} after it was first "
                    f"reported. Last reported: {state.title}.")
            if state.kind == AlertKind.EFFECT_FAILED:
                text += f" {state.failed} gave up while it was open; none waits in the review queue now."
            notices.append(Notice(NoticeAction.RESOLVED, Alert(state.kind, state.subject, label(state), text),
                                  state.opened_at, state.sent + 1))
    return notices


def _with_counts(alert: Alert, state: AlertState) -> Alert:
    """A reminder about failed effects says how many more gave up since the last notice."""
    if alert.kind != AlertKind.EFFECT_FAILED:
        return alert
    return replace(alert, text=f"{alert.text}\n{state.unsent} more failed since the last notice, {state.failed} "
                               f"since it opened.",
                   detail={**alert.detail, "failed_since_last_notice": state.unsent, "failed": state.failed})


def label(state: AlertState) -> str:
    """What a resolved notice is about: the kind, not the last figures (which no longer hold)."""
    automation, _, kind = state.subject.partition(":")
    return {
        AlertKind.EFFECT_FAILED: f"{automation}: {kind} failures" if kind else f"effect {state.subject} failed",
        AlertKind.REVIEW_QUEUE_SIZE: "review queue size",
        AlertKind.REVIEW_QUEUE_AGE: "review queue age",
        AlertKind.STORE_QUIET: "no input from the store",
        AlertKind.ERROR_RATE: f"error rate of {state.subject}",
        AlertKind.INPUTS_FAILING: "inputs failing",
        AlertKind.WEBHOOKS_MISSED: f"webhooks missed by {state.subject}",
        AlertKind.ORDER_NUMBERS_SKIPPED: f"order numbers skipped at {state.subject}",
        AlertKind.RECONCILE_FAILING: f"reconciliation poll of {state.subject} failing",
    }[state.kind]
