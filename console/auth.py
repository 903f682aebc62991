"""Who is at the console: the session's user, and which roles may see what.

Roles are the API's (``api.auth``): the bureau's reviewer, approver and fund_admin,
and the read-only auditor. Bank users have the API and no console. Pages follow the
API's rules for the same data; the audit log is the auditor tools' (``api.auditor``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, session, url_for

from api import db
from api.auditor import AUDIT_ROLES
from api.auth import BUREAU_READ
from ledger.models import User
from ledger.passwords import session_fingerprint

from .i18n import t

F = TypeVar("F", bound=Callable[..., Any])

#: Who may log in to the console at all.
CONSOLE_ROLES = frozenset(BUREAU_READ)
#: Per page (the table the role tests check).
PAGE_ROLES = {
    "claims": CONSOLE_ROLES,
    "subfunds": CONSOLE_ROLES,
    "statements": CONSOLE_ROLES,
    "simulations": CONSOLE_ROLES,
    "audit": frozenset(AUDIT_ROLES),
    # Administration (issue 17): everyone at the console reads rules, sub-funds and the
    # loan book; only the fund administrator changes them. Users and tokens are the
    # fund administrator's and the auditor's (as the tokens page).
    "rules": CONSOLE_ROLES,
    "rules_edit": frozenset({"fund_admin"}),
    "subfunds_edit": frozenset({"fund_admin"}),
    "users": frozenset({"fund_admin", "auditor"}),
    "users_edit": frozenset({"fund_admin"}),
    "loans": CONSOLE_ROLES,
}
#: Session keys that make a login; the language survives a logout.
_AUTH_KEYS = ("uid", "pw")


def log_in(user: User) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) for the new identity
    if lang:
        session["lang"] = lang
    session["uid"] = user.id
    session["pw"] = session_fingerprint(user)
    session.permanent = True


def log_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def load_user() -> User | None:
    """The logged-in user, or None; a session opened before a password change is ended."""
    if "console_user" in g:
        return g.console_user
    user = None
    uid = session.get("uid")
    if uid is not None:
        user = db.session().get(User, uid)
        if user is None or not user.password_hash or session.get("pw") != session_fingerprint(user):
            for key in _AUTH_KEYS:
                session.pop(key, None)
            user = None
    g.console_user = user
    if user is not None:
        g.user = user  # what api.auth's helpers read
    return user


def current_user() -> User:
    user = load_user()
    assert user is not None, "only inside a view guarded by roles_required"
    return user


def roles_required(roles: frozenset[str] | tuple[str, ...]) -> Callable[[F], F]:
    """Anonymous: to the login page. Logged in without one of ``roles``: 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = load_user()
            if user is None:
                flash(t("login.required"), "info")
                target = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("console.login", next=target))
            if not user.roles & set(roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.console_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def has_role(*roles: str) -> bool:
    user = load_user()
    return bool(user and user.roles & set(roles))


def safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never another site after logging in."""
    if not target or not target.startswith("/console/") or target.startswith("//") or "\\" in target:
        return None
    return target
