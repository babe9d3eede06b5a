from __future__ import annotations

from backroom.orders.handlers import release_for_rule
from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec


class Params(ActionParams):
    pass


def run(params: Params, ctx: ActionContext) -> str:
    return release_for_rule(ctx.order(), ctx.rule, ctx.uow, ctx.settings)


SPEC = ActionSpec(
    "release_fulfillment",
    "Lift a hold a rule placed (never a system hold such as a failed payment), close its review items, send the"
    " order on",
    Params, run, "order",
)
