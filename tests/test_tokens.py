"""TokenSigner: remembered verifications never outlive a token or cross to another key."""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

import jwt
import pytest

from app.keys import KeySet, secret_key
from app.tokens import ACCESS, KNOWN_HEADERS, REFRESH, TokenError, TokenSigner
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


# The compact form is parsed by this server (not by jwt.decode): each spelling it must refuse.


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forged(token: str, claims: dict | None = None, **header) -> str:
    """Re-sign `token` (or `claims`) with the right secret, its kid and any extra header fields."""
    kid = jwt.get_unverified_header(token)["kid"]
    payload = claims if claims is not None else claims_of(token)
    return jwt.encode(payload, TEST_SECRET, algorithm="HS256", headers={"kid": kid, **header})


def refused(token: object, tokens: TokenSigner | None = None) -> bool:
    try:
        (tokens or signer()).verify(token, ACCESS, NOW)
    except TokenError:
        return True
    return False


def test_a_well_formed_token_re_signed_with_the_right_secret_passes():
    token = signer().access_token(USER, "session", NOW)
    assert not refused(forged(token))


def swap_last_character(segment: str) -> str:
    """Spell the same bytes another way: change only the spare low bits of the last character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) ^ 1]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", "=.", 1),
        lambda t: t.replace(".", "!.", 1),  # characters outside base64url
        lambda t: t + ".e30",  # a fourth segment
        lambda t: t.rsplit(".", 1)[0],  # two segments
        lambda t: t.rsplit(".", 1)[0] + ".",  # an empty signature
        lambda t: (
            t[: t.rindex(".") + 1] + swap_last_character(t.rsplit(".", 1)[1])
        ),  # the same signature spelled otherwise
        lambda t: " " + t,
        lambda t: t.encode(),  # bytes, not text
        lambda t: "é" + t,
    ],
)
def test_tokens_spelled_in_any_but_the_canonical_compact_form_are_refused(spoil):
    token = signer().access_token(USER, "session", NOW)
    assert not refused(token)
    assert refused(spoil(token))


@pytest.mark.parametrize("header", [{"crit": ["exp"]}, {"crit": ["b64"], "b64": False}, {"b64": False}])
def test_header_extensions_this_server_never_uses_are_refused(header):
    token = signer().access_token(USER, "session", NOW)
    assert refused(forged(token, **header))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_as_is(header: dict, payload: str) -> str:
    """Sign any header and payload text with the right secret, as PyJWT would refuse to."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload.encode())}"
    signature = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_a_token_signed_as_is_with_the_right_kid_passes():
    token = signer().access_token(USER, "session", NOW)
    header = jwt.get_unverified_header(token)
    assert not refused(signed_as_is(header, json.dumps(claims_of(token))))


@pytest.mark.parametrize("payload", ["[1, 2]", "not json", '"text"', "[" * 100_000])
def test_a_signed_payload_that_is_not_a_json_object_is_refused(payload):
    header = jwt.get_unverified_header(signer().access_token(USER, "session", NOW))
    assert refused(signed_as_is(header, payload))


def test_a_kid_that_is_not_text_is_refused():
    token = signer().access_token(USER, "session", NOW)
    assert refused(signed_as_is({"alg": "HS256", "kid": 7}, json.dumps(claims_of(token))))


def test_a_token_not_valid_before_a_later_time_is_refused_until_then():
    tokens = signer()
    token = tokens.access_token(USER, "session", NOW)
    later = forged(token, {**claims_of(token), "nbf": NOW.timestamp() + 60})
    with pytest.raises(TokenError):
        tokens.verify(later, ACCESS, NOW)
    assert tokens.verify(later, ACCESS, NOW + timedelta(seconds=60))["sub"] == USER["id"]


def audience_signer(audience: str | None) -> TokenSigner:
    key = secret_key(TEST_SECRET)
    keys = KeySet(signing=key, verifying={key.kid: key})
    return TokenSigner(keys=keys, access_ttl=900, refresh_ttl=3600, issuer="https://auth", audience=audience)


@pytest.mark.parametrize(
    ("audience", "claim", "accepted"),
    [
        ("mobile", "mobile", True),
        ("mobile", ["web", "mobile"], True),
        ("mobile", ["web"], False),
        ("mobile", ["mobile", 7], False),
        ("mobile", None, False),
        ("mobile", {"mobile": 1}, False),
        (None, "mobile", False),
        (None, None, True),
    ],
)
def test_the_audience_is_checked_as_pyjwt_checks_it(audience, claim, accepted):
    tokens = audience_signer(audience)
    claims = jwt.decode(tokens.access_token(USER, "session", NOW), options={"verify_signature": False})
    claims.pop("aud", None)
    if claim is not None:
        claims["aud"] = claim
    token = forged(tokens.access_token(USER, "session", NOW), claims)
    assert refused(token, tokens) is not accepted


@pytest.mark.parametrize("issuer", [None, "https://other", 7])
def test_a_token_from_another_or_no_issuer_is_refused_when_an_issuer_is_set(issuer):
    tokens = audience_signer(None)
    token = tokens.access_token(USER, "session", NOW)
    claims = claims_of(token)
    assert not refused(signed_as_is(jwt.get_unverified_header(token), json.dumps(claims)), tokens)
    claims.pop("iss")
    if issuer is not None:
        claims["iss"] = issuer
    assert refused(signed_as_is(jwt.get_unverified_header(token), json.dumps(claims)), tokens)


def test_header_spellings_are_remembered_only_when_valid_and_only_a_few():
    tokens = signer()
    token = tokens.access_token(USER, "session", NOW)
    header = jwt.get_unverified_header(token)
    for number in range(3 * KNOWN_HEADERS):  # each a valid header, spelled differently
        assert not refused(signed_as_is({**header, "n": number}, json.dumps(claims_of(token))), tokens)
    assert refused(signed_as_is({**header, "kid": "unknown"}, json.dumps(claims_of(token))), tokens)
    assert len(tokens._header_keys._known) == KNOWN_HEADERS
    assert all(key.kid == header["kid"] for key in tokens._header_keys._known.values())
