"""Stable codes shown in the review queue, API, CLI and UI. Keys never change once shipped."""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    BACKORDER = "backorder"
    PAYMENT_FAILED = "payment_failed"
    ADDRESS_INVALID = "address_invalid"
    HIGH_VALUE = "high_value"
    UNKNOWN_SKU = "unknown_sku"
    DUPLICATE_ORDER = "duplicate_order"
    FULFILLMENT_FAILED = "fulfillment_failed"
    EMAIL_FAILED = "email_failed"
    INPUT_FAILED = "input_failed"
    RULE_HOLD = "rule_hold"
    ACTION_FAILED = "action_failed"


class ReviewAction(StrEnum):
    APPROVE = "approve"
    CANCEL_ORDER = "cancel_order"
    EDIT_ADDRESS = "edit_address"
    RETRY = "retry"
    DISMISS = "dismiss"


ALLOWED_ACTIONS: dict[ReasonCode, tuple[ReviewAction, ...]] = {
    ReasonCode.BACKORDER: (ReviewAction.CANCEL_ORDER, ReviewAction.DISMISS),
    ReasonCode.PAYMENT_FAILED: (ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER),
    ReasonCode.ADDRESS_INVALID: (ReviewAction.EDIT_ADDRESS, ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER),
    ReasonCode.HIGH_VALUE: (ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER),
    ReasonCode.UNKNOWN_SKU: (ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER),
    ReasonCode.DUPLICATE_ORDER: (ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER),
    ReasonCode.FULFILLMENT_FAILED: (ReviewAction.RETRY, ReviewAction.DISMISS),
    ReasonCode.EMAIL_FAILED: (ReviewAction.RETRY, ReviewAction.DISMISS),
    ReasonCode.INPUT_FAILED: (ReviewAction.RETRY, ReviewAction.DISMISS),
    ReasonCode.RULE_HOLD: (ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER),
    ReasonCode.ACTION_FAILED: (ReviewAction.RETRY, ReviewAction.DISMISS),
}

#: What a review item opened by a rule (with a reason of the rule's own naming) offers, by subject.
RULE_REVIEW_ACTIONS: dict[str, tuple[ReviewAction, ...]] = {
    "order": (ReviewAction.APPROVE, ReviewAction.CANCEL_ORDER, ReviewAction.DISMISS),
}
RULE_REVIEW_DEFAULT_ACTIONS = (ReviewAction.DISMISS,)

#: Holds that a human must clear before the order may be fulfilled (backorder clears itself when stock arrives).
HUMAN_HOLDS = frozenset(
    {
        ReasonCode.PAYMENT_FAILED,
        ReasonCode.ADDRESS_INVALID,
        ReasonCode.HIGH_VALUE,
        ReasonCode.UNKNOWN_SKU,
        ReasonCode.DUPLICATE_ORDER,
        ReasonCode.RULE_HOLD,
    }
)
