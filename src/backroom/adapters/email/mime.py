"""The bytes of an outgoing email: text and HTML alternatives, optional attachments, CRLF line ends, ready for
``smtplib.SMTP.sendmail``.

The stdlib's ``EmailMessage`` (``email.policy.default``) parses every header it is given through its header
registry and folds it again when flattened; for the flows' volume that was 2.5–4 ms of CPU per message, more than
the SMTP conversation. The shapes backroom sends are few and known, so the message is composed directly with the
stdlib's own encoders (``binascii`` quoted-printable and base64, ``email.header`` and ``email.utils`` for
non-ASCII headers), about a tenth of the cost. Any message it writes parses back with ``email.policy.default`` to
the same headers and bodies (tests/unit/test_mime.py)."""

from __future__ import annotations

import binascii
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import encode_rfc2231, formataddr, getaddresses

from backroom.shared.addresses import ascii_address

ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
_MAX_LINE = 998  # RFC 5322: a line is at most 998 characters before CRLF


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # maintype/subtype
    content: bytes


def compose(headers: Sequence[tuple[str, str]], text: str, html: str,
            attachments: Iterable[Attachment] = ()) -> bytes:
    """A MIME message: ``headers`` as given (non-ASCII values encoded, RFC 2047), then multipart/alternative of
    ``text`` and ``html`` (quoted-printable, UTF-8), inside multipart/mixed when there are attachments (base64)."""
    out = [_header(name, value) for name, value in headers]
    out.append(b"MIME-Version: 1.0")
    alternative = _multipart("alternative", [_text_part("plain", text), _text_part("html", html)])
    files = list(attachments)
    body = alternative if not files else _multipart("mixed", [alternative, *(_attachment(a) for a in files)])
    return b"\r\n".join(out) + b"\r\n" + body


def _mailbox(display: str, addr: str) -> str:
    if addr.isascii():
        return formataddr((display, addr), charset="utf-8")
    if not display:
        return addr
    named = formataddr((display, "x@x"), charset="utf-8")  # the stdlib's quoting of the name (it wants ASCII addr)
    return named[: named.rindex("<")] + f"<{addr}>"


def _header(name: str, value: str) -> bytes:
    if any(c in value for c in "\r\n") or not name.isascii() or ":" in name or not name:
        raise ValueError(f"header {name!r} has a line break or a bad name")  # no header injection
    if value.isascii():
        encoded = value
    elif name.lower() in ADDRESS_HEADERS:
        # the name as RFC 2047 words; an address that stays non-ASCII after IDNA goes as UTF-8 (RFC 6532), which
        # only an SMTPUTF8 transaction may carry (the sender asks for one)
        encoded = ", ".join(_mailbox(display, ascii_address(addr)) for display, addr in getaddresses([value]))
    else:
        encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    line = f"{name}: {encoded}".encode()
    if max(len(part) for part in line.split(b"\r\n")) > _MAX_LINE:
        raise ValueError(f"header {name!r} is longer than {_MAX_LINE} characters")
    return line


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    # "=_" never occurs in a QP or base64 body, so the boundary need not be unpredictable, only unlikely to repeat
    boundary = b"=_br_" + f"{random.getrandbits(128):032x}".encode()
    chunks = [b"Content-Type: multipart/" + subtype.encode() + b'; boundary="' + boundary + b'"\r\n\r\n']
    for part in parts:
        chunks += [b"--" + boundary + b"\r\n", part, b"\r\n"]
    chunks.append(b"--" + boundary + b"--\r\n")
    return b"".join(chunks)


def _text_part(subtype: str, content: str) -> bytes:
    raw = content.replace("\r\n", "\n").replace("\r", "\n")
    if not raw.endswith("\n"):
        raw += "\n"
    # plain 7bit needs no encoding at all (smtplib dot-stuffs lines that start with "."); trailing blanks would not
    # survive every relay, so a line with them goes quoted-printable
    if raw.isascii() and all(len(line) <= 76 and line == line.rstrip() for line in raw.split("\n")):
        body, encoding = raw.encode("ascii"), b"7bit"
    else:
        body, encoding = binascii.b2a_qp(raw.encode("utf-8"), istext=True), b"quoted-printable"
    return (b"Content-Type: text/" + subtype.encode() + b'; charset="utf-8"\r\nContent-Transfer-Encoding: '
            + encoding + b"\r\n\r\n" + body.replace(b"\n", b"\r\n"))


def _attachment(a: Attachment) -> bytes:
    name = a.filename if a.filename.isascii() and '"' not in a.filename else None
    disposition = (b'attachment; filename="' + name.encode() + b'"' if name is not None
                   else b"attachment; filename*=" + encode_rfc2231(a.filename, "utf-8").encode())
    encoded = b"".join(binascii.b2a_base64(a.content[i:i + 57]).replace(b"\n", b"\r\n")
                       for i in range(0, len(a.content), 57))
    return (b"Content-Type: " + a.content_type.encode("ascii") + b"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: " + disposition + b"\r\n\r\n" + encoded)
