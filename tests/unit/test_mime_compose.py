"""The outgoing message's bytes parse back, with the stdlib's strict policy, to exactly what was composed."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest

from backroom.adapters.email.mime import Attachment, compose
from backroom.shared.addresses import ascii_address, unicode_address


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def _content(part: EmailMessage | None) -> str:
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_headers_and_both_alternatives_round_trip_including_non_ascii() -> None:
    text = "Hello Zoë,\n.a line that starts with a dot\ntrailing spaces   \n" + "x" * 200 + "\n"
    html = "<p>Café — 10&nbsp;% off</p>"
    raw = compose([("From", "Shop <shop@example.com>"), ("To", "Zoë Ångström <zoe@example.com>"),
                   ("Subject", "Café crème — 10% off"), ("Message-ID", "<flow.x.enr-1.step-2@backroom>"),
                   ("List-Unsubscribe", "<https://shop.example.com/unsubscribe/" + "t" * 300 + ">")], text, html)
    msg = _parse(raw)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only, as SMTP wants them
    assert raw.isascii()
    assert (msg["From"], msg["To"], msg["Subject"], msg["Message-ID"]) == (
        "Shop <shop@example.com>", "Zoë Ångström <zoe@example.com>", "Café crème — 10% off",
        "<flow.x.enr-1.step-2@backroom>")
    assert msg["List-Unsubscribe"] == "<https://shop.example.com/unsubscribe/" + "t" * 300 + ">"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert _content(msg.get_body(("plain",))) == text
    assert _content(msg.get_body(("html",))) == html + "\n"
    assert msg.defects == []
    assert all(not p.defects for p in msg.walk())


def test_short_ascii_bodies_go_as_plain_7bit() -> None:
    msg = _parse(compose([("Subject", "Hi")], "two\nlines", "<p>x</p>"))
    parts = list(msg.iter_parts())
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["7bit", "7bit"]
    assert _content(parts[0]) == "two\nlines\n"


def test_attachments_wrap_the_alternatives_in_mixed() -> None:
    data = ("sku,qty\n" + "LAMP,2\n" * 40).encode()
    msg = _parse(compose([("Subject", "PO-7")], "see attached", "<p>see attached</p>",
                         [Attachment("PO-7.csv", "text/csv", data), Attachment("ré.txt", "text/plain", b"x")]))
    assert msg.get_content_type() == "multipart/mixed"
    files = list(msg.iter_attachments())
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [("PO-7.csv", "text/csv"),
                                                                         ("ré.txt", "text/plain")]
    assert files[0].get_payload(decode=True) == data
    assert _content(msg.get_body(("plain",))) == "see attached\n"


@pytest.mark.parametrize(("name", "value"), [("Subject", "hi\r\nBcc: victim@example.com"), ("To", "a@b.c\nX: y"),
                                         ("Bad Name:", "x")])
def test_a_header_with_a_line_break_or_a_bad_name_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="line break or a bad name"):
        compose([(name, value)], "t", "h")


def test_an_international_domain_goes_as_idna_and_a_non_ascii_mailbox_as_utf8() -> None:
    raw = compose([("From", "Shop <shop@example.com>"), ("To", "Ana <ana@bücher.de>"), ("Cc", "Zoë <zoë@bücher.de>"),
                   ("Subject", "Hi")], "Hello", "<p>Hello</p>")
    assert b"\r\nTo: Ana <ana@xn--bcher-kva.de>\r\n" in raw  # ASCII: any server takes it
    assert "\r\nCc: =?utf-8?q?Zo=C3=AB?= <zoë@xn--bcher-kva.de>\r\n".encode() in raw  # RFC 6532: SMTPUTF8 only
    msg = _parse(raw)
    assert (msg["To"], msg["Cc"]) == ("Ana <ana@xn--bcher-kva.de>", "Zoë <zoë@xn--bcher-kva.de>")


@pytest.mark.parametrize(("address", "wire"), [
    ("ana@faß.de", "ana@xn--fa-hia.de"),  # IDNA 2008: never fass.de, another domain (IDNA 2003 maps ß to ss)
    ("ana@ευρώπης.eu", "ana@xn--qxae0adho8d.eu"),  # final sigma kept
    ("ana@BÜCHER.de", "ana@xn--bcher-kva.de"),
    ("ana@example.com", "ana@example.com"),
    ("ana@☃.net", "ana@☃.net"),  # not a name IDNA encodes: left as it is, for the server to refuse
])
def test_an_international_domain_takes_its_idna_2008_form(address: str, wire: str) -> None:
    assert ascii_address(address) == wire
    assert unicode_address(wire) == address.lower()  # back to the form the store keeps
