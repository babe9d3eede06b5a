from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.unit.rules.fakes import NOW, FakeRules, FakeUnitOfWork

from backroom.orders import handlers
from backroom.orders.commands import ImportOrders, IncomingOrder
from backroom.orders.model import Address, CustomerStats, OrderLine, PaymentState
from backroom.rules.engine import RuleEngine
from backroom.rules.model import CompiledRule, compile_rule, parse_rules_text

GB = Address("Ada Lovelace", "10 Downing St", "London", "SW1A 1AA", "GB")
FR = Address("Ada Lovelace", "1 Rue de Rivoli", "Paris", "75001", "FR")
SETTINGS = handlers.PipelineSettings()


def compiled(text: str) -> list[CompiledRule]:
    return [compile_rule(d, 1, i * 10) for i, d in enumerate(parse_rules_text(text), 1)]


def incoming(**overrides: Any) -> IncomingOrder:
    fields: dict[str, Any] = {
        "channel": "api", "external_id": "ext-1", "number": "#1001", "email": "ada@example.com",
        "customer_name": "Ada Lovelace", "currency": "GBP", "payment_state": PaymentState.PAID,
        "shipping_address": GB, "billing_address": None, "lines": (OrderLine("MUG", 2, Decimal("12.50"), "Mug"),),
        "placed_at": NOW,
    }
    fields.update(overrides)
    return IncomingOrder(**fields)


def import_with_rules(text: str, *orders: IncomingOrder, stock: dict[str, int] | None = None,
                      history: dict[str, CustomerStats] | None = None,
                      thresholds: dict[str, int] | None = None) -> FakeUnitOfWork:
    uow = FakeUnitOfWork(RuleEngine(SETTINGS), FakeRules(compiled(text)), stock or {"MUG": 10}, history, thresholds)
    handlers.import_orders(ImportOrders(orders or (incoming(),)), uow, SETTINGS)  # type: ignore[arg-type]
    return uow
