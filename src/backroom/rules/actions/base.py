"""What every action is: a name (verb + object), typed parameters declared next to the code that runs it, and a
``run`` that changes state through the unit of work or asks for an effect (idempotent, retried, reviewed when it
keeps failing). Order actions run inside the transaction that recorded the event, so a hold placed on
``order_created`` is in force before the order could reach the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from backroom.orders.error_codes import ReasonCode
from backroom.orders.handlers import PipelineSettings
from backroom.orders.model import Order
from backroom.orders.ports import OrdersUnitOfWork
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import RecordedEvent


def _not_a_system_reason(value: str) -> str:
    if value in {r.value for r in ReasonCode} and value != ReasonCode.RULE_HOLD:
        raise ValueError(f"'{value}' is one of backroom's own reason codes; give the rule's reason its own name")
    return value


#: A review reason of the rule's own naming (``first_order_high_value``), never one of the system's codes, so that
#: approving it cannot be mistaken for clearing a system hold such as a failed payment.
RuleReason = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$"), AfterValidator(_not_a_system_reason)]

#: The automation every rule effect belongs to: ``backroom automation rules shadow`` shadows them all at once.
RULES_AUTOMATION = "rules"


class ActionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def needs_subject(self) -> str | None:
        """A subject these particular parameters need (``send_email(to='customer')`` needs an order)."""
        return None


@dataclass(frozen=True)
class ActionContext:
    uow: OrdersUnitOfWork
    settings: PipelineSettings
    rule: str
    version: int
    event: RecordedEvent
    context: dict[str, Any]
    key: str  # unique to this rule version × event × action: the idempotency key of any effect it asks for

    def order(self) -> Order:
        if self.event.subject_type != "order" or self.event.subject_id is None:
            raise ValueError(f"{self.event.name} has no order")
        return self.uow.orders.get(self.event.subject_id)

    def request(self, kind: str, payload: dict[str, Any]) -> str:
        subject = self.event.subject_id if self.event.subject_type == "order" else None
        self.uow.request_effect(EffectRequest(kind, self.key, RULES_AUTOMATION, payload, subject))
        return f"{kind} queued"


@dataclass(frozen=True)
class ActionSpec:
    name: str
    summary: str
    params: type[ActionParams]
    run: Callable[[Any, ActionContext], str]
    subject: str | None = None  # "order": only on triggers about an order
