"""The rules engine, live: it listens to every event a unit of work records, builds the event's context from the
aggregates in that transaction, fires the matching rules and runs (live) or records (shadow) their actions.

One engine per installation keeps each store's compiled rule set until the store's rules revision moves, so a
condition is compiled once per rule version, not per event. Each unit of work gets its own session.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from backroom.errors import BackroomError, RetryableConflict
from backroom.orders.error_codes import ReasonCode
from backroom.orders.handlers import PipelineSettings
from backroom.orders.model import CustomerStats, Order
from backroom.rules.actions import ActionContext
from backroom.rules.context import checkout_context, customer_context, event_context, order_context, stock_context
from backroom.rules.evaluation import Firing, MemoryLimiter, Subject, evaluate, needed_paths, subject_key
from backroom.rules.model import CompiledRule, RuleDefinition, RuleInvalid, RuleMode, compile_rule
from backroom.rules.ports import RulesUnitOfWork, StoredRule
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest

log = logging.getLogger(__name__)

#: Events raised by actions fire rules too; this deep and no deeper, so two rules cannot feed each other forever.
MAX_DEPTH = 3

class RuleGroup(NamedTuple):
    """The rules of one trigger in position order, and every context path their conditions read."""

    rules: tuple[CompiledRule, ...]
    paths: tuple[str, ...]


RuleIndex = dict[str, RuleGroup]


def index_rules(rules: Sequence[CompiledRule]) -> RuleIndex:
    by_trigger: dict[str, list[CompiledRule]] = {}
    for rule in sorted(rules, key=lambda r: (r.position, r.name)):
        by_trigger.setdefault(rule.trigger.name, []).append(rule)
    return {name: RuleGroup(tuple(group), needed_paths(group)) for name, group in by_trigger.items()}


def compile_stored(stored: Sequence[StoredRule]) -> list[CompiledRule]:
    """Stored rules were valid when saved; one that no longer compiles (a trigger or action since removed) is
    skipped with a warning rather than stopping every other rule."""
    out = []
    for s in stored:
        try:
            defn = RuleDefinition.model_validate({**s.definition, "mode": s.mode})
            out.append(compile_rule(defn, s.version, s.position))
        except (RuleInvalid, ValueError) as err:
            log.warning("rule %s v%d no longer compiles: %s", s.name, s.version, err)
    return out


class RuleEngine:
    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self._compiled: dict[int, tuple[int, RuleIndex]] = {}
        self._lock = threading.Lock()

    def listener(self, uow: RulesUnitOfWork) -> Callable[[RecordedEvent], dict[str, Any] | None]:
        return RuleSession(self, uow).on_event

    def rules_for(self, uow: RulesUnitOfWork, revision: int) -> RuleIndex:
        with self._lock:
            cached = self._compiled.get(uow.store_id)
        if cached is not None and cached[0] == revision:
            return cached[1]
        index = index_rules(compile_stored(uow.rules.active()))
        with self._lock:
            self._compiled[uow.store_id] = (revision, index)
        return index


class LiveLimiter(MemoryLimiter):
    """Firings already stored (earlier transactions) plus those of this transaction."""

    def __init__(self, uow: RulesUnitOfWork) -> None:
        super().__init__()
        self.uow = uow

    def allow(self, rule: CompiledRule, subject: Subject | None, at: datetime) -> bool:
        if rule.limit is None:
            return True
        window = rule.limit.window_delta
        stored = self.uow.rules.firings(rule.policy, subject, at - window if window else None)
        return stored + self.count(rule, subject, at) < rule.limit.max


class RuleSession:
    def __init__(self, engine: RuleEngine, uow: RulesUnitOfWork) -> None:
        self.engine = engine
        self.uow = uow
        self.depth = 0
        self.uid = uuid.uuid4().hex[:12]
        self.seq = 0
        self.limiter = LiveLimiter(uow)
        self._index: RuleIndex | None = None
        self._tz = ZoneInfo("UTC")
        self._now = uow.clock.now()  # one time for the transaction, as its events and decisions are stamped
        self._customers: dict[int, dict[str, Any]] = {}
        self._orders: dict[int, tuple[Any, dict[str, Any]]] = {}

    def on_event(self, event: RecordedEvent) -> dict[str, Any] | None:
        if self._index is None:
            state = self.uow.rules.state()
            self._tz = ZoneInfo(state.timezone)
            self._index = self.engine.rules_for(self.uow, state.revision)
        now = self._now
        context = self._context(event, now)
        group = self._index.get(event.name)
        if group is None:
            return context
        if self.depth >= MAX_DEPTH:
            log.warning("rules not run on %s: events raised by rules are %d deep", event.name, self.depth)
            return context
        self.depth += 1
        try:
            subject = subject_key(event.subject_type, event.subject_id, context)
            for firing in evaluate(group.rules, context, subject, now, self.limiter, paths=group.paths):
                self._apply(firing, event, context, subject)
        finally:
            self.depth -= 1
        return context

    # -- context --------------------------------------------------------------------------------------------

    def _context(self, event: RecordedEvent, now: datetime) -> dict[str, Any]:
        context: dict[str, Any] = {"event": event_context(event.name, now, self._tz, event.data)}
        if event.subject_type == "order" and event.subject_id is not None:
            order = self.uow.orders.get(event.subject_id)
            context["order"] = self._order(order)
            context["customer"] = self._customer(order, created=event.name == "order_created")
            if event.name == "review_item_created":
                context["review"] = {"reason_code": str(event.data.get("reason_code", "")),
                                     "title": str(event.data.get("title", "")), "subject_type": "order"}
        elif event.subject_type == "sku":
            context["stock"] = stock_context(event.data)
        elif event.subject_type == "checkout":
            context["checkout"] = checkout_context({**event.data, "checkout_id": event.subject_id})
        return context

    def _order(self, order: Order) -> dict[str, Any]:
        """An order's context, rebuilt only when something a rule can see has changed since its last event
        (contexts are never modified, so events of one order state share one)."""
        key = (order.id, order.status, frozenset(order.holds), order.tags, order.priority, order.shipping_address,
               order.payment_state)
        cached = self._orders.get(order.id or 0)
        if cached is None or cached[0] != key:
            cached = self._orders[order.id or 0] = (key, order_context(order))
        return cached[1]

    def _customer(self, order: Order, created: bool) -> dict[str, Any]:
        """A customer's history as of this order, read once per order per transaction."""
        oid = order.id or 0
        if oid not in self._customers:
            stats = (self.uow.customers.stats(order.customer_id, oid) if order.customer_id is not None
                     else CustomerStats())
            self._customers[oid] = customer_context(order, stats)
            if created and order.customer_id is not None:
                self.uow.customers.counted(order.customer_id, oid, order.total)
        return self._customers[oid]

    # -- firing ---------------------------------------------------------------------------------------------

    def _apply(self, firing: Firing, event: RecordedEvent, context: dict[str, Any], subject: str) -> None:
        rule = firing.rule
        if firing.limited:
            return
        shadow = rule.mode == RuleMode.SHADOW
        if firing.error is not None:
            outcome: dict[str, Any] = {"mode": rule.mode.value, "error": firing.error}
        elif shadow:
            outcome = {"mode": "shadow", "would": rule.would_do(context)}
        else:
            outcome = {"mode": "live", "actions": self._run_actions(rule, event, context)}
        outcome["subject"] = subject
        self.uow.record_decision(Decision(
            trigger=event.name, policy=rule.policy, policy_version=str(rule.version),
            subject_type=event.subject_type, subject_id=event.subject_id, inputs=firing.inputs, outcome=outcome,
            shadow=shadow,
        ))

    def _run_actions(self, rule: CompiledRule, event: RecordedEvent, context: dict[str, Any]) -> list[dict[str, Any]]:
        self.seq += 1
        results = []
        for i, bound in enumerate(rule.actions):
            ctx = ActionContext(self.uow, self.engine.settings, rule.name, rule.version, event, context,
                                key=f"rule:{rule.name}:v{rule.version}:{self.uid}-{self.seq}:{i}")
            try:
                result = bound.spec.run(bound.params, ctx)
            except RetryableConflict:
                raise  # the transaction is lost: the bus runs it again from the start
            except (BackroomError, ValueError) as err:  # the action's own refusal, raised before it changed anything
                result = f"failed: {err}"
                self._review_failure(rule, event, bound.spec.name, str(err))
            results.append({"action": bound.spec.name, "result": result})
        return results

    def _review_failure(self, rule: CompiledRule, event: RecordedEvent, action: str, error: str) -> None:
        self.uow.request_review(ReviewRequest(
            reason_code=ReasonCode.ACTION_FAILED.value, subject_type=event.subject_type, subject_id=event.subject_id,
            title=f"Rule {rule.name}: {action} failed",
            context={"rule": rule.name, "version": rule.version, "event": event.name, "action": action,
                     "error": error[:500]},
            allowed_actions=("dismiss",),
        ))


