from __future__ import annotations

from pydantic import Field

from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec


class Params(ActionParams):
    priority: int = Field(ge=-100, le=100)


def run(params: Params, ctx: ActionContext) -> str:
    ctx.order().set_priority(params.priority)
    return f"priority {params.priority}"


SPEC = ActionSpec("set_priority", "Set the order's priority (-100..100; higher goes first in the warehouse)",
                  Params, run, "order")
