"""An in-memory unit of work for the rules engine and the order handlers it acts through: no database, the real
domain code, and the listener wired the way the SQL unit of work wires it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

from backroom.errors import NotFound
from backroom.inventory.model import StockLevel, StockPool
from backroom.orders.checkouts import Checkout, CheckoutClaim
from backroom.orders.model import CustomerStats, Order
from backroom.rules.engine import RuleEngine
from backroom.rules.model import CompiledRule
from backroom.rules.ports import StoredRule, StoreRuleState
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest
from backroom.shared.clock import SimulatedClock

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class FakeOrders:
    def __init__(self) -> None:
        self.by_id: dict[int, Order] = {}
        self.next_id = 1

    def next_ids(self, count: int) -> list[int]:
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        return ids

    def next_backorder_seq(self) -> int:
        return 1

    def add(self, order: Order) -> None:
        assert order.id is not None
        self.by_id[order.id] = order

    def get(self, order_id: int) -> Order:
        if order_id not in self.by_id:
            raise NotFound(f"order {order_id} not found")
        return self.by_id[order_id]

    def get_many(self, order_ids: Collection[int]) -> list[Order]:
        return [self.by_id[i] for i in order_ids if i in self.by_id]

    def existing(self, channel: str, external_ids: Collection[str]) -> dict[str, tuple[int, str]]:
        return {o.external_id: (o.id or 0, o.status.value) for o in self.by_id.values()
                if o.channel == channel and o.external_id in external_ids}

    def recent_fingerprints(self, fingerprints: Collection[str], since: datetime) -> dict[str, str]:
        return {}

    def backordered(self, skus: Collection[str]) -> list[Order]:
        return []

    def record_shipment(self, order: Order, carrier: str, tracking_number: str, tracking_url: str) -> None:
        pass


class FakeStock:
    def __init__(self, on_hand: dict[str, int]) -> None:
        self.levels = {sku: [StockLevel(sku, 1, 10, qty, 0, id=i)] for i, (sku, qty) in enumerate(on_hand.items(), 1)}

    def lock(self, skus: Collection[str], ensure_location: int | None = None) -> StockPool:
        return StockPool({sku: self.levels[sku] for sku in skus if sku in self.levels})

    def location_id(self, code: str) -> int:
        return 1


class FakeCatalog:
    def __init__(self, skus: Collection[str], thresholds: dict[str, int] | None = None) -> None:
        self.skus = set(skus)
        self.thresholds = thresholds or {}

    def known_skus(self, skus: Collection[str]) -> set[str]:
        return set(skus) & self.skus

    def low_stock_threshold(self, sku: str) -> int | None:
        return self.thresholds.get(sku)


class FakeCustomers:
    def __init__(self, history: dict[str, CustomerStats] | None = None) -> None:
        self.ids: dict[str, int] = {}
        self.history = history or {}
        self.stats_by_id: dict[int, CustomerStats] = {}

    def upsert(self, customers: dict[str, str]) -> dict[str, int]:
        for email in customers:
            if email not in self.ids:
                self.ids[email] = len(self.ids) + 1
                self.stats_by_id[self.ids[email]] = self.history.get(email, CustomerStats())
        return {email: self.ids[email] for email in customers}

    def stats(self, customer_id: int, before_order_id: int) -> CustomerStats:
        return self.stats_by_id[customer_id]

    def counted(self, customer_id: int, order_id: int, total: Decimal) -> None:
        s = self.stats_by_id[customer_id]
        self.stats_by_id[customer_id] = CustomerStats(s.orders_count + 1, s.total_spent + total)


class FakeCheckouts:
    """Checkouts by (channel, external id); an order completes its checkout by token, else by its buyer's email."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Checkout] = {}

    def get(self, channel: str, external_id: str) -> Checkout | None:
        return self.by_key.get((channel, external_id))

    def add(self, checkout: Checkout) -> bool:
        if (checkout.channel, checkout.external_id) in self.by_key:
            return False
        checkout.id = len(self.by_key) + 1
        self.by_key[(checkout.channel, checkout.external_id)] = checkout
        return True

    def save(self, checkout: Checkout) -> None:
        self.by_key[(checkout.channel, checkout.external_id)] = checkout

    def complete(self, claims: Sequence[CheckoutClaim], at: datetime) -> list[Checkout]:
        opened: list[Checkout] = []
        for claim in sorted(claims, key=lambda c: c.order_id):
            for k in self.by_key.values():
                if k.channel != claim.channel or k.order_id is not None or k.deleted_at is not None:
                    continue
                by_token = claim.token != "" and k.token == claim.token
                by_email = (claim.token == "" and k.completed_at is None and k.email == claim.email
                            and k.started_at <= claim.placed_at)
                if by_token or by_email:
                    if k.completed_at is None:
                        opened.append(k)
                    k.order_id, k.completed_at = claim.order_id, k.completed_at or at
        return opened


class FakeRules:
    def __init__(self, rules: list[CompiledRule], timezone: str = "UTC") -> None:
        self.stored = [StoredRule(r.name, r.version, r.mode.value, r.position, _definition(r)) for r in rules]
        self.timezone = timezone
        self.fired: list[tuple[str, str, datetime]] = []

    def state(self) -> StoreRuleState:
        return StoreRuleState(1, self.timezone)

    def active(self) -> list[StoredRule]:
        return [s for s in self.stored if s.mode != "off"]

    def firings(self, policy: str, subject: str | None, since: datetime | None) -> int:
        return sum(1 for p, s, at in self.fired
                   if p == policy and (subject is None or s == subject) and (since is None or at >= since))


def _definition(rule: CompiledRule) -> dict[str, Any]:
    return {"name": rule.name, "description": rule.description, "when": rule.trigger.name,
            "if": rule.condition.source,
            "then": [{"action": a.call.action, "params": a.call.params} for a in rule.actions],
            "stop": rule.stop, "limit": rule.limit.model_dump() if rule.limit else None}


class FakeUnitOfWork:
    def __init__(self, engine: RuleEngine, rules: FakeRules, stock: dict[str, int],
                 history: dict[str, CustomerStats] | None = None, thresholds: dict[str, int] | None = None) -> None:
        self.store_id = 1
        self.clock = SimulatedClock(NOW)
        self.orders = FakeOrders()
        self.stock = FakeStock(stock)
        self.catalog = FakeCatalog(stock, thresholds)
        self.customers = FakeCustomers(history)
        self.checkouts = FakeCheckouts()
        self.rules = rules
        self.effects_requested: list[EffectRequest] = []
        self.events: list[tuple[RecordedEvent, dict[str, Any] | None]] = []
        self.decisions: list[Decision] = []
        self.reviews: list[ReviewRequest] = []
        self.resolved: list[tuple[str, int, tuple[str, ...] | None, bool]] = []
        self.committed = 0
        self._listener = engine.listener(self)  # type: ignore[arg-type]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        self.committed += 1
        for d in self.rule_decisions():  # what the SQL adapter's flush makes visible to later transactions
            if "error" not in d.outcome:
                self.rules.fired.append((d.policy, d.outcome["subject"], self.clock.now()))

    def rollback(self) -> None:
        pass

    def request_effect(self, effect: EffectRequest) -> None:
        self.effects_requested.append(effect)

    def withdraw_unsent(self, subject_id: int, keys: set[str]) -> list[str]:
        dropped = [e for e in self.effects_requested if e.subject_id == subject_id and e.key in keys]
        self.effects_requested = [e for e in self.effects_requested if e not in dropped]
        return [e.key for e in dropped]

    def cancel_effects(self, subject_id: int, kinds: tuple[str, ...]) -> list[str]:
        return []

    def record_event(self, event: RecordedEvent) -> None:
        slot = len(self.events)
        self.events.append((event, None))
        self.events[slot] = (event, self._listener(event))

    def record_decision(self, decision: Decision) -> None:
        self.decisions.append(decision)

    def request_review(self, review: ReviewRequest) -> None:
        self.reviews.append(review)

    def resolve_reviews(self, subject_type: str, subject_id: int, reasons: tuple[str, ...] | None, resolution: str,
                        *, holds_only: bool = False) -> int:
        self.resolved.append((subject_type, subject_id, reasons, holds_only))
        kept = [r for r in self.reviews if not (
            r.subject_type == subject_type and r.subject_id == subject_id
            and (reasons is None or r.reason_code in reasons) and (not holds_only or "hold" in r.context))]
        closed, self.reviews = len(self.reviews) - len(kept), kept
        return closed

    def rule_decisions(self) -> list[Decision]:
        return [d for d in self.decisions if d.policy.startswith("rule:")]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.effects_requested]

    def event_names(self) -> list[str]:
        return [e.name for e, _ in self.events]
