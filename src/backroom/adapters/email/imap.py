"""Customer email from an IMAP mailbox: the unseen messages by UID, read without marking them (``BODY.PEEK[]``),
and marked seen — or moved aside — only when the caller says so, after it has recorded them.

Errors: ``ConfigurationError`` (not configured, login refused, no such mailbox, certificate not trusted) and
``MailboxUnavailable`` (the server cannot be reached or answers a command with an error). Neither message carries
mail content or addresses.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator

from backroom.config import ImapSettings
from backroom.errors import BackroomError, ConfigurationError

IMAPS_PORT = 993
IMAP_PORT = 143
_ENV = "BACKROOM_SUPPORT__IMAP__"
_LITERAL_UID = re.compile(rb"\bUID (\d+)\b")


class MailboxUnavailable(BackroomError):
    code = "imap_unavailable"


class ImapMailbox:
    """One logged-in session on the selected mailbox (see ``open_mailbox``)."""

    def __init__(self, session: imaplib.IMAP4, settings: ImapSettings) -> None:
        self.session = session
        self.settings = settings

    def unseen(self, limit: int) -> list[str]:
        """The UIDs of unseen messages, oldest first, at most ``limit``."""
        data = self._uid("SEARCH", "UNSEEN")
        uids = [u.decode() for chunk in data if isinstance(chunk, bytes) for u in chunk.split()]
        return sorted(uids, key=int)[:limit]

    def fetch(self, uid: str) -> bytes | None:
        """The raw message, left unseen; None if it is gone (expunged by another client since the search)."""
        for part in self._uid("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(part, tuple) and _fetched_uid(part[0]) in (uid, None):
                return bytes(part[1])
        return None

    def mark_seen(self, uid: str) -> None:
        self._uid("STORE", uid, "+FLAGS", r"(\Seen)")

    def set_aside(self, uid: str) -> None:
        """A message the agent cannot read: moved to ``rejected_folder`` if one is set, else marked seen."""
        folder = self.settings.rejected_folder
        if not folder:
            self.mark_seen(uid)
            return
        if "MOVE" in self.session.capabilities:
            self._uid("MOVE", uid, _quoted(folder))
            return
        self._uid("COPY", uid, _quoted(folder))
        self._uid("STORE", uid, "+FLAGS", r"(\Seen \Deleted)")  # removed by the mailbox's next expunge

    def _uid(self, command: str, *args: str) -> list[bytes | tuple[bytes, bytes] | None]:
        try:
            status, data = self.session.uid(command, *args)
        except (imaplib.IMAP4.error, OSError) as err:
            raise MailboxUnavailable(f"IMAP UID {command} failed: {type(err).__name__}") from None
        if status != "OK":
            raise MailboxUnavailable(f"IMAP UID {command} answered {status}")
        return list(data)


@contextlib.contextmanager
def open_mailbox(settings: ImapSettings) -> Iterator[ImapMailbox]:
    """Connect (TLS, or plain with optional STARTTLS), log in with the credentials from the environment, select the
    mailbox read-write; log out on the way out."""
    host, username, password = _credentials(settings)
    port = settings.port or (IMAPS_PORT if settings.ssl else IMAP_PORT)
    where = f"{host}:{port}"
    try:
        session = (imaplib.IMAP4_SSL(host, port, ssl_context=_tls(settings), timeout=settings.timeout_s)
                   if settings.ssl else imaplib.IMAP4(host, port, timeout=settings.timeout_s))
    except ssl.SSLCertVerificationError:
        raise ConfigurationError(f"the certificate of the IMAP server at {where} is not trusted: check the host, or "
                                 f"set {_ENV}CA_FILE to your CA's certificate", code="imap_certificate") from None
    except (imaplib.IMAP4.error, OSError) as err:
        raise MailboxUnavailable(f"cannot reach the IMAP server at {where}: {type(err).__name__}") from None
    try:
        if settings.starttls and not settings.ssl:
            _starttls(session, _tls(settings), where)
        _login(session, username, password, where)
        _select(session, settings.mailbox, where)
        yield ImapMailbox(session, settings)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            session.logout()  # imaplib closes the socket only when LOGOUT itself succeeds …
        with contextlib.suppress(OSError):
            session.shutdown()  # … so after a refused login or a dropped connection it is closed here


def _credentials(settings: ImapSettings) -> tuple[str, str, str]:
    password = settings.password.get_secret_value() if settings.password else ""
    missing = [name for name, value in (("HOST", settings.host), ("USERNAME", settings.username),
                                        ("PASSWORD", password)) if not value]
    if missing:
        raise ConfigurationError(f"IMAP is not configured: set {', '.join(_ENV + m for m in missing)}",
                                 code="imap_not_configured")
    return str(settings.host), str(settings.username), password


def _tls(settings: ImapSettings) -> ssl.SSLContext:
    """Certificates verified and the host name checked, against the system's CAs or ``ca_file``."""
    return ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)


def _starttls(session: imaplib.IMAP4, context: ssl.SSLContext, where: str) -> None:
    try:
        session.starttls(context)
    except ssl.SSLCertVerificationError:
        raise ConfigurationError(f"the certificate of the IMAP server at {where} is not trusted: check the host, or "
                                 f"set {_ENV}CA_FILE to your CA's certificate", code="imap_certificate") from None
    except (imaplib.IMAP4.error, OSError) as err:
        raise MailboxUnavailable(f"STARTTLS with the IMAP server at {where} failed: {type(err).__name__}") from None


def _login(session: imaplib.IMAP4, username: str, password: str, where: str) -> None:
    try:
        session.login(username, password)
    except imaplib.IMAP4.error:  # the server's text is not repeated: some servers echo the login name
        raise ConfigurationError(
            f"the IMAP server at {where} refused the login: check {_ENV}USERNAME and {_ENV}PASSWORD",
            code="imap_login_failed") from None
    except OSError as err:
        raise MailboxUnavailable(f"the IMAP server at {where} dropped the login: {type(err).__name__}") from None


def _select(session: imaplib.IMAP4, mailbox: str, where: str) -> None:
    try:
        status, _ = session.select(_quoted(mailbox))
    except (imaplib.IMAP4.error, OSError) as err:
        raise MailboxUnavailable(f"selecting the mailbox at {where} failed: {type(err).__name__}") from None
    if status != "OK":
        raise ConfigurationError(f"the IMAP server at {where} has no mailbox {mailbox!r}: check {_ENV}MAILBOX",
                                 code="imap_mailbox_not_found")


def _quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetched_uid(head: bytes) -> str | None:
    found = _LITERAL_UID.search(head)
    return found.group(1).decode() if found else None
