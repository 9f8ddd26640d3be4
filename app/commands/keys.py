"""`flask keys generate`: new signing keys in the form `.env` reads, so nobody copies one from a page."""

from __future__ import annotations

import secrets

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from config import ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHM

from .common import OperatorGroup, echo_json

SECRET_BYTES = 48
RSA_BITS = 3072  # NIST's size for use past 2030; the server accepts 2048 and up

keys = OperatorGroup("keys", help="Make new token-signing keys.")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def new_private_key(algorithm: str) -> PrivateKey:
    """Return a new private key for an asymmetric algorithm this server signs with."""
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def pem_pair(private: PrivateKey) -> tuple[str, str]:
    """Return the unencrypted PKCS#8 PEM of a private key and the PEM of its public half."""
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode(), public_pem.decode()


def one_line(pem: str) -> str:
    """Return PEM text on one line, its line breaks written `\\n`, as JWT_PRIVATE_KEY accepts it."""
    return pem.strip().replace("\n", "\\n")


def new_settings(algorithm: str) -> dict[str, str]:
    """Return the settings that make the server sign with a new key of `algorithm`."""
    if algorithm == SYMMETRIC_ALGORITHM:
        return {"JWT_ALGORITHM": algorithm, "SECRET_KEY": secrets.token_urlsafe(SECRET_BYTES)}
    private_pem, public_pem = pem_pair(new_private_key(algorithm))
    return {"JWT_ALGORITHM": algorithm, "JWT_PRIVATE_KEY": private_pem, "JWT_PUBLIC_KEY": public_pem}


@keys.command("generate")
@click.option(
    "--algorithm",
    type=click.Choice([SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS]),
    required=True,
    help="HS256: a 48-byte secret (SECRET_KEY); RS256 (RSA 3072), ES256 (P-256), EdDSA (Ed25519): key pairs.",
)
@click.option("--pem", is_flag=True, help="Print only the private key as a PEM file (not for HS256).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
def generate(algorithm: str, pem: bool, as_json: bool) -> None:
    """Print new key material as .env lines (append them with `>> .env`); nothing is stored."""
    if pem and algorithm == SYMMETRIC_ALGORITHM:
        raise click.UsageError("--pem is for key pairs; HS256 uses a secret (SECRET_KEY).")
    values = new_settings(algorithm)
    if as_json:
        echo_json(values)
    elif pem:
        click.echo(values["JWT_PRIVATE_KEY"], nl=False)
    else:
        for name, value in values.items():
            click.echo(f"{name}={one_line(value)}")
