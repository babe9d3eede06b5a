"""Handlers of the order pipeline: import → validate → reserve → request fulfillment → ship → deliver.

Pure with respect to the outside world: they change state through the unit of work and *ask for* effects
(fulfillment requests, customer emails); workers run those after commit.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from backroom.errors import Conflict, InvalidInput
from backroom.inventory.model import StockPool
from backroom.orders import aftercare, commands
from backroom.orders.checkouts import complete_checkouts
from backroom.orders.error_codes import ALLOWED_ACTIONS, ReasonCode, ReviewAction
from backroom.orders.model import TERMINAL, Order, OrderStatus, Reservation
from backroom.orders.ports import OrdersUnitOfWork
from backroom.orders.validation import OrderPolicy, address_problems, validate_order
from backroom.replenishment import service as purchasing_service
from backroom.replenishment.commands import ReceivePurchaseOrder
from backroom.replenishment.purchasing import PO_APPROVAL
from backroom.review.model import ReviewStatus
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest

FULFILLMENT = "fulfillment"
CUSTOMER_EMAILS = "customer_emails"
PLATFORM_SYNC = "platform_sync"
FULFILLMENT_KINDS = ("fulfillment_request",)
#: days a parcel travels once shipped, in the delivery estimates customers are told
TRANSIT_DAYS = 2


@dataclass(frozen=True)
class PipelineSettings:
    policy: OrderPolicy = field(default_factory=OrderPolicy)
    handling_days: int = 1
    low_stock_threshold: int = 5
    #: channels whose platform is told what backroom did (fulfilled with tracking, cancelled): connected stores
    platform_channels: frozenset[str] = frozenset({"shopify", "woocommerce"})


@dataclass(frozen=True)
class ImportResult:
    external_id: str
    order_id: int
    created: bool
    status: str


# -- import ---------------------------------------------------------------------------------------------------


def import_orders(
    cmd: commands.ImportOrders, uow: OrdersUnitOfWork, settings: PipelineSettings
) -> list[ImportResult]:
    with uow:
        results: dict[tuple[str, str], ImportResult] = {}
        fresh = _fresh_orders(cmd.orders, uow, results)
        if fresh:
            _import_fresh(fresh, uow, settings, results)
        uow.commit()
    out, first = [], set()
    for o in cmd.orders:  # the same order twice in one batch (two deliveries of it): created once, then existing
        key = (o.channel, o.external_id)
        result = results[key]
        out.append(result if key not in first else dataclasses.replace(result, created=False))
        first.add(key)
    return out


def _fresh_orders(
    incoming: tuple[commands.IncomingOrder, ...],
    uow: OrdersUnitOfWork,
    results: dict[tuple[str, str], ImportResult],
) -> list[commands.IncomingOrder]:
    by_channel: dict[str, set[str]] = defaultdict(set)
    for o in incoming:
        by_channel[o.channel].add(o.external_id)
    for channel, ids in by_channel.items():
        for ext, (order_id, status) in uow.orders.existing(channel, ids).items():
            results[(channel, ext)] = ImportResult(ext, order_id, False, status)
    fresh: dict[tuple[str, str], commands.IncomingOrder] = {}
    for o in incoming:
        key = (o.channel, o.external_id)
        if key not in results and key not in fresh:
            fresh[key] = o
    return list(fresh.values())


def _import_fresh(
    fresh: list[commands.IncomingOrder],
    uow: OrdersUnitOfWork,
    settings: PipelineSettings,
    results: dict[tuple[str, str], ImportResult],
) -> None:
    now = uow.clock.now()
    skus = {line.sku for o in fresh for line in o.lines}
    known = uow.catalog.known_skus(skus)
    customers = uow.customers.upsert({o.email.lower(): o.customer_name for o in fresh})
    ids = uow.orders.next_ids(len(fresh))
    orders = [_new_order(o, oid, customers, uow.store_id) for o, oid in zip(fresh, ids, strict=True)]
    fingerprints = [o.fingerprint() for o in orders]
    seen = uow.orders.recent_fingerprints(set(fingerprints), now - settings.policy.duplicate_window)
    pool = uow.stock.lock(skus & known)
    for order, incoming, fingerprint in zip(orders, fresh, fingerprints, strict=True):
        duplicate_of = seen.get(fingerprint)
        seen.setdefault(fingerprint, order.number)
        _decide_new_order(order, incoming, known, duplicate_of, pool, uow, settings)
        results[(order.channel, order.external_id)] = ImportResult(order.external_id, _id(order), True, order.status)
    complete_checkouts(uow, zip(orders, fresh, strict=True))


def _new_order(o: commands.IncomingOrder, order_id: int, customers: dict[str, int], store_id: int) -> Order:
    return Order(
        store_id=store_id,
        channel=o.channel,
        external_id=o.external_id,
        number=o.number,
        email=o.email.lower(),
        customer_name=o.customer_name,
        currency=o.currency,
        payment_state=o.payment_state,
        shipping_address=o.shipping_address,
        billing_address=o.billing_address,
        lines=o.lines,
        placed_at=o.placed_at,
        customer_id=customers.get(o.email.lower()),
        id=order_id,
    )


def _decide_new_order(
    order: Order,
    incoming: commands.IncomingOrder,
    known: set[str],
    duplicate_of: str | None,
    pool: StockPool,
    uow: OrdersUnitOfWork,
    settings: PipelineSettings,
) -> None:
    findings = validate_order(order, known, settings.policy, duplicate_of)
    for finding in findings:
        order.hold(finding.reason)
    uow.orders.add(order)
    available_before = {sku: pool.available(sku) for sku in order.needs() if sku in known}
    _emit(uow, "order_created", order, total=str(order.total), lines=len(order.lines))
    shortfall = _reserve(order, pool, uow, settings)
    order.settle_status()
    uow.record_decision(
        Decision(
            trigger=f"import:{incoming.source_ref or order.channel + ':' + order.external_id}",
            policy=settings.policy.name,
            policy_version=settings.policy.version,
            subject_type="order",
            subject_id=order.id,
            inputs={
                "total": str(order.total),
                "currency": order.currency,
                "payment_state": order.payment_state.value,
                "country": order.shipping_address.country,
                "needs": order.needs(),
                "available": available_before,
                "duplicate_of": duplicate_of,
            },
            outcome={
                "status": order.status.value,
                "findings": [{"reason": f.reason.value, "detail": f.detail} for f in findings],
                "reserved": _reservations_json(order),
                "shortfall": shortfall,
            },
        )
    )
    for finding in findings if order.status != OrderStatus.CANCELLED else ():  # a rule may cancel on arrival
        _open_review(uow, order, finding.reason, finding.detail)
    if order.ready_to_fulfil:
        _request_fulfillment(order, uow, settings, template="order_confirmation")


def _reserve(order: Order, pool: StockPool, uow: OrdersUnitOfWork, settings: PipelineSettings) -> dict[str, int]:
    """Reserve what can be reserved now; a shortfall puts the order in the FIFO backorder queue."""
    if order.status == OrderStatus.CANCELLED or {ReasonCode.UNKNOWN_SKU, ReasonCode.PAYMENT_FAILED} & order.holds:
        return {}
    needs = order.shortfall()
    if not needs:
        return {}
    before = {sku: pool.available(sku) for sku in needs}
    result = pool.allocate(needs, order.reference)
    order.add_reservations(result.allocations)
    if result.allocations:
        _emit(uow, "stock_reserved", order, reserved=[[a.sku, a.location_id, a.quantity] for a in result.allocations])
        _report_low_stock(before, pool, uow, settings.low_stock_threshold)
    if result.shortfall:
        _enter_backorder(order, dict(result.shortfall), uow)
    return dict(result.shortfall)


def _report_low_stock(before: dict[str, int], pool: StockPool, uow: OrdersUnitOfWork, default: int) -> None:
    """``stock_low`` once per crossing: when a SKU's available stock falls to or below its threshold."""
    for sku, was in before.items():
        own = uow.catalog.low_stock_threshold(sku)
        threshold = default if own is None else own
        now = pool.available(sku)
        if now <= threshold < was:
            on_hand = sum(level.on_hand for level in pool.levels.get(sku, ()))
            uow.record_event(RecordedEvent("stock_low", "sku", None, {
                "sku": sku, "available": now, "on_hand": on_hand, "threshold": threshold}))


def _enter_backorder(order: Order, shortfall: dict[str, int], uow: OrdersUnitOfWork) -> None:
    if order.backorder_seq is not None:
        return
    order.backorder_seq = uow.orders.next_backorder_seq()
    detail = "waiting for " + ", ".join(f"{qty} × {sku}" for sku, qty in sorted(shortfall.items()))
    _open_review(uow, order, ReasonCode.BACKORDER, detail)
    _emit(uow, "order_backordered", order, shortfall=shortfall)
    if not order.human_holds:
        _email(uow, order, "backorder_notice", {"shortfall": shortfall})


# -- fulfillment ----------------------------------------------------------------------------------------------


def _request_fulfillment(order: Order, uow: OrdersUnitOfWork, settings: PipelineSettings, template: str) -> None:
    by_location = _lines_by_location(order, order.reservations)
    for location_id, lines in by_location.items():
        uow.request_effect(_warehouse_effect("fulfillment_request", order, location_id, lines))
    order.move_to(OrderStatus.FULFILLMENT_REQUESTED)
    eta = (uow.clock.now() + timedelta(days=settings.handling_days + TRANSIT_DAYS)).date().isoformat()
    _email(uow, order, template, {"eta": eta})
    _emit(uow, "fulfillment_requested", order, locations=sorted(by_location))


def _lines_by_location(order: Order, reservations: list[Reservation]) -> dict[int, list[dict[str, Any]]]:
    titles = {line.sku: line.title for line in order.lines}
    by_location: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in reservations:
        by_location[r.location_id].append({"sku": r.sku, "quantity": r.quantity, "title": titles.get(r.sku, "")})
    return dict(sorted(by_location.items()))


def _warehouse_effect(kind: str, order: Order, location_id: int, lines: list[dict[str, Any]]) -> EffectRequest:
    """One message to one location's warehouse: a fulfillment request, or the cancellation of one."""
    return EffectRequest(
        kind=kind,
        key=_warehouse_key(kind, _id(order), location_id),
        automation=FULFILLMENT,
        subject_id=order.id,
        payload={
            "type": kind,
            "order_id": order.id,
            "order_number": order.number,
            "location_id": location_id,
            "lines": lines,
            "ship_to": order.shipping_address.as_dict(),
            "email": order.email,
        },
    )


def _warehouse_key(kind: str, order_id: int, location_id: int) -> str:
    return f"{kind.replace('_', '-')}:order-{order_id}:loc-{location_id}:v1"


def _email(uow: OrdersUnitOfWork, order: Order, template: str, extra: dict[str, Any], version: str = "v1") -> None:
    uow.request_effect(
        EffectRequest(
            kind="email",
            key=f"email:{template}:order-{order.id}:{version}",
            automation=CUSTOMER_EMAILS,
            subject_id=order.id,
            payload={
                "template": template,
                "to": order.email,
                "context": {
                    "name": order.customer_name,
                    "order_number": order.number,
                    "currency": order.currency,
                    "total": str(order.total),
                    "lines": [
                        {"sku": line.sku, "title": line.title, "quantity": line.quantity,
                         "unit_price": str(line.unit_price)}
                        for line in order.lines
                    ],
                    **extra,
                },
            },
        )
    )


def record_shipment(cmd: commands.RecordShipment, uow: OrdersUnitOfWork, settings: PipelineSettings) -> None:
    with uow:
        order = uow.orders.get(cmd.order_id)
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            return  # a repeated tracking update changes nothing
        if order.status != OrderStatus.FULFILLMENT_REQUESTED:
            raise Conflict(f"order {order.number} is {order.status.value}; only requested orders can ship")
        _ship(order, cmd.carrier, cmd.tracking_number, cmd.tracking_url, uow)
        _tell_platform_shipped(order, cmd.carrier, cmd.tracking_number, cmd.tracking_url, uow, settings)
        uow.commit()


def record_shipments(cmd: commands.RecordShipments, uow: OrdersUnitOfWork, settings: PipelineSettings) -> BatchOutcome:
    """Each shipment as record_shipment would apply it; one that cannot apply is refused alone."""
    outcome = BatchOutcome()
    with uow:
        orders = {_id(o): o for o in uow.orders.get_many([s.order_id for s in cmd.shipments])}
        pool = uow.stock.lock({r.sku for o in orders.values() for r in o.reservations})
        for s in cmd.shipments:
            order = orders.get(s.order_id)
            if order is None:
                outcome.refused.append((str(s.order_id), "order not found"))
            elif order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                outcome.unchanged += 1
            elif order.status != OrderStatus.FULFILLMENT_REQUESTED:
                outcome.refused.append((str(s.order_id), f"order is {order.status.value}"))
            else:
                _ship(order, s.carrier, s.tracking_number, s.tracking_url, uow, pool)
                _tell_platform_shipped(order, s.carrier, s.tracking_number, s.tracking_url, uow, settings)
                outcome.applied += 1
        uow.commit()
    return outcome


def record_deliveries(cmd: commands.RecordDeliveries, uow: OrdersUnitOfWork,
                      settings: PipelineSettings) -> BatchOutcome:
    outcome = BatchOutcome()
    with uow:
        orders = {_id(o): o for o in uow.orders.get_many(list(cmd.order_ids))}
        for order_id in cmd.order_ids:
            order = orders.get(order_id)
            if order is None:
                outcome.refused.append((str(order_id), "order not found"))
            elif order.status == OrderStatus.DELIVERED:
                outcome.unchanged += 1
            elif order.status != OrderStatus.SHIPPED:
                outcome.refused.append((str(order_id), f"order is {order.status.value}"))
            else:
                _deliver(order, uow)
                outcome.applied += 1
        uow.commit()
    return outcome


@dataclass
class BatchOutcome:
    """What a batch command did: applied, already so (a repeat), and refused with the reason, per item."""

    applied: int = 0
    unchanged: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    allocated: int = 0  # backordered orders completed by stock this batch brought


def _tell_platform_shipped(order: Order, carrier: str, tracking_number: str, tracking_url: str,
                           uow: OrdersUnitOfWork, settings: PipelineSettings) -> None:
    """An order of a connected store shipped by our warehouse: the store gets the fulfillment with its tracking
    (one per order and tracking number, whatever the retries)."""
    if order.channel in settings.platform_channels:
        uow.request_effect(_platform_effect("platform_fulfillment", order, uow.store_id, tracking_number or "untracked",
                                            {"carrier": carrier, "tracking_number": tracking_number,
                                             "tracking_url": tracking_url}))


def _platform_effect(kind: str, order: Order, store_id: int, version: str, extra: dict[str, Any]) -> EffectRequest:
    return EffectRequest(
        kind=kind, key=f"{kind.replace('_', '-')}:order-{_id(order)}:{version}", automation=PLATFORM_SYNC,
        subject_id=order.id,
        payload={"platform": order.channel, "store_id": store_id, "external_id": order.external_id,
                 "order_number": order.number, **extra})


def _ship(order: Order, carrier: str, tracking_number: str, tracking_url: str, uow: OrdersUnitOfWork,
          pool: StockPool | None = None) -> None:
    pool = pool or uow.stock.lock({r.sku for r in order.reservations})
    for r in order.take_reservations():
        pool.ship(r.as_allocation(), order.reference)
    order.move_to(OrderStatus.SHIPPED)
    uow.orders.record_shipment(order, carrier, tracking_number, tracking_url)
    _emit(uow, "order_shipped", order, carrier=carrier, tracking_number=tracking_number)
    _email(uow, order, "shipping_confirmation",
           {"carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url})


def cancel_order_by_reference(cmd: commands.CancelOrderByReference, uow: OrdersUnitOfWork,
                              settings: PipelineSettings) -> str:
    with uow:
        found = uow.orders.existing(cmd.channel, {cmd.external_id}).get(cmd.external_id)
        if found is None:
            uow.commit()  # the input is recorded as processed: there is nothing of ours to cancel
            return "unknown order"
        order = uow.orders.get(found[0])
        if order.status == OrderStatus.CANCELLED:
            uow.commit()
            return "already cancelled"
        _cancel(order, cmd.reason, cmd.actor, uow, settings)
        uow.commit()
    return "cancelled"


def record_shipment_by_reference(cmd: commands.RecordShipmentByReference, uow: OrdersUnitOfWork,
                                 settings: PipelineSettings) -> str:
    with uow:
        found = uow.orders.existing(cmd.channel, {cmd.external_id}).get(cmd.external_id)
        if found is None:
            uow.commit()
            return "unknown order"
        order = uow.orders.get(found[0])
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            uow.commit()
            return f"already {order.status.value}"
        if order.status != OrderStatus.FULFILLMENT_REQUESTED:
            raise Conflict(f"order {order.number} is {order.status.value}; only requested orders can ship")
        _ship(order, cmd.carrier, cmd.tracking_number, cmd.tracking_url, uow)
        uow.commit()
    return "shipped"


def record_delivery(cmd: commands.RecordDelivery, uow: OrdersUnitOfWork, settings: PipelineSettings) -> None:
    with uow:
        order = uow.orders.get(cmd.order_id)
        if order.status == OrderStatus.DELIVERED:
            return
        if order.status != OrderStatus.SHIPPED:
            raise Conflict(f"order {order.number} is {order.status.value}; only shipped orders can be delivered")
        _deliver(order, uow)
        uow.commit()


def _deliver(order: Order, uow: OrdersUnitOfWork) -> None:
    order.move_to(OrderStatus.DELIVERED)
    _emit(uow, "shipment_delivered", order)


# -- cancellation and stock arriving --------------------------------------------------------------------------


def cancel_order(cmd: commands.CancelOrder, uow: OrdersUnitOfWork, settings: PipelineSettings) -> None:
    with uow:
        _cancel(uow.orders.get(cmd.order_id), cmd.reason, cmd.actor, uow, settings)
        uow.commit()


def cancel_within(order_id: int, reason: str, actor: str, uow: OrdersUnitOfWork, settings: PipelineSettings) -> None:
    """Cancel an order inside the caller's transaction (the support agent's, after the customer's "yes"), by the same
    rules as CancelOrder: refused once shipped, stock released, the warehouse told, the customer emailed."""
    _cancel(uow.orders.get(order_id), reason, actor, uow, settings)


def _cancel(order: Order, reason: str, actor: str, uow: OrdersUnitOfWork, settings: PipelineSettings) -> None:
    if order.status == OrderStatus.CANCELLED:
        return
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise Conflict(f"order {order.number} has shipped; start a return instead", code="already_shipped")
    was_requested = order.status == OrderStatus.FULFILLMENT_REQUESTED
    released = order.take_reservations()
    pool = uow.stock.lock({r.sku for r in released})
    for r in released:
        pool.release(r.as_allocation(), order.reference)
    order.move_to(OrderStatus.CANCELLED)
    order.backorder_seq = None
    withdrawn = set(uow.cancel_effects(_id(order), FULFILLMENT_KINDS))
    if was_requested:  # requested in this very transaction (a rule cancelling it): withdrawn before being written
        withdrawn |= set(uow.withdraw_unsent(_id(order), _fulfillment_keys(order, released)))
        # a location whose request was withdrawn unsent needs nothing; one that already has it must be told
        for location_id, lines in _lines_by_location(order, released).items():
            if _warehouse_key("fulfillment_request", _id(order), location_id) not in withdrawn:
                uow.request_effect(_warehouse_effect("fulfillment_cancel", order, location_id, lines))
    uow.resolve_reviews("order", _id(order), None, f"order cancelled by {actor}")
    uow.record_decision(
        Decision(f"cancel:{actor}", "order_cancellation", "1", "order", order.id,
                 {"reason": reason, "was_requested": was_requested},
                 {"released": [[r.sku, r.location_id, r.quantity] for r in released]})
    )
    _emit(uow, "order_cancelled", order, reason=reason, actor=actor)
    _email(uow, order, "order_cancelled", {"reason": reason})
    if order.channel in settings.platform_channels and actor != order.channel:  # not an echo of the platform's own
        uow.request_effect(_platform_effect("platform_cancel", order, uow.store_id, "v1", {"reason": reason}))
    _allocate_backorders({r.sku for r in released}, pool, uow, settings)


def receive_stock(cmd: commands.ReceiveStock, uow: OrdersUnitOfWork, settings: PipelineSettings) -> int:
    """Stock arrives (or is counted): the ledger records it and the FIFO backorder queue is served first."""
    if cmd.quantity == 0:
        raise InvalidInput("quantity must not be zero")
    with uow:
        pool, location_id = _lock_known_sku(cmd.sku, cmd.location_code, uow)
        try:
            _book(pool, cmd.sku, location_id, cmd.quantity, cmd.reference, uow)
        except ValueError as err:
            raise Conflict(str(err), code="stock_negative") from err
        allocated = _allocate_backorders({cmd.sku}, pool, uow, settings)
        uow.commit()
    return allocated


def receive_return(cmd: commands.ReceiveReturn, uow: OrdersUnitOfWork, settings: PipelineSettings) -> int:
    """A return arrived: marked received and, with restock, its items booked back in (backorders served first);
    returns how many backordered orders that allocated."""
    with uow:
        request = uow.returns.get(cmd.number)
        aftercare.mark_received(request, cmd.restock, cmd.actor, uow)
        allocated = 0
        if cmd.restock:
            location_id = uow.stock.location_id(cmd.location_code)
            skus = {line.sku for line in request.lines} & uow.catalog.known_skus({line.sku for line in request.lines})
            pool = uow.stock.lock(skus, ensure_location=location_id)
            for line in request.lines:
                if line.sku in skus:
                    _book(pool, line.sku, location_id, line.quantity, f"return:{request.number}", uow)
            allocated = _allocate_backorders(skus, pool, uow, settings)
        uow.commit()
    return allocated


def count_stock(cmd: commands.CountStock, uow: OrdersUnitOfWork, settings: PipelineSettings) -> int:
    """The counted level replaces what the ledger says, as one entry for the difference (received or adjusted); a
    rise serves the backorder queue first. Returns the level before the count."""
    if cmd.on_hand < 0:
        raise InvalidInput("a count cannot be negative", code="invalid_count")
    with uow:
        pool, location_id = _lock_known_sku(cmd.sku, cmd.location_code, uow)
        level = pool.level(cmd.sku, location_id)
        before = level.on_hand
        if cmd.on_hand < level.reserved:
            raise Conflict(f"{cmd.on_hand} is fewer than the {level.reserved} units reserved for orders",
                           code="stock_below_reserved")
        if cmd.on_hand != before:
            _book(pool, cmd.sku, location_id, cmd.on_hand - before, cmd.reference, uow)
            if cmd.on_hand > before:
                _allocate_backorders({cmd.sku}, pool, uow, settings)
        uow.commit()
    return before


def receive_delivery(cmd: commands.ReceiveDelivery, uow: OrdersUnitOfWork, settings: PipelineSettings) -> BatchOutcome:
    """Every line as receive_stock would apply it, then the backorder queue served once for all of them."""
    outcome = BatchOutcome()
    with uow:
        location_id = uow.stock.location_id(cmd.location_code)
        skus = {sku for sku, _ in cmd.lines}
        known = uow.catalog.known_skus(skus)
        pool = uow.stock.lock(skus & known, ensure_location=location_id)
        received: set[str] = set()
        for sku, quantity in cmd.lines:
            if sku not in known:
                outcome.refused.append((sku, "unknown SKU"))
                continue
            if quantity == 0:
                outcome.unchanged += 1
                continue
            try:
                _book(pool, sku, location_id, quantity, cmd.reference, uow)
            except ValueError:
                level = pool.level(sku, location_id)
                outcome.refused.append((sku, f"{quantity} would leave {level.on_hand + quantity} on hand with "
                                             f"{level.reserved} reserved"))
                continue
            outcome.applied += 1
            if quantity > 0:
                received.add(sku)
        outcome.allocated = _allocate_backorders(received, pool, uow, settings)
        uow.commit()
    return outcome


def receive_purchase_order(cmd: ReceivePurchaseOrder, uow: OrdersUnitOfWork,
                           settings: PipelineSettings) -> BatchOutcome:
    """A supplier's delivery against a PO: the PO's lines are marked received (in full or in part), the units are
    booked at the location under the PO's number, and the FIFO backorder queue is served first — one transaction,
    so a PO can never show as received without its stock, or the reverse."""
    with uow:
        po = uow.purchase_orders.get(cmd.number)
        wanted: dict[str, int] = {}
        for sku, quantity in cmd.lines:  # a SKU named twice (two cartons) is received twice
            wanted[sku] = wanted.get(sku, 0) + quantity
        if not cmd.lines:
            wanted = {x.sku: x.outstanding for x in po.lines if x.outstanding}
        received = po.receive(wanted)
        location_id = uow.stock.location_id(cmd.location_code)
        known = uow.catalog.known_skus(set(received))
        if set(received) - known:
            raise Conflict(f"not in the catalog: {', '.join(sorted(set(received) - known))}", code="unknown_sku")
        pool = uow.stock.lock(set(received), ensure_location=location_id)
        for sku, quantity in sorted(received.items()):
            _book(pool, sku, location_id, quantity, po.number, uow)
        uow.purchase_orders.save(po)
        outcome = BatchOutcome(applied=len(received))
        outcome.allocated = _allocate_backorders(set(received), pool, uow, settings)
        uow.record_event(RecordedEvent("purchase_order_received", "purchase_order", po.id, {
            "number": po.number, "status": po.status.value, "received": received}))
        uow.record_decision(Decision(f"receive:{po.number}", "purchase_order_receipt", "1", "purchase_order", po.id,
                                     {"received": received, "location": cmd.location_code},
                                     {"status": po.status.value, "backorders_completed": outcome.allocated,
                                      "outstanding": {x.sku: x.outstanding for x in po.lines if x.outstanding}}))
        uow.commit()
    return outcome


def _lock_known_sku(sku: str, location_code: str, uow: OrdersUnitOfWork) -> tuple[StockPool, int]:
    """The SKU's stock rows, locked, with a row at this location made if it had none; an unknown SKU is refused."""
    location_id = uow.stock.location_id(location_code)
    if sku not in uow.catalog.known_skus({sku}):
        raise InvalidInput(f"unknown SKU {sku}", code="unknown_sku")
    return uow.stock.lock({sku}, ensure_location=location_id), location_id


def _book(pool: StockPool, sku: str, location_id: int, quantity: int, reference: str, uow: OrdersUnitOfWork) -> None:
    """Units in (or written off, when negative) in the ledger, and the stock_received event rules see; raises
    ValueError, changing nothing, if it would break the stock invariant."""
    pool.receive(sku, location_id, quantity, reference)
    uow.record_event(RecordedEvent("stock_received", "sku", None,
                                   {"sku": sku, "location_id": location_id, "quantity": quantity}))


def set_restock_eta(cmd: commands.SetRestockEta, uow: OrdersUnitOfWork, settings: PipelineSettings) -> int:
    """Tell every customer waiting on this SKU the new date, once per ETA."""
    with uow:
        waiting = [o for o in uow.orders.backordered({cmd.sku}) if cmd.sku in o.shortfall() and not o.human_holds]
        for order in waiting:
            _email(uow, order, "backorder_eta", {"sku": cmd.sku, "eta": cmd.eta.isoformat()},
                   version=f"eta-{cmd.sku}-{cmd.eta.isoformat()}")
        uow.commit()
    return len(waiting)


def _allocate_backorders(skus: set[str], pool: StockPool, uow: OrdersUnitOfWork, settings: PipelineSettings) -> int:
    if not skus:
        return 0
    waiting = uow.orders.backordered(skus)
    extra = {sku for order in waiting for sku in order.shortfall()} - set(pool.levels)
    if extra:
        pool.levels.update(uow.stock.lock(extra).levels)
    completed = 0
    for order in waiting:
        if order.human_holds or not any(pool.available(sku) for sku in order.shortfall()):
            continue
        result = pool.allocate(order.shortfall(), order.reference)
        order.add_reservations(result.allocations)
        if order.shortfall():
            continue
        completed += 1
        order.backorder_seq = None
        order.settle_status()
        uow.resolve_reviews("order", _id(order), (ReasonCode.BACKORDER,), "stock arrived; allocated in FIFO order")
        uow.record_decision(
            Decision("stock_received", "backorder_fifo", "1", "order", order.id,
                     {"skus": sorted(skus)}, {"reserved": _reservations_json(order)})
        )
        _emit(uow, "backorder_allocated", order)
        _request_fulfillment(order, uow, settings, template="backorder_allocated")
    return completed


# -- the review queue ------------------------------------------------------------------------------------------


def resolve_review_item(cmd: commands.ResolveReviewItem, uow: OrdersUnitOfWork, settings: PipelineSettings) -> str:
    with uow:
        item = uow.reviews.get(cmd.item_id)
        if not item.allows(cmd.action):
            raise Conflict(
                f"review item {item.id} is {item.status.value}; allowed: {', '.join(item.allowed_actions)}",
                code="action_not_allowed",
            )
        outcome = _apply_review_action(item.reason_code, item.subject_id, item.context, cmd, uow, settings)
        status = ReviewStatus.DISMISSED if cmd.action == ReviewAction.DISMISS else ReviewStatus.RESOLVED
        uow.reviews.close(item, status, f"{cmd.action}: {outcome}" + (f" ({cmd.note})" if cmd.note else ""), cmd.actor)
        uow.record_decision(
            Decision(f"review:{item.id}", "human_review", "1", item.subject_type, item.subject_id,
                     {"reason_code": item.reason_code, "action": cmd.action, "note": cmd.note},
                     {"outcome": outcome, "actor": cmd.actor})
        )
        uow.commit()
    return outcome


def _apply_review_action(
    reason: str,
    subject_id: int | None,
    context: dict[str, Any],
    cmd: commands.ResolveReviewItem,
    uow: OrdersUnitOfWork,
    settings: PipelineSettings,
) -> str:
    if cmd.action == ReviewAction.DISMISS:
        if reason == PO_APPROVAL:  # a dismissed draft is cancelled: the plan does not raise it again this cycle
            po = uow.purchase_orders.get(str(context["po_number"]))
            return purchasing_service.cancel(po, cmd.actor, cmd.note or "dismissed in review", uow)
        return "dismissed"
    if cmd.action == ReviewAction.RETRY:
        uow.effects.retry(int(context["effect_id"]))
        return "effect re-queued"
    if reason == PO_APPROVAL:  # a draft purchase order: approving orders it from the supplier
        return purchasing_service.approve(uow.purchase_orders.get(str(context["po_number"])), cmd.actor, uow)
    if subject_id is None:
        raise Conflict("this review item has no order to act on")
    order = uow.orders.get(subject_id)
    if cmd.action == ReviewAction.CANCEL_ORDER:
        _cancel(order, "cancelled from review", cmd.actor, uow, settings)
        return "order cancelled"
    if order.status in TERMINAL:
        raise Conflict(f"order {order.number} is {order.status.value}")
    if cmd.action == ReviewAction.EDIT_ADDRESS:
        if cmd.address is None:
            raise InvalidInput("edit_address needs an address")
        problems = address_problems(cmd.address)
        if problems:
            raise InvalidInput("address still invalid: " + "; ".join(problems), code="address_invalid")
        order.with_address(cmd.address)
    elif reason == ReasonCode.UNKNOWN_SKU:
        unknown = {line.sku for line in order.lines} - uow.catalog.known_skus({line.sku for line in order.lines})
        if unknown:
            raise Conflict("still unknown: " + ", ".join(sorted(unknown)), code="unknown_sku")
    if context.get("hold") == ReasonCode.RULE_HOLD:  # a rule's hold (or its request to cancel): approving lifts it
        order.clear_hold(ReasonCode.RULE_HOLD)
        uow.resolve_reviews("order", _id(order), None, f"hold lifted in review by {cmd.actor}", holds_only=True)
    elif reason in _SYSTEM_REASONS:
        order.clear_hold(ReasonCode(reason))
    else:
        return "acknowledged"  # a rule's review item that holds nothing
    return _advance(order, uow, settings)


_SYSTEM_REASONS = frozenset(r.value for r in ReasonCode)


# -- what rules may do to an order -------------------------------------------------------------------------


_FULFILLMENT_EMAILS = ("order_confirmation", "backorder_allocated")


def _fulfillment_keys(order: Order, reservations: list[Reservation]) -> set[str]:
    """The keys of what requesting fulfillment writes: one request per location and the email that goes with it."""
    keys = {_warehouse_key("fulfillment_request", _id(order), loc) for loc in _lines_by_location(order, reservations)}
    return keys | {f"email:{template}:order-{order.id}:v1" for template in _FULFILLMENT_EMAILS}


def hold_for_rule(order: Order, reason: str, detail: str, rule: str, uow: OrdersUnitOfWork,
                  allowed: tuple[ReviewAction, ...] = ALLOWED_ACTIONS[ReasonCode.RULE_HOLD]) -> str:
    """Hold an order's fulfillment and put it in the review queue under ``reason``.

    On ``order_created`` the order has not been sent anywhere yet. Later in the same transaction (a rule on
    ``fulfillment_requested``) the request is withdrawn before it is ever written; once committed it is the
    warehouse's, and the hold is refused rather than pretended."""
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED):
        return f"not held: order is {order.status.value}"
    already = ReasonCode.RULE_HOLD in order.holds  # held by an earlier rule: this one still gets its review item
    if not already and order.status == OrderStatus.FULFILLMENT_REQUESTED:
        keys = _fulfillment_keys(order, order.reservations)
        requests = {k for k in keys if k.startswith("fulfillment-request:")}
        if not requests <= set(uow.withdraw_unsent(_id(order), keys)):
            return "not held: the fulfillment request was already sent to the warehouse"
        order.move_to(OrderStatus.ON_HOLD)
    order.hold(ReasonCode.RULE_HOLD)
    order.settle_status()
    uow.request_review(
        ReviewRequest(
            reason_code=reason, subject_type="order", subject_id=order.id,
            title=f"Order {order.number}: held by rule {rule}" + (f" ({detail})" if detail else ""),
            context={"order_number": order.number, "detail": detail, "rule": rule, "total": str(order.total),
                     "currency": order.currency, "hold": ReasonCode.RULE_HOLD.value},
            allowed_actions=tuple(a.value for a in allowed),
        )
    )
    _emit(uow, "review_item_created", order, reason_code=reason, title=f"held by rule {rule}")
    if already:
        return "already held; review item opened"
    _emit(uow, "order_held", order, reason=reason, rule=rule)
    return "held"


def release_for_rule(order: Order, rule: str, uow: OrdersUnitOfWork, settings: PipelineSettings) -> str:
    """Lift a hold a rule placed (never a system hold such as a failed payment) and carry on."""
    if ReasonCode.RULE_HOLD not in order.holds:
        return "not held by a rule"
    order.clear_hold(ReasonCode.RULE_HOLD)
    uow.resolve_reviews("order", _id(order), None, f"released by rule {rule}", holds_only=True)
    _emit(uow, "order_released", order, rule=rule)
    return _advance(order, uow, settings)


def cancel_for_rule(order: Order, reason: str, rule: str, uow: OrdersUnitOfWork, settings: PipelineSettings) -> str:
    if order.status == OrderStatus.CANCELLED:
        return "already cancelled"
    try:
        _cancel(order, reason, f"rule:{rule}", uow, settings)
    except Conflict as err:
        return f"not cancelled: {err.message}"
    return "cancelled"



def _advance(order: Order, uow: OrdersUnitOfWork, settings: PipelineSettings) -> str:
    """After a hold is cleared: reserve what the order still lacks, then fulfil it if nothing else holds it."""
    if order.status in (OrderStatus.FULFILLMENT_REQUESTED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return f"order already {order.status.value}"
    pool = uow.stock.lock(set(order.shortfall()))
    _reserve(order, pool, uow, settings)
    order.settle_status()
    if order.ready_to_fulfil:
        _request_fulfillment(order, uow, settings, template="order_confirmation")
        return "hold cleared; fulfillment requested"
    return f"hold cleared; order {order.status.value}"


# -- helpers ---------------------------------------------------------------------------------------------------


def _open_review(uow: OrdersUnitOfWork, order: Order, reason: ReasonCode, detail: str) -> None:
    uow.request_review(
        ReviewRequest(
            reason_code=reason.value,
            subject_type="order",
            subject_id=order.id,
            title=f"Order {order.number}: {reason.value.replace('_', ' ')}",
            context={"order_number": order.number, "detail": detail, "total": str(order.total),
                     "currency": order.currency},
            allowed_actions=tuple(a.value for a in ALLOWED_ACTIONS[reason]),
        )
    )
    _emit(uow, "review_item_created", order, reason_code=reason.value, title=reason.value.replace("_", " "))


def _emit(uow: OrdersUnitOfWork, name: str, order: Order, **data: Any) -> None:
    uow.record_event(RecordedEvent(name, "order", order.id, {"order_number": order.number, **data}))


def _reservations_json(order: Order) -> list[list[Any]]:
    return [[r.sku, r.location_id, r.quantity] for r in order.reservations]


def _id(order: Order) -> int:
    if order.id is None:
        raise ValueError("order has no id yet")
    return order.id

