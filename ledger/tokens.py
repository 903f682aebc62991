"""API credentials: several named tokens per user, expiry, rotation, revocation (issue 15).

A bank's API user may hold one token per system that calls us ("core banking",
"reporting"). Rotating the token in use issues a new one and lets the old one live
for a grace period, so the bank can roll the new one out without an outage.
Revocation and expiry are checked on every request: they take effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload

from . import audit
from .errors import NotFound, ValidationFailed
from .models import ApiToken, Bank, User
from .models.base import utcnow

#: Every token starts so (``rcl_`` + 256 random bits); only its SHA-256 is stored.
TOKEN_PREFIX = "rcl_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: ``last_used_at`` is refreshed at most this often (a write per request would not do).
LAST_USED_GRANULARITY = timedelta(minutes=1)
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
MAX_ROTATION_GRACE = timedelta(days=7)


def aware(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were written in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def is_live(row: ApiToken, now: datetime) -> bool:
    expires = aware(row.expires_at)
    return row.revoked_at is None and (expires is None or expires > now)


def issue(session: Session, user: User, *, name: str, actor: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the secret is in the answer only (its hash is stored)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationFailed("A token needs a name of at most 80 characters.", code="invalid_token_name",
                               errors={"name": ["1 to 80 characters"]})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("The expiry must be in the future.", code="expiry_in_past",
                               errors={"expires_at": ["in the past"]})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, prefix=token[:10], token_hash=hash_token(token), name=name, expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="token.issue", entity_type="user", entity_id=user.name,
                 after={"token_id": row.id, "prefix": row.prefix, "name": name, "expires_at": expires_at})
    return row, token


def _find(*, touching: bool):  # type: ignore[no-untyped-def]
    live = (ApiToken.token_hash == bindparam("presented_hash"), ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")))
    query = select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.role_rows)).where(*live)
    if touching:
        # PostgreSQL runs a data-modifying WITH even when nothing reads it: the use is
        # recorded (at most once a minute, see touch) in the lookup's own round trip.
        table = ApiToken.__table__
        query = query.add_cte(
            update(table).where(table.c.token_hash == bindparam("presented_hash"), table.c.revoked_at.is_(None),
                                or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("stale_before")))
            .values(last_used_at=bindparam("now")).returning(table.c.id).cte("touched"))
    return query


#: Every request runs these: built once, and the user's roles come in the same query
#: (joined) instead of a second one.
_FIND = _find(touching=False)
_FIND_AND_TOUCH = _find(touching=True)


def find(session: Session, token: str) -> ApiToken | None:
    """The live token row for a presented token, or None (unknown, revoked or expired)."""
    return find_and_touch(session, token, touch=False)[0]


def find_and_touch(session: Session, token: str, *, touch: bool = True) -> tuple[ApiToken | None, bool]:
    """:func:`find`, and whether the use was recorded with it: in a writing transaction
    on PostgreSQL the lookup also refreshes ``last_used_at`` as :func:`touch` does (the
    row returned still shows the previous value); elsewhere the caller touches."""
    if not token.startswith(TOKEN_PREFIX):
        return None, False
    now = utcnow()
    touched = touch and session.get_bind().dialect.name == "postgresql"
    row = session.execute(_FIND_AND_TOUCH if touched else _FIND,
                          {"presented_hash": hash_token(token), "now": now, "stale_before": now - LAST_USED_GRANULARITY}
                          ).unique().scalar_one_or_none()
    return row, touched and row is not None


def needs_touch(row: ApiToken, now: datetime) -> bool:
    last = aware(row.last_used_at)
    return last is None or now - last >= LAST_USED_GRANULARITY


_tokens = ApiToken.__table__
_TOUCH = (update(_tokens)
          .where(_tokens.c.id == bindparam("token_id"),
                 or_(_tokens.c.last_used_at.is_(None), _tokens.c.last_used_at < bindparam("stale_before")))
          .values(last_used_at=bindparam("now")))


def touch(session_or_connection, token_id: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Record use, conditionally, so concurrent requests write it once a minute at most."""
    session_or_connection.execute(_TOUCH, {"token_id": token_id, "now": now,
                                           "stale_before": now - LAST_USED_GRANULARITY})


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"No user {name}.", code="user_not_found")
    return user


def list_tokens(session: Session, *, user: User | None = None, bank_code: str | None = None,
                include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).join(User, User.id == ApiToken.user_id)
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    if bank_code is not None:
        query = query.join(Bank, Bank.id == User.bank_id).where(Bank.code == bank_code)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.id)))


def get_token(session: Session, reference: str | int, *, user_id: int | None = None) -> ApiToken:
    """By id, or by its prefix as listings show it (``rcl_AbCdEf``); another user's is a 404."""
    text = str(reference)
    query = select(ApiToken)
    query = query.where(ApiToken.id == int(text)) if text.isdigit() else query.where(ApiToken.prefix == text)
    rows = session.scalars(query).all()
    if len(rows) != 1 or (user_id is not None and rows[0].user_id != user_id):
        raise NotFound(f"No token {text}.", code="token_not_found")
    return rows[0]


def revoke(session: Session, row: ApiToken, *, actor: str) -> ApiToken:
    """Refuse the token from the next request on (revoking twice changes nothing)."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="token.revoke", entity_type="user", entity_id=row.user.name,
                     after={"token_id": row.id, "prefix": row.prefix, "name": row.name})
    return row


def rotate(session: Session, current: ApiToken, *, actor: str, grace: timedelta = DEFAULT_ROTATION_GRACE,
           name: str | None = None) -> tuple[ApiToken, str]:
    """A new token in place of ``current``, which stays valid for ``grace`` (zero: ends now)."""
    if not timedelta(0) <= grace <= MAX_ROTATION_GRACE:
        raise ValidationFailed(f"The grace period is 0 to {MAX_ROTATION_GRACE.days * 24} hours.",
                               code="invalid_grace", errors={"grace_hours": ["out of range"]})
    now = utcnow()
    if not is_live(current, now):
        raise NotFound("This token is no longer valid.", code="token_not_found")
    row, token = issue(session, current.user, name=name or current.name, actor=actor)
    ends = now + grace
    current_expiry = aware(current.expires_at)
    if grace == timedelta(0):
        current.revoked_at = now
    elif current_expiry is None or current_expiry > ends:
        current.expires_at = ends
    session.flush()
    audit.record(session, actor=actor, action="token.rotate", entity_type="user", entity_id=current.user.name,
                 after={"old_token_id": current.id, "new_token_id": row.id, "old_valid_until": ends})
    return row, token
