"""The email channel by IMAP end to end: customer email fetched from a real (loopback) IMAP server, answered over a
real local SMTP server in its thread, and marked seen only once it is recorded; a repeat answered once, a malformed
email kept and set aside without blocking the next, a failure before recording left unseen for the next poll, and
wrong credentials refused with a clear error."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.conftest import INBOUND_SECRET, api_client, order_body, rows, seed_catalog
from tests.fakes.imap_server import FakeImapServer
from typer.testing import CliRunner

from backroom.adapters.db import scheduling
from backroom.adapters.email.catcher import MailCatcher
from backroom.adapters.email.imap import MailboxUnavailable, open_mailbox
from backroom.adapters.queue.worker import run_check
from backroom.bootstrap import MAIL_FETCH_LOCK, Backroom, FetchedMail
from backroom.config import ImapSettings
from backroom.entrypoints.cli.main import app as cli_root
from backroom.errors import ConfigurationError
from backroom.shared.hashing import sign
from backroom.support.commands import HandleSupportMessage

pytestmark = pytest.mark.integration
SEEN = {"\\Seen"}


def raw(message_id: str, text: str, *extra: str, subject: str = "Where is my order?",
        sender: str = "Ada Lovelace <ada@example.com>") -> bytes:
    head = [f"From: {sender}", "To: help@store.example", f"Subject: {subject}", f"Message-ID: {message_id}",
            "Content-Type: text/plain; charset=utf-8", *extra]
    return ("\r\n".join(head) + "\r\n\r\n" + text).encode()


MALFORMED = b"Subject: hi\r\nMessage-ID: <bad@mail.example>\r\n\r\nno sender here"


@pytest.fixture
def imap() -> Iterator[FakeImapServer]:
    with FakeImapServer() as server:
        yield server


def use_imap(app: Backroom, server: FakeImapServer, **changes: Any) -> None:
    """Point the app at the fake mailbox (plain IMAP on loopback), with these settings changed."""
    settings = ImapSettings.model_validate({
        "enabled": True, "host": "127.0.0.1", "port": server.port, "ssl": False, "username": server.username,
        "password": SecretStr(server.password), "timeout_s": 5.0, **changes})
    app.settings = app.settings.model_copy(
        update={"support": app.settings.support.model_copy(update={"imap": settings})})


def replies(mail: MailCatcher) -> list[Any]:
    return [m for m in mail.messages if str(m["Subject"]).startswith("Re:")]  # (order confirmations aside)


def with_an_order(app: Backroom) -> None:
    seed_catalog(app, {"MUG": (5, 0)})
    app.ingest_order(order_body("1001", {"MUG": 1}, email="ada@example.com"), {}, source_id="o1")


def test_an_email_fetched_over_imap_is_answered_in_its_thread_and_marked_seen(
        app: Backroom, imap: FakeImapServer, mail: MailCatcher) -> None:
    with_an_order(app)
    use_imap(app, imap)
    imap.deliver(raw("<m1@mail.example>", "Hi, where is my order?\n\nThanks, Ada"))

    assert app.fetch_mail() == [FetchedMail("1", "answered")]
    assert imap.flags() == {1: SEEN}
    # read without marking it (BODY.PEEK[]), marked seen only after the reply was recorded
    assert imap.commands == ["CAPABILITY", "LOGIN", "SELECT", "UID SEARCH", "UID FETCH", "UID STORE", "LOGOUT"]
    app.drain()
    [reply] = replies(mail)
    assert (reply["Subject"], reply["In-Reply-To"], reply["References"], reply["To"]) == (
        "Re: Where is my order?", "<m1@mail.example>", "<m1@mail.example>", "ada@example.com")
    assert reply.get_body(preferencelist=("plain",)).get_content().splitlines() == [
        "Hello Ada Lovelace,", "", "Order #1001 is being packed at our warehouse.", "", "— Customer support"]
    assert rows(app, "SELECT channel, external_id, messages FROM support_conversations") == [
        ("email", "<m1@mail.example>", 2)]

    assert app.fetch_mail() == []  # nothing unseen is left
    assert imap.commands[7:] == ["CAPABILITY", "LOGIN", "SELECT", "UID SEARCH", "LOGOUT"]

    imap.deliver(raw("<m2@mail.example>", "Thanks! And can I still add a second mug?\n\nOn Fri, Store wrote:\n> Order",
                     f"In-Reply-To: {reply['Message-ID']}", f"References: <m1@mail.example> {reply['Message-ID']}",
                     subject="Re: Where is my order?"))
    assert app.fetch_mail() == [FetchedMail("2", "answered")]
    app.drain()
    second = replies(mail)[1]
    assert (second["Subject"], second["In-Reply-To"]) == ("Re: Where is my order?", "<m2@mail.example>")
    assert str(second["References"]).split() == ["<m1@mail.example>", str(reply["Message-ID"]), "<m2@mail.example>"]
    assert rows(app, "SELECT channel, external_id, messages FROM support_conversations") == [
        ("email", "<m1@mail.example>", 4)]  # the same thread, one conversation


def test_the_same_message_id_fetched_twice_is_answered_once(
        app: Backroom, imap: FakeImapServer, mail: MailCatcher) -> None:
    with_an_order(app)
    use_imap(app, imap)
    first = raw("<m1@mail.example>", "Hi, where is my order?")
    imap.deliver(first)
    imap.deliver(first)  # the same message again (a resend, or a copy filed twice)

    assert app.fetch_mail() == [FetchedMail("1", "answered"), FetchedMail("2", "duplicate")]
    assert imap.flags() == {1: SEEN, 2: SEEN}
    app.drain()
    assert len(replies(mail)) == 1
    assert rows(app, "SELECT source, source_id, status FROM inbox WHERE source = 'email'") == [
        ("email", "<m1@mail.example>", "processed")]


def test_an_email_already_posted_to_the_webhook_is_a_duplicate_when_fetched_and_machines_are_ignored(
        app: Backroom, imap: FakeImapServer, mail: MailCatcher) -> None:
    with_an_order(app)
    first = raw("<m1@mail.example>", "Hi, where is my order?")
    with api_client(app, inbound_secret=SecretStr(INBOUND_SECRET)) as client:
        posted = client.post("/inbound/email", content=first,
                             headers={"X-Backroom-Signature": sign(INBOUND_SECRET, first)})
    assert (posted.status_code, posted.json()) == (
        200, {"outcome": "answered", "message_id": "<m1@mail.example>", "handover": None})
    use_imap(app, imap)
    imap.deliver(first)

    assert app.fetch_mail() == [FetchedMail("1", "duplicate")]
    assert imap.flags() == {1: SEEN}
    app.drain()
    assert len(replies(mail)) == 1

    auto = raw("<ooo@mail.example>", "I am away.", "Precedence: bulk")
    with api_client(app, inbound_secret=SecretStr(INBOUND_SECRET)) as client:
        ignored = client.post("/inbound/email", content=auto,
                              headers={"X-Backroom-Signature": sign(INBOUND_SECRET, auto)})
    assert (ignored.status_code, ignored.json()) == (
        200, {"outcome": "ignored", "message_id": "<ooo@mail.example>", "reason": "mailing_list"})


def test_a_malformed_email_is_kept_and_marked_seen_and_the_next_one_is_answered(
        app: Backroom, imap: FakeImapServer, mail: MailCatcher) -> None:
    with_an_order(app)
    use_imap(app, imap)
    imap.deliver(MALFORMED)
    imap.deliver(raw("<m2@mail.example>", "Hi, where is my order?"))

    assert app.fetch_mail() == [FetchedMail("1", "invalid_email"), FetchedMail("2", "answered")]
    assert imap.flags() == {1: SEEN, 2: SEEN}
    assert rows(app, "SELECT source, status, error, body FROM inbox WHERE source = 'email' ORDER BY id") == [
        ("email", "rejected", "invalid_email", MALFORMED.decode()), ("email", "processed", None,
                                                                      raw("<m2@mail.example>",
                                                                          "Hi, where is my order?").decode())]
    app.drain()
    assert [r["In-Reply-To"] for r in replies(mail)] == ["<m2@mail.example>"]
    assert app.fetch_mail() == []


def test_an_auto_reply_or_a_bounce_is_kept_and_marked_seen_but_not_answered(
        app: Backroom, imap: FakeImapServer, mail: MailCatcher) -> None:
    use_imap(app, imap)
    imap.deliver(raw("<ooo@mail.example>", "I am away until Monday.", "Auto-Submitted: auto-replied",
                     subject="Automatic reply: Re: Your order"))
    imap.deliver(raw("<bounce@mx.example>", "Delivery to the following recipient failed.",
                     sender="Mail Delivery System <MAILER-DAEMON@mx.example>"))

    assert app.fetch_mail() == [FetchedMail("1", "ignored"), FetchedMail("2", "ignored")]
    assert imap.flags() == {1: SEEN, 2: SEEN}
    assert rows(app, "SELECT source_id, status, error FROM inbox WHERE source = 'email' ORDER BY id") == [
        ("<ooo@mail.example>", "processed", "ignored: auto_reply"),
        ("<bounce@mx.example>", "processed", "ignored: bounce")]
    assert rows(app, "SELECT count(*) FROM support_conversations") == [(0,)]
    app.drain()
    assert replies(mail) == []


@pytest.mark.parametrize(("move", "inbox_after"), [(True, {2: SEEN}), (False, {1: {"\\Seen", "\\Deleted"}, 2: SEEN})])
def test_a_malformed_email_is_moved_to_the_rejected_folder_when_one_is_set(
        app: Backroom, move: bool, inbox_after: dict[int, set[str]]) -> None:
    with FakeImapServer(move=move) as imap:
        imap.folders["Rejected"] = []
        use_imap(app, imap, rejected_folder="Rejected")
        imap.deliver(MALFORMED)
        imap.deliver(raw("<m2@mail.example>", "Hello, do you ship to Norway?"))

        assert app.fetch_mail() == [FetchedMail("1", "invalid_email"), FetchedMail("2", "answered")]
        assert imap.flags() == inbox_after  # without MOVE: copied, then flagged for the next expunge
        assert imap.flags("Rejected") == {1: set()}  # still unseen there, for the owner to look at
        assert (imap.commands.count("UID MOVE"), imap.commands.count("UID COPY")) == ((1, 0) if move else (0, 1))


def test_a_failure_before_the_email_is_recorded_leaves_it_unseen_until_the_next_poll(
        app: Backroom, imap: FakeImapServer, mail: MailCatcher) -> None:
    with_an_order(app)
    use_imap(app, imap)
    imap.deliver(raw("<m1@mail.example>", "Hi, where is my order?"))
    imap.deliver(raw("<m2@mail.example>", "Hello, do you ship to Norway?", subject="Shipping"))
    real = app.bus.handlers[HandleSupportMessage]
    calls: list[str] = []

    def crashes_once(command: HandleSupportMessage, uow: Any) -> Any:
        calls.append(command.conversation_id)
        if len(calls) == 1:
            raise RuntimeError("the database went away")  # before anything of this email is committed
        return real(command, uow)

    app.bus.handlers[HandleSupportMessage] = crashes_once

    assert app.fetch_mail() == [FetchedMail("1", "failed"), FetchedMail("2", "answered")]  # the batch goes on
    assert imap.flags() == {1: set(), 2: SEEN}
    assert rows(app, "SELECT source_id, status, error FROM inbox WHERE source = 'email' ORDER BY id") == [
        ("<m1@mail.example>", "failed", "RuntimeError"), ("<m2@mail.example>", "processed", None)]
    assert rows(app, "SELECT external_id FROM support_conversations") == [("<m2@mail.example>",)]

    assert app.fetch_mail() == [FetchedMail("1", "answered")]
    assert imap.flags() == {1: SEEN, 2: SEEN}
    assert app.fetch_mail() == []
    app.drain()
    assert sorted(r["In-Reply-To"] for r in replies(mail)) == ["<m1@mail.example>", "<m2@mail.example>"]
    assert rows(app, "SELECT source_id, status, error FROM inbox WHERE source = 'email' ORDER BY id") == [
        ("<m1@mail.example>", "processed", None), ("<m2@mail.example>", "processed", None)]
    assert calls == ["<m1@mail.example>", "<m2@mail.example>", "<m1@mail.example>"]


def test_wrong_credentials_are_refused_with_a_clear_error_and_nothing_is_touched(
        app: Backroom, imap: FakeImapServer) -> None:
    use_imap(app, imap, password=SecretStr("wrong"))
    imap.deliver(raw("<m1@mail.example>", "Hi, where is my order?"))

    with pytest.raises(ConfigurationError) as refused:
        app.fetch_mail()
    assert (refused.value.code, refused.value.message) == (
        "imap_login_failed", f"the IMAP server at 127.0.0.1:{imap.port} refused the login: check "
                             "BACKROOM_SUPPORT__IMAP__USERNAME and BACKROOM_SUPPORT__IMAP__PASSWORD")
    assert "wrong" not in str(refused.value)
    assert imap.commands == ["CAPABILITY", "LOGIN", "LOGOUT"]
    assert imap.flags() == {1: set()}
    assert rows(app, "SELECT count(*) FROM inbox WHERE source = 'email'") == [(0,)]


def test_a_missing_setting_a_missing_mailbox_or_no_server_is_named() -> None:
    with pytest.raises(ConfigurationError) as unset, open_mailbox(ImapSettings(enabled=True, host="127.0.0.1")):
        pass
    assert (unset.value.code, unset.value.message) == (
        "imap_not_configured",
        "IMAP is not configured: set BACKROOM_SUPPORT__IMAP__USERNAME, BACKROOM_SUPPORT__IMAP__PASSWORD")
    with FakeImapServer() as imap:
        settings = ImapSettings(host="127.0.0.1", port=imap.port, ssl=False, username=imap.username,
                                password=SecretStr(imap.password), mailbox="Support")
        with pytest.raises(ConfigurationError) as no_box, open_mailbox(settings):
            pass
        port = imap.port
    assert (no_box.value.code, no_box.value.message) == (
        "imap_mailbox_not_found",
        f"the IMAP server at 127.0.0.1:{port} has no mailbox 'Support': check BACKROOM_SUPPORT__IMAP__MAILBOX")
    with pytest.raises(MailboxUnavailable) as down, open_mailbox(settings):  # the server is gone now
        pass
    assert (down.value.code, down.value.message) == (
        "imap_unavailable", f"cannot reach the IMAP server at 127.0.0.1:{port}: ConnectionRefusedError")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (the CA file a client trusts) and the server's TLS context."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.mark.parametrize("implicit_tls", [True, False], ids=["imaps", "starttls"])
def test_mail_is_fetched_over_tls_and_an_untrusted_certificate_is_refused(
        app: Backroom, certificate: tuple[Path, ssl.SSLContext], implicit_tls: bool) -> None:
    ca_file, context = certificate
    with FakeImapServer(tls=context, implicit_tls=implicit_tls) as imap:
        imap.deliver(raw("<m1@mail.example>", "Hello, do you ship to Norway?"))
        use_imap(app, imap, ssl=implicit_tls, starttls=not implicit_tls)  # the system's CAs do not know it
        with pytest.raises(ConfigurationError) as untrusted:
            app.fetch_mail()
        assert (untrusted.value.code, untrusted.value.message) == (
            "imap_certificate", f"the certificate of the IMAP server at 127.0.0.1:{imap.port} is not trusted: check "
                                "the host, or set BACKROOM_SUPPORT__IMAP__CA_FILE to your CA's certificate")
        assert imap.commands == ([] if implicit_tls else ["CAPABILITY", "STARTTLS"])

        use_imap(app, imap, ssl=implicit_tls, starttls=not implicit_tls, ca_file=ca_file)
        before = len(imap.commands)
        assert app.fetch_mail() == [FetchedMail("1", "answered")]
        assert imap.flags() == {1: SEEN}
        assert imap.commands[before:] == ([] if implicit_tls else ["CAPABILITY", "STARTTLS"]) + [
            "CAPABILITY", "LOGIN", "SELECT", "UID SEARCH", "UID FETCH", "UID STORE", "LOGOUT"]


def test_one_worker_fetches_at_a_time(app: Backroom, imap: FakeImapServer) -> None:
    use_imap(app, imap)
    imap.deliver(raw("<m1@mail.example>", "Hi, where is my order?"))
    with app.engine.connect() as conn, conn.begin():
        assert scheduling.try_lock(conn, MAIL_FETCH_LOCK)  # another worker is fetching
        assert app.fetch_mail() is None
    assert imap.commands == []
    assert app.fetch_mail() == [FetchedMail("1", "answered")]


def test_the_worker_polls_the_mailbox_only_when_it_is_enabled_and_survives_a_failed_poll(
        app: Backroom, imap: FakeImapServer, caplog: pytest.LogCaptureFixture) -> None:
    use_imap(app, imap, enabled=False, poll_every_s=30)
    assert [(c.name, c.every_s) for c in app.periodic_checks()][-1] == ("support mail fetch", 0)
    use_imap(app, imap, poll_every_s=30, password=SecretStr("wrong"))
    check = app.periodic_checks()[-1]
    assert (check.name, check.every_s) == ("support mail fetch", 30)

    asyncio.run(run_check(check))  # a failed poll is logged, and the worker goes on to the next one
    [failed] = [r for r in caplog.records if r.name == "backroom.adapters.queue.worker"]
    assert (failed.levelname, failed.getMessage(), failed.exc_info is not None) == (
        "ERROR", "support mail fetch failed", True)
    use_imap(app, imap, poll_every_s=30)
    imap.deliver(raw("<m1@mail.example>", "Hello, do you ship to Norway?"))
    asyncio.run(run_check(app.periodic_checks()[-1]))
    assert imap.flags() == {1: SEEN}


Cli = Callable[..., Any]


@pytest.fixture
def cli(database_url: str, tmp_path: Path, imap: FakeImapServer, mail: MailCatcher) -> Cli:
    env = {"BACKROOM_DATABASE_URL": database_url, "BACKROOM_HOME": str(tmp_path), "COLUMNS": "200",
           "BACKROOM_SMTP__PORT": str(mail.port), "BACKROOM_SUPPORT__IMAP__HOST": "127.0.0.1",
           "BACKROOM_SUPPORT__IMAP__PORT": str(imap.port), "BACKROOM_SUPPORT__IMAP__SSL": "false",
           "BACKROOM_SUPPORT__IMAP__USERNAME": imap.username, "BACKROOM_SUPPORT__IMAP__PASSWORD": imap.password}

    def invoke(*args: str, **overrides: str) -> Any:
        return CliRunner().invoke(cli_root, list(args), env={**env, **overrides})

    return invoke


def test_fetch_mail_from_the_command_line(cli: Cli, imap: FakeImapServer) -> None:
    imap.deliver(MALFORMED)
    imap.deliver(raw("<m2@mail.example>", "Hello, do you ship to Norway?"))
    imap.deliver(raw("<m2@mail.example>", "Hello, do you ship to Norway?"))

    done = cli("support", "fetch-mail", "--once")
    assert (done.exit_code, done.output) == (0, "fetched 3, answered 1, duplicate 1, invalid_email 1\n")
    assert imap.flags() == {1: SEEN, 2: SEEN, 3: SEEN}
    again = cli("support", "fetch-mail", "--once", "--json")
    assert (again.exit_code, json.loads(again.output)) == (0, [])

    refused = cli("support", "fetch-mail", "--once", BACKROOM_SUPPORT__IMAP__PASSWORD="wrong")
    assert refused.exit_code == 2
    assert " ".join(refused.output.split()) == (
        f"error: the IMAP server at 127.0.0.1:{imap.port} refused the login: check BACKROOM_SUPPORT__IMAP__USERNAME "
        "and BACKROOM_SUPPORT__IMAP__PASSWORD [imap_login_failed]")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from backroom.config import Settings

    for name, value in {"HOST": "imap.example.com", "USERNAME": "help@store.example", "PASSWORD": "p4ss",
                        "MAILBOX": "Support", "ENABLED": "true", "POLL_EVERY_S": "120"}.items():
        monkeypatch.setenv(f"BACKROOM_SUPPORT__IMAP__{name}", value)
    imap = Settings().support.imap
    assert (imap.host, imap.port, imap.ssl, imap.username, imap.mailbox, imap.enabled, imap.poll_every_s) == (
        "imap.example.com", None, True, "help@store.example", "Support", True, 120.0)
    assert imap.password is not None
    assert (imap.password.get_secret_value(), str(imap.password)) == ("p4ss", "**********")
