from __future__ import annotations

from backroom.orders.handlers import hold_for_rule
from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec, RuleReason
from backroom.rules.templates import TemplateText, render


class Params(ActionParams):
    reason: RuleReason = "rule_hold"
    note: TemplateText = ""


def run(params: Params, ctx: ActionContext) -> str:
    return hold_for_rule(ctx.order(), params.reason, render(params.note, ctx.context), ctx.rule, ctx.uow)


SPEC = ActionSpec(
    "hold_fulfillment",
    "Keep the order from the warehouse and put it in the review queue (reason: a review code; note: a template)",
    Params, run, "order",
)
