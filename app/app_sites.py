"""The files iOS and Android read from the RP domain before their apps may use its passkeys.

Served only when WEBAUTHN_IOS_APP_IDS / WEBAUTHN_ANDROID_APPS name the apps, for a server that
runs on the RP domain itself (else the same documents go on the domain's own web server).
"""

from __future__ import annotations

from flask import Blueprint, current_app

from config import PasskeySettings

from .api import responds
from .errors import AuthError, Code
from .rules import public

bp = Blueprint("app_sites", __name__)

CACHE = "public, max-age=3600"  # Apple's CDN and Google's verifier fetch them now and then


def passkey_settings() -> PasskeySettings:
    return current_app.extensions["settings"].passkeys


@bp.get("/.well-known/apple-app-site-association")
@responds(200, tag="passkeys")
@public(errors=(404,), uses_database=False)
def apple_app_site_association() -> tuple[dict, int, dict]:
    """The apps that may use this domain's passkeys (`webcredentials`), for iOS's associated domains."""
    apps = passkey_settings().webauthn_ios_app_ids
    if not apps:
        raise AuthError(Code.NOT_FOUND)
    return {"webcredentials": {"apps": list(apps)}}, 200, {"Cache-Control": CACHE}


@bp.get("/.well-known/assetlinks.json")
@responds(200, tag="passkeys")
@public(errors=(404,), uses_database=False)
def asset_links() -> tuple[list, int, dict]:
    """The Android apps that may use this domain's passkeys (Digital Asset Links, `get_login_creds`)."""
    apps = passkey_settings().android_apps()
    if not apps:
        raise AuthError(Code.NOT_FOUND)
    statements = [
        {
            "relation": ["delegate_permission/common.get_login_creds"],
            "target": {
                "namespace": "android_app",
                "package_name": package,
                "sha256_cert_fingerprints": [fingerprint],
            },
        }
        for package, fingerprint in apps
    ]
    return statements, 200, {"Cache-Control": CACHE}
