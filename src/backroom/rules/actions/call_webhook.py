from __future__ import annotations

from pydantic import Field

from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec


class Params(ActionParams):
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)


def run(params: Params, ctx: ActionContext) -> str:
    event = ctx.event
    return ctx.request("webhook_call", {
        "url": params.url,
        "body": {"rule": ctx.rule, "version": ctx.version, "event": event.name, "subject_type": event.subject_type,
                 "subject_id": event.subject_id, "context": ctx.context},
    })


SPEC = ActionSpec(
    "call_webhook",
    "POST the event's context as JSON, signed (X-Backroom-Signature, HMAC-SHA256 with BACKROOM_RULES__WEBHOOK_SECRET)",
    Params, run,
)
