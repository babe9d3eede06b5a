"""Composition root: settings → database → queue → adapters → bus. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import time, timedelta
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from backroom.adapters.db import alerts, connections, migrate, queries, scheduling, suppressions
from backroom.adapters.db import inbox as inbox_db
from backroom.adapters.db import marketing as marketing_db
from backroom.adapters.db import tables as t
from backroom.adapters.db.connections import Connection
from backroom.adapters.db.engine import EmbeddedPostgres, libpq_dsn, make_engine, normalize_url
from backroom.adapters.db.inbox import processed_ids, record_input
from backroom.adapters.db.uow import SqlUnitOfWork
from backroom.adapters.email.imap import ImapMailbox, open_mailbox
from backroom.adapters.email.smtp import SmtpSender, TemplateRenderer
from backroom.adapters.notify.slack import SlackSender
from backroom.adapters.notify.webhook import WebhookCaller
from backroom.adapters.queue.defer import due_jobs
from backroom.adapters.queue.runner import EffectRunner, Executor
from backroom.adapters.queue.worker import PeriodicCheck, make_app, run_worker
from backroom.adapters.warehouse.senders import CsvWarehouse, HttpWarehouse
from backroom.alerts.model import remember_misses
from backroom.config import Settings
from backroom.connectors import reconcile
from backroom.connectors.consent import PlatformConsent
from backroom.connectors.discounts import PlatformDiscounts
from backroom.connectors.generic import parse_order
from backroom.connectors.ignored import Ignored
from backroom.connectors.reconcile import FeedItem, OrderFeed, PollResult
from backroom.connectors.shopify.client import ShopifyClient
from backroom.connectors.shopify.feed import ShopifyFeed
from backroom.connectors.sync import PlatformSync
from backroom.connectors.webhook_mappers import MAPPERS, source_ref
from backroom.connectors.woocommerce.client import woocommerce_client
from backroom.connectors.woocommerce.feed import WooCommerceFeed
from backroom.customers.model import MarketingConsent
from backroom.customers.timezones import known_zones
from backroom.errors import BackroomError, ConfigurationError, InvalidInput, NotFound
from backroom.marketing import lifecycle
from backroom.marketing import service as flows_service
from backroom.marketing.attribution import attribute
from backroom.marketing.bounces import hard_bounces
from backroom.marketing.funnel import FunnelRow, funnel
from backroom.marketing.model import Flow, SendEmail, builtin_flows, load_flows_text
from backroom.marketing.quiet_hours import QuietHours
from backroom.marketing.unsubscribe import read_unsubscribe_token, unsubscribe_token
from backroom.orders import commands, handlers, platform_handlers
from backroom.orders.aftercare import ReturnRules
from backroom.orders.commands import ImportOrders
from backroom.orders.validation import OrderPolicy
from backroom.replenishment import commands as replenishment_commands
from backroom.replenishment import service as replenishment
from backroom.replenishment.planning import PlanSettings
from backroom.replenishment.uncertainty import Uncertainty
from backroom.rules.engine import RuleEngine
from backroom.service_layer.batching import Batcher, GroupCommit
from backroom.service_layer.inbox_processing import (
    InboxProcessor,
    RetryPolicy,
    Skip,
    StorePass,
    kept_as,
    process_batch,
)
from backroom.service_layer.messagebus import DuplicateDelivery, InboxEntry, MessageBus
from backroom.shared.clock import Clock, SystemClock
from backroom.shared.messages import Command
from backroom.support.agent import AgentPolicy
from backroom.support.automatic import automatic_reason
from backroom.support.commands import HandleSupportMessage
from backroom.support.email_in import parse_inbound
from backroom.support.model import Channel
from backroom.support.ports import Interpreter
from backroom.support.service import SupportSettings, handle_support_message
from backroom.support.understanding import ClassifierInterpreter, LibraryAnswers

log = logging.getLogger(__name__)

EMAIL_SOURCE = "email"  # the inbox source of customer emails, however they arrive (webhook or IMAP)
MAIL_FETCH_LOCK = 7_240_613  # one worker fetches the support mailbox at a time


@dataclass(frozen=True)
class IngestOutcome:
    source_id: str
    outcome: str
    order_id: int | None
    status: str | None


WebhookMapper = Callable[[str, bytes, str], Any]  # (topic, body, source ref) → a command, or Ignored


@dataclass(frozen=True)
class WebhookOutcome:
    source_id: str
    topic: str
    outcome: str  # created | existing | processed | ignored | duplicate | accepted (processed after the reply)
    detail: str  # the order's status, what the command did, why the input was ignored, or 'received'
    order_id: int | None = None


@dataclass(frozen=True)
class EmailOutcome:
    outcome: str  # answered | duplicate | ignored (a machine sent it: not answered, kept as processed)
    message_id: str  # "" when the email has none (it is then handled once by the hash of its bytes)
    handover: str | None = None  # why a person takes over, when one does
    reason: str | None = None  # why it was ignored: auto_reply, bounce, mailing_list or own_message
    suppressed: int = 0  # a bounce report: how many of its hard-bounced recipients were suppressed


@dataclass(frozen=True)
class FetchedMail:
    uid: str  # the message's UID in the mailbox
    outcome: str  # answered | duplicate | ignored | the refusal's code (kept, set aside) | failed (left unseen) | gone


@dataclass
class Backroom:
    settings: Settings
    engine: Engine
    database_url: str
    clock: Clock
    bus: MessageBus
    runner: EffectRunner
    embedded: EmbeddedPostgres | None = None
    flows: flows_service.FlowSettings | None = None  # None: no marketing flow is enabled (docs/flows.md)
    _stores: dict[str, int] = field(default_factory=dict)
    _batcher: Batcher | None = None
    # True: a dedicated process (run_inbox_processor) imports what this one records, woken by NOTIFY; else a thread
    # of this process does (inbox_processor)
    inbox_elsewhere: bool = False
    _recorder: GroupCommit[inbox_db.Arrival, bool] | None = None
    _processor: InboxProcessor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store_id(self, slug: str | None = None) -> int:
        slug = slug or self.settings.store
        if slug not in self._stores:
            self._stores[slug] = migrate.ensure_store(self.engine, slug)
        return self._stores[slug]

    def handle(self, command: Any, store: str | None = None, inbox: Sequence[InboxEntry] = ()) -> Any:
        return self.bus.handle(command, self.store_id(store), inbox)

    def ingest_order(
        self, body: bytes, headers: Mapping[str, str], source: str = "api", source_id: str | None = None,
        store: str | None = None,
    ) -> IngestOutcome:
        """Record an order input once under its source id, then run it through the pipeline in one transaction.

        A duplicate delivery is a no-op; an input we cannot accept raises InvalidInput and is kept as 'rejected'.
        """
        def as_import(_topic: str, raw: bytes, ref: str) -> ImportOrders:
            return ImportOrders((parse_order(raw, channel=source, source_ref=ref),))

        out = self.ingest_webhook(source, source_id, "order", body, headers, store, as_import)
        return IngestOutcome(out.source_id, out.outcome, out.order_id, out.detail or None)

    def ingest_webhook(self, source: str, delivery_id: str | None, topic: str, body: bytes,
                       headers: Mapping[str, str], store: str | None, mapper: WebhookMapper) -> WebhookOutcome:
        """A verified platform webhook: recorded once under its delivery id, mapped to one of our commands and run
        in the same transaction, or recorded as ignored with the reason (see each connector's manifest.py)."""
        store_id = self.store_id(store)
        entry = InboxEntry.from_raw(source, delivery_id, topic or "unknown", body, headers)
        try:
            with self._kept_if_refused(store_id, entry):
                mapped = mapper(topic, body, source_ref(source, entry.source_id))
                if isinstance(mapped, Ignored):
                    record_input(self.engine, store_id, entry, "processed", f"ignored: {mapped.reason}")
                    return WebhookOutcome(entry.source_id, topic, "ignored", mapped.reason)
                if isinstance(mapped, ImportOrders) and len(mapped.orders) == 1:
                    result = [self.batcher().submit(store_id, mapped.orders[0], entry)]
                else:
                    result = self.bus.handle(mapped, store_id, (entry,))
        except DuplicateDelivery:
            return WebhookOutcome(entry.source_id, topic, "duplicate", "")
        if isinstance(result, list):  # ImportOrders
            return WebhookOutcome(entry.source_id, topic, "created" if result[0].created else "existing",
                                  result[0].status, result[0].order_id)
        return WebhookOutcome(entry.source_id, topic, "processed", str(result))

    async def run_worker(self, *, wait: bool = True, install_signal_handlers: bool | None = None) -> None:
        """A procrastinate worker for this installation's effects (see adapters.queue.worker.run_worker)."""
        app = make_app(libpq_dsn(self.database_url), self.runner)
        await run_worker(app, self.runner, self.settings.worker, wait=wait,
                         install_signal_handlers=install_signal_handlers, checks=self.periodic_checks())

    def periodic_checks(self) -> tuple[PeriodicCheck, ...]:
        """What a waiting worker runs between effects, each every so often (0: never)."""
        imap = self.settings.support.imap
        return (PeriodicCheck("alert checks", self.settings.alerts.check_every_s,
                              functools.partial(self.check_alerts, wait=False)),
                PeriodicCheck("reconciliation polls", self.settings.connectors.reconcile_every_s, self.reconcile_all),
                PeriodicCheck("inbox safety net", self.settings.worker.poll_s,
                              functools.partial(self.process_inbox, wait=False)),
                PeriodicCheck("nightly replenishment plans", self.settings.replenishment.check_every_s,
                              self.plan_due_stores),
                PeriodicCheck("marketing flows", self.settings.marketing.tick_every_s if self.flows else 0,
                              self.advance_flows),
                PeriodicCheck("lapsed-customer scan", LAPSED_SCAN_EVERY_S if self.flows and
                              self.settings.marketing.tick_every_s else 0, self.scan_lapsed_customers),
                PeriodicCheck("support mail fetch", imap.poll_every_s if imap.enabled else 0, self.fetch_mail))

    # -- marketing flows (docs/flows.md) ------------------------------------------------------------------------

    def advance_flows(self) -> flows_service.TickResult:
        """Move every due enrollment of every store as far as it can go now, a batch per transaction (one tick per
        store at a time: another worker ticking a store makes this one skip it)."""
        total = flows_service.TickResult()
        flows = self.flows
        if flows is None:
            # a process with no flow enabled leaves the enrollments alone: a worker started without the marketing
            # settings must not end every store's enrollments as "flow_disabled"
            return total
        for store_id in marketing_db.stores_due(self.engine, self.clock.now()):
            while True:
                with SqlUnitOfWork(self.engine, store_id, self.clock, self.settings.effects.max_attempts) as uow:
                    if not uow.marketing.lock_store():
                        break
                    done = flows_service.advance(uow, flows)
                    uow.commit()
                total.add(done)
                if done.taken < flows.batch:
                    break
        return total

    def scan_lapsed_customers(self) -> list[str]:
        """The daily win-back scan: in every store, subscribed customers quiet for longer than their own repurchase
        interval enter the enabled ``customer_lapsed`` flows (once per last order, cool-down respected); the next
        tick takes them on. The addresses entered."""
        flows = self.flows.enabled_for("customer_lapsed") if self.flows is not None else []
        if not flows:
            return []
        with self.engine.connect() as conn:
            stores = list(conn.execute(select(t.stores.c.id).order_by(t.stores.c.id)).scalars())
        entered: list[str] = []
        for store_id in stores:
            with SqlUnitOfWork(self.engine, store_id, self.clock, self.settings.effects.max_attempts) as uow:
                entered += lifecycle.scan_lapsed(uow, flows)
                uow.commit()
        return entered

    def unsubscribe(self, token: str) -> tuple[str, bool]:
        """A one-click unsubscribe link's token → the address and whether this changed its consent. The next tick
        ends that customer's enrollments; transactional mail is not affected. SignatureInvalid for a bad token."""
        secret = self.settings.marketing.unsubscribe_secret
        if secret is None:
            raise ConfigurationError("unsubscribe links need BACKROOM_MARKETING__UNSUBSCRIBE_SECRET")
        store_id, email = read_unsubscribe_token(secret.get_secret_value().encode(), token)
        return email, marketing_db.record_unsubscribe(self.engine, store_id, email, self.clock.now(),
                                                      self.settings.effects.max_attempts)

    def flow_funnel(self, flow: str | None = None, store: str | None = None) -> list[dict[str, Any]]:
        """Per flow (or one flow): enrolled, sent, skipped and deferred by reason, exits by reason, completed,
        unsubscribed, attributed orders and revenue per currency — `backroom flows funnel` and GET
        /api/flows/{name}/funnel. A flow that is not in the flows file: NotFound; one nobody entered: zeros."""
        if flow is not None and flow not in {f.name for f in all_flows(self.settings)}:
            raise NotFound(f"no flow named {flow}", code="flow_not_found")
        store_id = self.store_id(store)
        enrollments = marketing_db.enrollments(self.engine, store_id, flow)
        touches, orders = marketing_db.touches_and_orders(self.engine, store_id)
        conversions = [c for c in (attribute(o, touches) for o in orders)
                       if c is not None and (not flow or c.flow == flow)]
        rows = funnel(enrollments, conversions, marketing_db.withheld_messages(self.engine, store_id))
        if flow is not None and flow not in rows:
            rows[flow] = FunnelRow(flow)
        return [funnel_row(r) for r in rows.values()]

    def list_suppressions(self, store: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """The store's suppressed addresses, newest first (`backroom suppressions list`, GET /api/suppressions)."""
        return suppressions.list_suppressions(self.engine, self.store_id(store), limit)

    def store_profile(self, store: str | None = None) -> dict[str, Any]:
        """The store's slug, name, currency and time zone (`backroom store show`, GET /api/store)."""
        return queries.store_profile(self.engine, self.store_id(store))

    def set_store_timezone(self, zone: str, store: str | None = None, *, via: str = "api") -> dict[str, Any]:
        """The store's own time zone: where its business hours (alerts), nightly plan (replenishment) and, for a
        customer whose zone is unknown, quiet hours (flows) are kept. An IANA name (``Europe/London``); anything
        else is InvalidInput. The change is recorded (``store_timezone_changed``); the store as it now is."""
        name = zone.strip()
        if name not in known_zones():
            raise InvalidInput(f"unknown time zone {zone!r}: give an IANA name such as Europe/London",
                               code="unknown_timezone")
        store_id = self.store_id(store)
        queries.set_store_timezone(self.engine, store_id, name, self.clock.now(), via)
        return queries.store_profile(self.engine, store_id)

    def lift_suppression(self, email: str, store: str | None = None, *, via: str = "api") -> None:
        """An operator lifts a suppression: marketing may reach the address again from the next tick (enrollments
        that already exited ``bounced`` stay ended); a ``suppression_lifted`` event records it. NotFound when it was
        not suppressed."""
        if not suppressions.remove_suppression(self.engine, self.store_id(store), email, via=via,
                                               at=self.clock.now()):
            raise NotFound("that address is not suppressed", code="suppression_not_found")

    def consent_of(self, email: str, store: str | None = None) -> MarketingConsent | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(t.customers.c.marketing_consent).where(
                t.customers.c.store_id == self.store_id(store), t.customers.c.email == email.lower())).scalar()
        return MarketingConsent(found) if found is not None else None

    def reconcile(self, connection: Connection, feed: OrderFeed,
                  look_back: timedelta = timedelta(days=3)) -> PollResult:
        """Read what the platform updated since the connection's cursor and apply what webhooks missed, through
        the inbox and the bus like a webhook (see connectors/reconcile.py). A failing read is recorded on the
        connection (for the reconcile_failing alert) and raised."""
        now = self.clock.now()
        try:
            items = list(feed.updated_since(reconcile.since(connection.reconcile_cursor, now, look_back)))
        except Exception as err:
            connections.record_poll(self.engine, connection.id, connection.reconcile_cursor, now,
                                    {"error": type(err).__name__, "recent": connection.last_poll.get("recent", [])},
                                    connection.numbers_seen)
            raise
        source = f"{connection.platform}-poll"
        counts = {"created": 0, "changed": 0, "rejected": 0, "unchanged": 0}
        for item in items:
            if item.problem:
                record_input(self.engine, connection.store_id,
                             InboxEntry.from_raw(source, item.version, "order", item.raw.encode(), {}),
                             "rejected", item.problem)
                counts["rejected"] += 1
                continue
            for n, command in enumerate(item.commands):
                counts[self._apply_polled(connection.store_id, source, item, n, command)] += 1
        seen = set(connection.numbers_seen)
        numbers = [*seen, *(i.number for i in items if i.number is not None)]
        gaps = tuple(n for n in reconcile.skipped_numbers(numbers) if n not in seen)
        result = PollResult(len(items), counts["created"], counts["changed"], counts["rejected"],
                            reconcile.newest(items, connection.reconcile_cursor), gaps)
        recent = remember_misses(connection.last_poll.get("recent", []), now, result.created, result.changed, gaps)
        connections.record_poll(self.engine, connection.id, result.cursor, now, {**result.as_dict(), "recent": recent},
                                [*numbers, *gaps])
        return result

    def _apply_polled(self, store_id: int, source: str, item: FeedItem, n: int, command: Any) -> str:
        """One command of a polled order, recorded under the order's version: 'created' (an order the webhooks
        missed), 'changed' (a cancellation or shipment they missed), 'rejected', or 'unchanged'."""
        entry = InboxEntry.from_raw(source, f"{item.version}#{n}", type(command).__name__,
                                    item.raw.encode() if n == 0 else b"", {})
        try:
            with self._kept_if_refused(store_id, entry):
                result = self.bus.handle(command, store_id, (entry,))
        except DuplicateDelivery:
            return "unchanged"
        except BackroomError:
            return "rejected"
        if isinstance(result, list):
            return "created" if result and result[0].created else "unchanged"
        return "changed" if result in ("cancelled", "shipped") else "unchanged"

    def reconcile_all(self) -> list[tuple[Connection, PollResult | str]]:
        """Poll every connected store once (one poller per connection across workers: the others skip it)."""
        done: list[tuple[Connection, PollResult | str]] = []
        self.process_inbox(wait=False)  # webhooks recorded but not yet imported are not "missed"
        for connection in connections.list_connections(self.engine):
            with self.engine.connect() as conn, conn.begin():
                if not connections.try_poll_lock(conn, connection.id):
                    continue
                try:
                    with feed_for(self.settings, connection) as feed:
                        look_back = timedelta(hours=self.settings.connectors.first_look_back_h)
                        done.append((connection, self.reconcile(connection, feed, look_back)))
                except Exception as err:  # one store's outage must not stop the others' polls; it is alerted
                    log.warning("reconciliation of %s %s failed: %s", connection.platform, connection.account,
                                type(err).__name__)
                    done.append((connection, type(err).__name__))
        return done

    def plan_due_stores(self) -> list[str]:
        """Run the replenishment plan of every store whose nightly plan is due (it has suppliers, its local time is
        past ``replenishment.plan_at`` and today's plan has not run); one worker at a time. The slugs planned."""
        at = self.settings.replenishment.plan_at
        if not at:
            return []
        planned = []
        with self.engine.connect() as conn, conn.begin():
            if not scheduling.try_lock(conn, scheduling.NIGHTLY_PLAN_LOCK):
                return []
            for store_id, slug, tz in scheduling.stores_with_suppliers(conn):
                local = self.clock.now().astimezone(ZoneInfo(tz))
                if local.strftime("%H:%M") < at or scheduling.planned_on(conn, store_id, local.date()):
                    continue
                try:
                    self.bus.handle(replenishment_commands.RunReplenishmentPlan(trigger="nightly"), store_id)
                except Exception as err:  # one store's failure must not stop the others' plans; tried again later
                    log.warning("the nightly replenishment plan of store %s failed: %s", slug, type(err).__name__)
                    continue
                planned.append(slug)
        return planned

    # -- customer email (docs/support.md, "Email" and "Email by IMAP") ---------------------------------------------

    def receive_email(self, raw: bytes, store: str | None = None) -> EmailOutcome:
        """A customer's raw RFC 822 email to the support agent, whichever way it came (POST /inbound/email or an
        IMAP fetch): handled once by its Message-ID, recorded in the same transaction as the agent's reply.

        An email the agent cannot read is kept in the inbox as 'rejected' (under the hash of its bytes) and its
        InvalidInput raised; one a machine sent (an auto-reply, a bounce, a list) is kept and not answered, so no
        mail loop starts; a failure while handling it is kept ('failed') and raised, and the same email coming
        again is handled then."""
        store_id = self.store_id(store)
        try:
            mail = parse_inbound(raw)
        except InvalidInput as err:
            record_input(self.engine, store_id, InboxEntry.from_raw(EMAIL_SOURCE, None, "email", raw, {}),
                         "rejected", err.code)
            raise
        entry = InboxEntry.from_raw(EMAIL_SOURCE, mail.message_id or None, "email", raw, {})
        automatic = automatic_reason(raw, {parseaddr(self.settings.smtp.sender)[1].lower()})
        if automatic is not None:
            suppressed = self.record_bounce_report(raw, store_id) if automatic == "bounce" else 0
            record_input(self.engine, store_id, entry, "processed", f"ignored: {automatic}")
            return EmailOutcome("ignored", mail.message_id, reason=automatic, suppressed=suppressed)
        command = HandleSupportMessage(Channel.EMAIL.value, mail.thread_id, mail.text, mail.sender, True,
                                       mail.sender_name or None, mail.subject, mail.message_id or None,
                                       mail.references)
        try:
            with self._kept_if_refused(store_id, entry):
                outcome = self.bus.handle(command, store_id, (entry,))
        except DuplicateDelivery:
            return EmailOutcome("duplicate", mail.message_id)
        handover = outcome.reply.handover
        return EmailOutcome("answered", mail.message_id, handover.value if handover else None)

    def record_bounce_report(self, raw: bytes, store_id: int) -> int:
        """A delivery status notification's hard-bounced recipients (Action failed, Status 5.x.x about the
        address) are suppressed, when the store knows the address (a customer, a checkout's or an order's buyer):
        the report comes from anyone who can mail the support address. A delay (4.x.x) suppresses nobody. The
        number suppressed."""
        bounced = hard_bounces(raw)
        now, count = self.clock.now(), 0
        with self.engine.begin() as conn:
            for recipient in bounced:
                known = suppressions.as_known(conn, store_id, recipient.email)
                if known is not None:
                    suppressions.record_suppression(conn, store_id, known, reason=suppressions.HARD_BOUNCE,
                                                    detail=recipient.detail, source="dsn", at=now)
                    count += 1
        if bounced:  # counts only: never the addresses
            log.info("bounce report: %d hard-bounced recipient(s), %d suppressed", len(bounced), count)
        return count

    def fetch_mail(self) -> list[FetchedMail] | None:
        """Handle the support mailbox's unseen emails once (``support.imap``; None: another worker is fetching).

        Each is read without marking it, handled by ``receive_email`` and only then marked seen, so a crash in
        between fetches it again and its Message-ID makes that harmless (one a machine sent is kept and marked seen,
        unanswered). One the agent cannot read is kept and set aside (marked seen, or moved to ``rejected_folder``);
        one whose handling failed stays unseen for the next poll. Neither stops the others."""
        imap = self.settings.support.imap
        with self.engine.connect() as conn, conn.begin():
            if not scheduling.try_lock(conn, MAIL_FETCH_LOCK):
                return None
            with open_mailbox(imap) as mailbox:
                return [self._fetch_one(mailbox, uid, imap.store) for uid in mailbox.unseen(imap.batch)]

    def _fetch_one(self, mailbox: ImapMailbox, uid: str, store: str | None) -> FetchedMail:
        raw = mailbox.fetch(uid)
        if raw is None:
            return FetchedMail(uid, "gone")
        try:
            outcome = self.receive_email(raw, store)
        except InvalidInput as err:  # kept in the inbox for inspection; fetching it again would not help
            log.info("email uid %s refused and set aside: %s", uid, err.code)
            mailbox.set_aside(uid)
            return FetchedMail(uid, err.code)
        except Exception as err:  # left unseen: the next poll tries again (the rest of the batch goes on)
            log.warning("email uid %s failed and stays unseen: %s", uid, type(err).__name__)
            return FetchedMail(uid, "failed")
        mailbox.mark_seen(uid)
        return FetchedMail(uid, outcome.outcome)

    def check_alerts(self, *, wait: bool = True) -> list[alerts.SentNotice] | None:
        """Run the alert checks for every store now (None: another process is running them; see wait)."""
        return alerts.check_alerts(self.engine, self.settings, self.clock, wait=wait)

    def drain(self, max_rounds: int = 20) -> None:
        """Run every effect that is due now, then return (demo, tests, `backroom worker --once`).

        A worker started with wait=False stops as soon as one fetch finds the queue empty, so retries deferred
        while it ran (due at once when there is no backoff) are picked up by another round. Starting a worker
        costs about 0.15 s, so none is started while nothing is due."""
        for _ in range(max_rounds):
            with self.engine.connect() as conn:
                if not due_jobs(conn):
                    return
            asyncio.run(self.run_worker(wait=False))

    @contextlib.contextmanager
    def _kept_if_refused(self, store_id: int, entry: InboxEntry) -> Iterator[None]:
        """An input we cannot accept is kept in the inbox ('rejected', or 'failed' for the unexpected) and the
        error goes on to the caller; a duplicate is just a duplicate."""
        try:
            yield
        except DuplicateDelivery:
            raise
        except Exception as err:
            record_input(self.engine, store_id, entry, *kept_as(err))
            raise

    # -- answer fast, process after commit (docs/concepts.md, "The one path") ---------------------------------------

    def accept_webhook(self, source: str, delivery_id: str | None, topic: str, body: bytes,
                       headers: Mapping[str, str], store: str) -> Future[WebhookOutcome]:
        """A verified platform webhook, recorded in the inbox and answered before it is processed.

        It is mapped first, so what cannot be used is refused at once; then recorded as 'received', in one INSERT
        and commit with the deliveries that arrived with it. The future is done once that is durable: 'accepted'
        (the inbox processor imports it next), 'duplicate' (its delivery id was recorded before) or 'ignored'
        (kept as processed, with the reason). A payload we cannot accept is kept as 'rejected' (an unexpected
        error as 'failed') and the future raises its error. The first delivery for a store creates the store."""
        entry = InboxEntry.from_raw(source, delivery_id, topic or "unknown", body, headers)
        refusal: BaseException | None = None
        status, error, ignored = "received", None, ""
        try:
            mapped = MAPPERS[source](topic, body, source_ref(source, entry.source_id))
        except Exception as err:  # kept as rejected (unexpected: as failed), and the caller hears it
            refusal = err
            status, error = kept_as(err)
        else:
            if isinstance(mapped, Ignored):
                status, ignored = "processed", mapped.reason
                error = f"ignored: {ignored}"
        arrival = inbox_db.Arrival(self.store_id(store), entry, status, error, self.clock.now())
        answer: Future[WebhookOutcome] = Future()

        def reply(recorded: Future[bool]) -> None:
            failure = recorded.exception() or refusal
            if failure is not None:
                answer.set_exception(failure)
            elif status == "processed":
                answer.set_result(WebhookOutcome(entry.source_id, topic, "ignored", ignored))
            elif recorded.result():
                answer.set_result(WebhookOutcome(entry.source_id, topic, "accepted", "received"))
            else:
                answer.set_result(WebhookOutcome(entry.source_id, topic, "duplicate", ""))

        self.inbox_recorder().submit_async(arrival).add_done_callback(reply)
        return answer

    def inbox_recorder(self) -> GroupCommit[inbox_db.Arrival, bool]:
        """Deliveries arriving on concurrent requests share one INSERT and commit (service_layer/batching.py)."""
        with self._lock:
            if self._recorder is None:
                self._recorder = GroupCommit(self._record_arrivals, max_batch=500, name="backroom-inbox-recorder")
            return self._recorder

    def _record_arrivals(self, arrivals: Sequence[inbox_db.Arrival]) -> list[bool]:
        recorded = inbox_db.record_arrivals(self.engine, arrivals, notify=self.inbox_elsewhere)
        fresh = [a.store_id for a, new in zip(arrivals, recorded, strict=True) if new and a.status == "received"]
        if fresh and not self.inbox_elsewhere:
            self.inbox_processor().wake(fresh)
        return recorded

    def inbox_processor(self) -> InboxProcessor:
        """The thread that processes received inputs in this process, woken after each commit that recorded some."""
        with self._lock:
            if self._processor is None:
                self._processor = InboxProcessor(lambda store_id: self._process_store(store_id)[0])
            return self._processor

    def run_inbox_processor(self, stop: threading.Event) -> None:
        """Be the dedicated inbox process of API processes that record only (inbox_elsewhere): the processor thread
        is woken by their commits' notifications, and at the start with every store that has inputs due, until
        ``stop`` is set."""
        processor = self.inbox_processor()
        inbox_db.listen_for_arrivals(libpq_dsn(self.database_url), processor.wake,
                                     lambda: processor.wake(inbox_db.stores_due(self.engine)), stop)

    def process_inbox(self, *, wait: bool = True) -> list[int]:
        """Process every store's received inputs that are due now; the ids of the inbox rows that were taken.

        With wait, a store another processor is working on is waited for, then finished (tests; `backroom worker`'s
        start); without, it is left to that processor (the worker's periodic safety net)."""
        taken: list[int] = []
        for store_id in inbox_db.stores_due(self.engine):
            state = StorePass.MORE
            while state is StorePass.MORE:
                state, rows = self._process_store(store_id, wait=wait)
                taken += rows
        return taken

    def _process_store(self, store_id: int, *, wait: bool = False, batch: int = 200,
                       rounds: int = 10) -> tuple[StorePass, list[int]]:
        """Up to ``rounds`` batches of one store's due inputs, oldest first, holding the store's processing lock."""
        effects = self.settings.effects
        retry = RetryPolicy(effects.max_attempts, effects.backoff_base_s, effects.backoff_cap_s)
        taken: list[int] = []
        with inbox_db.store_lock(self.engine, store_id, wait=wait) as held:
            if not held:
                return (StorePass.BUSY if inbox_db.has_due(self.engine, store_id) else StorePass.DONE), taken
            for _ in range(rounds):
                rows = inbox_db.take_due(self.engine, store_id, batch)
                if not rows:
                    return StorePass.DONE, taken
                settled = process_batch(rows, self._interpret, functools.partial(self._handle_inputs, store_id),
                                        self._merge_imports, retry)
                inbox_db.settle(self.engine, store_id, settled)
                taken += [r.id for r in rows]
        return StorePass.MORE, taken

    @staticmethod
    def _interpret(entry: InboxEntry) -> Command | Skip:
        mapper = MAPPERS.get(entry.source)
        if mapper is None:
            raise ConfigurationError(f"no connector reads inputs from {entry.source}")
        mapped = mapper(entry.kind, entry.body.encode(), source_ref(entry.source, entry.source_id))
        return Skip(mapped.reason) if isinstance(mapped, Ignored) else mapped

    def _handle_inputs(self, store_id: int, command: Command, entries: Sequence[InboxEntry]) -> object:
        return self.bus.handle(command, store_id, entries)

    @staticmethod
    def _merge_imports(first: Command, then: Command) -> Command | None:
        """Consecutive order imports run as one (one transaction for the batch); any other command runs alone."""
        if isinstance(first, ImportOrders) and isinstance(then, ImportOrders):
            return ImportOrders(first.orders + then.orders)
        return None

    def batcher(self) -> Batcher:
        """Orders arriving on concurrent requests share transactions (service_layer/batching.py)."""
        with self._lock:
            if self._batcher is None:
                self._batcher = Batcher(
                    lambda store_id, orders, entries: self.bus.handle(ImportOrders(tuple(orders)), store_id, entries),
                    functools.partial(processed_ids, self.engine))
            return self._batcher

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
        if self._processor is not None:
            self._processor.close()  # what it has not taken stays received, for the next process or a worker
        if self._batcher is not None:
            self._batcher.close()
        self.runner.close()  # SMTP sessions and HTTP connections stay pooled across drain rounds until here
        self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()


def build(settings: Settings | None = None, clock: Clock | None = None, *, migrate_schema: bool = True,
          executors: dict[str, Executor] | None = None) -> Backroom:
    settings = settings or Settings()
    clock = clock or SystemClock()
    alerts.alert_policy(settings.alerts)  # malformed business hours stop the start, not the first check
    embedded = None
    if settings.database_url:
        url = normalize_url(settings.database_url)
    else:
        embedded = EmbeddedPostgres(settings.home)
        url = embedded.start()
    engine = make_engine(url)
    if migrate_schema:
        migrate.upgrade(engine)
    pipeline = handlers.PipelineSettings(
        policy=OrderPolicy(high_value_threshold=settings.high_value_threshold), handling_days=settings.handling_days,
        low_stock_threshold=settings.low_stock_threshold,
    )
    rules = RuleEngine(pipeline)
    flows = flow_settings(settings, all_flows(settings)) if settings.marketing.enabled_flows else None
    routes: dict[type[Any], Callable[..., Any]] = {
        commands.ImportOrders: handlers.import_orders,
        commands.CancelOrder: handlers.cancel_order,
        commands.CancelOrderByReference: handlers.cancel_order_by_reference,
        commands.RecordShipmentByReference: handlers.record_shipment_by_reference,
        commands.RecordShipment: handlers.record_shipment,
        commands.RecordDelivery: handlers.record_delivery,
        commands.RecordShipments: handlers.record_shipments,
        commands.RecordDeliveries: handlers.record_deliveries,
        commands.ReceiveDelivery: handlers.receive_delivery,
        commands.CountStock: handlers.count_stock,
        commands.ReceiveStock: handlers.receive_stock,
        commands.ReceiveReturn: handlers.receive_return,
        commands.SetRestockEta: handlers.set_restock_eta,
        commands.ResolveReviewItem: handlers.resolve_review_item,
        commands.RecordPayment: platform_handlers.record_payment,
        commands.RecordRefunds: platform_handlers.record_refunds,
        commands.RecordCheckout: platform_handlers.record_checkout,
        commands.DeleteCheckout: platform_handlers.delete_checkout,
        commands.RecordCustomer: platform_handlers.record_customer,
        commands.RecordPlatformItem: platform_handlers.record_platform_item,
        commands.RecordPlatformStock: platform_handlers.record_platform_stock,
    }
    routes[replenishment_commands.ReceivePurchaseOrder] = handlers.receive_purchase_order
    planning = replenishment_settings(settings)
    bus = MessageBus(
        uow_factory=lambda store_id, inbox: SqlUnitOfWork(
            engine, store_id, clock, settings.effects.max_attempts, inbox,
            listener=rules.listener if flows is None else with_flows(rules.listener, flows)
        ),
        handlers={
            **{cmd: functools.partial(fn, settings=pipeline) for cmd, fn in routes.items()},
            replenishment_commands.RecordSupplier: replenishment.record_supplier,
            replenishment_commands.AssignSupplierItems: replenishment.assign_supplier_items,
            replenishment_commands.RunReplenishmentPlan: functools.partial(replenishment.run_plan, settings=planning),
            replenishment_commands.ApprovePurchaseOrder: replenishment.approve_purchase_order,
            replenishment_commands.CancelPurchaseOrder: replenishment.cancel_purchase_order,
            HandleSupportMessage: functools.partial(handle_support_message,
                                                    settings=support_settings(settings, pipeline)),
        },
    )
    runner = EffectRunner(engine, executors or default_executors(settings, engine), clock, settings.effects,
                          alerts.AlertRoute.from_settings(settings),
                          on_permanent={"email": suppressions.suppress_refused_recipient},
                          guards={"email": suppressions.MARKETING_GUARD})
    return Backroom(settings, engine, url, clock, bus, runner, embedded, flows)


#: the flow triggers that enroll customers: a recorded checkout, a new order (the pipeline's order_created), a
#: delivered order (its shipment_delivered), and the daily lapsed-customer scan
WIRED_TRIGGERS = frozenset({"checkout_abandoned", "order_placed", "order_delivered", "customer_lapsed"})
LAPSED_SCAN_EVERY_S = 24 * 3600


def all_flows(settings: Settings) -> list[Flow]:
    """The shipped flows, or the owner's own file (``marketing.flows_file``)."""
    path = settings.marketing.flows_file
    return load_flows_text(path.read_text(encoding="utf-8")) if path else builtin_flows()


def flow_rows(settings: Settings) -> list[dict[str, Any]]:
    """Every flow of the flows file, whether it is enabled and whether its trigger is wired (`backroom flows list`,
    GET /api/flows)."""
    enabled = set(settings.marketing.enabled_flows)
    return [{"flow": f.name, "trigger": f.trigger.name, "enabled": f.name in enabled,
             "trigger_wired": f.trigger.name in WIRED_TRIGGERS, "priority": f.priority,
             "emails": [s.template for s in f.steps if isinstance(s, SendEmail)]} for f in all_flows(settings)]


def funnel_row(r: FunnelRow) -> dict[str, Any]:
    return {"flow": r.flow, "enrolled": r.enrolled, "sent": r.sent, "skipped": dict(r.skipped),
            "deferred": dict(r.deferred), "exited": dict(r.exited), "completed": r.completed,
            "unsubscribed": r.unsubscribed, "converted": r.converted,
            "revenue": {currency: str(total) for currency, total in r.revenue.items()}}


def flow_settings(settings: Settings, flows: list[Flow]) -> flows_service.FlowSettings:
    """The flows the owner enabled, checked at start: a name that is not a flow, or marketing mail without the
    secret its unsubscribe links are signed with, stops the start."""
    m = settings.marketing
    unknown = sorted(set(m.enabled_flows) - {f.name for f in flows})
    if unknown:
        raise ConfigurationError(f"marketing.enabled_flows names no flow: {', '.join(unknown)} "
                                 f"(known: {', '.join(f.name for f in flows)})")
    unwired = sorted(f.name for f in flows if f.name in m.enabled_flows and f.trigger.name not in WIRED_TRIGGERS)
    if unwired:  # enabled but never enrolling anyone would fail silently: say so at start
        raise ConfigurationError(f"marketing.enabled_flows: {', '.join(unwired)} cannot run yet (only flows triggered "
                                 f"by {', '.join(sorted(WIRED_TRIGGERS))} enroll customers today; docs/flows.md)")
    renderer = TemplateRenderer(settings.smtp.templates_dir)
    lacking = [f"{f.name}: {step.template} ({', '.join(files)})" for f in flows if f.name in m.enabled_flows
               for step in f.steps if isinstance(step, SendEmail) and (files := renderer.missing(step.template))]
    if lacking:  # an email that cannot be rendered would fail at every send: say so at start
        raise ConfigurationError("marketing.enabled_flows send emails with no template: " + "; ".join(lacking)
                                 + " (add the files to BACKROOM_SMTP__TEMPLATES_DIR; docs/flows.md)")
    if m.enabled_flows and m.unsubscribe_secret is None:
        raise ConfigurationError("marketing flows send a signed unsubscribe link: set "
                                 "BACKROOM_MARKETING__UNSUBSCRIBE_SECRET")
    secret = m.unsubscribe_secret.get_secret_value().encode() if m.unsubscribe_secret else b""
    base = m.public_url.rstrip("/")

    def unsubscribe_url(store_id: int, email: str) -> str:
        return f"{base}/unsubscribe/{unsubscribe_token(secret, store_id, email)}"

    links = lifecycle.Links(m.product_url, m.review_url)
    for name, pattern in (("product_url", m.product_url), ("review_url", m.review_url)):
        try:
            shown = links.of(pattern, "SKU-1", "#1001")
        except (KeyError, IndexError, ValueError) as err:
            raise ConfigurationError(f"marketing.{name} may only use {{sku}} and {{order_number}}: {pattern}") from err
        if pattern and not shown.startswith(("https://", "http://")):
            raise ConfigurationError(f"marketing.{name} must be an http(s) address: {pattern}")
    quiet = None
    if m.quiet_hours:
        start, end = (time.fromisoformat(part) for part in m.quiet_hours.split("-"))
        quiet = QuietHours(start, end)
    return flows_service.FlowSettings(tuple(flows), frozenset(m.enabled_flows), unsubscribe_url,
                                      timedelta(hours=m.frequency_cap_h), quiet, m.batch, links)


def with_flows(rules_listener: Callable[[Any], Callable[[Any], Any]],
               flows: flows_service.FlowSettings) -> Callable[[Any], Callable[[Any], Any]]:
    """The unit of work's event listener: the rules engine, and before it the enabled flows' enrollment, so a
    checkout (or a delivered order) enrolls its buyer inside the transaction that recorded it."""
    def listener(uow: Any) -> Callable[[Any], Any]:
        rules_on_event = rules_listener(uow)

        def on_event(event: Any) -> Any:
            flows_service.enroll_from_event(uow, flows, event)
            return rules_on_event(event)

        return on_event

    return listener


def support_settings(settings: Settings, pipeline: handlers.PipelineSettings) -> SupportSettings:
    """The agent's language layer and policy library load on the first message, not at start."""
    s = settings.support
    interpreter: Interpreter = ClassifierInterpreter()
    phraser = None
    if settings.llm.url:  # the optional model: a fallback for unsure intents, and rewording that adds no fact
        from backroom.adapters.llm.openai_compat import ChatCompletions
        from backroom.support.llm import LlmInterpreter, LlmPhraser
        from backroom.support.nlu import Intent

        model = ChatCompletions(settings.llm)
        interpreter = LlmInterpreter(interpreter, model, [i.value for i in Intent], s.confidence_floor)
        phraser = LlmPhraser(model)
    return SupportSettings(interpreter, LibraryAnswers(s.policies_dir),
                           AgentPolicy(s.confidence_floor, s.high_value, s.vip_spend,
                                       returns=ReturnRules(s.return_window_days)), pipeline, phraser)


def replenishment_settings(settings: Settings) -> replenishment.ReplenishmentSettings:
    r = settings.replenishment
    return replenishment.ReplenishmentSettings(
        PlanSettings(service_level=r.service_level, uncertainty=Uncertainty(r.uncertainty),
                     dead_after_days=r.dead_after_days, slow_cover_days=r.slow_cover_days,
                     default_lead_time_days=r.default_lead_time_days), r.history_days)


@contextlib.contextmanager
def feed_for(settings: Settings, connection: Connection) -> Iterator[OrderFeed]:
    """The order list of a connected account, read with the credentials from the environment."""
    if connection.platform == "shopify":
        with ShopifyClient.from_settings(settings.shopify, connection.account) as shopify:
            yield ShopifyFeed(shopify, connection.account)
        return
    with woocommerce_client(settings.woocommerce, connection.account) as woo:
        yield WooCommerceFeed(woo, connection.account)


def default_executors(settings: Settings, engine: Engine | None = None) -> dict[str, Executor]:
    warehouse: Executor = (
        HttpWarehouse(settings.warehouse) if settings.warehouse.mode == "http" else CsvWarehouse(settings.warehouse_dir)
    )
    executors: dict[str, Executor] = {
        "email": SmtpSender(settings.smtp), "fulfillment_request": warehouse, "fulfillment_cancel": warehouse,
        "slack_message": SlackSender(settings.slack), "webhook_call": WebhookCaller(settings.rules)}
    if engine is not None:
        account_of = functools.partial(connected_account, engine, settings)
        sync = PlatformSync(settings, account_of)
        executors |= {"platform_fulfillment": sync, "platform_cancel": sync,
                      "platform_discount": PlatformDiscounts(settings, account_of),
                      "platform_consent": PlatformConsent(settings, account_of)}
    return executors


def connected_account(engine: Engine, settings: Settings, store_id: int, platform: str) -> str:
    """The account a store is connected to on a platform (`backroom connect`), else the one settings route to it."""
    found = [c.account for c in connections.list_connections(engine, store_id) if c.platform == platform]
    if found:
        return found[0]
    with engine.connect() as conn:
        slug = conn.execute(select(t.stores.c.slug).where(t.stores.c.id == store_id)).scalar_one()
    routes = settings.shopify.shops if platform == "shopify" else settings.woocommerce.sites
    routed = [account for account, store in routes.items() if store == slug]
    if not routed:
        raise ConfigurationError(f"store {slug} has no {platform} connection: run backroom connect {platform}")
    return routed[0] if platform == "shopify" else f"https://{routed[0]}"
