"""Customer emails over real SMTP: Jinja2 templates (text + HTML), a stable Message-ID from the idempotency key
so a receiver (or a mail client) can collapse the rare duplicate a crash after sending can cause."""

from __future__ import annotations

import contextlib
import re
import smtplib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

from backroom.adapters.email.mime import Attachment, compose
from backroom.config import SmtpSettings
from backroom.errors import ConfigurationError
from backroom.marketing.bounces import MAX_DETAIL, enhanced_status, is_hard_bounce
from backroom.service_layer.effects import AddressNotSupported, RecipientRefused
from backroom.shared.addresses import ascii_address

SUBJECTS = {
    "order_confirmation": "Your order {order_number} is confirmed",
    "backorder_notice": "Part of your order {order_number} is on backorder",
    "backorder_eta": "New delivery estimate for your order {order_number}",
    "backorder_allocated": "Good news: your order {order_number} is on its way to our warehouse",
    "shipping_confirmation": "Your order {order_number} has shipped",
    "order_cancelled": "Your order {order_number} has been cancelled",
    "return_started": "Your return {return_number} for order {order_number}",
    "purchase_order": "Purchase order {po_number}",
    "support_reply": "Re: your message",
    "abandoned_checkout_reminder": "You left something in your cart",
    "abandoned_checkout_discount": "{discount_percent}% off to finish your order",
    "review_request": "How is your order {order_number}?",
    "cross_sell": "Picked for you after your order {order_number}",
    "win_back": "We miss you: {discount_percent}% off your next order",
    "message": "{subject}",  # a rule's or an alert's own text
}


class TemplateRenderer:
    """The emails' Jinja2 templates: ``NAME.txt`` and ``NAME.html``, and the subject from ``SUBJECTS`` or a
    ``NAME.subject`` template. With ``directory`` (``BACKROOM_SMTP__TEMPLATES_DIR``) a file there replaces the
    shipped one of the same name, and new names can be added; edits are picked up without a restart."""

    def __init__(self, directory: Path | None = None) -> None:
        self._package = shipped = PackageLoader("backroom.adapters.email", "templates")
        if directory is not None and not directory.is_dir():
            raise ConfigurationError(f"smtp.templates_dir {directory} is not a folder")
        self.directory = directory
        self.env = Environment(
            loader=shipped if directory is None else ChoiceLoader([FileSystemLoader(str(directory)), shipped]),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            # the shipped templates never change under a running process: no stat() of the file for every email
            auto_reload=directory is not None,
        )
        self._shipped = frozenset(shipped.list_templates())

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
        text = self.env.get_template(f"{template}.txt").render(**context)
        html = self.env.get_template(f"{template}.html").render(**context)
        return self.subject(template, context), text, html

    def subject(self, template: str, context: dict[str, Any]) -> str:
        if self.directory is not None and (self.directory / f"{template}.subject").is_file():
            return " ".join(self.env.get_template(f"{template}.subject").render(**context).split())
        return SUBJECTS[template].format(**context)

    def missing(self, template: str) -> list[str]:
        """The files ``template`` lacks (none when it can be sent)."""
        names = self._shipped | (frozenset(self.env.list_templates()) if self.directory is not None else frozenset())
        files = [f"{template}.txt", f"{template}.html"]
        lacking = [f for f in files if f not in names]
        if template not in SUBJECTS and f"{template}.subject" not in names:
            lacking.append(f"{template}.subject")
        return lacking

    def shipped(self) -> list[str]:
        """The shipped template files, to copy and edit (``backroom flows templates --export``)."""
        return sorted(self._shipped)

    def source(self, name: str) -> str:
        """A shipped file's text."""
        return self._package.get_source(self.env, name)[0]


THREAD_HEADERS = frozenset({"In-Reply-To", "References"})
#: a marketing email's one-click unsubscribe (RFC 8058): the signed link, and that a POST to it is enough
UNSUBSCRIBE_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post"})


@dataclass(frozen=True)
class Outgoing:
    """A message ready for SMTP: the envelope's two addresses and the bytes (adapters/email/mime.py)."""

    sender: str
    to: str
    data: bytes
    message_id: str


#: an address with nothing to parse: no display name, comment, quoting or brackets; ASCII (most are)
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def envelope_address(address: str) -> str:
    """The bare address of a header value (``Ana <ana@example.com>`` → ``ana@example.com``), its domain in IDNA
    form."""
    return address if _PLAIN_ADDRESS.fullmatch(address) else ascii_address(parseaddr(address)[1])


class Utf8NotOffered(AddressNotSupported):
    """The message needs SMTPUTF8 (a mailbox name that is not ASCII, in the envelope or a header) and the mail server
    does not offer it. A transactional email goes to review (someone reaches the customer another way); a marketing
    one is settled as failed (adapters/db/suppressions.py)."""

    def __init__(self) -> None:
        super().__init__("the mail server does not take addresses that are not ASCII (no SMTPUTF8)")


class SmtpSession(smtplib.SMTP):
    """smtplib's session without its parse of a plain envelope address (``quoteaddr`` runs the RFC 2822 address
    parser on both addresses of every message, a tenth of an email's CPU), and with PIPELINING (RFC 2920) where the
    server offers it; anything else goes the stdlib's way."""

    #: whether the message itself may have reached the server in the current ``send_one`` (from DATA on): after
    #: that, a lost connection may mean the server has it, so no second copy is sent at once
    message_sent = False

    def send_one(self, from_addr: str, to: str, msg: bytes) -> None:
        """``sendmail`` to one recipient. With PIPELINING and plain addresses, MAIL, RCPT and DATA go in one write
        and their three replies are read together: two round trips per message instead of four, which is what a
        relay across the internet costs. The outcomes and exceptions are ``smtplib.SMTP.sendmail``'s."""
        self.message_sent = False
        self.ehlo_or_helo_if_needed()
        if not (from_addr.isascii() and to.isascii() and msg.isascii()):  # an internationalised address (RFC 6531)
            if not self.has_extn("smtputf8"):
                raise Utf8NotOffered
            self.sendmail(from_addr, [to], msg, mail_options=["SMTPUTF8"])
            return
        if (not self.has_extn("pipelining") or not _PLAIN_ADDRESS.fullmatch(from_addr)
                or not _PLAIN_ADDRESS.fullmatch(to)):
            self.sendmail(from_addr, [to], msg)
            return
        size = f" size={len(msg)}" if self.has_extn("size") else ""
        self.send(f"MAIL FROM:<{from_addr}>{size}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode("ascii"))
        mail = self.getreply()
        if mail[0] == 421:  # the server is closing: nothing more will be read, as sendmail would
            self.close()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], from_addr)
        rcpt = self.getreply()
        if rcpt[0] == 421:
            self.close()
            raise smtplib.SMTPRecipientsRefused({to: rcpt})
        data = self.getreply()
        accepted = mail[0] == 250 and rcpt[0] in (250, 251)
        if data[0] == 354 and not accepted:  # a server must refuse DATA then (RFC 2920 3.1); this one did not
            self.send(b".\r\n")
            self.getreply()
        if mail[0] != 250:
            self._abandon(mail[0])
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], from_addr)
        if rcpt[0] not in (250, 251):
            self._abandon(rcpt[0])
            raise smtplib.SMTPRecipientsRefused({to: rcpt})
        if data[0] != 354:
            self._abandon(data[0])
            raise smtplib.SMTPDataError(*data)
        body = _LEADING_DOT.sub(b"..", msg)  # dot-stuffing (RFC 5321 4.5.2), as smtplib.data does
        self.message_sent = True
        self.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        code, reply = self.getreply()
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPDataError(code, reply)

    def _abandon(self, code: int) -> None:
        """After a refusal, as smtplib does: 421 means the server is closing; otherwise reset the transaction."""
        if code == 421:
            self.close()
            return
        with contextlib.suppress(smtplib.SMTPServerDisconnected):  # the next command will tell
            self.rset()

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.message_sent = True  # sendmail's path: from here on the server may end up with the message
        return super().data(msg)

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not _PLAIN_ADDRESS.fullmatch(sender) or any(o.lower() == "smtputf8" for o in options):
            return super().mail(sender, options)
        self.putcmd("mail", f"FROM:<{sender}>" + _options(self, options))
        return self.getreply()

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not _PLAIN_ADDRESS.fullmatch(recip):
            return super().rcpt(recip, options)
        self.putcmd("rcpt", f"TO:<{recip}>" + _options(self, options))
        return self.getreply()


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _options(smtp: smtplib.SMTP, options: Sequence[str]) -> str:
    return " " + " ".join(options) if options and smtp.does_esmtp else ""


def message_id(key: str) -> str:
    return "<" + re.sub(r"[^A-Za-z0-9._-]", ".", key) + "@backroom>"


class SmtpSender:
    def __init__(self, settings: SmtpSettings, renderer: TemplateRenderer | None = None) -> None:
        self.settings = settings
        self.renderer = renderer or TemplateRenderer(settings.templates_dir)
        self._idle: list[SmtpSession] = []
        self._lock = threading.Lock()
        self._sender = envelope_address(settings.sender)

    def build(self, payload: dict[str, Any], key: str) -> Outgoing:
        subject, text, html = self.renderer.render(payload["template"], payload["context"])
        mid = message_id(key)
        headers = [("From", self.settings.sender), ("To", payload["to"]),
                   ("Subject", payload.get("subject") or subject)]  # a reply keeps its thread's subject
        headers += [(name, value) for name, value in payload.get("headers", {}).items()  # the thread; unsubscribe
                    if name in THREAD_HEADERS | UNSUBSCRIBE_HEADERS and value]
        headers += [("Date", formatdate(localtime=False)), ("Message-ID", mid), ("Idempotency-Key", key)]
        files = [Attachment(a["filename"], a["content_type"], a["content"].encode())  # made with the effect
                 for a in payload.get("attachments", ())]
        return Outgoing(self._sender, envelope_address(payload["to"]),
                        compose(headers, text, html, files), mid)

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        """Send one email. A permanent refusal (5xx) of its recipient or its data raises RecipientRefused, which
        the effect runner does not retry; a 4xx stays an ordinary error, retried with backoff."""
        msg = self.build(payload, key)
        smtp = self._take()
        try:
            try:
                smtp.send_one(msg.sender, msg.to, msg.data)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                if smtp.message_sent:  # the server may have it (a reply that timed out): the effect's retry decides
                    raise
                _quit(smtp)  # the server closed an idle session: one fresh attempt, then the effect retries
                smtp = self._open()
                smtp.send_one(msg.sender, msg.to, msg.data)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as err:
            self._give_back(smtp)  # the server answered (and smtplib reset the transaction): the session is good
            refused = recipient_refused(err, msg.to)
            if refused is None:
                raise
            raise refused from err
        except Utf8NotOffered:
            self._give_back(smtp)  # nothing was sent: the session is good
            raise
        except BaseException:
            _quit(smtp)
            raise
        self._give_back(smtp)
        return {"message_id": msg.message_id}

    def close(self) -> None:
        """Quit every idle session (Backroom.close calls this when the process is done)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp in idle:
            _quit(smtp)

    def _take(self) -> SmtpSession:
        """Sessions are pooled between emails: opening one costs about seven round trips."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _give_back(self, smtp: SmtpSession) -> None:
        with self._lock:
            self._idle.append(smtp)

    def _open(self) -> SmtpSession:
        s = self.settings
        smtp = SmtpSession(s.host, s.port, timeout=s.timeout_s, local_hostname="backroom.localhost")
        if s.starttls:
            smtp.starttls()
        if s.username and s.password:
            smtp.login(s.username, s.password.get_secret_value())
        return smtp


def recipient_refused(err: smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError,
                      to: str) -> RecipientRefused | None:
    """A 5xx at RCPT TO or at DATA as a permanent refusal (None for a 4xx: try again later). A hard bounce when the
    reply says the address is bad (marketing/bounces.py); at RCPT a 5xx without an enhanced status counts too, at
    DATA it does not (there it is usually the content)."""
    reply: bytes | str
    at_rcpt: int | None = None
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        if not err.recipients:
            return None
        recipient, (code, reply) = next(iter(err.recipients.items()))
        at_rcpt = code
    else:
        recipient, code, reply = to, err.smtp_code, err.smtp_error
    if not 500 <= code < 600:
        return None
    text = " ".join((reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).split())
    return RecipientRefused(recipient.lower(), code, f"{code} {text}"[:MAX_DETAIL],
                            hard_bounce=is_hard_bounce(enhanced_status(text), at_rcpt))


def _quit(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()
