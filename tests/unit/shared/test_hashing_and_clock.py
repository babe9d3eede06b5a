"""HMAC signatures, content hashes and the simulated clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backroom.shared.clock import SimulatedClock, SystemClock
from backroom.shared.hashing import content_hash, sign, signature_matches

SECRET = "s3cret"
BODY = b'{"id":"000123","total":"44.99"}'


# --- sign / signature_matches ----------------------------------------------------------------------------------


def test_sign_is_base64_hmac_sha256_of_the_body() -> None:
    expected = base64.b64encode(hmac.new(b"s3cret", BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, BODY) == expected


def test_sign_matches_a_known_vector() -> None:
    # RFC 4231 test case 2 (HMAC-SHA-256), published as hex
    rfc_hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign("Jefe", b"what do ya want for nothing?") == base64.b64encode(bytes.fromhex(rfc_hex)).decode()


def test_signature_made_with_the_same_secret_matches() -> None:
    assert signature_matches(SECRET, BODY, sign(SECRET, BODY)) is True


def test_signature_with_surrounding_whitespace_still_matches() -> None:
    assert signature_matches(SECRET, BODY, f"  {sign(SECRET, BODY)}\n") is True


def test_tampered_body_does_not_match() -> None:
    # given a signature for the original body
    signature = sign(SECRET, BODY)
    tampered = BODY.replace(b"44.99", b"0.01")
    # then
    assert signature_matches(SECRET, tampered, signature) is False


def test_signature_from_another_secret_does_not_match() -> None:
    assert signature_matches(SECRET, BODY, sign("other", BODY)) is False


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_signature_does_not_match(signature: str | None) -> None:
    assert signature_matches(SECRET, BODY, signature) is False


def test_empty_secret_never_matches_even_a_correctly_computed_signature() -> None:
    # given a signature made with the empty secret
    signature = sign("", BODY)
    # then an unconfigured secret must not accept anything
    assert signature_matches("", BODY, signature) is False


def test_non_ascii_signature_does_not_match_and_does_not_raise() -> None:
    assert signature_matches(SECRET, BODY, "sïgnature") is False


def test_content_hash_is_sha256_hex() -> None:
    assert content_hash(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --- clocks ------------------------------------------------------------------------------------------------------


def test_simulated_clock_rejects_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2026, 11, 27, 10, 0))  # noqa: DTZ001 - the naive value is the point


def test_simulated_clock_starts_at_the_given_instant_in_utc() -> None:
    # given a start in UTC+1
    clock = SimulatedClock(datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    # when
    now = clock.now()
    # then
    assert now == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert now.utcoffset() == timedelta(0)


def test_simulated_clock_does_not_move_by_itself() -> None:
    clock = SimulatedClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_advance_moves_the_clock_and_returns_the_new_now() -> None:
    # given
    clock = SimulatedClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    # when
    first = clock.advance(timedelta(hours=1, minutes=30))
    second = clock.advance(timedelta(days=1))
    # then
    assert first == datetime(2026, 11, 27, 11, 30, tzinfo=UTC)
    assert second == datetime(2026, 11, 28, 11, 30, tzinfo=UTC)
    assert clock.now() == second


def test_set_jumps_to_an_aware_moment_in_utc() -> None:
    # given
    clock = SimulatedClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    # when
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))))
    # then
    assert clock.now() == datetime(2027, 1, 1, 5, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)


def test_system_clock_is_timezone_aware_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)
