"""Handlers of what a connected store's platform reports besides new orders: payments, refunds, checkouts,
customers and stock levels. One handler per command; the order pipeline's own steps (reserve, fulfil, cancel)
are reused from handlers.py, never repeated here."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from backroom.customers.model import CustomerProfile, MarketingConsent
from backroom.inventory.platform import PlatformLevel, drift
from backroom.orders import commands
from backroom.orders.checkouts import REPORTED, Checkout, checkout_event
from backroom.orders.error_codes import ReasonCode
from backroom.orders.handlers import (
    ImportResult,
    PipelineSettings,
    _advance,
    _cancel,
    _emit,
    _id,
    _import_fresh,
    _open_review,
)
from backroom.orders.model import UNFULFILLED, Order, OrderStatus, PaymentState
from backroom.orders.payments import FAILED, SECURED, Refund, covers_order, moves_forward
from backroom.orders.ports import PlatformUnitOfWork
from backroom.service_layer.messages import Decision, RecordedEvent

PAYMENT_POLICY = ("platform_payment", "1")
REFUND_POLICY = ("platform_refund", "1")
#: an order in one of these states can still be stopped: it has not left the warehouse
NOT_SHIPPED = UNFULFILLED | {OrderStatus.FULFILLMENT_REQUESTED}


# -- payments ------------------------------------------------------------------------------------------------------


def record_payment(cmd: commands.RecordPayment, uow: PlatformUnitOfWork,
                   settings: PipelineSettings) -> list[ImportResult]:
    """Answers like ImportOrders (created or existing, with the order's status) so a webhook reply reads the same."""
    incoming = cmd.order
    with uow:
        found = uow.orders.existing(incoming.channel, {incoming.external_id}).get(incoming.external_id)
        if found is None:  # the platform's orders/create never came: the order enters the pipeline now
            results: dict[tuple[str, str], ImportResult] = {}
            _import_fresh([incoming], uow, settings, results)
            uow.commit()
            return [results[(incoming.channel, incoming.external_id)]]
        order = uow.orders.get(found[0])
        _apply_payment(order, incoming.payment_state, incoming.source_ref, uow, settings)
        uow.commit()
    return [ImportResult(order.external_id, _id(order), False, order.status.value)]


def _apply_payment(order: Order, reported: PaymentState, source_ref: str, uow: PlatformUnitOfWork,
                   settings: PipelineSettings) -> None:
    current = order.payment_state
    if not moves_forward(current, reported):
        return  # the same state again, or older news arriving late: nothing to decide
    holds_before = sorted(h.value for h in order.holds)
    order.record_payment(reported)
    if reported in SECURED:
        outcome = _payment_secured(order, reported, uow, settings)
    elif reported in FAILED:
        outcome = _payment_failed(order, reported, uow)
    elif reported == PaymentState.REFUNDED:
        outcome = _fully_refunded(order, uow, settings)
    else:
        outcome = f"payment {reported.value}"
    uow.record_decision(Decision(
        f"payment:{source_ref or order.channel + ':' + order.external_id}", *PAYMENT_POLICY, "order", order.id,
        {"channel": order.channel, "from": current.value, "to": reported.value, "holds": holds_before},
        {"outcome": outcome, "status": order.status.value, "holds": sorted(h.value for h in order.holds)}))
    if reported == PaymentState.PAID:
        _emit(uow, "order_paid", order, previous=current.value)


def _payment_secured(order: Order, reported: PaymentState, uow: PlatformUnitOfWork,
                     settings: PipelineSettings) -> str:
    """A payment hold is lifted (its review item closed by the system) and the order carries on."""
    if ReasonCode.PAYMENT_FAILED not in order.holds or order.status not in UNFULFILLED:
        return f"payment {reported.value}"
    order.clear_hold(ReasonCode.PAYMENT_FAILED)
    uow.resolve_reviews("order", _id(order), (ReasonCode.PAYMENT_FAILED.value,),
                        f"payment {reported.value} in {order.channel}")
    return _advance(order, uow, settings)


def _payment_failed(order: Order, reported: PaymentState, uow: PlatformUnitOfWork) -> str:
    """Held for a human (approve or cancel) if the warehouse does not have it yet; flagged if it has."""
    if order.status not in NOT_SHIPPED:
        return f"payment {reported.value} after the order {order.status.value}"
    if ReasonCode.PAYMENT_FAILED in order.holds:
        return "already held for its payment"
    if order.status in UNFULFILLED:
        order.hold(ReasonCode.PAYMENT_FAILED)
        order.settle_status()
    _open_review(uow, order, ReasonCode.PAYMENT_FAILED, f"payment {reported.value} in {order.channel}")
    if order.status == OrderStatus.FULFILLMENT_REQUESTED:
        return "review opened: the warehouse already has the order"
    return "held for review"


def _fully_refunded(order: Order, uow: PlatformUnitOfWork, settings: PipelineSettings) -> str:
    """An order paid back in full is not sent: cancelled (stock released) unless it has left already."""
    if order.status not in NOT_SHIPPED:
        return f"refunded after the order {order.status.value}"
    _cancel(order, f"refunded in {order.channel}", order.channel, uow, settings)
    return "cancelled: fully refunded"




# -- refunds -------------------------------------------------------------------------------------------------------


def record_refunds(cmd: commands.RecordRefunds, uow: PlatformUnitOfWork, settings: PipelineSettings) -> str:
    with uow:
        found = uow.orders.existing(cmd.channel, {cmd.external_id}).get(cmd.external_id)
        if found is None:
            uow.commit()  # recorded as processed: there is no order of ours to refund
            return "unknown order"
        order = uow.orders.get(found[0])
        seen = uow.payments.recorded_refunds(cmd.channel, {r.refund_id for r in cmd.refunds})
        fresh = [_in_currency(r, order) for r in {r.refund_id: r for r in cmd.refunds}.values()
                 if r.refund_id not in seen]
        for refund in fresh:
            uow.payments.add_refund(order, refund)
        every = uow.payments.refunds_of(order)
        full = cmd.whole_order or covers_order(order, every)
        if not fresh and (not full or order.payment_state == PaymentState.REFUNDED):
            uow.commit()
            return "already recorded"
        outcome = _refunded(order, fresh, every, full, cmd, uow, settings)
        uow.commit()
    return outcome


def _refunded(order: Order, fresh: list[Refund], every: list[Refund], full: bool, cmd: commands.RecordRefunds,
              uow: PlatformUnitOfWork, settings: PipelineSettings) -> str:
    was = order.payment_state
    outcome = "partly refunded"
    if full and was != PaymentState.REFUNDED:
        order.record_payment(PaymentState.REFUNDED)
        outcome = _fully_refunded(order, uow, settings)
    elif full:
        outcome = "fully refunded"
    amount = sum((r.amount for r in fresh), Decimal("0"))
    new_ids = {r.refund_id for r in fresh}
    uow.record_decision(Decision(
        f"refund:{cmd.channel}:{','.join(sorted(new_ids)) or cmd.external_id}", *REFUND_POLICY, "order", order.id,
        {"refunds": [_refund_json(r) for r in fresh],
         "refunded_before": [r.refund_id for r in every if r.refund_id not in new_ids],
         "order_total": str(order.total), "currency": order.currency, "whole_order": cmd.whole_order},
        {"outcome": outcome, "fully_refunded": full, "payment_state": order.payment_state.value,
         "status": order.status.value}))
    _emit(uow, "order_refunded", order, amount=str(amount), currency=order.currency, full=full,
          refund_ids=[r.refund_id for r in fresh])
    return outcome


def _in_currency(refund: Refund, order: Order) -> Refund:
    """A platform that does not say a refund's currency means the order's."""
    return refund if refund.currency else replace(refund, currency=order.currency)


def _refund_json(refund: Refund) -> dict[str, Any]:
    return {"id": refund.refund_id, "amount": str(refund.amount), "currency": refund.currency,
            "reason": refund.reason, "restocked": refund.restocked,
            "lines": [[line.sku, line.quantity, line.restocked] for line in refund.lines]}


# -- checkouts (abandoned carts) -----------------------------------------------------------------------------------


def record_checkout(cmd: commands.RecordCheckout, uow: PlatformUnitOfWork, settings: PipelineSettings) -> str:
    with uow:
        incoming = _checkout(cmd, uow.store_id)
        stored = uow.checkouts.get(cmd.channel, cmd.external_id)
        if stored is None and uow.checkouts.add(incoming):
            uow.record_event(checkout_event("checkout_created", incoming))
            if incoming.completed_at is not None:
                uow.record_event(checkout_event("checkout_completed", incoming))
            _record_opt_in(cmd, uow)
            uow.commit()
            return "created"
        stored = stored or _added_meanwhile(uow.checkouts.get(cmd.channel, cmd.external_id))
        outcome = _update_checkout(stored, incoming, uow)
        if not outcome.startswith("unchanged: "):  # an older or deleted checkout's word is not the buyer's latest
            _record_opt_in(cmd, uow)
        uow.commit()
    return outcome


def _record_opt_in(cmd: commands.RecordCheckout, uow: PlatformUnitOfWork) -> None:
    """A buyer who ticked the store's marketing box at checkout is subscribed, unless they unsubscribed before (a
    box remembered from an earlier visit must not undo the unsubscribe link) or the store awaits their confirmation
    (``pending``: double opt-in). A checkout never unsubscribes anyone."""
    email = cmd.email.strip().lower()
    if cmd.marketing_consent is not MarketingConsent.SUBSCRIBED or not email:
        return
    profiles = uow.customer_profiles
    found = profiles.find(cmd.channel, "", email)  # no platform customer id: by email
    if found is None:
        if profiles.add(CustomerProfile(uow.store_id, email, cmd.customer_name, MarketingConsent.SUBSCRIBED)):
            return
        found = _added_meanwhile(profiles.find(cmd.channel, "", email))
    if found.marketing_consent in (MarketingConsent.UNKNOWN, MarketingConsent.NOT_SUBSCRIBED):
        found.marketing_consent = MarketingConsent.SUBSCRIBED
        profiles.save(found)


def _update_checkout(stored: Checkout, incoming: Checkout, uow: PlatformUnitOfWork) -> str:
    if stored.deleted_at is not None:
        return "unchanged: the checkout was deleted"
    if stored.updated_at > incoming.updated_at:
        return "unchanged: older than the version kept"
    if stored.content == incoming.content:
        return "unchanged"
    was_open = stored.completed_at is None
    stored.take(incoming)
    uow.checkouts.save(stored)
    uow.record_event(checkout_event("checkout_updated", stored))
    if was_open and stored.completed_at is not None:
        uow.record_event(checkout_event("checkout_completed", stored))
        return "completed"
    return "updated"


def delete_checkout(cmd: commands.DeleteCheckout, uow: PlatformUnitOfWork, settings: PipelineSettings) -> str:
    with uow:
        stored = uow.checkouts.get(cmd.channel, cmd.external_id)
        if stored is None or stored.deleted_at is not None:
            uow.commit()
            return "unknown checkout" if stored is None else "already deleted"
        stored.deleted_at = uow.clock.now()
        uow.checkouts.save(stored)
        uow.commit()
    return "deleted"


def _checkout(cmd: commands.RecordCheckout, store_id: int) -> Checkout:
    reported = {name: getattr(cmd, name) for name in REPORTED}
    return Checkout(store_id, cmd.channel, cmd.external_id, **{**reported, "email": cmd.email.lower()})


_T = TypeVar("_T")


def _added_meanwhile(found: _T | None) -> _T:
    """A row another transaction inserted first (our insert did nothing): committed, so there now."""
    if found is None:
        raise AssertionError("a row another transaction added is there once it committed")
    return found


# -- customers -----------------------------------------------------------------------------------------------------


def record_customer(cmd: commands.RecordCustomer, uow: PlatformUnitOfWork, settings: PipelineSettings) -> str:
    email = cmd.email.strip().lower()
    with uow:
        if not email:
            uow.commit()
            return "not kept: the customer has no email"
        profiles = uow.customer_profiles
        found = profiles.find(cmd.channel, cmd.external_id, email)
        if found is None:
            new = CustomerProfile(uow.store_id, email, cmd.name, cmd.marketing_consent, cmd.channel,
                                  cmd.external_id, cmd.updated_at)
            if profiles.add(new):
                uow.commit()
                return "created"
            found = _added_meanwhile(profiles.find(cmd.channel, cmd.external_id, email))
        outcome = _update_customer(found, cmd, email, uow)
        uow.commit()
    return outcome


def _update_customer(found: CustomerProfile, cmd: commands.RecordCustomer, email: str,
                     uow: PlatformUnitOfWork) -> str:
    if found.is_newer_than(cmd.updated_at):
        return "unchanged: older than the update kept"
    outcome = "updated"
    if email != found.email and uow.customer_profiles.email_owner(email) not in (None, found.id):
        outcome = f"updated; email kept: {email} belongs to another customer"
        email = found.email
    found.apply(email, cmd.name, cmd.marketing_consent, cmd.channel, cmd.external_id, cmd.updated_at,
                cmd.consent_updated_at)
    uow.customer_profiles.save(found)
    return outcome


# -- stock levels the platform reports -----------------------------------------------------------------------------


def record_platform_item(cmd: commands.RecordPlatformItem, uow: PlatformUnitOfWork,
                         settings: PipelineSettings) -> str:
    with uow:
        if cmd.sku:
            uow.platform_stock.map_item(cmd.channel, cmd.item_id, cmd.sku)
        uow.commit()
    return f"inventory item {cmd.item_id} is {cmd.sku}" if cmd.sku else "no SKU: nothing to map"


def record_platform_stock(cmd: commands.RecordPlatformStock, uow: PlatformUnitOfWork,
                          settings: PipelineSettings) -> str:
    """The report is kept (the drift record); backroom's stock is never changed by it."""
    with uow:
        repo = uow.platform_stock
        report = PlatformLevel(cmd.channel, cmd.item_id, cmd.location_id, repo.item_sku(cmd.channel, cmd.item_id),
                               cmd.available, cmd.updated_at)
        stored = repo.level(cmd.channel, cmd.item_id, cmd.location_id)
        if stored is None and not repo.add(report):
            stored = _added_meanwhile(repo.level(cmd.channel, cmd.item_id, cmd.location_id))
        if stored is not None and stored.is_newer_than(cmd.updated_at):
            uow.commit()
            return "unchanged: older than the report kept"
        repo.save(report)  # first, so the SKU's platform total counts it
        outcome = _compare(report, stored, uow)
        if report.difference is not None:
            repo.save(report)
        uow.commit()
    return outcome


def _compare(report: PlatformLevel, previous: PlatformLevel | None, uow: PlatformUnitOfWork) -> str:
    """Set the report's drift against backroom's ledger; ``platform_stock_drift`` when it becomes a new one."""
    if report.sku is None:
        return f"recorded; the SKU of inventory item {report.item_id} is not known yet"
    if report.available is None:
        return "recorded; the platform does not track this item's stock"
    if not uow.catalog.known_skus({report.sku}):
        return f"recorded; {report.sku} is not in backroom's catalog"
    platform_total = uow.platform_stock.platform_available(report.channel, report.sku)
    available, on_hand = uow.platform_stock.backroom_stock(report.sku)
    report.backroom_available, report.difference = available, drift(platform_total, available)
    if report.difference == 0:
        return "in step"
    if previous is None or previous.difference != report.difference:
        uow.record_event(RecordedEvent("platform_stock_drift", "sku", None, {
            "sku": report.sku, "available": available, "on_hand": on_hand, "platform_available": platform_total,
            "difference": report.difference, "channel": report.channel}))
    return f"drift: {report.channel} shows {platform_total}, backroom {available}"
