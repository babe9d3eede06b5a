from __future__ import annotations

from typing import Literal

from backroom.orders.error_codes import ReviewAction
from backroom.orders.handlers import cancel_for_rule, hold_for_rule
from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec
from backroom.rules.templates import TemplateText, render


class Params(ActionParams):
    reason: TemplateText = "cancelled by rule"
    confirm: Literal["review", "auto"] = "review"


def run(params: Params, ctx: ActionContext) -> str:
    reason = render(params.reason, ctx.context)
    if params.confirm == "auto":
        return cancel_for_rule(ctx.order(), reason, ctx.rule, ctx.uow, ctx.settings)
    held = hold_for_rule(ctx.order(), "cancel_requested", reason, ctx.rule, ctx.uow,
                         allowed=(ReviewAction.CANCEL_ORDER, ReviewAction.APPROVE))
    return held if held.startswith("not held") else "cancellation sent to review"


SPEC = ActionSpec(
    "cancel_order",
    "Cancel the order: by default held and sent to review for a human to confirm; confirm: auto cancels at once",
    Params, run, "order",
)
