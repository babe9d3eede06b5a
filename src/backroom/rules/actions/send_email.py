from __future__ import annotations

from pydantic import Field

from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec
from backroom.rules.templates import TemplateText, render


class Params(ActionParams):
    to: str = Field(pattern=r"^(customer|[^@\s]+@[^@\s]+\.[^@\s]+)$")
    subject: TemplateText = Field(min_length=1, max_length=200)
    body: TemplateText = Field(min_length=1)

    def needs_subject(self) -> str | None:
        return "order" if self.to == "customer" else None


def run(params: Params, ctx: ActionContext) -> str:
    to = str(ctx.context["order"]["email"]) if params.to == "customer" else params.to
    return ctx.request("email", {
        "template": "message", "to": to,
        "context": {"subject": render(params.subject, ctx.context), "body": render(params.body, ctx.context)},
    })


SPEC = ActionSpec("send_email", "Email the order's customer (to: customer) or an address (subject, body)",
                  Params, run)
