"""The auth service: the rules for accounts, sessions and tokens.

`AuthService` is the one way in for the views; each concern lives in the module named
after it (accounts, identities, sessions, refresh, operators, codes, recovery,
verification, profile, deletion) and shares the collaborators of `base`.
"""

from __future__ import annotations

from .accounts import EMAIL_TAKEN, Accounts
from .base import (
    EMAIL_NOT_VERIFIED,
    OPERATOR,
    WRONG_CURRENT_PASSWORD,
    AccountRules,
    Client,
    SessionRules,
    ensure_enabled,
    token_hash,
    utc_now,
)
from .codes import InvalidCode
from .deletion import Deletion
from .identities import Identities, IdTokenLogin, LinkProof
from .operators import Operators
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
    "OPERATOR",
    "WRONG_CURRENT_PASSWORD",
    "AccountRules",
    "AuthService",
    "Client",
    "IdTokenLogin",
    "InvalidCode",
    "LinkProof",
    "LoginResult",
    "Refreshed",
    "SessionRules",
    "ensure_enabled",
    "token_hash",
    "utc_now",
]


class AuthService(
    Accounts, Identities, Sessions, Refresh, Recovery, Verification, Profile, Deletion, Operators
):
    """Signs users up and in (password, Google, Apple), issues and refreshes tokens, keeps sessions.

    It also looks after accounts (recovery, verification, profile, deletion) and serves
    operators, whose commands go through the same rules.
    """
