"""The effect runner's hot path: a job's emails share one pooled connection, each still in its own transaction."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import event, insert
from tests.conftest import rows
from tests.unit.marketing.test_bounces import dsn, recipient

from backroom.adapters.db import tables as t
from backroom.adapters.email.catcher import MailCatcher
from backroom.bootstrap import Backroom
from backroom.marketing.service import AUTOMATION as MARKETING

pytestmark = pytest.mark.integration


def email_effects(app: Backroom, sends: list[tuple[str, str]]) -> list[int]:
    """(automation, recipient) → pending email effects, keyed ``mail-N``."""
    store_id = app.store_id()
    with app.engine.begin() as conn:
        return list(conn.execute(insert(t.effects).returning(t.effects.c.id, sort_by_parameter_order=True), [
            {"store_id": store_id, "kind": "email", "key": f"mail-{n}", "automation": automation, "status": "pending",
             "payload": {"to": to, "template": "message", "context": {"subject": f"Note {n}", "body": "Hello"}},
             "created_at": app.clock.now()}
            for n, (automation, to) in enumerate(sends)]).scalars())


def test_a_job_of_emails_takes_one_pooled_connection_and_commits_each_email_on_its_own(
        app: Backroom, mail: MailCatcher) -> None:
    with app.engine.begin() as conn:
        conn.execute(insert(t.customers).values(store_id=app.store_id(), email="gone@example.com", name="Gone",
                                                created_at=app.clock.now(), marketing_consent="unsubscribed"))
    ids = email_effects(app, [("rules", "ana@example.com"), (MARKETING, "gone@example.com"),
                              (MARKETING, "Bob Stone <bob@example.com>")])
    checkouts: list[Any] = []

    def checked_out(*args: Any) -> None:
        checkouts.append(args)

    event.listen(app.engine.pool, "checkout", checked_out)
    try:
        counts = app.runner.run(ids)
    finally:
        event.remove(app.engine.pool, "checkout", checked_out)
    assert counts == {"done": 2, "cancelled": 1}
    assert len(checkouts) == 1
    assert [(m["To"], m["Message-ID"]) for m in mail.messages] == [
        ("ana@example.com", "<mail-0@backroom>"), ("Bob Stone <bob@example.com>", "<mail-2@backroom>")]
    assert [tuple(r) for r in rows(app, "SELECT key, status, attempts, result->>'message_id', last_error"
                                        " FROM effects ORDER BY id")] == [
        ("mail-0", "done", 1, "<mail-0@backroom>", None),
        ("mail-1", "cancelled", 0, None, "unsubscribed"),
        ("mail-2", "done", 1, "<mail-2@backroom>", None)]
    assert app.runner.run(ids) == {"skipped": 3}  # done and cancelled effects never run again
    assert len(mail.messages) == 2


def test_the_last_look_reads_an_address_as_the_sender_lowercases_it(app: Backroom, mail: MailCatcher) -> None:
    store_id, now = app.store_id(), app.clock.now()
    with app.engine.begin() as conn:
        conn.execute(insert(t.customers), [
            {"store_id": store_id, "email": email, "name": "", "created_at": now, "marketing_consent": consent}
            for email, consent in [("ana@example.com", "unsubscribed"), ("kim@example.com", "subscribed"),
                                   ("élodie@example.com", "unsubscribed")]])
        conn.execute(insert(t.email_suppressions).values(store_id=store_id, email="zoë@example.com",
                                                         reason="hard_bounce", detail="5.1.1", source="smtp", at=now))
    ids = email_effects(app, [(MARKETING, "ANA@Example.com"), (MARKETING, "Zoë@Example.com"),
                              (MARKETING, "ÉLODIE@example.com"), (MARKETING, "Kim@Example.com"),
                              ("rules", "ANA@example.com"), ("rules", "Zoë@Example.com")])

    assert app.runner.run(ids) == {"cancelled": 3, "done": 3}

    assert [tuple(r) for r in rows(app, "SELECT payload->>'to', status, last_error FROM effects ORDER BY id")] == [
        ("ANA@Example.com", "cancelled", "unsubscribed"),
        ("Zoë@Example.com", "cancelled", "suppressed"),  # not ASCII: looked at again from Python
        ("ÉLODIE@example.com", "cancelled", "unsubscribed"),
        ("Kim@Example.com", "done", None),
        ("ANA@example.com", "done", None),  # transactional mail ignores marketing consent and suppression
        ("Zoë@Example.com", "done", None)]  # over SMTPUTF8, which the catcher offers as relays do
    assert [(m["To"], m["Message-ID"]) for m in mail.messages] == [
        ("Kim@Example.com", "<mail-3@backroom>"), ("ANA@example.com", "<mail-4@backroom>"),
        ("Zoë@Example.com", "<mail-5@backroom>")]


def test_an_email_costs_two_statements_its_claim_with_the_last_look_and_done_with_commit(
        app: Backroom, mail: MailCatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = email_effects(app, [(MARKETING, f"c{n}@example.com") for n in range(4)])
    sent: list[bytes] = []
    original = psycopg.Cursor.execute

    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query if isinstance(query, bytes) else str(query).encode() if isinstance(query, str)
                    else query.as_bytes(self))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    assert app.runner.run(ids) == {"done": 4}
    monkeypatch.undo()

    # per job, the pool's liveness check and the look for batch-safe effects; then per email a claim and a "done"
    assert len(sent) == 2 + 2 * 4
    assert sent[0] == b";"
    assert sent[1].startswith(b"SELECT effects.id")
    claims, dones = sent[2::2], sent[3::2]
    assert all(q.startswith(b"SELECT id, store_id, kind") and b"FOR UPDATE OF e SKIP LOCKED" in q for q in claims)
    assert all(q.startswith(b"UPDATE effects SET status = 'done'") and q.endswith(b"; COMMIT") for q in dones)
    assert rows(app, "SELECT status, attempts FROM effects ORDER BY id") == [("done", 1)] * 4
    assert len(mail.messages) == 4


def test_a_hard_bounce_of_an_international_address_suppresses_it_as_the_store_knows_it(
        app: Backroom, mail: MailCatcher) -> None:
    async def refuse(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == "ana@xn--bcher-kva.de":  # the wire form: the domain in IDNA
            return "550 5.1.1 <ana@xn--bcher-kva.de>: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    mail.handler.handle_RCPT = refuse  # type: ignore[attr-defined]
    first, later = email_effects(app, [(MARKETING, "ana@bücher.de"), (MARKETING, "ANA@BÜCHER.DE")])
    assert app.runner.run([first]) == {"failed": 1}
    assert rows(app, "SELECT email, reason, source FROM email_suppressions") == [
        ("ana@bücher.de", "hard_bounce", "smtp")]

    assert app.runner.run([later]) == {"cancelled": 1}  # the next marketing email to it never goes
    assert rows(app, "SELECT status, last_error FROM effects ORDER BY id") == [
        ("failed", "RecipientRefused: the mail server refused the recipient (550)"), ("cancelled", "suppressed")]
    assert rows(app, "SELECT count(*) FROM review_items") == [(0,)]  # a marketing bounce settles itself
    assert mail.messages == []


def test_an_address_the_server_cannot_carry_fails_at_once_and_only_transactional_mail_goes_to_review(
        app: Backroom, mail: MailCatcher) -> None:
    mail.controller.SMTP_kwargs["enable_SMTPUTF8"] = False  # a relay without SMTPUTF8 (RFC 6531)
    ids = email_effects(app, [(MARKETING, "zoë@example.com"), ("rules", "Zoë <zoë@example.com>"),
                              ("rules", "ana@example.com")])

    assert app.runner.run(ids) == {"failed": 2, "done": 1}

    assert rows(app, "SELECT status, attempts, last_error FROM effects ORDER BY id") == [
        ("failed", 1, "Utf8NotOffered: the mail server does not take addresses that are not ASCII (no SMTPUTF8)"),
        ("failed", 1, "Utf8NotOffered: the mail server does not take addresses that are not ASCII (no SMTPUTF8)"),
        ("done", 1, None)]
    assert rows(app, "SELECT reason_code, subject_id FROM review_items") == [("email_failed", ids[1])]
    assert rows(app, "SELECT count(*) FROM email_suppressions") == [(0,)]
    assert [m["To"] for m in mail.messages] == ["ana@example.com"]


def test_a_bounce_report_naming_the_idna_form_suppresses_the_address_the_store_knows(app: Backroom) -> None:
    store_id = app.store_id()
    with app.engine.begin() as conn:
        conn.execute(insert(t.customers).values(store_id=store_id, email="ana@bücher.de", name="Ana",
                                                created_at=app.clock.now(), marketing_consent="subscribed"))
    report = dsn(recipient("ana@xn--bcher-kva.de", "failed", "5.1.1", "550 5.1.1 user unknown"),
                 recipient("bob@xn--bcher-kva.de", "failed", "5.1.1", "550 5.1.1 user unknown"))  # nobody it knows

    assert app.record_bounce_report(report, store_id) == 1

    assert rows(app, "SELECT email, source FROM email_suppressions") == [("ana@bücher.de", "dsn")]
    [effect] = email_effects(app, [(MARKETING, "ana@bücher.de")])
    assert app.runner.run([effect]) == {"cancelled": 1}  # the last look matches it
