from __future__ import annotations

from backroom.orders.error_codes import RULE_REVIEW_ACTIONS, RULE_REVIEW_DEFAULT_ACTIONS
from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec, RuleReason
from backroom.rules.templates import TemplateText, render
from backroom.service_layer.messages import RecordedEvent, ReviewRequest


class Params(ActionParams):
    reason: RuleReason
    title: TemplateText = ""
    note: TemplateText = ""


def run(params: Params, ctx: ActionContext) -> str:
    event = ctx.event
    title = render(params.title, ctx.context) or f"{params.reason.replace('_', ' ')} (rule {ctx.rule})"
    allowed = RULE_REVIEW_ACTIONS.get(event.subject_type, RULE_REVIEW_DEFAULT_ACTIONS)
    ctx.uow.request_review(ReviewRequest(
        reason_code=params.reason, subject_type=event.subject_type, subject_id=event.subject_id, title=title,
        context={"rule": ctx.rule, "version": ctx.version, "event": event.name,
                 "note": render(params.note, ctx.context), **event.data},
        allowed_actions=tuple(a.value for a in allowed),
    ))
    if event.subject_type == "order":
        ctx.uow.record_event(RecordedEvent("review_item_created", "order", event.subject_id,
                                           {**event.data, "reason_code": params.reason, "title": title}))
    return f"review item {params.reason}"


SPEC = ActionSpec("create_review_item", "Put the event's subject in the review queue (reason, title, note)",
                  Params, run)
