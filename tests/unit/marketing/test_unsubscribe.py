from __future__ import annotations

import pytest

from backroom.errors import SignatureInvalid
from backroom.marketing.unsubscribe import read_unsubscribe_token, unsubscribe_token

SECRET = b"s3cret"


def test_a_token_names_the_store_and_the_lower_cased_address_it_was_made_for() -> None:
    token = unsubscribe_token(SECRET, 7, "Ada@Example.com")
    assert read_unsubscribe_token(SECRET, token) == (7, "ada@example.com")
    assert token == unsubscribe_token(SECRET, 7, "ada@example.com")  # stable: the same link in every email


@pytest.mark.parametrize("token", [
    unsubscribe_token(b"another secret", 7, "ada@example.com"),  # not made by us
    unsubscribe_token(SECRET, 7, "ada@example.com").split(".")[0] + "."
    + unsubscribe_token(SECRET, 7, "bob@example.com").split(".")[1],  # another address's signature
    unsubscribe_token(SECRET, 7, "ada@example.com")[:-2],  # truncated
    "no-dot", "bm90LWEtc3RvcmU.AAAA", "",
])
def test_a_token_backroom_did_not_sign_is_refused(token: str) -> None:
    with pytest.raises(SignatureInvalid) as refused:
        read_unsubscribe_token(SECRET, token)
    assert refused.value.code == "unsubscribe_link_invalid"
