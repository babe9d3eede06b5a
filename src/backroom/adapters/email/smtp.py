"""Customer emails over real SMTP: Jinja2 templates (text + HTML), a stable Message-ID from the idempotency key
so a receiver (or a mail client) can collapse the rare duplicate a crash after sending can cause."""

from __future__ import annotations

import contextlib
import re
import smtplib
import threading
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from backroom.config import SmtpSettings

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
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("backroom.adapters.email", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
        )

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
        subject = SUBJECTS[template].format(**context)
        text = self.env.get_template(f"{template}.txt").render(**context)
        html = self.env.get_template(f"{template}.html").render(**context)
        return subject, text, html


THREAD_HEADERS = frozenset({"In-Reply-To", "References"})
#: a marketing email's one-click unsubscribe (RFC 8058): the signed link, and that a POST to it is enough
UNSUBSCRIBE_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post"})


def message_id(key: str) -> str:
    return "<" + re.sub(r"[^A-Za-z0-9._-]", ".", key) + "@backroom>"


class SmtpSender:
    def __init__(self, settings: SmtpSettings, renderer: TemplateRenderer | None = None) -> None:
        self.settings = settings
        self.renderer = renderer or TemplateRenderer()
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def build(self, payload: dict[str, Any], key: str) -> EmailMessage:
        subject, text, html = self.renderer.render(payload["template"], payload["context"])
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = payload["to"]
        msg["Subject"] = payload.get("subject") or subject  # a reply keeps its thread's subject
        for name, value in payload.get("headers", {}).items():  # the thread; a marketing email's unsubscribe
            if name in THREAD_HEADERS | UNSUBSCRIBE_HEADERS and value:
                msg[name] = value
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(key)
        msg["Idempotency-Key"] = key
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        for attachment in payload.get("attachments", ()):  # text files made when the effect was asked for
            maintype, subtype = attachment["content_type"].split("/", 1)
            msg.add_attachment(attachment["content"].encode(), maintype=maintype, subtype=subtype,
                               filename=attachment["filename"])
        return msg

    def __call__(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        msg = self.build(payload, key)
        smtp = self._take()
        try:
            smtp.send_message(msg)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            _quit(smtp)  # the server closed an idle session: one fresh attempt, then the effect retries
            smtp = self._open()
            smtp.send_message(msg)
        except BaseException:
            _quit(smtp)
            raise
        self._give_back(smtp)
        return {"message_id": msg["Message-ID"]}

    def close(self) -> None:
        """Quit every idle session (Backroom.close calls this when the process is done)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp in idle:
            _quit(smtp)

    def _take(self) -> smtplib.SMTP:
        """Sessions are pooled between emails: opening one costs about seven round trips."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _give_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append(smtp)

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s, local_hostname="backroom.localhost")
        if s.starttls:
            smtp.starttls()
        if s.username and s.password:
            smtp.login(s.username, s.password.get_secret_value())
        return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()
