"""What each route needs before its view runs, declared once on the view.

Every view of the app carries one declaration, `@public(...)` or `@signed_in(...)`: who may
call it, what must still hold for a bearer token (its session open, its account there and
enabled), which rate limit applies, and which failures it can answer. The guard
(`routes.blueprint`), the rate limits (`limits`) and the OpenAPI document (`docs`) read it;
nothing else keeps a list of routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

# The rate limits a route can name: each is the setting `RATE_LIMIT_<NAME>` (per address).
LIMITS = (
    "login",
    "signup",
    "refresh",
    "forgot_password",
    "reset_password",
    "verify_email",
    "resend_verification",
)


@dataclass(frozen=True)
class RouteRules:
    """One route's security rules.

    `bearer`: an access token is required. For a bearer route, `open_session` asks that the
    token's session has not ended (logout, a password change, `logoutAll`), and the token's
    account must always exist and be enabled. A bearer route that lets an ended session's
    token through says why in `ended_session_ok`. `optional_bearer`: a public route that
    reads a bearer token when one is sent (a proof that the caller is signed in).
    """

    bearer: bool
    open_session: bool = False
    ended_session_ok: str | None = None
    optional_bearer: bool = False
    limit: str | None = None
    errors: tuple[int, ...] = ()
    uses_database: bool = True

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit not in LIMITS:
            raise ValueError(f"unknown rate limit {self.limit!r}; one of {LIMITS}")
        if self.bearer and not self.open_session and not self.ended_session_ok:
            raise ValueError("a bearer route that accepts an ended session's token must say why")

    def statuses(self) -> set[int]:
        """Return the failure statuses these rules themselves can answer."""
        statuses = set(self.errors)
        if self.bearer:
            statuses.add(403)
        if self.limit:
            statuses.add(429)
        if self.uses_database:
            statuses.add(503)
        return statuses


def _declare(rules: RouteRules) -> Callable:
    def decorate(view: Callable) -> Callable:
        vars(view)["rules"] = rules  # an attribute of the function, read by rules_of
        return view

    return decorate


def public(
    *,
    limit: str | None = None,
    errors: tuple[int, ...] = (),
    uses_database: bool = True,
    optional_bearer: bool = False,
) -> Callable:
    """Declare a route anyone may call."""
    return _declare(
        RouteRules(
            bearer=False,
            limit=limit,
            errors=errors,
            uses_database=uses_database,
            optional_bearer=optional_bearer,
        )
    )


def signed_in(
    *,
    limit: str | None = None,
    errors: tuple[int, ...] = (),
    ended_session_ok: str | None = None,
) -> Callable:
    """Declare a route for the holder of a valid access token of an existing, enabled account.

    Its session must still be open, unless `ended_session_ok` says why a read may go on for
    the rest of the token's life (the contract's stateless access tokens).
    """
    return _declare(
        RouteRules(
            bearer=True,
            open_session=ended_session_ok is None,
            ended_session_ok=ended_session_ok,
            limit=limit,
            errors=errors,
        )
    )


# A read of the caller's own data: an access token is stateless by default (see
# ACCESS_TOKEN_SESSION_CHECK), so it reads until it expires, as `/me` always has.
READS_UNTIL_EXPIRY = "a read: access tokens are valid until they expire unless ACCESS_TOKEN_SESSION_CHECK"


def rules_of(view: Callable) -> RouteRules | None:
    """Return the rules a view declared, or None."""
    return getattr(view, "rules", None)


def route_rules(app: Flask) -> dict[str, RouteRules]:
    """Return every endpoint's rules; refuse to build an app with an undeclared route."""
    table = {}
    for endpoint, view in app.view_functions.items():
        rules = rules_of(view)
        if rules is None:
            raise LookupError(f"route {endpoint!r} declares no rules (@public or @signed_in)")
        table[endpoint] = rules
    return table
