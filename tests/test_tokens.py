"""TokenSigner: remembered verifications never outlive a token or cross to another key."""

from datetime import datetime, timedelta

import pytest

from app.keys import KeySet, secret_key
from app.tokens import ACCESS, REFRESH, TokenError, TokenSigner
from helpers import TEST_SECRET

NOW = datetime(2030, 1, 1, 12, 0, 0)
USER = {"id": "6a1d3b2c4e5f6a7b8c9d0e1f", "email": "ada@example.com", "first": "Ada", "last": "Lovelace"}


def signer(secret: str = TEST_SECRET) -> TokenSigner:
    key = secret_key(secret)
    return TokenSigner(keys=KeySet(signing=key, verifying={key.kid: key}), access_ttl=900, refresh_ttl=3600)


def test_a_remembered_token_is_refused_once_it_expires():
    tokens = signer()
    token = tokens.access_token(USER, "session", NOW)
    assert tokens.verify(token, ACCESS, NOW + timedelta(seconds=899))["sub"] == USER["id"]
    with pytest.raises(TokenError):
        tokens.verify(token, ACCESS, NOW + timedelta(seconds=900))


def test_changing_the_returned_claims_does_not_change_the_next_answer():
    tokens = signer()
    token = tokens.access_token(USER, "session", NOW)
    tokens.verify(token, ACCESS, NOW)["sub"] = "someone else"
    assert tokens.verify(token, ACCESS, NOW)["sub"] == USER["id"]


def test_a_token_verified_by_one_key_is_still_refused_by_another():
    token = signer().access_token(USER, "session", NOW)
    signer().verify(token, ACCESS, NOW)
    with pytest.raises(TokenError):
        signer("another-secret-that-is-long-enough-for-hs256-000").verify(token, ACCESS, NOW)


def test_a_token_verified_as_access_is_still_refused_as_refresh():
    tokens = signer()
    token = tokens.access_token(USER, "session", NOW)
    tokens.verify(token, ACCESS, NOW)
    with pytest.raises(TokenError):
        tokens.verify(token, REFRESH, NOW)
