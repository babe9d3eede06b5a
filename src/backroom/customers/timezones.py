"""A customer's time zone from where they live: a shipping address's country and area (state, province, region).

``zone_for(country, area)`` answers an IANA zone name (``"Europe/London"``), or ``None`` when the address does not
tell (unknown or blank country, "Unspecified", a region wider than one country such as "European Community"): the
caller then uses the store's own zone.

The country → zones table is read once from the time-zone database the process already has: the ``tzdata`` package
(a project dependency, the same data ``zoneinfo`` falls back to) or else the system's ``/usr/share/zoneinfo``; its
``zone.tab`` lists each country's zones and ``iso3166.tab`` their English names. Nothing is downloaded.

A country with one zone maps to it. For a country with several, a small hand-written table maps the area (ISO 3166-2
code as Shopify and WooCommerce send it — "CA", "ON", "NSW", "US-CA" — or its English name) to its zone; a state that
straddles a zone line gets the zone where most of its people live. With no or an unknown area, the country's most
populous zone is used (``_DEFAULT_ZONE``: e.g. US → America/New_York, Canada → America/Toronto, Australia →
Australia/Sydney). Every name given out is checked to load with ``zoneinfo.ZoneInfo``.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["country_code", "zone_for"]

# -- names stores and data sets write that iso3166.tab does not ----------------------------------------------------

# Name (normalized, see _norm) → ISO 3166 alpha-2 code.
_COUNTRY_ALIASES: dict[str, str] = {
    # the United Kingdom, as people and the UCI Online Retail data write it
    "united kingdom": "GB", "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "united kingdom of great britain and northern ireland":
    "GB",
    "eire": "IE", "republic of ireland": "IE",  # UCI writes Ireland as "EIRE"
    "usa": "US", "united states of america": "US", "u s a": "US", "u s": "US",
    "rsa": "ZA", "republic of south africa": "ZA",  # UCI writes South Africa as "RSA"
    "czechia": "CZ", "russian federation": "RU", "the netherlands": "NL", "holland": "NL",
    "uae": "AE", "u a e": "AE", "republic of korea": "KR", "korea": "KR", "north korea": "KP",
    "turkiye": "TR", "macao": "MO", "viet nam": "VN", "ivory coast": "CI", "cote d'ivoire": "CI",
    "vatican": "VA", "holy see": "VA", "swaziland": "SZ", "burma": "MM", "macedonia": "MK",
    "bosnia": "BA", "palestinian territories": "PS", "hong kong sar": "HK", "taiwan roc": "TW",
    "east timor": "TL", "timor-leste": "TL", "cape verde": "CV", "cabo verde": "CV",
    "democratic republic of the congo": "CD", "dr congo": "CD", "republic of the congo": "CG",
    "american samoa": "AS", "us virgin islands": "VI", "british virgin islands": "VG",
}

# Names that are no one country: answered directly, not through a country code.
_REGION_ZONES: dict[str, str | None] = {
    # UCI's "Channel Islands": Jersey and Guernsey both keep UK time (Europe/Jersey and Europe/Guernsey are links
    # to Europe/London in the time-zone database), so either bailiwick is right with Europe/London.
    "channel islands": "Europe/London",
    # UCI's "European Community" spans three zones (Lisbon/Dublin, Paris/Berlin, Helsinki/Athens): any one guess is
    # two hours off for part of it, so no zone, and the caller uses the store's.
    "european community": None,
    "european union": None,
    "eu": None,
    "unspecified": None,  # UCI's unknown country
}

# -- countries with several zones ------------------------------------------------------------------------------

# The zone most of the country's people live in, used when the area is blank or unknown. Every country that
# zone.tab lists with more than one zone is here (a unit test keeps it so); AQ has no residents to speak of.
_DEFAULT_ZONE: dict[str, str | None] = {
    "AQ": None,
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",  # NSW, the most populous state
    "BR": "America/Sao_Paulo",  # the southeast: SP, RJ, MG …
    "CA": "America/Toronto",  # Ontario and Quebec
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",  # Europe/Busingen is one town
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",  # mainland; the Canaries by area below
    "FM": "Pacific/Chuuk",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",  # Java
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PF": "Pacific/Tahiti",
    "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron",  # the West Bank has more people than Gaza
    "PT": "Europe/Lisbon",  # mainland; Madeira and the Azores by area below
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UM": "Pacific/Midway",
    "US": "America/New_York",  # Eastern time: about half of the population
    "UZ": "Asia/Tashkent",
}

# Area (ISO 3166-2 code, other codes stores use, English names; ":" separates the spellings of one area, ", " the
# areas) → zone, per country. A state split by a zone line gets its majority zone (Florida, Texas, Tennessee,
# Kentucky, Oregon …); areas not here get the country's default.
_US = {
    "America/New_York": "CT:Connecticut, DE:Delaware, DC:District of Columbia, FL:Florida, GA:Georgia, ME:Maine,"
                        " MD:Maryland, MA:Massachusetts, NH:New Hampshire, NJ:New Jersey, NY:New York,"
                        " NC:North Carolina, OH:Ohio, PA:Pennsylvania, RI:Rhode Island, SC:South Carolina,"
                        " VT:Vermont, VA:Virginia, WV:West Virginia, KY:Kentucky",
    "America/Detroit": "MI:Michigan",
    "America/Indiana/Indianapolis": "IN:Indiana",
    "America/Chicago": "AL:Alabama, AR:Arkansas, IL:Illinois, IA:Iowa, KS:Kansas, LA:Louisiana, MN:Minnesota,"
                       " MS:Mississippi, MO:Missouri, NE:Nebraska, ND:North Dakota, OK:Oklahoma, SD:South Dakota,"
                       " TN:Tennessee, TX:Texas, WI:Wisconsin",
    "America/Denver": "CO:Colorado, MT:Montana, NM:New Mexico, UT:Utah, WY:Wyoming",
    "America/Boise": "ID:Idaho",
    "America/Phoenix": "AZ:Arizona",  # no daylight saving (the Navajo Nation aside)
    "America/Los_Angeles": "CA:California, NV:Nevada, OR:Oregon, WA:Washington",
    "America/Anchorage": "AK:Alaska",
    "Pacific/Honolulu": "HI:Hawaii",
    # territories, when a store files them under the US rather than their own ISO code
    "America/Puerto_Rico": "PR:Puerto Rico",
    "America/St_Thomas": "VI:Virgin Islands:US Virgin Islands",
    "Pacific/Guam": "GU:Guam",
    "Pacific/Pago_Pago": "AS:American Samoa",
    "Pacific/Saipan": "MP:Northern Mariana Islands",
}
_CA = {
    "America/St_Johns": "NL:NF:Newfoundland and Labrador:Newfoundland",
    "America/Halifax": "NS:Nova Scotia, PE:Prince Edward Island",
    "America/Moncton": "NB:New Brunswick",
    "America/Toronto": "ON:Ontario, QC:PQ:Quebec",
    "America/Winnipeg": "MB:Manitoba",
    "America/Regina": "SK:Saskatchewan",  # no daylight saving
    "America/Edmonton": "AB:Alberta, NT:Northwest Territories",
    "America/Vancouver": "BC:British Columbia",
    "America/Whitehorse": "YT:Yukon",
    "America/Iqaluit": "NU:Nunavut",
}
_AU = {
    "Australia/Sydney": "NSW:New South Wales, ACT:Australian Capital Territory",
    "Australia/Melbourne": "VIC:Victoria",
    "Australia/Brisbane": "QLD:Queensland",  # no daylight saving
    "Australia/Adelaide": "SA:South Australia",
    "Australia/Perth": "WA:Western Australia",
    "Australia/Hobart": "TAS:Tasmania",
    "Australia/Darwin": "NT:Northern Territory",
}
_BR = {
    "America/Sao_Paulo": "SP:Sao Paulo, RJ:Rio de Janeiro, MG:Minas Gerais, ES:Espirito Santo, PR:Parana,"
                         " SC:Santa Catarina, RS:Rio Grande do Sul, GO:Goias, DF:Distrito Federal",
    "America/Bahia": "BA:Bahia",
    "America/Fortaleza": "CE:Ceara, MA:Maranhao, PI:Piaui, RN:Rio Grande do Norte, PB:Paraiba",
    "America/Recife": "PE:Pernambuco",
    "America/Maceio": "AL:Alagoas, SE:Sergipe",
    "America/Araguaina": "TO:Tocantins",
    "America/Belem": "PA:Para, AP:Amapa",
    "America/Manaus": "AM:Amazonas",
    "America/Boa_Vista": "RR:Roraima",
    "America/Porto_Velho": "RO:Rondonia",
    "America/Rio_Branco": "AC:Acre",
    "America/Cuiaba": "MT:Mato Grosso",
    "America/Campo_Grande": "MS:Mato Grosso do Sul",
}
# Mexico: ISO 3166-2 codes and the abbreviations Shopify uses; states not listed keep Mexico City time.
_MX = {
    "America/Mexico_City": "CMX:CDMX:DF:Ciudad de Mexico:Mexico City:Distrito Federal, MEX:Estado de Mexico,"
                           " JAL:Jalisco, PUE:Puebla, GUA:Guanajuato, VER:Veracruz",
    "America/Tijuana": "BCN:BC:Baja California",
    "America/Mazatlan": "BCS:Baja California Sur, SIN:Sinaloa, NAY:Nayarit",
    "America/Hermosillo": "SON:Sonora",  # no daylight saving
    "America/Chihuahua": "CHH:CHIH:Chihuahua",
    "America/Monterrey": "NLE:NL:Nuevo Leon, COA:COAH:Coahuila, TAM:TAMPS:Tamaulipas, DUR:DGO:Durango",
    "America/Cancun": "ROO:QROO:Q ROO:Quintana Roo",
    "America/Merida": "YUC:Yucatan, CAM:Campeche",
}
_RU = {
    "Europe/Kaliningrad": "KGD:Kaliningrad",
    "Europe/Moscow": "MOW:Moscow, MOS:Moscow Oblast, SPE:Saint Petersburg, LEN:Leningrad, TA:Tatarstan,"
                     " KDA:Krasnodar, NIZ:Nizhny Novgorod, ROS:Rostov",
    "Europe/Volgograd": "VGG:Volgograd",
    "Europe/Samara": "SAM:Samara, UD:Udmurtia",
    "Europe/Saratov": "SAR:Saratov",
    "Europe/Astrakhan": "AST:Astrakhan",
    "Europe/Ulyanovsk": "ULY:Ulyanovsk",
    "Asia/Yekaterinburg": "SVE:Sverdlovsk, CHE:Chelyabinsk, BA:Bashkortostan, PER:Perm, TYU:Tyumen",
    "Asia/Omsk": "OMS:Omsk",
    "Asia/Novosibirsk": "NVS:Novosibirsk",
    "Asia/Barnaul": "ALT:Altai Krai",
    "Asia/Tomsk": "TOM:Tomsk",
    "Asia/Novokuznetsk": "KEM:Kemerovo",
    "Asia/Krasnoyarsk": "KYA:Krasnoyarsk",
    "Asia/Irkutsk": "IRK:Irkutsk, BU:Buryatia",
    "Asia/Chita": "ZAB:Zabaykalsky",
    "Asia/Yakutsk": "SA:Sakha:Yakutia, AMU:Amur",
    "Asia/Vladivostok": "PRI:Primorsky, KHA:Khabarovsk",
    "Asia/Magadan": "MAG:Magadan",
    "Asia/Sakhalin": "SAK:Sakhalin",
    "Asia/Kamchatka": "KAM:Kamchatka",
    "Asia/Anadyr": "CHU:Chukotka",
}
# Spain and Portugal: their islands and enclaves (autonomous communities and provinces, codes and names).
_ES = {
    "Atlantic/Canary": "CN:Canarias:Canary Islands, GC:Las Palmas, TF:Santa Cruz de Tenerife",
    "Africa/Ceuta": "CE:Ceuta, ML:Melilla",
}
_PT = {
    "Atlantic/Madeira": "30:Madeira",
    "Atlantic/Azores": "20:Azores:Acores",
}

_AREA_SPECS: dict[str, dict[str, str]] = {
    "US": _US, "CA": _CA, "AU": _AU, "BR": _BR, "MX": _MX, "RU": _RU, "ES": _ES, "PT": _PT}


def _norm(text: str) -> str:
    """Case, accents, dots and spacing do not matter: "Québec" = "quebec", "U.S.A." = "usa"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().replace(".", " ")
    return re.sub(r"\s+", " ", plain).strip()


def _area_table(spec: dict[str, str]) -> dict[str, str]:
    """{"America/Los_Angeles": "CA:California, NV:Nevada"} → {"ca": …, "california": …, "nv": …, "nevada": …}."""
    return {_norm(spelling): zone for zone, areas in spec.items()
            for area in areas.split(", ") for spelling in area.split(":")}


@lru_cache(maxsize=1)
def _area_zones() -> dict[str, dict[str, str]]:
    return {country: _area_table(spec) for country, spec in _AREA_SPECS.items()}


# -- the time-zone database ------------------------------------------------------------------------------------


def _read_tab(name: str) -> str | None:
    """A ``.tab`` file of the tz database: from the ``tzdata`` package, else the system's zoneinfo folders."""
    try:
        resource = resources.files("tzdata.zoneinfo").joinpath(name)
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except ModuleNotFoundError:
        pass
    for folder in (*zoneinfo.TZPATH, "/usr/share/zoneinfo"):
        path = Path(folder, name)
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _rows(text: str | None) -> list[list[str]]:
    return [line.split("\t") for line in (text or "").splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO code → its zones, in zone.tab order (zone1970.tab, whose rows name several countries, if zone.tab is
    missing)."""
    zones: dict[str, list[str]] = {}
    for row in _rows(_read_tab("zone.tab")) or _rows(_read_tab("zone1970.tab")):
        for code in row[0].split(","):
            zones.setdefault(code, []).append(row[2])
    return {code: tuple(names) for code, names in zones.items()}


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Normalized English name → ISO code: iso3166.tab's names ("Korea (South)" also as "South Korea" and, where
    unambiguous, "Korea"; "&" also as "and"; "St" also as "Saint"), then the aliases above."""
    names: dict[str, str] = {}
    bare: dict[str, set[str]] = {}
    for row in _rows(_read_tab("iso3166.tab")):
        code, name = row[0], _norm(row[1])
        variants = {name}
        if match := re.fullmatch(r"(.+?) \((.+)\)", name):
            head, qualifier = match.groups()
            variants.add(f"{qualifier} {head}")
            bare.setdefault(head, set()).add(code)
        for variant in list(variants):
            variants.add(variant.replace(" & ", " and "))
            if variant.startswith("st "):
                variants.add("saint " + variant[3:])
        names.update(dict.fromkeys(variants, code))
    for head, codes in bare.items():
        if len(codes) == 1:
            names.setdefault(head, codes.pop())
    names.update(_COUNTRY_ALIASES)
    return names


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """The IANA zone names the zone database holds, without the host-dependent ``localtime`` and the database's
    internals. A region (``Europe``) is not a zone: ``ZoneInfo`` meets a folder there and raises
    ``IsADirectoryError``, so a name is checked against this set rather than by trying to load it."""
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def _checked(zone: str | None) -> str | None:
    return zone if zone is not None and zone in known_zones() else None


# -- the API ---------------------------------------------------------------------------------------------------


def country_code(country: str) -> str | None:
    """ISO 3166 alpha-2 code of a country written as a code ("gb") or an English name ("United Kingdom", "EIRE");
    None when unknown or not one country."""
    key = _norm(country)
    if not key or key in _REGION_ZONES:
        return None
    if len(key) == 2 and key.upper() in _country_zones():
        return key.upper()
    return _country_names().get(key)


def zone_for(country: str, area: str = "") -> str | None:
    """The IANA zone of someone living in ``country`` (code or English name) and ``area`` (state, province or
    region: code or name), or None when it cannot be told."""
    key = _norm(country)
    if key in _REGION_ZONES:
        return _checked(_REGION_ZONES[key])
    code = country_code(country)
    if code is None:
        return None
    zones = _country_zones().get(code, ())
    if len(zones) == 1:
        return _checked(zones[0])
    area_key = _norm(area)
    area_key = area_key.removeprefix(code.casefold() + "-")  # "US-CA", "AU-NSW"
    by_area = _area_zones().get(code, {}).get(area_key) if area_key else None
    if by_area is not None and by_area in known_zones():
        return by_area
    if code in _DEFAULT_ZONE:
        return _checked(_DEFAULT_ZONE[code])
    return _checked(zones[0]) if zones else None
