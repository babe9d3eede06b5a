"""Email addresses with international domains, in the two forms they travel in: the IDNA form every mail server
takes (``ana@xn--bcher-kva.de``) and the form customers type and the store keeps (``ana@bücher.de``)."""

from __future__ import annotations

import idna


def ascii_address(address: str) -> str:
    """An address with its domain in IDNA form (``ana@bücher.de`` → ``ana@xn--bcher-kva.de``), which every server
    takes; a local part that is not ASCII stays as it is (it needs SMTPUTF8, RFC 6531). IDNA 2008 with the UTS 46
    mapping, non-transitional: ``faß.de`` is ``xn--fa-hia.de``, never ``fass.de`` (another domain, which the stdlib's
    IDNA 2003 codec would give)."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True, transitional=False).decode('ascii')}"
    except idna.IDNAError:  # not a name IDNA can encode: left as it is, for the server to refuse
        return address


def unicode_address(address: str) -> str:
    """The form the store keeps of an address a mail server reported (``ana@xn--bcher-kva.de`` → ``ana@bücher.de``);
    the address as it is when its domain has no IDNA label, or one that does not decode."""
    local, at, domain = address.rpartition("@")
    if not at or "xn--" not in domain.lower():
        return address
    try:
        return f"{local}@{idna.decode(domain)}"
    except idna.IDNAError:
        return address
