"""A new delivery address as a customer types it into a chat or an email ("10 Downing Street, London SW1A 2AA",
"445 Maple Drive, Suite 394, Fort Worth, TX 76165, USA") → its parts, or nothing when a part is missing.

Deliberately strict: the street must start or end with a house number, and a town and a postal code must be there.
A message it cannot read makes the agent ask again; the order pipeline's own address checks (per-country postal
formats) run again on the parts before anything is changed, and the customer confirms the parts with a "yes".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COUNTRIES = {
    "uk": "GB", "united kingdom": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "gb": "GB", "ireland": "IE", "france": "FR", "germany": "DE", "deutschland": "DE",
    "spain": "ES", "españa": "ES", "italy": "IT", "netherlands": "NL", "belgium": "BE", "portugal": "PT",
    "austria": "AT", "denmark": "DK", "sweden": "SE", "poland": "PL", "usa": "US", "us": "US",
    "united states": "US", "united states of america": "US", "canada": "CA", "australia": "AU",
}
# postal codes: UK, US ZIP(+4), Canada, Netherlands, then the plain 4–5 digit codes of most of Europe
_POSTAL = re.compile(
    r"(?i)\b([A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}|\d{5}-\d{4}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|\d{4}\s?[A-Z]{2}"
    r"|\d{4,5})\b")
_US_STATE = re.compile(r"^([A-Z]{2})\s+(\d{5}(?:-\d{4})?)$")
_LEAD = re.compile(r"(?i)^.*?\b(?:to|is|address(?:\s+is)?|:)\s+(?=(?:flat|apt|apartment|unit|suite)?\s*\d)")
_STREET = re.compile(r"(?i)^(?:(?:flat|apt\.?|apartment|unit|suite)\s+\w+\s+)?\d+[a-z]?(?:[-/]\d+)?\s+\D{3,}$"
                     r"|^\D{3,}\s+\d+[a-z]?$")
_SECONDARY = re.compile(r"(?i)^(?:flat|apt\.?|apartment|unit|suite|floor|building)\s+\w+$")
_ORDER_REF = re.compile(r"(?i)\b(?:order\s*)?#\s*\w+")
_EMAIL = re.compile(r"\S+@\S+")


@dataclass(frozen=True)
class AddressParts:
    line1: str
    city: str
    postal_code: str
    country: str  # ISO 3166 alpha-2
    line2: str = ""
    area: str = ""  # state, county or province

    def one_line(self) -> str:
        parts = [self.line1, self.line2, self.city, f"{self.area} {self.postal_code}".strip(), self.country]
        return ", ".join(p for p in parts if p)


def parse_address(text: str, default_country: str = "") -> AddressParts | None:
    """The address in ``text``, its country by name or else ``default_country`` (the order's); None if the
    street, the town or the postal code cannot be told apart."""
    cleaned = _EMAIL.sub(" ", _ORDER_REF.sub(" ", text))
    segments = [s.strip(" .") for s in re.split(r"[,\n;]+", cleaned) if s.strip(" .")]
    if not segments:
        return None
    country = default_country.upper()
    if segments[-1].lower() in _COUNTRIES:
        country = _COUNTRIES[segments.pop().lower()]
    bare = [_LEAD.sub("", s).strip() for s in segments]
    street_at = next((i for i, s in enumerate(bare) if _STREET.match(s) and not _SECONDARY.match(s)), None)
    if street_at is None:
        return None
    line1 = bare[street_at]
    line2 = bare[street_at - 1] if street_at and _SECONDARY.match(bare[street_at - 1]) else ""
    city, area, postal = "", "", ""
    for segment in segments[street_at + 1:]:
        us = _US_STATE.match(segment)
        if us:
            area, postal = us.group(1), us.group(2)
            continue
        found = list(_POSTAL.finditer(segment))
        if found and not postal:
            code = found[-1]
            postal = " ".join(code.group(1).upper().split())
            rest = (segment[:code.start()] + segment[code.end():]).strip(" -")
            if rest and not city:
                city = rest
            continue
        if _SECONDARY.match(segment) and not city and not line2:
            line2 = segment
        elif not city and not any(c.isdigit() for c in segment):
            city = segment
        elif city and not area and not any(c.isdigit() for c in segment):
            area = segment
    if not (line1 and city and postal and country):
        return None
    return AddressParts(line1, city, postal, country, line2, area)
