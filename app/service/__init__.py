"""The auth service: the rules for accounts, sessions and tokens.

`AuthService` is the one way in for the views; each concern lives in the module named
after it (accounts, identities, sessions, refresh, operators) and shares the collaborators of `base`.
"""

from __future__ import annotations

from .accounts import EMAIL_TAKEN, WRONG_CURRENT_PASSWORD, Accounts
from .base import OPERATOR, Client, SessionRules, ensure_enabled, token_hash, utc_now
from .identities import Identities, IdTokenLogin
from .operators import Operators
from .refresh import Refresh, Refreshed
from .sessions import BAD_CREDENTIALS, NO_SUCH_SESSION, LoginResult, Sessions

__all__ = [
    "BAD_CREDENTIALS",
    "EMAIL_TAKEN",
    "NO_SUCH_SESSION",
    "OPERATOR",
    "WRONG_CURRENT_PASSWORD",
    "AuthService",
    "Client",
    "IdTokenLogin",
    "LoginResult",
    "Refreshed",
    "SessionRules",
    "ensure_enabled",
    "token_hash",
    "utc_now",
]


class AuthService(Accounts, Identities, Sessions, Refresh, Operators):
    """Signs users up and in (password, Google, Apple), issues and refreshes tokens, keeps sessions.

    It also serves operators, whose commands go through the same rules.
    """
