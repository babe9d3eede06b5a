from __future__ import annotations

from pydantic import Field

from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec
from backroom.rules.templates import TemplateText, render


class Params(ActionParams):
    note: TemplateText = Field(min_length=1, max_length=2000)


def run(params: Params, ctx: ActionContext) -> str:
    ctx.order().add_note(render(params.note, ctx.context), f"rule:{ctx.rule}", ctx.uow.clock.now())
    return "note added"


SPEC = ActionSpec("add_order_note", "Add an internal note to the order (note: a template)", Params, run, "order")
