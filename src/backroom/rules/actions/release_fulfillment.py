from __future__ import annotations

from pydantic import Field

from backroom.orders.handlers import release_for_rule
from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec
from backroom.rules.actions.hold_fulfillment import REASON


class Params(ActionParams):
    reason: str | None = Field(None, pattern=REASON)


def run(params: Params, ctx: ActionContext) -> str:
    reasons = (params.reason,) if params.reason else ()
    return release_for_rule(ctx.order(), reasons, ctx.rule, ctx.uow, ctx.settings)


SPEC = ActionSpec(
    "release_fulfillment",
    "Lift a hold a rule placed (never a system hold such as a failed payment) and send the order on",
    Params, run, "order",
)
