"""A customer's time zone from their shipping address: ISO codes and English names (as stores and the UCI Online
Retail data write them), areas of countries that span several zones, and no zone where the address cannot tell."""

from __future__ import annotations

import csv
import gzip
import zoneinfo
from pathlib import Path

import pytest

from backroom.customers import timezones
from backroom.customers.timezones import country_code, zone_for


@pytest.mark.parametrize(("country", "area", "zone"), [
    ("GB", "", "Europe/London"),
    ("gb", "", "Europe/London"),
    ("United Kingdom", "", "Europe/London"),
    ("united kingdom", "Greater London", "Europe/London"),  # one zone: the area does not matter
    ("EIRE", "", "Europe/Dublin"),
    ("Ireland", "", "Europe/Dublin"),
    ("US", "CA", "America/Los_Angeles"),
    ("us", "ca", "America/Los_Angeles"),
    ("US", "US-CA", "America/Los_Angeles"),
    ("United States", "California", "America/Los_Angeles"),
    ("USA", "NY", "America/New_York"),
    ("US", "", "America/New_York"),
    ("US", "Atlantis", "America/New_York"),  # unknown area: the most populous zone
    ("US", "TX", "America/Chicago"),
    ("US", "AZ", "America/Phoenix"),
    ("US", "HI", "Pacific/Honolulu"),
    ("Canada", "ON", "America/Toronto"),
    ("CA", "Québec", "America/Toronto"),
    ("CA", "BC", "America/Vancouver"),
    ("CA", "NL", "America/St_Johns"),
    ("CA", "", "America/Toronto"),
    ("Australia", "WA", "Australia/Perth"),
    ("AU", "NSW", "Australia/Sydney"),
    ("AU", "Queensland", "Australia/Brisbane"),
    ("AU", "", "Australia/Sydney"),
    ("Brazil", "", "America/Sao_Paulo"),
    ("BR", "AM", "America/Manaus"),
    ("Mexico", "", "America/Mexico_City"),
    ("MX", "BC", "America/Tijuana"),
    ("MX", "Quintana Roo", "America/Cancun"),
    ("Russia", "", "Europe/Moscow"),
    ("Russian Federation", "NVS", "Asia/Novosibirsk"),
    ("Spain", "Canarias", "Atlantic/Canary"),
    ("Portugal", "Azores", "Atlantic/Azores"),
    ("Korea (South)", "", "Asia/Seoul"),
    ("South Korea", "", "Asia/Seoul"),
    ("Côte d’Ivoire", "", "Africa/Abidjan"),
    ("cote d'ivoire", "", "Africa/Abidjan"),
    ("Bosnia and Herzegovina", "", "Europe/Sarajevo"),
    ("  U.S.A. ", "", "America/New_York"),
])
def test_zone_for_known_addresses(country: str, area: str, zone: str) -> None:
    assert zone_for(country, area) == zone


@pytest.mark.parametrize("country", ["", "  ", "Unspecified", "European Community", "Atlantis", "XX", "EU"])
def test_no_zone_when_the_address_does_not_tell(country: str) -> None:
    assert zone_for(country) is None
    assert country_code(country) is None


# Every country in the UCI Online Retail data (Country column, all 38 values), and what it gives.
UCI_COUNTRIES = {
    "Australia": "Australia/Sydney",
    "Austria": "Europe/Vienna",
    "Bahrain": "Asia/Bahrain",
    "Belgium": "Europe/Brussels",
    "Brazil": "America/Sao_Paulo",
    "Canada": "America/Toronto",
    "Channel Islands": "Europe/London",
    "Cyprus": "Asia/Nicosia",
    "Czech Republic": "Europe/Prague",
    "Denmark": "Europe/Copenhagen",
    "EIRE": "Europe/Dublin",
    "European Community": None,
    "Finland": "Europe/Helsinki",
    "France": "Europe/Paris",
    "Germany": "Europe/Berlin",
    "Greece": "Europe/Athens",
    "Hong Kong": "Asia/Hong_Kong",
    "Iceland": "Atlantic/Reykjavik",
    "Israel": "Asia/Jerusalem",
    "Italy": "Europe/Rome",
    "Japan": "Asia/Tokyo",
    "Lebanon": "Asia/Beirut",
    "Lithuania": "Europe/Vilnius",
    "Malta": "Europe/Malta",
    "Netherlands": "Europe/Amsterdam",
    "Norway": "Europe/Oslo",
    "Poland": "Europe/Warsaw",
    "Portugal": "Europe/Lisbon",
    "RSA": "Africa/Johannesburg",
    "Saudi Arabia": "Asia/Riyadh",
    "Singapore": "Asia/Singapore",
    "Spain": "Europe/Madrid",
    "Sweden": "Europe/Stockholm",
    "Switzerland": "Europe/Zurich",
    "USA": "America/New_York",
    "United Arab Emirates": "Asia/Dubai",
    "United Kingdom": "Europe/London",
    "Unspecified": None,
}


def test_every_uci_online_retail_country_maps() -> None:
    assert {name: zone_for(name) for name in UCI_COUNTRIES} == UCI_COUNTRIES
    assert {name: zone_for(name.upper()) for name in UCI_COUNTRIES} == UCI_COUNTRIES


@pytest.mark.realdata
def test_the_pinned_uci_countries_are_all_the_countries_in_the_data(shared_data: Path) -> None:
    path = shared_data / "online_retail" / "online_retail_2010-12_2011-12.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        countries = {row["Country"] for row in csv.DictReader(f)}
    assert countries == set(UCI_COUNTRIES)


def test_every_country_in_the_time_zone_database_has_a_zone_by_code_and_by_name() -> None:
    zones = timezones._country_zones()
    assert len(zones) > 240
    for code, name in ((row[0], row[1]) for row in timezones._rows(timezones._read_tab("iso3166.tab"))):
        if code in zones:
            assert country_code(code.lower()) == code
            assert country_code(name) == code, name
            assert zone_for(name) is not None or code == "AQ", name


def test_every_country_with_several_zones_has_a_chosen_default_among_its_own_zones() -> None:
    several = {code for code, zones in timezones._country_zones().items() if len(zones) > 1}
    assert several <= set(timezones._DEFAULT_ZONE)
    for code, zone in timezones._DEFAULT_ZONE.items():
        assert zone is None or zone in timezones._country_zones()[code], code


def test_every_zone_the_tables_can_give_loads() -> None:
    named = {z for areas in timezones._area_zones().values() for z in areas.values()}
    named |= {z for z in timezones._DEFAULT_ZONE.values() if z}
    named |= {z for z in timezones._REGION_ZONES.values() if z}
    named |= {z for zones in timezones._country_zones().values() for z in zones}
    for zone in named:
        assert zoneinfo.ZoneInfo(zone).key == zone


def test_area_tables_cover_every_state_and_province() -> None:
    areas = timezones._area_zones()
    us = {"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
          "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
          "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"}
    canada = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
    australia = {"ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"}
    brazil = {"AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE",
              "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"}
    for country, codes in (("US", us), ("CA", canada), ("AU", australia), ("BR", brazil)):
        assert {c.lower() for c in codes} <= set(areas[country]), country


def test_the_database_is_read_once() -> None:
    zone_for("GB")
    zone_for("US", "CA")
    assert timezones._country_zones.cache_info().currsize == 1
    assert timezones._country_names.cache_info().currsize == 1
