"""A fake Google and Apple: a key-set server on 127.0.0.1, and ID tokens signed as each signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

GOOGLE_ISSUER = "https://accounts.google.com"
APPLE_ISSUER = "https://appleid.apple.com"
GOOGLE_CLIENTS = ("ios.apps.googleusercontent.com", "web.apps.googleusercontent.com")
APPLE_CLIENTS = ("com.example.app",)

# What a key-set path answers besides its keys: each a way a provider's server can fail.
JUNK = {
    "not json": (200, b"<html>Service Unavailable</html>"),
    "a json array": (200, b"[]"),
    "no keys": (200, b'{"keys": []}'),
    "keys that are not keys": (200, b'{"keys": [{"kty": "RSA", "kid": "k", "n": "@@", "e": 1}]}'),
    "an error status": (500, b'{"error": "internal"}'),
}


@cache
def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """Return the test RSA key number `index` (made once per test run: they take a while)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def hashed_nonce(raw: str) -> str:
    """What an app hands Google or Apple for a raw nonce it keeps (and sends our server): its SHA-256 hex."""
    return hashlib.sha256(raw.encode()).hexdigest()


def epoch(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyServer:
    """A real HTTP server in a thread serving each provider's key set, counting its fetches."""

    def __init__(self) -> None:
        self.key_sets: dict[str, list[dict]] = {}
        self.junk: dict[str, tuple[int, bytes]] = {}
        self.delay: dict[str, float] = {}
        self.fetches: dict[str, int] = {}
        self.held: dict[str, threading.Event] = {}  # a fetch of this path waits until the event is set
        self.arrived = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
                name = self.path.strip("/")
                server.fetches[name] = server.fetches.get(name, 0) + 1
                server.arrived.set()
                if name in server.held:
                    server.held[name].wait(timeout=10)
                if server.delay.get(name):
                    time.sleep(server.delay[name])  # a server slower than the verifier's timeout
                status, body = server.junk.get(name) or (
                    200,
                    json.dumps({"keys": server.key_sets.get(name, [])}).encode(),
                )
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def stop(self) -> None:
        """Stop answering: from now on a fetch finds nobody listening."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.httpd = None


class FakeProvider:
    """Signs ID tokens the way Google or Apple does, and publishes its public keys on the key server."""

    def __init__(self, name: str, issuer: str, client_ids: tuple[str, ...], server: KeyServer, clock) -> None:
        self.name = name
        self.issuer = issuer
        self.client_ids = client_ids
        self.server = server
        self.clock = clock
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = ""

    def add_key(
        self, kid: str, key: rsa.RSAPrivateKey, *, publish: bool = True, sign_with: bool = True
    ) -> None:
        self.keys[kid] = key
        if sign_with:
            self.current_kid = kid
        if publish:
            self.publish()

    def publish(self, kids: list[str] | None = None) -> None:
        """Put the public half of these keys (default: all) in the provider's key set."""
        jwks = []
        for kid in kids if kids is not None else list(self.keys):
            jwk = RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True)
            jwks.append(jwk | {"kid": kid, "alg": "RS256", "use": "sig"})
        self.server.key_sets[self.name] = jwks

    @property
    def fetches(self) -> int:
        return self.server.fetches.get(self.name, 0)

    def claims(self, subject: str = "10769150350006150715113082367", **overrides: object) -> dict:
        now = epoch(self.clock())
        claims = {
            "iss": self.issuer,
            "aud": self.client_ids[0],
            "sub": subject,
            "iat": now,
            "exp": now + 3600,
            "email": "ada@example.com",
            "email_verified": True,
        }
        if self.name == "google":
            claims |= {
                "azp": "android.apps.googleusercontent.com",
                "given_name": "Ada",
                "family_name": "Lovelace",
            }
        else:  # Apple puts no names in its tokens, and has sent email_verified as a string
            claims |= {"email_verified": "true", "auth_time": now, "nonce_supported": True}
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def token(
        self, subject: str = "10769150350006150715113082367", *, kid: str | None = None, key=None, **claims
    ) -> str:
        """An ID token for `subject`; `kid` and `key` default to the provider's current signing key."""
        kid = kid or self.current_kid
        key = key or self.keys[kid]
        return jwt.encode(self.claims(subject, **claims), key, algorithm="RS256", headers={"kid": kid})

    def public_pem(self, kid: str | None = None) -> bytes:
        public = self.keys[kid or self.current_kid].public_key()
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def unsigned(claims: dict, kid: str) -> str:
    """A token with `alg: none` and no signature."""
    header = {"alg": "none", "kid": kid, "typ": "JWT"}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hmac_with(claims: dict, secret: bytes, kid: str) -> str:
    """A token MACed with HS256, using `secret` (say, the provider's public key) as the key."""
    header = {"alg": "HS256", "kid": kid, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"
