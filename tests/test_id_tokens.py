"""POST /api/auth/loginWithIdToken: only a token the provider issued for this app, now, gets in."""

from __future__ import annotations

import json
import threading

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.id_tokens import InvalidIdToken, KeySetUnavailable, ProviderKeys
from config import ConfigError, Settings, is_safe_key_set_url
from helpers import at_once, bearer, refresh
from providers import JUNK, b64, epoch, hashed_nonce, hmac_with, rsa_key, unsigned

INVALID_ID_TOKEN = {"success": False, "message": "The sign-in token is invalid.", "code": "invalidIdToken"}


def sign_in(client, provider: str, token: str, **fields):
    return client.post("/api/auth/loginWithIdToken", json={"provider": provider, "idToken": token, **fields})


def refused(response) -> bool:
    return response.status_code == 400 and response.json == INVALID_ID_TOKEN


def test_a_google_token_signs_in_like_a_password_login(id_client, google):
    response = sign_in(id_client, "google", google.token())
    assert response.status_code == 200, response.json
    body = response.json
    assert body["success"] is True and body["created"] is True
    assert body["user"]["email"] == "ada@example.com"
    assert (body["user"]["first"], body["user"]["last"]) == ("Ada", "Lovelace")
    me = id_client.get("/api/auth/me", headers=bearer(body["authToken"]))
    assert me.json["user"]["id"] == body["user"]["id"]
    assert refresh(id_client, body["refreshToken"]).status_code == 200
    sessions = id_client.get("/api/auth/sessions", headers=bearer(body["authToken"])).json["sessions"]
    assert len(sessions) == 1 and sessions[0]["current"] is True
    activity = id_client.get("/api/auth/activity", headers=bearer(body["authToken"])).json["activity"]
    assert [(entry["activity"], entry["method"]) for entry in activity] == [
        ("login", "google"),
        ("signup", "google"),
    ]


def test_the_same_identity_signs_in_to_the_same_account(id_client, google):
    first = sign_in(id_client, "google", google.token()).json
    again = sign_in(id_client, "google", google.token()).json
    assert again["created"] is False
    assert again["user"]["id"] == first["user"]["id"]
    assert again["refreshToken"] != first["refreshToken"]  # a session of its own, as a second device


def test_an_apple_token_signs_in_with_the_names_the_app_sends(id_client, apple):
    response = sign_in(id_client, "apple", apple.token(), first=" Ada ", last="Lovelace")
    assert response.status_code == 200, response.json
    assert (response.json["user"]["first"], response.json["user"]["last"]) == ("Ada", "Lovelace")


@pytest.mark.parametrize("provider", ["google", "apple"])
def test_the_token_holds_the_sha256_hex_of_the_raw_nonce_sent(id_client, google, apple, provider):
    fake = google if provider == "google" else apple
    raw = " 0f1c3a2e-raw-nonce "  # hashed exactly as the app made it, spaces included
    response = sign_in(id_client, provider, fake.token(nonce=hashed_nonce(raw)), nonce=raw)
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("provider", ["google", "apple"])
def test_a_tokens_own_nonce_sent_back_as_the_nonce_is_refused(id_client, google, apple, provider):
    fake = google if provider == "google" else apple
    # Whoever holds a copy of the token can read its claim: only the raw nonce behind it proves anything.
    for in_token in (hashed_nonce("raw-nonce"), "raw-nonce"):
        assert refused(sign_in(id_client, provider, fake.token(nonce=in_token), nonce=in_token))


def bad_tokens(google, apple, clock) -> dict[str, str]:
    """Every way an ID token can be wrong, each built on an otherwise valid Google token."""
    now = epoch(clock())
    stranger = rsa_key(3)
    return {
        "bad signature": google.token(key=stranger),
        "alg none": unsigned(google.claims(), "g1"),
        "HS256 with the public key as secret": hmac_with(google.claims(), google.public_pem(), "g1"),
        "wrong iss": google.token(iss="https://accounts.google.evil.com"),
        "iss of the other provider": google.token(iss=apple.issuer),
        "aud not configured": google.token(aud="another-app.apps.googleusercontent.com"),
        "aud with one of ours and another": google.token(aud=[google.client_ids[0], "another-app"]),
        "expired": google.token(iat=now - 7200, exp=now - 1),
        "expiring this second": google.token(exp=now),
        "iat in the future": google.token(iat=now + 60, exp=now + 3600),
        "exp not a number": google.token(exp="tomorrow"),
        "no exp": google.token(exp=None),
        "no iat": google.token(iat=None),
        "no sub": google.token(sub=None),
        "a sub that is not a string": google.token(sub=12345),
        "no aud": google.token(aud=None),
        "not yet valid": google.token(nbf=now + 600),
        "garbage": "not a token at all",
        "three garbage parts": "abc.def.ghi",
        "a JWT header and nothing else": google.token().split(".")[0] + "..",
        "over-long": google.token() + "A" * 9000,
    }


def test_every_wrong_token_is_refused_with_invalid_id_token(id_client, google, apple, clock):
    for name, token in bad_tokens(google, apple, clock).items():
        response = sign_in(id_client, "google", token)
        assert refused(response), (name, response.status_code, response.json)
    assert id_client.application.extensions["auth_service"].storage.db["Users"].count_documents({}) == 0


def test_a_token_with_an_unknown_kid_is_refused_after_one_refetch(id_client, google, clock):
    assert sign_in(id_client, "google", google.token()).status_code == 200
    clock.advance(61)
    fetched = google.fetches
    google.add_key("g-unpublished", rsa_key(2), publish=False)
    assert refused(sign_in(id_client, "google", google.token()))
    assert google.fetches == fetched + 1
    assert refused(sign_in(id_client, "google", google.token()))  # within the minute: no second fetch
    assert google.fetches == fetched + 1


def test_a_google_token_sent_as_apple_is_refused(id_client, google, apple, clock):
    assert refused(sign_in(id_client, "apple", google.token()))
    # Even with the very same key in both sets, Apple's issuer and audiences do not match.
    apple.add_key("g1", google.keys["g1"])
    clock.advance(61)  # Apple's set was fetched just now: the next fetch may come a minute later
    assert refused(sign_in(id_client, "apple", google.token(aud=apple.client_ids[0])))
    assert sign_in(id_client, "apple", apple.token(kid="g1")).status_code == 200


@pytest.mark.parametrize(
    ("client_nonce", "token_nonce"),
    [("raw-nonce", None), ("raw-nonce", "another-nonce"), (None, "raw-nonce"), ("raw-nonce", 42)],
    ids=["missing from the token", "different", "the client sent none", "not a string"],
)
def test_a_nonce_that_does_not_match_is_refused(id_client, apple, client_nonce, token_nonce):
    token = apple.token(nonce=token_nonce) if token_nonce is not None else apple.token()
    fields = {"nonce": client_nonce} if client_nonce is not None else {}
    assert refused(sign_in(id_client, "apple", token, **fields))


def test_a_provider_without_client_ids_is_disabled(make_app, key_server, google):
    client = make_app(google_client_ids=(), google_jwks_url=key_server.url("google")).test_client()
    response = sign_in(client, "google", google.token())
    assert response.status_code == 400
    assert response.json["code"] == "providerDisabled"
    assert google.fetches == 0  # nothing is fetched for a provider that is off


def test_bad_requests_get_a_clear_400(id_client):
    unknown = id_client.post("/api/auth/loginWithIdToken", json={"provider": "facebook", "idToken": "x"})
    assert unknown.status_code == 400 and "provider" in unknown.json["errors"]
    missing = id_client.post("/api/auth/loginWithIdToken", json={"provider": "google"})
    assert missing.json["message"] == "You must send the provider and the sign-in token."
    not_text = id_client.post(
        "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": {"$ne": None}}
    )
    assert not_text.status_code == 400 and "idToken" in not_text.json["errors"]
    long_nonce = id_client.post(
        "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": "x", "nonce": "n" * 600}
    )
    assert long_nonce.status_code == 400 and "nonce" in long_nonce.json["errors"]


def test_a_token_without_an_email_cannot_make_an_account(id_client, google):
    assert refused(sign_in(id_client, "google", google.token(email=None)))


# The key set: fetched rarely, over HTTPS, and its failures are 503s, never a way in.


def test_the_key_set_is_fetched_once_and_kept(id_client, google, clock):
    for _ in range(3):
        assert sign_in(id_client, "google", google.token()).status_code == 200
    assert google.fetches == 1
    clock.advance(3600)  # an hour later it is fetched again, on the next token
    assert sign_in(id_client, "google", google.token()).status_code == 200
    assert google.fetches == 2


def test_a_burst_of_unknown_kids_fetches_the_key_set_at_most_once(id_app, id_client, google, clock):
    assert sign_in(id_client, "google", google.token()).status_code == 200
    assert google.fetches == 1
    clock.advance(120)
    forged = [google.token(kid=f"forged-{index}", key=rsa_key(3)) for index in range(8)]
    responses = at_once(id_app, 8, lambda client: sign_in(client, "google", forged.pop()))
    assert all(refused(response) for response in responses)
    assert google.fetches == 2
    clock.advance(30)
    assert refused(sign_in(id_client, "google", google.token(kid="forged-x", key=rsa_key(3))))
    assert google.fetches == 2
    clock.advance(31)
    assert refused(sign_in(id_client, "google", google.token(kid="forged-y", key=rsa_key(3))))
    assert google.fetches == 3


def test_a_rotated_key_is_picked_up_and_a_retired_one_dropped(id_client, google, clock):
    assert sign_in(id_client, "google", google.token()).status_code == 200
    clock.advance(61)
    google.add_key("g2", rsa_key(2))  # published and signing from now on
    assert sign_in(id_client, "google", google.token()).status_code == 200
    assert sign_in(id_client, "google", google.token(kid="g1")).status_code == 200  # still published
    google.publish(["g2"])  # g1 retired
    clock.advance(3600)
    assert sign_in(id_client, "google", google.token(kid="g2")).status_code == 200
    assert refused(sign_in(id_client, "google", google.token(kid="g1")))


def unavailable(response) -> bool:
    return (
        response.status_code == 503
        and response.json["code"] == "providerUnavailable"
        and int(response.headers["Retry-After"]) >= 1
    )


def test_the_key_server_down_is_a_503_and_no_token_gets_in(id_client, google, key_server, clock):
    key_server.stop()
    assert unavailable(sign_in(id_client, "google", google.token()))
    assert unavailable(sign_in(id_client, "google", google.token(key=rsa_key(3))))
    clock.advance(61)
    assert unavailable(sign_in(id_client, "google", google.token()))


@pytest.mark.parametrize("junk", list(JUNK))
def test_a_key_server_answering_junk_is_a_503(id_client, google, key_server, junk):
    key_server.junk["google"] = JUNK[junk]
    assert unavailable(sign_in(id_client, "google", google.token()))


def test_keys_already_held_keep_working_while_the_key_server_is_down(id_client, google, key_server, clock):
    assert sign_in(id_client, "google", google.token()).status_code == 200
    key_server.junk["google"] = JUNK["an error status"]
    clock.advance(3600 * 2)  # the set is old; refetching fails; the keys held are still Google's
    assert sign_in(id_client, "google", google.token()).status_code == 200
    assert refused(sign_in(id_client, "google", google.token(key=rsa_key(3))))
    google.add_key("g2", rsa_key(2), publish=False)
    clock.advance(61)
    assert unavailable(sign_in(id_client, "google", google.token()))  # maybe a new key: try again later
    clock.advance(3600 * 24)  # down for a day: the old keys are no longer trusted
    assert unavailable(sign_in(id_client, "google", google.token(kid="g1")))


def test_a_slow_key_server_times_out_into_unavailable(key_server, google, clock):
    key_server.delay["google"] = 2
    keys = ProviderKeys("google", key_server.url("google"), timeout=0.2)
    with pytest.raises(KeySetUnavailable) as raised:
        keys.key("g1", clock())
    assert 1 <= raised.value.retry_after <= 60
    key_server.delay["google"] = 0
    with pytest.raises(KeySetUnavailable):
        keys.key("g1", clock())  # not asked again within the minute
    clock.advance(60)
    assert keys.key("g1", clock()).key_id == "g1"


def test_while_an_old_key_set_is_refetched_the_keys_held_serve_without_waiting(key_server, google, clock):
    keys = ProviderKeys("google", key_server.url("google"))
    assert keys.key("g1", clock()).key_id == "g1"
    clock.advance(3600)  # old now: the next token refetches it
    key_server.held["google"] = threading.Event()
    key_server.arrived.clear()
    refetch = threading.Thread(target=keys.key, args=("g1", clock()))
    refetch.start()
    assert key_server.arrived.wait(timeout=10)
    assert keys.key("g1", clock()).key_id == "g1"  # answered while the refetch is still held
    assert refetch.is_alive()
    key_server.held["google"].set()
    refetch.join()
    assert google.fetches == 2


def test_a_request_that_read_the_clock_before_the_last_fetch_does_not_fetch_again(key_server, google, clock):
    keys = ProviderKeys("google", key_server.url("google"))
    started = clock()
    clock.advance(2)
    keys.key("g1", clock())
    with pytest.raises(InvalidIdToken):
        keys.key("forged", started)  # it waited for the fetch above, which began after it
    assert google.fetches == 1
    clock.advance(3600 * 24)  # a clock set back by a day may fetch again
    keys.key("g1", clock())
    with pytest.raises(InvalidIdToken):
        keys.key("forged", started)
    assert google.fetches == 3


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://www.googleapis.com/oauth2/v3/certs", True),
        ("http://127.0.0.1:8080/keys", True),
        ("http://[::1]/keys", True),
        ("http://localhost/keys", True),
        ("http://www.googleapis.com/oauth2/v3/certs", False),
        ("http://10.0.0.1/keys", False),
        ("file:///etc/passwd", False),
        ("ftp://example.com/keys", False),
        ("https:///keys", False),
    ],
)
def test_key_sets_come_over_https_or_from_loopback_only(url, safe):
    assert is_safe_key_set_url(url) is safe
    if not safe:
        with pytest.raises(ValueError):
            ProviderKeys("google", url)
        with pytest.raises(ConfigError):
            Settings.from_env({"APP_ENV": "testing", "GOOGLE_JWKS_URL": url})


def test_the_settings_read_client_ids_and_default_to_the_providers_key_sets():
    settings = Settings.from_env(
        {"APP_ENV": "testing", "GOOGLE_CLIENT_IDS": " a.apps, b.apps ,", "APPLE_CLIENT_IDS": ""}
    )
    assert settings.providers.google_client_ids == ("a.apps", "b.apps")
    assert settings.providers.apple_client_ids == ()
    assert settings.providers.google_jwks_url == "https://www.googleapis.com/oauth2/v3/certs"
    assert settings.providers.apple_jwks_url == "https://appleid.apple.com/auth/keys"


def test_the_leeway_forgives_a_token_just_expired(make_app, key_server, google, clock):
    client = make_app(
        google_client_ids=google.client_ids, google_jwks_url=key_server.url("google"), jwt_leeway=30
    ).test_client()
    now = epoch(clock())
    assert sign_in(client, "google", google.token(iat=now - 3600, exp=now - 10)).status_code == 200
    assert refused(sign_in(client, "google", google.token(iat=now - 3600, exp=now - 31)))
    assert sign_in(client, "google", google.token(iat=now + 10, exp=now + 3600)).status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
HEADER_FIELDS = ["alg", "kid", "typ", "crit", "jku", "x5c"]
CLAIM_FIELDS = ["iss", "aud", "sub", "exp", "iat", "nbf", "nonce", "email", "email_verified", "given_name"]


def segment(value: object) -> str:
    return b64(json.dumps(value).encode())


@given(
    header=st.dictionaries(st.sampled_from(HEADER_FIELDS), json_values, max_size=4),
    claims=st.dictionaries(st.sampled_from(CLAIM_FIELDS), json_values, max_size=8),
    signature=st.binary(max_size=300),
    nonce=st.none() | st.text(max_size=40),
)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_any_token_shaped_input_is_refused_cleanly(id_client, google, header, claims, signature, nonce):
    header.setdefault("kid", "g1")  # most reach the signature check with a real key
    token = f"{segment(header)}.{segment(claims)}.{b64(signature)}"
    body = {"provider": "google", "idToken": token} | ({"nonce": nonce} if nonce is not None else {})
    response = id_client.post("/api/auth/loginWithIdToken", json=body)
    assert response.status_code == 400, response.json
    assert response.json["success"] is False


@given(claims=st.dictionaries(st.sampled_from(CLAIM_FIELDS), json_values, max_size=8))
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_any_claims_signed_by_the_provider_are_checked_without_a_500(id_client, google, claims):
    """Even a genuine signature over claims of any shape and type is refused or accepted, never a crash."""
    payload = json.dumps(claims).encode()  # signed as bytes: PyJWT's encode would refuse some of these
    token = jwt.api_jws.encode(payload, google.keys["g1"], algorithm="RS256", headers={"kid": "g1"})
    response = id_client.post("/api/auth/loginWithIdToken", json={"provider": "google", "idToken": token})
    assert response.status_code in (200, 400), response.json
