"""Signing keys: each algorithm, kids, rotation, the JWKS, and forged or retired tokens refused."""

import base64
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from app import create_app
from app.keys import thumbprint
from config import ConfigError, Settings
from helpers import PASSWORD, TEST_SECRET, bearer, claims_of, run_until_exit, sign_like

INVALID = {"success": False, "message": "Your access token is invalid.", "code": "invalidToken"}
OLD_SECRET = "the-previous-secret-of-at-least-32-bytes-0123456789"

GENERATORS = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


def private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def private_keys() -> dict:
    """Two keys of each algorithm (current and next), made once: RSA generation is slow."""
    return {algorithm: (make(), make()) for algorithm, make in GENERATORS.items()}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token(app) -> str:
    client = app.test_client()
    client.post(
        "/api/auth/signup", json={"first": "A", "last": "B", "email": "a@example.com", "password": PASSWORD}
    )
    response = client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.json
    return response.json["authToken"]


def guard_answer(app, token: str):
    return app.test_client().get("/api/auth/getAll", headers=bearer(token))


def restarted(old_app, new_app):
    """Give `new_app` the users of `old_app`, as a restart with new keys on the same database would."""
    old_db = old_app.extensions["auth_service"].storage.db
    new_app.extensions["auth_service"].storage.db["Users"].insert_many(old_db["Users"].find())
    return new_app


@pytest.mark.parametrize("algorithm", sorted(GENERATORS))
def test_each_asymmetric_algorithm_signs_and_verifies(make_app, private_keys, algorithm):
    app = make_app(jwt_algorithm=algorithm, jwt_private_key=private_pem(private_keys[algorithm][0]))
    token = access_token(app)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm
    assert guard_answer(app, token).status_code == 201
    refresh = (
        app.test_client()
        .post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
        .json["refreshToken"]
    )
    renewed = app.test_client().post("/api/auth/refreshToken", json={"refreshToken": refresh})
    assert renewed.status_code == 200


def test_every_token_names_its_key(auth, app):
    tokens = auth.tokens()
    kid = app.extensions["auth_service"].signer.keys.signing.kid
    assert jwt.get_unverified_header(tokens["authToken"])["kid"] == kid
    assert jwt.get_unverified_header(tokens["refreshToken"])["kid"] == kid
    assert TEST_SECRET not in kid


@pytest.mark.parametrize("algorithm", sorted(GENERATORS))
def test_the_jwks_publishes_the_public_key_that_verifies_tokens(make_app, private_keys, algorithm):
    app = make_app(jwt_algorithm=algorithm, jwt_private_key=private_pem(private_keys[algorithm][0]))
    token = access_token(app)
    response = app.test_client().get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Vary"] == "Origin"  # a cache must not give browsers a copy without CORS
    [key] = response.json["keys"]
    assert key["kid"] == jwt.get_unverified_header(token)["kid"]
    assert key["alg"] == algorithm and key["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), "no private or secret part"
    # Another service verifies the token with the published key alone.
    verified = jwt.decode(token, jwt.PyJWK(key).key, algorithms=[algorithm], options={"verify_exp": False})
    assert verified["type"] == "access"


def test_the_jwks_is_a_404_envelope_when_tokens_use_a_shared_secret(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 404
    assert response.json["success"] is False
    assert "shared secret" in response.json["message"]


def test_the_kid_is_the_start_of_the_rfc_7638_thumbprint():
    # The example of RFC 7638, section 3.1.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZ"
        "CiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJ"
        "ZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xB"
        "niIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# Forged tokens


def test_alg_none_with_the_right_kid_is_refused(auth, client):
    token = auth.tokens()["authToken"]
    header = {"alg": "none", "typ": "JWT", "kid": jwt.get_unverified_header(token)["kid"]}
    unsigned = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_of(token)).encode())}."
    assert client.get("/api/auth/getAll", headers=bearer(unsigned)).json == INVALID


def test_hs256_signed_with_the_rsa_public_key_as_secret_is_refused(make_app, private_keys):
    """The classic algorithm confusion: the public key is public, so it must not work as an HMAC secret."""
    key = private_keys["RS256"][0]
    app = make_app(jwt_algorithm="RS256", jwt_private_key=private_pem(key))
    token = access_token(app)
    header = {"alg": "HS256", "typ": "JWT", "kid": jwt.get_unverified_header(token)["kid"]}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_of(token)).encode())}"
    signature = hmac.new(public_pem(key).encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64(signature)}"
    assert guard_answer(app, forged).json == INVALID


def test_an_unknown_kid_is_refused_even_when_the_signature_is_good(auth, client):
    token = auth.tokens()["authToken"]
    other_kid = jwt.encode(claims_of(token), TEST_SECRET, algorithm="HS256", headers={"kid": "not-ours"})
    no_kid = jwt.encode(claims_of(token), TEST_SECRET, algorithm="HS256")
    for forged in (other_kid, no_kid):
        assert client.get("/api/auth/getAll", headers=bearer(forged)).json == INVALID


def test_jwk_jku_and_x5u_headers_are_never_trusted(make_app, private_keys):
    ours, attackers = private_keys["ES256"]
    app = make_app(jwt_algorithm="ES256", jwt_private_key=private_pem(ours))
    token = access_token(app)
    embedded = jwt.algorithms.ECAlgorithm.to_jwk(attackers.public_key(), as_dict=True)
    for header in (
        {"jwk": embedded},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
    ):
        forged = sign_like(token, claims_of(token), key=attackers, algorithm="ES256", **header)
        assert guard_answer(app, forged).json == INVALID


# Rotation


def test_rotating_the_secret_keeps_old_tokens_until_the_old_secret_is_removed(make_app):
    old_app = make_app(secret_key=OLD_SECRET)
    old_token = access_token(old_app)
    rotated = restarted(old_app, make_app(previous_secret_keys=(OLD_SECRET,)))
    assert guard_answer(rotated, old_token).status_code == 201
    new_kid = jwt.get_unverified_header(access_token(rotated))["kid"]
    assert new_kid != jwt.get_unverified_header(old_token)["kid"]
    retired = make_app()
    assert guard_answer(retired, old_token).json == INVALID


def test_rotating_a_key_pair_keeps_old_tokens_and_publishes_both_keys(make_app, private_keys):
    old, new = private_keys["RS256"]
    old_app = make_app(jwt_algorithm="RS256", jwt_private_key=private_pem(old))
    old_token = access_token(old_app)
    rotated = make_app(
        jwt_algorithm="RS256", jwt_private_key=private_pem(new), jwt_previous_public_keys=(public_pem(old),)
    )
    restarted(old_app, rotated)
    assert guard_answer(rotated, old_token).status_code == 201
    kids = {key["kid"] for key in rotated.test_client().get("/.well-known/jwks.json").json["keys"]}
    assert jwt.get_unverified_header(old_token)["kid"] in kids
    assert jwt.get_unverified_header(access_token(rotated))["kid"] in kids
    assert len(kids) == 2
    retired = make_app(jwt_algorithm="RS256", jwt_private_key=private_pem(new))
    assert guard_answer(retired, old_token).json == INVALID


def test_moving_from_a_secret_to_a_key_pair_keeps_old_tokens_each_under_its_own_algorithm(
    make_app, private_keys
):
    old_app = make_app()
    old_token = access_token(old_app)
    moved = make_app(
        jwt_algorithm="EdDSA",
        jwt_private_key=private_pem(private_keys["EdDSA"][0]),
        previous_secret_keys=(TEST_SECRET,),
    )
    restarted(old_app, moved)
    assert guard_answer(moved, old_token).status_code == 201
    # The retired secret still verifies only HS256: an HS512 token under its kid is refused.
    assert guard_answer(moved, sign_like(old_token, claims_of(old_token), algorithm="HS512")).json == INVALID
    # The secret is never published.
    assert len(moved.test_client().get("/.well-known/jwks.json").json["keys"]) == 1


# Configuration


ROOT = Path(__file__).resolve().parent.parent


def env(**values) -> dict:
    return {"SECRET_KEY": TEST_SECRET, "BCRYPT_ROUNDS": "4", **values}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"JWT_ALGORITHM": "HS512"}, "JWT_ALGORITHM must be one of HS256, RS256, ES256, EdDSA"),
        ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM must be one of HS256, RS256, ES256, EdDSA"),
        ({"JWT_ALGORITHM": "RS256"}, "needs JWT_PRIVATE_KEY"),
        ({"JWT_LEEWAY": "3600"}, "JWT_LEEWAY"),
    ],
)
def test_unusable_key_settings_refuse_to_start(values, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env(**values))


def test_production_accepts_a_key_pair_instead_of_a_secret(private_keys):
    settings = Settings.from_env(
        {
            "APP_ENV": "production",
            "MONGO_URI": "mongodb://db.invalid/auth",
            "JWT_ALGORITHM": "ES256",
            "JWT_PRIVATE_KEY": private_pem(private_keys["ES256"][0]),
        }
    )
    assert settings.tokens.asymmetric


def test_production_refuses_a_short_previous_secret():
    with pytest.raises(ConfigError, match="PREVIOUS_SECRET_KEYS"):
        Settings.from_env(
            {
                "APP_ENV": "production",
                "MONGO_URI": "mongodb://db.invalid/auth",
                "SECRET_KEY": TEST_SECRET,
                "PREVIOUS_SECRET_KEYS": "short",
            }
        )


def test_keys_are_read_from_pem_files_and_from_escaped_pem_text(private_keys, tmp_path):
    key = private_keys["RS256"][0]
    path = tmp_path / "private.pem"
    path.write_text(private_pem(key))
    escaped = private_pem(key).replace("\n", "\\n")  # as a one-line .env entry writes it
    kids = set()
    for value in (str(path), escaped):
        app = create_app(Settings.from_env(env(JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY=value)))
        kids.add(app.extensions["auth_service"].signer.keys.signing.kid)
    assert len(kids) == 1


@pytest.mark.parametrize(
    ("algorithm", "private", "public", "message"),
    [
        ("RS256", "ES256", None, "key for ES256, not RS256"),
        ("RS256", "RS256", "other RS256", "not the public half"),
        ("RS256", "not a pem", None, "PEM text or the path"),
        ("RS256", "small RSA", None, "at least 2048 bits"),
    ],
)
def test_mismatched_or_unreadable_keys_refuse_to_start(private_keys, algorithm, private, public, message):
    pems = {
        "ES256": lambda: private_pem(private_keys["ES256"][0]),
        "RS256": lambda: private_pem(private_keys["RS256"][0]),
        "other RS256": lambda: public_pem(private_keys["RS256"][1]),
        # A weak key, made only to prove that it is refused.
        "small RSA": lambda: private_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
        "not a pem": lambda: "/no/such/file.pem",
    }
    values = env(JWT_ALGORITHM=algorithm, JWT_PRIVATE_KEY=pems[private]())
    if public:
        values["JWT_PUBLIC_KEY"] = pems[public]()
    with pytest.raises(ConfigError, match=message):
        create_app(Settings.from_env(values))


def test_a_secrets_kid_is_stable_and_is_not_its_public_thumbprint():
    """Anyone can compute a symmetric key's RFC 7638 thumbprint from a guessed secret; not so an HMAC."""
    import base64

    from app.keys import key_id, secret_key

    secret = "s" * 40
    kid = secret_key(secret).kid
    assert kid == secret_key(secret).kid != secret_key("t" * 40).kid
    encoded = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    assert kid != key_id({"kty": "oct", "k": encoded})


def armourless(pem: str) -> str:
    """A private key pasted without its BEGIN/END lines, as one long line: still key material."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


@pytest.mark.parametrize(
    "value",
    [
        lambda keys: armourless(private_pem(keys["RS256"][0])),  # too long for a path: the check raised
        lambda keys: armourless(private_pem(keys["ES256"][0])),  # short enough to be looked up as a path
        lambda keys: "MIIEvg" + "\x00" + "A" * 40,  # a NUL byte
    ],
)
def test_a_key_that_is_neither_pem_nor_a_file_refuses_to_start_without_echoing_it(
    private_keys, value, caplog
):
    key = value(private_keys)
    with pytest.raises(ConfigError) as refusal:
        create_app(Settings.from_env(env(JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY=key)))
    assert "JWT_PRIVATE_KEY must be PEM text or the path of a readable PEM file." in str(refusal.value)
    shown = str(refusal.value) + repr(refusal.value.__cause__) + repr(refusal.value.__context__) + caplog.text
    assert key[:16] not in shown and key[-16:] not in shown


def test_serve_refuses_a_key_that_is_not_pem_and_its_output_holds_none_of_it(private_keys, tmp_path):
    key = armourless(private_pem(private_keys["ES256"][0])) * 4  # long: the path check raised on it
    ended = run_until_exit(
        [sys.executable, str(ROOT / "serve.py"), "--host", "127.0.0.1"],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "JWT_ALGORITHM": "ES256",
            "JWT_PRIVATE_KEY": key,
            "PORT": "1",
        },
    )
    assert ended.returncode != 0
    assert "JWT_PRIVATE_KEY must be PEM text or the path of a readable PEM file." in ended.stderr
    output = ended.stdout + ended.stderr
    assert not any(key[start : start + 16] in output for start in range(0, len(key) - 16, 8))
