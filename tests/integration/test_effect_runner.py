"""The effect runner's hot path: a job's emails share one pooled connection, each still in its own transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, insert
from tests.conftest import rows

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
