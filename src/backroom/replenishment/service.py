"""Replenishment's use cases: suppliers, the nightly plan with its draft purchase orders, approval (which emails
the PO to the supplier as an effect) and cancellation. Receiving a PO books stock and serves backorders, which is
the order pipeline's work: see orders/handlers.py, receive_purchase_order."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backroom.errors import Conflict, InvalidInput
from backroom.replenishment import commands
from backroom.replenishment.planning import (
    POLICY,
    POLICY_VERSION,
    RUN_SUBJECT,
    Plan,
    PlanSettings,
    make_plan,
    plan_trigger,
)
from backroom.replenishment.ports import PurchasingUnitOfWork, ReplenishmentUnitOfWork
from backroom.replenishment.purchasing import (
    PO_APPROVAL,
    PO_APPROVAL_ACTIONS,
    SUBJECT,
    PoStatus,
    PurchaseOrder,
    po_csv,
    po_number,
)
from backroom.replenishment.suppliers import Supplier
from backroom.service_layer.effects import EffectRequest
from backroom.service_layer.messages import Decision, RecordedEvent, ReviewRequest

#: the automation PO emails run under: `backroom automation purchasing shadow` records them without sending
PURCHASING = "purchasing"


@dataclass(frozen=True)
class ReplenishmentSettings:
    plan: PlanSettings = field(default_factory=PlanSettings)
    history_days: int = 365


@dataclass
class PlanOutcome:
    plan: Plan
    #: PO number → what the run did to it: drafted, updated, unchanged, withdrawn (empty now), superseded,
    #: kept (already ordered this cycle; what the plan adds waits for the next cycle)
    purchase_orders: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


def record_supplier(cmd: commands.RecordSupplier, uow: PurchasingUnitOfWork) -> Supplier:
    with uow:
        saved = uow.suppliers.save(cmd.supplier)
        uow.commit()
    return saved


def assign_supplier_items(cmd: commands.AssignSupplierItems, uow: PurchasingUnitOfWork) -> int:
    with uow:
        known = uow.suppliers.all()
        unknown = sorted({i.supplier_code for i in cmd.items} - set(known))
        if unknown:
            raise Conflict(f"unknown supplier {', '.join(unknown)}: add it first (backroom suppliers add)",
                           code="unknown_supplier")
        missing = sorted(uow.suppliers.unknown_skus({i.sku for i in cmd.items}))
        if missing:
            raise Conflict(f"not in the catalog: {', '.join(missing[:10])}" + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else "") + " (import the products first)",
                code="unknown_sku")
        uow.suppliers.assign(cmd.items)
        uow.commit()
    return len(cmd.items)


def run_plan(cmd: commands.RunReplenishmentPlan, uow: ReplenishmentUnitOfWork,
             settings: ReplenishmentSettings) -> PlanOutcome:
    """Plan every SKU, then bring each supplier's draft PO for today's cycle in line with the plan (idempotent:
    running it twice the same day changes nothing the second time; a PO already approved is never re-planned, and
    what it brings is on order)."""
    plan_settings = settings.plan
    if cmd.service_level is not None:
        plan_settings = dataclasses.replace(plan_settings, service_level=cmd.service_level)
    with uow:
        uow.plan_reader.begin_plan()
        today = uow.today()
        if cmd.day is not None and cmd.day != today:
            if not cmd.dry_run:
                raise InvalidInput(f"a plan that saves is today's ({today}); look at {cmd.day} with a dry run",
                                   code="plan_day_not_today")
            today = cmd.day
        uow.purchase_orders.lock_drafts()
        open_orders = uow.purchase_orders.open_orders()
        states = uow.plan_reader.sku_states(today, settings.history_days, open_orders)
        suppliers = uow.suppliers.all()
        plan = make_plan(states, today, suppliers, uow.suppliers.items(), plan_settings)
        outcome = PlanOutcome(plan)
        if cmd.dry_run:
            return outcome
        _update_drafts(plan, suppliers.values(), uow, outcome)
        _record(plan, cmd.trigger, uow, outcome)
        uow.commit()
    return outcome


def _update_drafts(plan: Plan, suppliers: Iterable[Supplier], uow: ReplenishmentUnitOfWork,
                   outcome: PlanOutcome) -> None:
    proposals = {p.supplier.code: p for p in plan.proposals}
    for supplier in suppliers:
        assert supplier.id is not None
        if supplier.takes_orders_on(plan.day):  # today's plan speaks for this supplier: other drafts are stale
            for stale in uow.purchase_orders.other_drafts(supplier.id, plan.day):
                stale.cancel()
                uow.purchase_orders.save(stale)
                uow.resolve_reviews(SUBJECT, _id(stale), (PO_APPROVAL,), f"superseded by the plan of {plan.day}")
                outcome.purchase_orders[stale.number] = "superseded"
        # (on a day the supplier takes no orders, its last draft waits for approval as it is)
        proposal = proposals.get(supplier.code)
        po = uow.purchase_orders.for_cycle(supplier.id, plan.day)
        if proposal is None:
            if po is not None and po.status is PoStatus.DRAFT:
                po.cancel()
                uow.purchase_orders.save(po)
                uow.resolve_reviews(SUBJECT, _id(po), (PO_APPROVAL,), "nothing to order any more")
                outcome.purchase_orders[po.number] = "withdrawn"
            continue
        lines = list(proposal.lines)
        if po is None:
            po = PurchaseOrder(supplier.id, supplier.code, plan.day, supplier.currency, lines,
                               created_at=uow.clock.now())
            uow.purchase_orders.add(po)
            outcome.purchase_orders[po.number] = "drafted"
        elif po.status is not PoStatus.DRAFT:
            outcome.purchase_orders[po.number] = "kept"  # approved or closed this cycle; the rest waits
            continue
        elif _same_lines(po, proposal.lines):
            outcome.purchase_orders[po.number] = "unchanged"
        else:
            po.replace_lines(lines)
            uow.purchase_orders.save(po)
            outcome.purchase_orders[po.number] = "updated"
        if outcome.purchase_orders[po.number] != "unchanged":
            _ask_approval(po, supplier, uow)


def _same_lines(po: PurchaseOrder, lines: tuple[Any, ...]) -> bool:
    return [(x.sku, x.quantity, x.unit_cost) for x in po.lines] == [(x.sku, x.quantity, x.unit_cost) for x in lines]


def _ask_approval(po: PurchaseOrder, supplier: Supplier, uow: PurchasingUnitOfWork) -> None:
    """The draft waits in the review queue (one open item per PO: an update refreshes its context)."""
    uow.resolve_reviews(SUBJECT, _id(po), (PO_APPROVAL,), "the plan updated this draft")
    uow.request_review(ReviewRequest(
        PO_APPROVAL, SUBJECT, _id(po),
        f"Approve {po.number}: {len(po.lines)} SKUs, {po.total:.2f} {po.currency} from {supplier.name}",
        {"po_number": po.number, "supplier": supplier.code, "email": supplier.email, "total": str(po.total),
         "currency": po.currency,
         "lines": [{"sku": x.sku, "quantity": x.quantity, "unit_cost": str(x.unit_cost), "reason": x.reason}
                   for x in po.lines]},
        PO_APPROVAL_ACTIONS))
    uow.record_event(RecordedEvent("purchase_order_drafted", SUBJECT, _id(po), {
        "number": po.number, "supplier": supplier.code, "total": str(po.total), "lines": len(po.lines)}))


#: what a plan decision records as its inputs, and what a stockout_expected event carries (fields of as_dict)
DECISION_INPUTS = ("sku", "demand_class", "method", "forecast_per_day", "safety_stock", "reorder_point",
                   "order_up_to", "net_stock", "on_order", "late_on_order", "lead_time_days", "review_days", "supplier")
STOCKOUT_FIELDS = ("sku", "on_hand", "on_order", "late_on_order", "days_of_cover", "stockout_on", "last_order_day",
                   "lead_time_days")


def _record(plan: Plan, trigger: str, uow: ReplenishmentUnitOfWork, outcome: PlanOutcome) -> None:
    """The plan's decisions in the audit trail (every SKU it orders or warns about, and one for the run),
    ``stockout_expected`` once per episode, and each SKU's latest line for the reports."""
    previous = uow.plan_reader.previous_flags()
    drafted = {n for n, what in outcome.purchase_orders.items() if what in ("drafted", "updated", "unchanged")}
    rows = [p.as_dict() for p in plan.skus]
    for p, row in zip(plan.skus, rows, strict=True):
        if p.stockout_expected and not previous.get(p.sku, False):
            uow.record_event(RecordedEvent("stockout_expected", "sku", None, {
                **{k: row[k] for k in STOCKOUT_FIELDS}, "available": row["net_stock"],
                "supplier": row["supplier"] or ""}))
            outcome.events.append(f"stockout_expected:{p.sku}")
        if p.line.order or p.stockout_expected:
            number = po_number(p.supplier, plan.day) if p.supplier else None
            uow.record_decision(Decision(
                plan_trigger(plan.day), POLICY, POLICY_VERSION, "sku", None,
                {**{k: row[k] for k in DECISION_INPUTS}, "service_level": plan.settings.service_level},
                {"sku": p.sku, "order": p.line.order, "reason": p.line.reason,
                 "purchase_order": number if number in drafted else None,
                 "stockout_expected": p.stockout_expected}))
    uow.record_decision(Decision(
        plan_trigger(plan.day), POLICY, POLICY_VERSION, RUN_SUBJECT, None,
        {"trigger": trigger, "service_level": plan.settings.service_level, "skus": len(plan.skus)},
        {**plan.summary(), "purchase_orders": outcome.purchase_orders}))
    uow.plan_reader.save_plan(plan.day, rows)


# -- approval and cancellation ---------------------------------------------------------------------------------


def approve_purchase_order(cmd: commands.ApprovePurchaseOrder, uow: PurchasingUnitOfWork) -> PurchaseOrder:
    with uow:
        po = uow.purchase_orders.get(cmd.number)
        approve(po, cmd.actor, uow)
        uow.resolve_reviews(SUBJECT, _id(po), (PO_APPROVAL,), f"approved by {cmd.actor}")
        uow.commit()
    return po


def approve(po: PurchaseOrder, actor: str, uow: PurchasingUnitOfWork) -> str:
    """Approve a draft: it is on order from now on, and emailed to the supplier with the PO attached as CSV (an
    effect of the ``purchasing`` automation: retried, then reviewed; in shadow mode recorded, not sent)."""
    supplier = uow.suppliers.get_by_id(po.supplier_id)
    items = uow.suppliers.items([x.sku for x in po.lines])
    lead_time = max((items[x.sku].supply(supplier).lead_time_mean if x.sku in items else supplier.lead_time_days
                     for x in po.lines), default=supplier.lead_time_days)  # the PO is complete when its slowest is
    po.approve(actor, uow.clock.now(), uow.today(), lead_time)
    uow.purchase_orders.save(po)
    lines = [{"sku": x.sku, "supplier_sku": x.supplier_sku or "", "quantity": x.quantity,
              "unit_cost": f"{x.unit_cost:.2f}", "line_total": f"{x.unit_cost * x.quantity:.2f}"} for x in po.lines]
    uow.request_effect(EffectRequest(
        "email", email_key(uow.store_id, po.number), PURCHASING,
        {"to": supplier.email, "template": "purchase_order",
         "context": {"po_number": po.number, "supplier_name": supplier.name, "lines": lines,
                     "total": f"{po.total:.2f}", "currency": po.currency,
                     "expected_on": po.expected_on.isoformat() if po.expected_on else ""},
         "attachments": [{"filename": f"{po.number}.csv", "content_type": "text/csv",
                          "content": po_csv(po, supplier.name)}]},
        subject_id=po.id))
    uow.record_decision(Decision(f"approve:{po.number}", "purchase_order_approval", "1", SUBJECT, po.id,
                                 {"actor": actor, "total": str(po.total), "lines": len(po.lines)},
                                 {"status": po.status.value, "emailed_to": supplier.email,
                                  "expected_on": po.expected_on.isoformat() if po.expected_on else None}))
    uow.record_event(RecordedEvent("purchase_order_approved", SUBJECT, po.id, {
        "number": po.number, "supplier": supplier.code, "total": str(po.total), "actor": actor}))
    return f"{po.number} ordered; emailed to {supplier.email}"


def cancel_purchase_order(cmd: commands.CancelPurchaseOrder, uow: PurchasingUnitOfWork) -> PurchaseOrder:
    with uow:
        po = uow.purchase_orders.get(cmd.number)
        cancel(po, cmd.actor, cmd.reason, uow)
        uow.commit()
    return po


def cancel(po: PurchaseOrder, actor: str, reason: str, uow: PurchasingUnitOfWork) -> str:
    """Cancel a PO (what was received stays); an email not yet sent is withdrawn. The cycle keeps its number, so
    the plan does not draft it again that day."""
    was = po.status
    po.cancel()
    uow.purchase_orders.save(po)
    withdrawn = was is not PoStatus.DRAFT and uow.cancel_effect(email_key(uow.store_id, po.number))
    uow.resolve_reviews(SUBJECT, _id(po), (PO_APPROVAL,), f"cancelled by {actor}")
    uow.record_decision(Decision(f"cancel:{po.number}", "purchase_order_cancel", "1", SUBJECT, po.id,
                                 {"actor": actor, "reason": reason, "was": was.value},
                                 {"status": po.status.value, "email_withdrawn": bool(withdrawn)}))
    return f"{po.number} cancelled" + ("; its email was not sent" if withdrawn else "")


def email_key(store_id: int, number: str) -> str:
    """The PO email's idempotency key (also its Message-ID): one email per PO, whatever the retries."""
    return f"po-email:{store_id}:{number}"


def _id(po: PurchaseOrder) -> int:
    if po.id is None:
        raise ValueError(f"{po.number} has no id yet")
    return po.id
