"""Dry run: what a rule set would have done over recorded events, without doing anything.

Each event is evaluated on the context stored with it (the one live rules saw), through the same ``evaluate`` the
live engine uses, with rate limits replayed in memory; so over the same history a dry run reports the firings the
rules would have had live. Every rule of the file is tried, whatever its mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from backroom.rules.engine import index_rules
from backroom.rules.evaluation import MemoryLimiter, evaluate, subject_key
from backroom.rules.model import CompiledRule, RuleMode

EXAMPLES = 3


@dataclass(frozen=True)
class StoredEvent:
    id: int
    name: str
    at: datetime
    subject_type: str
    subject_id: int | None
    context: dict[str, Any]


@dataclass
class RuleReport:
    name: str
    version: int
    trigger: str
    mode: str
    evaluated: int = 0
    fired: int = 0
    limited: int = 0
    errors: int = 0
    subjects: set[str] = field(default_factory=set)
    examples: list[dict[str, Any]] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "trigger": self.trigger, "mode": self.mode,
                "evaluated": self.evaluated, "fired": self.fired, "distinct_subjects": len(self.subjects),
                "limited": self.limited, "errors": self.errors, "examples": self.examples,
                "error_examples": self.error_examples}


@dataclass
class DryRunReport:
    events: int = 0
    first_event: datetime | None = None
    last_event: datetime | None = None
    rules: list[RuleReport] = field(default_factory=list)
    firings: list[tuple[str, str, str]] = field(default_factory=list)  # rule, event name, subject

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events,
                "from": self.first_event.isoformat() if self.first_event else None,
                "to": self.last_event.isoformat() if self.last_event else None,
                "rules": [r.as_dict() for r in self.rules]}


def dry_run(rules: Sequence[CompiledRule], events: Iterable[StoredEvent]) -> DryRunReport:
    # One mode for all, so that stop and limits act as they would with the whole set switched on.
    live = [replace(r, mode=RuleMode.LIVE) for r in rules]
    index = index_rules(live)
    reports = {r.name: RuleReport(r.name, r.version, r.trigger.name, r.mode.value) for r in rules}
    report = DryRunReport(rules=list(reports.values()))
    limiter = MemoryLimiter()
    for event in events:
        report.events += 1
        report.first_event = report.first_event or event.at
        report.last_event = event.at
        group = index.get(event.name)
        if group is None:
            continue
        subject = subject_key(event.subject_type, event.subject_id, event.context)
        tried: list[str] = []
        firings = evaluate(group.rules, event.context, subject, event.at, limiter, tried, group.paths)
        for name in tried:
            reports[name].evaluated += 1
        for firing in firings:
            r = reports[firing.rule.name]
            if firing.error is not None:
                r.errors += 1
                if len(r.error_examples) < EXAMPLES:
                    r.error_examples.append(f"event {event.id}: {firing.error}")
            elif firing.limited:
                r.limited += 1
            else:
                r.fired += 1
                r.subjects.add(subject)
                report.firings.append((firing.rule.name, event.name, subject))
                if len(r.examples) < EXAMPLES:
                    r.examples.append(_example(firing.rule, event, subject, firing.inputs))
    return report


def _example(rule: CompiledRule, event: StoredEvent, subject: str, inputs: dict[str, Any]) -> dict[str, Any]:
    order = event.context.get("order")
    return {"event_id": event.id, "at": event.at.isoformat(), "event": event.name,
            "subject": subject,
            "order_number": order.get("number") if isinstance(order, dict) else None,
            "inputs": inputs, "would": rule.would_do(event.context)}
