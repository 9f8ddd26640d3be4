"""The auth service: the rules for accounts, sessions and tokens.

`AuthService` is the one way in for the views; each concern lives in the module named
after it (accounts, sessions, refresh, codes, recovery, verification, profile,
deletion) and shares the collaborators of `base`.
"""

from __future__ import annotations

from .accounts import EMAIL_TAKEN, WRONG_CURRENT_PASSWORD, Accounts
from .base import EMAIL_NOT_VERIFIED, AccountRules, Client, SessionRules, token_hash, utc_now
from .codes import InvalidCode
from .deletion import Deletion
from .profile import Profile
from .recovery import Recovery
from .refresh import Refresh, Refreshed
from .sessions import BAD_CREDENTIALS, NO_SUCH_SESSION, LoginResult, Sessions
from .verification import Verification

__all__ = [
    "BAD_CREDENTIALS",
    "EMAIL_NOT_VERIFIED",
    "EMAIL_TAKEN",
    "NO_SUCH_SESSION",
    "WRONG_CURRENT_PASSWORD",
    "AccountRules",
    "AuthService",
    "Client",
    "InvalidCode",
    "LoginResult",
    "Refreshed",
    "SessionRules",
    "token_hash",
    "utc_now",
]


class AuthService(Accounts, Sessions, Refresh, Recovery, Verification, Profile, Deletion):
    """Signs users up and in, issues and refreshes tokens, keeps sessions, and looks after accounts."""
