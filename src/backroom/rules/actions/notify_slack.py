from __future__ import annotations

from pydantic import Field

from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec
from backroom.rules.templates import TemplateText, render


class Params(ActionParams):
    channel: str = Field("", pattern=r"^[#@]?[\w.\-]{0,80}$")
    text: TemplateText = Field(min_length=1, max_length=3000)


def run(params: Params, ctx: ActionContext) -> str:
    return ctx.request("slack_message", {"channel": params.channel, "text": render(params.text, ctx.context)})


SPEC = ActionSpec(
    "notify_slack",
    "Post to Slack through an incoming webhook (channel: a name configured in BACKROOM_SLACK__CHANNELS; text)",
    Params, run,
)
