"""Bearer-token authentication and role checks for the JSON API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from sqlalchemy.exc import OperationalError

from ledger import auth as ledger_auth
from ledger import tokens
from ledger.models import ApiToken, User
from ledger.models.base import utcnow

from . import db
from .errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])
ANY_ROLE = ("bank", "reviewer", "approver", "fund_admin", "auditor")
BUREAU_READ = ("reviewer", "approver", "fund_admin", "auditor")


def current_user() -> User:
    return g.user


def actor_name() -> str:
    return g.user.name


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="ledger"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Send an API token as 'Authorization: Bearer <token>'.", headers=challenge)
    writing = request.method not in ("GET", "HEAD")
    row, touched = tokens.find_and_touch(db.session(), token.strip(), touch=writing)
    if row is None:
        raise ApiError(401, "invalid_token", "The API token is unknown, expired or revoked.", headers=challenge)
    g.api_token = row
    if not touched:
        _record_use(row)
    user = row.user
    if not ledger_auth.usable(user):
        raise ApiError(403, "conflicting_roles", "This user's roles break the rule that the bank role is exclusive; "
                       "an administrator must fix them before it can act.")
    return user


def _record_use(row: ApiToken) -> None:
    """Refresh the token's last_used_at (at most once a minute).

    A writing request records it in its own transaction (on SQLite it already holds
    the write lock, so a second connection would wait on it; on PostgreSQL the lookup
    did it, ledger.tokens.find_and_touch); a reading request's session must stay
    read-only, so a short transaction of its own records it there.
    """
    now = utcnow()
    if not tokens.needs_touch(row, now):
        return
    session = db.session()
    if request.method not in ("GET", "HEAD"):
        tokens.touch(session, row.id, now)
        return
    try:
        with session.get_bind().begin() as connection:
            tokens.touch(connection, row.id, now)
    except OperationalError:
        pass  # busy database: the next request records it


def current_token() -> ApiToken:
    return g.api_token


def require_roles(*roles: str) -> Callable[[F], F]:
    """Allow the view to users holding any of ``roles`` (401 without a valid token)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = _authenticate()
            if not user.roles & set(roles):
                raise ApiError(403, "forbidden", f"This needs one of the roles: {', '.join(roles)}.")
            g.user = user
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def bank_id_of_caller() -> int | None:
    """The bank a bank-role caller acts for; None for bureau roles and auditors."""
    user = current_user()
    # The bank role decides, whatever else is stored: a bank user never sees beyond its
    # bank (roles are exclusive, and _authenticate refuses a user breaking that).
    if "bank" in user.roles:
        return user.bank_id
    return None
