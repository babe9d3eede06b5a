from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Params(ActionParams):
    tags: list[Tag] = Field(min_length=1)

    @field_validator("tags", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def run(params: Params, ctx: ActionContext) -> str:
    added = ctx.order().add_tags(params.tags)
    return "tagged " + ", ".join(added) if added else "already tagged"


SPEC = ActionSpec("tag_order", "Add tags to the order (tags: ['vip'] or tags: vip)", Params, run, "order")
