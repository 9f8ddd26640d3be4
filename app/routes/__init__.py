"""The auth blueprint: thin views over the auth service, behind a bearer-token guard.

`blueprint.py` holds the blueprint, its guard and what views read of a request; each other
module holds the views of one group of the API (the docs page's groups).
"""

from __future__ import annotations

from . import accounts, email, identities, mfa, passkeys, sessions, tokens  # noqa: F401 - each registers its views on `bp`
from .blueprint import bp
from .users import switch_off_user_listing

__all__ = ["bp", "switch_off_user_listing"]
