"""Which rules fire on one event: the single function both live runs and dry runs use, so a dry run over recorded
events gives the firings the same rules would have had live.

Rules are tried in position order. A rule whose condition errors is reported and skipped (the event and the other
rules go on). ``stop: true`` on a firing rule ends the evaluation for later rules; a shadow rule's stop only ends it
for later shadow rules, so a rule in shadow never changes what live rules do. A rate limit counts earlier firings of
the rule (for the same subject, or at all) within its window.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import cel

from backroom.rules.expressions import prune
from backroom.rules.model import CompiledRule, RuleMode

Subject = str  # what a per-subject limit counts by: ``order:42``, ``sku:TEE-M``


@dataclass(frozen=True)
class Firing:
    rule: CompiledRule
    inputs: dict[str, Any]
    error: str | None = None
    limited: bool = False

    @property
    def fired(self) -> bool:
        return self.error is None and not self.limited


class Limiter(Protocol):
    def allow(self, rule: CompiledRule, subject: Subject | None, at: datetime) -> bool: ...
    def record(self, rule: CompiledRule, subject: Subject | None, at: datetime) -> None: ...


class MemoryLimiter:
    """Firings remembered in memory: a dry run's whole history, or one transaction's share of a live run.
    Events arrive in time order, so each rule × subject keeps only the firings still inside its window."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, Subject | None], deque[datetime]] = defaultdict(deque)

    def count(self, rule: CompiledRule, subject: Subject | None, at: datetime) -> int:
        window = rule.limit.window_delta if rule.limit else None
        times = self.times.get((rule.name, subject))
        if times is None:
            return 0
        if window is not None:
            while times and times[0] <= at - window:  # the window is (at - window, at]
                times.popleft()
        return len(times)

    def allow(self, rule: CompiledRule, subject: Subject | None, at: datetime) -> bool:
        return rule.limit is None or self.count(rule, subject, at) < rule.limit.max

    def record(self, rule: CompiledRule, subject: Subject | None, at: datetime) -> None:
        if rule.limit is not None:
            self.times[(rule.name, subject)].append(at)


def subject_key(subject_type: str, subject_id: int | None, context: dict[str, Any]) -> Subject:
    stock = context.get("stock")
    if subject_type == "sku" and isinstance(stock, dict):
        return f"sku:{stock.get('sku', '')}"
    return f"{subject_type}:{subject_id}"


def evaluate(rules: Sequence[CompiledRule], context: dict[str, Any], subject: Subject, at: datetime,
             limiter: Limiter, tried: list[str] | None = None, paths: Sequence[str] | None = None) -> list[Firing]:
    """The firings of these rules (all of one trigger, in position order) on one event; ``tried`` collects the
    names of the rules whose condition was evaluated (a stop skips the rest). ``paths``: ``needed_paths(rules)``,
    passed in by callers that evaluate the same rules many times."""
    env = cel.Context(variables=prune(context, needed_paths(rules) if paths is None else paths))
    out: list[Firing] = []
    stopped: set[RuleMode] = set()
    for rule in rules:
        if rule.mode in stopped:
            continue
        if tried is not None:
            tried.append(rule.name)
        try:
            matched = rule.condition.evaluate(env)
        except Exception as err:  # a condition failing on odd data is reported, never fatal to the event
            out.append(Firing(rule, inputs_of(rule, context), error=f"{type(err).__name__}: {err}"[:500]))
            continue
        if not matched:
            continue
        key = subject if rule.limit is not None and rule.limit.per == "subject" else None
        if not limiter.allow(rule, key, at):
            out.append(Firing(rule, inputs_of(rule, context), limited=True))
            continue
        limiter.record(rule, key, at)
        out.append(Firing(rule, inputs_of(rule, context)))
        if rule.stop:
            stopped.update((RuleMode.SHADOW,) if rule.mode == RuleMode.SHADOW else (RuleMode.LIVE, RuleMode.SHADOW))
    return out


def needed_paths(rules: Sequence[CompiledRule]) -> tuple[str, ...]:
    """Every context path these rules' conditions read, shortest first (a path covers those below it)."""
    paths = sorted({p for r in rules for p in r.condition.paths}, key=lambda p: (p.count("."), p))
    kept: list[str] = []
    for path in paths:
        if not any(path.startswith(k + ".") for k in kept):
            kept.append(path)
    return tuple(kept)


def inputs_of(rule: CompiledRule, context: dict[str, Any]) -> dict[str, Any]:
    """The values the condition read: the "why" of a firing."""
    out: dict[str, Any] = {}
    for path in rule.condition.paths:
        node: Any = context
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out[path] = node
    return out
