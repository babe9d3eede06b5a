"""Scalars of platform payloads read exactly: money as Decimal, times as aware datetimes, counts as ints. What
cannot be read is refused with InvalidInput (``invalid_payload``) naming the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backroom.errors import InvalidInput

_INTEGER = re.compile(r"-?[0-9]+")


def money(value: Any, what: str) -> Decimal:
    """A JSON number or numeric string, to the cent (JSON numbers are parsed by their text, never through a float
    sum)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _refused(what, value)
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as err:
        raise _refused(what, value) from err
    if not amount.is_finite():
        raise _refused(what, value)
    return amount


def count(value: Any, what: str) -> int:
    """A JSON integer or a string of ASCII digits with an optional minus sign."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not _INTEGER.fullmatch(str(value)):
        raise _refused(what, value)
    return int(value)


def optional_count(value: Any, what: str) -> int | None:
    return None if value is None else count(value, what)


def timestamp(value: Any, what: str, *, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 time with its offset (``naive_is_utc``: WooCommerce's ``*_gmt`` fields, which carry none)."""
    if not isinstance(value, str) or not value:
        raise _refused(what, value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise _refused(what, value) from err
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise _refused(what, value)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def optional_timestamp(value: Any, what: str, *, naive_is_utc: bool = False) -> datetime | None:
    return None if value in (None, "") else timestamp(value, what, naive_is_utc=naive_is_utc)


def _refused(what: str, value: Any) -> InvalidInput:
    return InvalidInput(f"payload has no usable {what}: {str(value)[:40]!r}", code="invalid_payload")
