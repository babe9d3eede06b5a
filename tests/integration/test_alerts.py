"""Alerts on real PostgreSQL, delivered by the real worker to a local Slack-format HTTP receiver and a local SMTP
server: effects that give up (one alert per automation and kind), the review queue, a quiet store, failing inputs,
an error rate that jumps, and no alert loops."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from tests.conftest import HttpReceiver, make_settings, order_body, rows, scalar, seed_catalog
from typer.testing import CliRunner

from backroom.adapters.db import alerts
from backroom.adapters.email.catcher import MailCatcher
from backroom.adapters.queue.runner import Executor
from backroom.bootstrap import Backroom, build
from backroom.config import AlertSettings, SlackSettings
from backroom.entrypoints.cli.main import app as cli
from backroom.orders import commands
from backroom.shared.clock import SimulatedClock

pytestmark = pytest.mark.integration

OPS = "ops@example.com"
START = "2026-11-27T09:00:00+00:00"  # the test clock's start, a Friday
# each test turns on only the checks it is about (0 turns a check off)
QUIET = {"review_queue_max": 0, "review_age_max_h": 0, "quiet_period_min": 0, "error_rate_window_min": 0}


@pytest.fixture
def alerting(database_url: str, tmp_path: Path, mail: MailCatcher, warehouse: HttpReceiver, slack: HttpReceiver,
             clock: SimulatedClock) -> Iterator[Callable[..., Backroom]]:
    """Build the app with Slack (channel #ops) and the given alert settings."""
    built: list[Backroom] = []

    def make(**settings: Any) -> Backroom:
        base = make_settings(database_url, tmp_path, mail, warehouse)
        app = build(base.model_copy(update={
            "slack": SlackSettings(webhook_url=slack.url),  # type: ignore[arg-type]
            "alerts": AlertSettings(slack_channel="#ops", **{**QUIET, **settings}),
        }), clock=clock, migrate_schema=False)
        built.append(app)
        return app

    yield make
    for app in built:
        app.close()


def notices(app: Backroom) -> list[tuple[str, str, str, str]]:
    sent = app.check_alerts()
    assert sent is not None
    return [(s.store, s.notice.alert.kind.value, s.notice.action.value, s.notice.key) for s in sent]


def posts(slack: HttpReceiver) -> dict[str, str]:
    """Slack texts by idempotency key (jobs of different checks may be delivered in any order); each key once."""
    keys = slack.keys()
    assert len(keys) == len(set(keys))
    return {key: body["text"] for key, body in zip(keys, slack.bodies(), strict=True)}


def alert_mail(mail: MailCatcher) -> list[Any]:
    return [m for m in mail.messages if m["To"] == OPS]


# --- an effect that gives up -----------------------------------------------------------------------------------


def test_an_effect_that_gives_up_is_announced_once_on_slack_and_by_email(
    alerting: Callable[..., Backroom], warehouse: HttpReceiver, slack: HttpReceiver, mail: MailCatcher,
) -> None:
    app = alerting(email_to=OPS)
    seed_catalog(app, {"A": (5, 0)})
    warehouse.status = 503
    order_id = app.ingest_order(order_body("o-1", {"A": 1}), {}, "api").order_id

    app.drain()  # three attempts (max_attempts=3, no backoff), the review item, then the two alert deliveries

    effect_id, item_id = rows(app, "SELECT e.id, r.id FROM effects e JOIN review_items r ON r.subject_id = e.id"
                                   " WHERE e.kind = 'fulfillment_request'")[0]
    key = f"alert:effect_failed:fulfillment:fulfillment_request:{START}"
    title = "[default] fulfillment: fulfillment_request failed after 3 attempts"
    body = (f"Effect {effect_id} (fulfillment_request of fulfillment, order {order_id}) gave up after 3 attempts "
            f"(EffectFailed). It waits in the review queue as item #{item_id}: backroom review show {item_id} "
            "--store default. Further fulfillment_request failures of fulfillment are counted in this alert, not "
            "announced one by one, until none of them waits in the review queue.")
    assert slack.bodies() == [{"text": f"*{title}*\n{body}", "channel": "#ops"}]
    assert slack.keys() == [f"{key}:slack"]
    (email,) = alert_mail(mail)
    assert (email["Subject"], email["Idempotency-Key"]) == (title, f"{key}:email")
    assert email.get_body(("plain",)).get_content().splitlines() == [body]
    assert rows(app, "SELECT kind, key, status FROM effects WHERE automation = 'alerts' ORDER BY kind") == [
        ("email", f"{key}:email", "done"), ("slack_message", f"{key}:slack", "done")]

    # the periodic check does not announce it again, and nothing more is sent
    assert notices(app) == []
    app.drain()
    assert (len(slack.requests), len(alert_mail(mail))) == (1, 1)
    assert [(a["alert"], a["subject"], a["sent"]) for a in alerts.list_alerts(app.engine, app.store_id())] == [
        ("effect_failed", "fulfillment:fulfillment_request", 1)]

    # once a human retried the effect, no failed fulfillment request waits for review: the alert resolves
    warehouse.status = 200
    app.handle(commands.ResolveReviewItem(item_id, "retry", "owner@shop"))
    assert notices(app) == [("default", "effect_failed", "resolved", f"{key}:resolved")]
    assert alerts.list_alerts(app.engine, app.store_id()) == []
    app.drain()
    assert posts(slack)[f"{key}:resolved:slack"] == (
        "*[default] Resolved: fulfillment: fulfillment_request failures*\nCleared at 2026-11-27 09:00 UTC, 0 min "
        "after it was first reported. Last reported: fulfillment: fulfillment_request failed after 3 attempts. 1 gave "
        "up while it was open; none waits in the review queue now.")


CUSTOMER_REFUSAL = b"5.1.1 unknown user, see https://mx.example.net/help?token=s3cr3t"


class RefuseCustomerMail:
    """A mail outage for customers only: alert emails to OPS still go out. The error names the customer's address
    and a URL with a token, as an SMTP server's rejection may."""

    def __init__(self, send: Executor) -> None:
        self.send = send

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any] | None:
        if payload["to"] != OPS:
            raise smtplib.SMTPRecipientsRefused({payload["to"]: (550, CUSTOMER_REFUSAL)})
        return self.send(payload, key)

    def close(self) -> None:  # the runner closes its executors' SMTP sessions after each run
        close = getattr(self.send, "close", None)
        if callable(close):
            close()


def refuse_customer_mail(app: Backroom) -> None:
    app.runner.executors["email"] = RefuseCustomerMail(app.runner.executors["email"])


def test_an_outage_of_100_failed_customer_emails_sends_one_alert_and_resolves_once_they_are_handled(
    alerting: Callable[..., Backroom], slack: HttpReceiver, mail: MailCatcher, clock: SimulatedClock,
) -> None:
    app = alerting(email_to=OPS, repeat_after_h=1)
    seed_catalog(app, {"A": (500, 0)})
    refuse_customer_mail(app)
    for n in range(100):
        app.ingest_order(order_body(f"o-{n}", {"A": 1}), {}, "api")

    app.drain()

    items = [int(i) for (i,) in rows(app, "SELECT id FROM review_items WHERE reason_code = 'email_failed'"
                                          " ORDER BY id")]
    assert len(items) == 100
    key = f"alert:effect_failed:customer_emails:email:{START}"
    assert slack.keys() == [f"{key}:slack"]
    (email,) = alert_mail(mail)
    assert email["Idempotency-Key"].strip() == f"{key}:email"  # a long header is folded
    (state,) = rows(app, "SELECT alert, subject, open, detail FROM alert_state")
    assert state[:3] == ("effect_failed", "customer_emails:email", True)
    assert (state.detail["failed"], state.detail["unsent"], state.detail["sent"]) == (100, 99, 1)
    # the alert texts name the error's type, never the error (a customer's address, a URL with a token)
    texts = [slack.bodies()[0]["text"], email.get_body(("plain",)).get_content(), str(email["Subject"]),
             json.dumps(alerts.list_alerts(app.engine, app.store_id()))]
    assert "(SMTPRecipientsRefused)" in texts[0]
    for text_ in texts:
        assert "@example.com" not in text_.replace(OPS, "")
        assert "mx.example.net" not in text_
        assert "s3cr3t" not in text_
    # the review items keep the full error for the owner
    # (workers run the emails concurrently, so which order's email failed first varies: look for o-0's by content)
    assert scalar(app, "SELECT count(*) FROM review_items WHERE reason_code = 'email_failed'"
                       " AND context->>'error' LIKE '%o-0@example.com%'") == 1

    # no more messages while it is open, until a reminder after repeat_after_h counts the rest
    assert notices(app) == []
    clock.advance(timedelta(hours=1))
    assert notices(app) == [("default", "effect_failed", "repeated", f"{key}:repeat-1")]
    app.drain()
    reminder = posts(slack)[f"{key}:repeat-1:slack"]
    assert reminder.startswith("*[default] Still: customer_emails: 100 failed email effects wait for review*\n100 "
                               "email effects of customer_emails gave up and wait in the review queue; the latest "
                               f"is item #{items[-1]} (SMTPRecipientsRefused).")
    assert "\n99 more failed since the last notice, 100 since it opened.\n" in reminder
    assert "@example.com" not in reminder
    assert "s3cr3t" not in reminder

    # all but one handled: still open; the last one handled: resolved, once
    for item in items[:-1]:
        app.handle(commands.ResolveReviewItem(item, "dismiss", "owner@shop"))
    assert notices(app) == []
    app.handle(commands.ResolveReviewItem(items[-1], "dismiss", "owner@shop"))
    assert notices(app) == [("default", "effect_failed", "resolved", f"{key}:resolved")]
    assert notices(app) == []
    assert rows(app, "SELECT open FROM alert_state") == [(False,)]

    # a new failure afterwards opens a new alert, announced again
    clock.advance(timedelta(minutes=5))
    app.ingest_order(order_body("o-100", {"A": 1}), {}, "api")
    app.drain()
    again = "alert:effect_failed:customer_emails:email:2026-11-27T10:05:00+00:00"
    assert sorted(posts(slack)) == sorted(f"{k}:slack" for k in (key, f"{key}:repeat-1", f"{key}:resolved", again))
    assert len(alert_mail(mail)) == 4
    assert rows(app, "SELECT open, detail->'failed' FROM alert_state") == [(True, 1)]


def test_an_alert_delivery_that_fails_raises_no_alert(
    alerting: Callable[..., Backroom], warehouse: HttpReceiver, slack: HttpReceiver, mail: MailCatcher,
) -> None:
    app = alerting()  # Slack only
    seed_catalog(app, {"A": (5, 0)})
    warehouse.status = 503
    slack.status = 500
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")

    app.drain()

    key = f"alert:effect_failed:fulfillment:fulfillment_request:{START}:slack"
    assert rows(app, "SELECT key, status, attempts FROM effects WHERE automation = 'alerts'") == [(key, "failed", 3)]
    assert slack.keys() == [key, key, key]
    assert rows(app, "SELECT r.reason_code, e.automation FROM review_items r JOIN effects e ON e.id = r.subject_id"
                     " ORDER BY r.id") == [("fulfillment_failed", "fulfillment"), ("action_failed", "alerts")]
    assert rows(app, "SELECT alert, subject FROM alert_state") == [("effect_failed", "fulfillment:fulfillment_request")]
    assert alert_mail(mail) == []


# --- the review queue ------------------------------------------------------------------------------------------


def test_a_review_queue_over_its_limit_alerts_once_repeats_after_a_day_and_resolves(
    alerting: Callable[..., Backroom], slack: HttpReceiver, clock: SimulatedClock,
) -> None:
    app = alerting(review_queue_max=2, repeat_after_h=24)
    seed_catalog(app, {"A": (5, 0)})
    orders = [app.ingest_order(order_body(f"o-{n}", {"A": 1}, payment="failed"), {}, "api").order_id
              for n in range(3)]
    key = f"alert:review_queue_size:queue:{START}"

    assert notices(app) == [("default", "review_queue_size", "opened", key)]
    assert notices(app) == []
    clock.advance(timedelta(hours=23, minutes=59))
    assert notices(app) == []
    clock.advance(timedelta(minutes=1))
    assert notices(app) == [("default", "review_queue_size", "repeated", f"{key}:repeat-1")]
    app.handle(commands.CancelOrder(orders[0]))  # closes its review item: 2 open, at the limit but over 80 % of it
    clock.advance(timedelta(minutes=30))
    assert notices(app) == []
    app.handle(commands.CancelOrder(orders[1]))  # 1 open: at the clear level (80 % of 2, rounded down)
    clock.advance(timedelta(minutes=30))
    assert notices(app) == [("default", "review_queue_size", "resolved", f"{key}:resolved")]
    assert notices(app) == []
    app.drain()

    assert posts(slack) == {
        f"{key}:slack": "*[default] Review queue: 3 open items*\n3 items wait for a human in the review queue (the "
                        "limit is 2; the alert clears at 1 or fewer). See them with: backroom review list --store "
                        "default",
        f"{key}:repeat-1:slack": "*[default] Still: Review queue: 3 open items*\n3 items wait for a human in the "
                                 "review queue (the limit is 2; the alert clears at 1 or fewer). See them with: "
                                 "backroom review list --store default\n\nFirst reported 2026-11-27 09:00 UTC; "
                                 "reminder 1.",
        f"{key}:resolved:slack": "*[default] Resolved: review queue size*\nCleared at 2026-11-28 10:00 UTC, 25 h "
                                 "after it was first reported. Last reported: Review queue: 3 open items.",
    }
    (state,) = rows(app, "SELECT open, opened_at, last_sent_at, closed_at, detail FROM alert_state")
    assert state[:4] == (False, datetime(2026, 11, 27, 9, tzinfo=UTC), datetime(2026, 11, 28, 10, tzinfo=UTC),
                         datetime(2026, 11, 28, 10, tzinfo=UTC))
    assert (state.detail["sent"], state.detail["facts"]) == (3, {"open_items": 3, "limit": 2, "clears_at": 1})


def test_a_review_item_waiting_too_long_alerts(alerting: Callable[..., Backroom], clock: SimulatedClock) -> None:
    app = alerting(review_age_max_h=4)
    seed_catalog(app, {"A": (5, 0)})
    app.ingest_order(order_body("o-1", {"A": 1}, payment="failed"), {}, "api")
    item_id = scalar(app, "SELECT id FROM review_items")

    clock.advance(timedelta(hours=3, minutes=59))
    assert notices(app) == []
    clock.advance(timedelta(minutes=1))
    sent = app.check_alerts()

    assert [(s.notice.alert.title, s.notice.alert.detail) for s in sent or []] == [
        (f"Review queue: item #{item_id} has waited 4 h",
         {"oldest_item_id": item_id, "reason_code": "payment_failed", "waited_h": 4.0, "overdue_items": 1,
          "limit_h": 4.0})]


# --- a quiet store ---------------------------------------------------------------------------------------------


def test_a_quiet_store_alerts_only_during_its_business_hours(
    alerting: Callable[..., Backroom], slack: HttpReceiver, clock: SimulatedClock,
) -> None:
    app = alerting(quiet_period_min=120, repeat_after_h=1, business_hours="Mon-Fri 09:00-18:00")
    seed_catalog(app, {"A": (50, 0)})
    app.store_id("fresh")  # a store that has never sent anything is not silent
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE stores SET timezone = 'Europe/Berlin'"))
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")  # Friday 10:00 in Berlin

    def at(day: int, hour: int, minute: int = 0) -> list[tuple[str, str, str, str]]:
        clock.set(datetime(2026, 11, day, hour, minute, tzinfo=UTC))
        return notices(app)

    friday = "alert:store_quiet:inputs:2026-11-27T11:00:00+00:00"
    monday = "alert:store_quiet:inputs:2026-11-30T10:00:00+00:00"
    assert at(27, 10, 59) == []  # 1 h 59 min of silence
    assert at(27, 11) == [("default", "store_quiet", "opened", friday)]
    assert at(27, 17, 30) == []  # 18:30 in Berlin: a reminder is due, but not outside business hours
    assert at(28, 10) == []  # Saturday
    app.ingest_order(order_body("o-2", {"A": 1}), {}, "api")  # the store speaks again on Saturday
    assert at(28, 10, 5) == [("default", "store_quiet", "resolved", f"{friday}:resolved")]
    assert at(30, 9, 59) == []  # Monday 10:59 in Berlin: 1 h 59 min of business hours since Saturday
    assert at(30, 10) == [("default", "store_quiet", "opened", monday)]
    app.drain()

    texts = posts(slack)
    assert sorted(texts) == [f"{friday}:resolved:slack", f"{friday}:slack", f"{monday}:slack"]
    assert texts[f"{friday}:slack"] == (
        "*[default] No input from the store for 2 h of business hours*\nNo input from the store has been processed "
        "since 2026-11-27 10:00 Europe/Berlin: 2 h within business hours (Mon-Fri 09:00-18:00, Europe/Berlin), and "
        "the quiet period is 2 h. Check the store's webhooks and connection, and rejected inputs.")


def add_inputs(app: Backroom, n: int, at: datetime, status: str = "processed") -> None:
    with app.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO inbox (store_id, source, source_id, kind, status, headers, body, error, received_at)"
            " SELECT :store, 'api', 'test:' || gen_random_uuid(), 'order', CAST(:status AS text), '{}', '{}',"
            " CASE WHEN CAST(:status AS text) <> 'processed' THEN 'signature_invalid: no' END, :at"
            " FROM generate_series(1, :n)"),
            {"store": app.store_id(), "status": status, "at": at, "n": n})


def test_a_store_whose_every_input_is_rejected_is_quiet_and_its_failing_inputs_alert(
    alerting: Callable[..., Backroom], slack: HttpReceiver, clock: SimulatedClock,
) -> None:
    app = alerting(quiet_period_min=120, business_hours="Mon-Sun 00:00-24:00", error_rate_window_min=60,
                   error_rate_baseline_h=24, error_rate_min_events=20, error_rate_floor=0.05, error_rate_jump=3.0)
    seed_catalog(app, {"A": (50, 0)})
    nine = datetime(2026, 11, 27, 9, tzinfo=UTC)
    add_inputs(app, 200, nine - timedelta(hours=12))  # a normal night: 2 of 202 rejected
    add_inputs(app, 2, nine - timedelta(hours=12), "rejected")
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")  # the last good input, at 09:00
    add_inputs(app, 25, nine + timedelta(minutes=90), "rejected")  # then every input is rejected (a new secret)
    add_inputs(app, 5, nine + timedelta(minutes=119), "failed")

    clock.set(nine + timedelta(hours=2))
    quiet, failing = (f"alert:{a}:inputs:2026-11-27T11:00:00+00:00" for a in ("store_quiet", "inputs_failing"))
    assert sorted(notices(app)) == [("default", "inputs_failing", "opened", failing),
                                    ("default", "store_quiet", "opened", quiet)]
    app.drain()
    assert posts(slack)[f"{failing}:slack"] == (
        "*[default] Inputs failing: 100% rejected or failed*\n30 of 30 inputs received from the store (100%) were "
        "rejected or failed in the last 1 h, against 1% (2 of 203) in the 24 h before. Check the store's webhook "
        "secret and payloads; the errors are kept in the inbox.")

    # the store is fixed: a good input, and an hour without bad ones
    app.ingest_order(order_body("o-2", {"A": 1}), {}, "api")
    clock.advance(timedelta(hours=1, minutes=1))
    assert sorted(notices(app)) == [("default", "inputs_failing", "resolved", f"{failing}:resolved"),
                                    ("default", "store_quiet", "resolved", f"{quiet}:resolved")]


# --- an error rate that jumps ----------------------------------------------------------------------------------


def add_effects(app: Backroom, automation: str, n: int, age: timedelta, status: str = "done", attempts: int = 1,
                ) -> None:
    created = datetime(2026, 11, 27, 9, tzinfo=UTC) - age
    with app.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO effects (store_id, kind, key, automation, payload, status, attempts, last_error, created_at)"
            " SELECT :store, 'email', 'test:' || gen_random_uuid(), :automation, '{}', CAST(:status AS text),"
            " :attempts, CASE WHEN :attempts > 1 OR CAST(:status AS text) IN ('failed', 'retrying')"
            " THEN 'EffectFailed: boom' END, :created FROM generate_series(1, :n)"),
            {"store": app.store_id(), "automation": automation, "status": status, "attempts": attempts,
             "created": created, "n": n})


def add_rule_firings(app: Backroom, n: int, age: timedelta, error: bool) -> None:
    outcome = {"mode": "live", "error": "TypeError: no such key"} if error else {"mode": "live", "actions": []}
    with app.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO decisions (store_id, at, trigger, policy, policy_version, subject_type, inputs, outcome)"
            " SELECT :store, :at, 'order_created', 'rule:vip', '1', 'order', '{}', CAST(:outcome AS jsonb)"
            " FROM generate_series(1, :n)"),
            {"store": app.store_id(), "at": datetime(2026, 11, 27, 9, tzinfo=UTC) - age,
             "outcome": json.dumps(outcome), "n": n})


def test_an_automation_whose_error_rate_jumps_alerts_and_resolves_when_it_settles(
    alerting: Callable[..., Backroom], slack: HttpReceiver, clock: SimulatedClock,
) -> None:
    app = alerting(error_rate_window_min=60, error_rate_baseline_h=24, error_rate_min_events=20,
                   error_rate_floor=0.05, error_rate_jump=3.0)
    recent, earlier, too_old = timedelta(minutes=30), timedelta(hours=12), timedelta(hours=30)
    # fulfillment: 4 of 20 troubled lately (20 %) against 4 of 200 (2 %) before
    add_effects(app, "fulfillment", 16, recent)
    add_effects(app, "fulfillment", 2, recent, "failed", 3)
    add_effects(app, "fulfillment", 1, recent, "retrying", 1)
    add_effects(app, "fulfillment", 1, recent, "done", 2)
    add_effects(app, "fulfillment", 100, recent, "pending", 0)  # not run yet: not counted
    add_effects(app, "fulfillment", 196, earlier)
    add_effects(app, "fulfillment", 4, earlier, "done", 2)
    add_effects(app, "fulfillment", 300, too_old, "failed", 3)  # before the baseline: not counted
    # customer_emails: 1 of 20 (5 %) against 2 %: over the floor, under three times the baseline
    add_effects(app, "customer_emails", 19, recent)
    add_effects(app, "customer_emails", 1, recent, "failed", 3)
    add_effects(app, "customer_emails", 196, earlier)
    add_effects(app, "customer_emails", 4, earlier, "failed", 3)
    # alert deliveries all failing never raise an alert
    add_effects(app, "alerts", 30, recent, "failed", 3)
    # rules: 10 of 20 firings raised a condition error, no history
    add_rule_firings(app, 10, recent, error=False)
    add_rule_firings(app, 10, recent, error=True)
    fulfillment, rules = (f"alert:error_rate:{a}:{START}" for a in ("fulfillment", "rules"))

    sent = app.check_alerts() or []

    assert [(s.notice.key, s.notice.alert.title, s.notice.alert.detail) for s in sent] == [
        (fulfillment, "Error rate of fulfillment: 20%",
         {"automation": "fulfillment", "recent": 20, "recent_errors": 4, "rate": 0.2, "baseline": 200,
          "baseline_errors": 4, "baseline_rate": 0.02}),
        (rules, "Error rate of rules: 50%",
         {"automation": "rules", "recent": 20, "recent_errors": 10, "rate": 0.5, "baseline": 0,
          "baseline_errors": 0, "baseline_rate": None}),
    ]
    clock.advance(timedelta(minutes=31))  # the bad half hour leaves the window: too few recent runs to alert
    assert notices(app) == [("default", "error_rate", "resolved", f"{fulfillment}:resolved"),
                            ("default", "error_rate", "resolved", f"{rules}:resolved")]
    app.drain()
    texts = posts(slack)
    assert sorted(texts) == [f"{fulfillment}:resolved:slack", f"{fulfillment}:slack", f"{rules}:resolved:slack",
                             f"{rules}:slack"]
    assert texts[f"{fulfillment}:slack"] == (
        "*[default] Error rate of fulfillment: 20%*\n4 of 20 runs of fulfillment (20%) failed or needed a retry in "
        "the last 1 h, against 2% (4 of 200) in the 24 h before.")


# --- running the checks ----------------------------------------------------------------------------------------


def test_a_worker_skips_the_checks_while_another_process_runs_them(alerting: Callable[..., Backroom]) -> None:
    app = alerting(review_queue_max=1)
    seed_catalog(app, {"A": (5, 0)})
    for ext in ("o-1", "o-2"):  # two failed payments: two open review items, over the limit of one
        app.ingest_order(order_body(ext, {"A": 1}, payment="failed"), {}, "api")
    with app.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7240612)"))
        assert app.check_alerts(wait=False) is None
    assert scalar(app, "SELECT count(*) FROM alert_state") == 0
    sent = app.check_alerts(wait=False)
    assert sent is not None
    assert [(n.as_dict()["alert"], n.as_dict()["action"]) for n in sent] == [("review_queue_size", "opened")]


def test_alerts_in_shadow_mode_are_recorded_but_not_sent(
    alerting: Callable[..., Backroom], slack: HttpReceiver, clock: SimulatedClock,
) -> None:
    app = alerting(review_queue_max=0, review_age_max_h=0.5)
    seed_catalog(app, {"A": (5, 0)})
    app.ingest_order(order_body("o-1", {"A": 1}, payment="failed"), {}, "api")
    clock.advance(timedelta(hours=1))
    with app.engine.begin() as conn:
        conn.execute(text("INSERT INTO automation_modes VALUES (:s, 'alerts', 'shadow', now())"), {"s": app.store_id()})

    assert [k for *_, k in notices(app)] == ["alert:review_queue_age:queue:2026-11-27T10:00:00+00:00"]
    app.drain()

    assert rows(app, "SELECT status FROM effects WHERE automation = 'alerts'") == [("shadowed",)]
    assert slack.requests == []


def test_the_cli_lists_open_alerts_and_runs_the_checks(
    alerting: Callable[..., Backroom], warehouse: HttpReceiver, database_url: str, tmp_path: Path,
) -> None:
    app = alerting()
    seed_catalog(app, {"A": (5, 0)})
    warehouse.status = 503
    app.ingest_order(order_body("o-1", {"A": 1}), {}, "api")
    app.ingest_order(order_body("o-2", {"A": 1}, payment="failed"), {}, "api")
    app.drain()
    effect_id = scalar(app, "SELECT id FROM effects WHERE kind = 'fulfillment_request'")
    env = {"BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(tmp_path),
           **{f"BACKROOM_ALERTS__{k.upper()}": "0" for k in QUIET}, "BACKROOM_ALERTS__REVIEW_QUEUE_MAX": "1"}

    listed = CliRunner().invoke(cli, ["alerts", "list", "--json"], env=env)
    checked = CliRunner().invoke(cli, ["alerts", "check", "--json"], env=env)  # on the system clock

    assert listed.exit_code == 0, listed.output
    assert [(a["alert"], a["subject"], a["open"], a["sent"], a["title"]) for a in json.loads(listed.output)] == [
        ("effect_failed", "fulfillment:fulfillment_request", True, 1,
         "fulfillment: fulfillment_request failed after 3 attempts")]
    assert json.loads(listed.output)[0]["detail"]["effect_id"] == effect_id
    assert checked.exit_code == 0, checked.output
    (notice,) = json.loads(checked.output)
    assert {k: v for k, v in notice.items() if k != "key"} == {
        "store": "default", "alert": "review_queue_size", "subject": "queue", "action": "opened",
        "title": "Review queue: 2 open items"}
    assert notice["key"].startswith("alert:review_queue_size:queue:")
