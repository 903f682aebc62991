"""Console passwords: set, check, lock out after repeated failures (issue 7).

API clients authenticate with random tokens (``ledger.auth``); people at the web
console type passwords, which are guessable, so they are stored only as a slow,
salted KDF hash (werkzeug's scrypt: the method and its parameters travel inside the
hash, so they can be raised later without a migration).

Guessing is bounded by a lock-out: after ``MAX_FAILED_LOGINS`` wrong passwords in a
row an account refuses every login, right or wrong, for ``LOCKOUT``. Password
changes, lock-outs and logins go to the audit log; the hash never does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .errors import NotFound, ValidationFailed
from .models import User
from .models.base import utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_LENGTH = 10
MAX_LENGTH = 1024
HASH_METHOD = "scrypt"

#: Checked against when the user is unknown or has no password, so that the answer
#: takes as long as for a real account and does not reveal which names exist.
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone", method=HASH_METHOD)

#: Outcomes of :func:`check_login`.
OK, INVALID, LOCKED, NOT_ALLOWED = "ok", "invalid", "locked", "not_allowed"


@dataclass(frozen=True)
class LoginAttempt:
    outcome: str
    user: User | None = None
    #: Set when the outcome is ``locked``: logins are refused until then (UTC).
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == OK


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def check_strength(password: str) -> None:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    if password.strip() != password:
        problems.append("no leading or trailing spaces")
    if problems:
        raise ValidationFailed("The password is not acceptable: " + ", ".join(problems) + ".",
                               code="weak_password", errors={"password": problems})


def set_password(session: Session, name: str, password: str, *, actor: str) -> User:
    """Give user ``name`` a console password; clears any lock-out."""
    user = session.scalar(select(User).where(User.name == name).with_for_update(of=User))
    if user is None:
        raise NotFound(f"No user {name}.", code="user_not_found")
    check_strength(password)
    user.password_hash = generate_password_hash(password, method=HASH_METHOD)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit.record(session, actor=actor, action="user.password_set", entity_type="user", entity_id=user.name,
                 after={"method": HASH_METHOD})
    return user


def session_fingerprint(user: User) -> str:
    """A short digest of the password hash, kept in the console session: changing the
    password (or removing it) ends every session opened with the old one."""
    return hashlib.sha256((user.password_hash or "").encode("utf-8")).hexdigest()[:16]


def check_login(session: Session, name: str, password: str, *, roles: frozenset[str] | set[str] | None = None,
                now: datetime | None = None) -> LoginAttempt:
    """Check a console login. Only flushes: the caller commits whatever the outcome,
    because a failure must be counted.

    ``roles``: the user must hold one of these (checked only after the password is
    right, so a refusal for the role does not reveal the account to a guesser).
    """
    now = now or utcnow()
    # The row lock makes concurrent wrong guesses count one by one (SQLite writers
    # are serialised by BEGIN IMMEDIATE anyway).
    user = session.scalar(select(User).where(User.name == name).with_for_update(of=User)
                          .execution_options(populate_existing=True))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return LoginAttempt(INVALID)
    if user.locked_until is not None and _aware(user.locked_until) > now:
        # Refused without looking at the password: a lock-out that still checked it
        # would keep answering guesses.
        return LoginAttempt(LOCKED, user, _aware(user.locked_until))
    if not check_password_hash(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            session.flush()
            audit.record(session, actor=user.name, action="user.locked", entity_type="user", entity_id=user.name,
                         after={"failed_logins": MAX_FAILED_LOGINS, "locked_until": user.locked_until})
            return LoginAttempt(LOCKED, user, user.locked_until)
        session.flush()
        audit.record(session, actor=user.name, action="user.login_failed", entity_type="user",
                     entity_id=user.name, after={"failed_logins": user.failed_logins})
        return LoginAttempt(INVALID, user)
    if (roles is not None and not user.roles & set(roles)) or "bank" in user.roles:
        # A bank user (whatever other roles were stored against the exclusivity rule)
        # never gets the bureau's console.
        return LoginAttempt(NOT_ALLOWED, user)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit.record(session, actor=user.name, action="user.login", entity_type="user", entity_id=user.name,
                 after={"channel": "console"})
    return LoginAttempt(OK, user)
