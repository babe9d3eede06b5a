"""The action registry: one module per action, each declaring its parameters next to the code that runs it."""

from __future__ import annotations

from backroom.rules.actions import (
    add_order_note,
    call_webhook,
    cancel_order,
    create_review_item,
    hold_fulfillment,
    notify_slack,
    release_fulfillment,
    send_email,
    set_priority,
    tag_order,
)
from backroom.rules.actions.base import ActionContext, ActionParams, ActionSpec

ACTIONS: dict[str, ActionSpec] = {
    m.SPEC.name: m.SPEC
    for m in (tag_order, hold_fulfillment, release_fulfillment, add_order_note, create_review_item, send_email,
              notify_slack, call_webhook, set_priority, cancel_order)
}

__all__ = ["ACTIONS", "ActionContext", "ActionParams", "ActionSpec"]
