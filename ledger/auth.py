"""Users, banks and API tokens.

Tokens look like ``rcl_…`` so that secret scanners and people recognise them; only
their SHA-256 is stored (they are 256-bit random, so a plain hash is enough — a slow
KDF protects guessable passwords, not random keys).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import AlreadyExists, NotFound, ValidationFailed
from .models import ROLES, ApiToken, Bank, User, UserRole
from .models.base import utcnow
from .tokens import TOKEN_PREFIX, find, hash_token

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}\Z")


def roles_problem(roles: Iterable[str], *, has_bank: bool) -> str | None:
    """Why a set of roles may not be held together (SPEC §4: bank roles are exclusive).

    A bank user sees its own bank's data only; any bureau role would widen that to
    every bank's (and let a bank review its own claims). A bureau user acts for no bank.
    """
    roles = set(roles)
    if "bank" in roles and len(roles) > 1:
        others = ", ".join(sorted(roles - {"bank"}))
        return f"the bank role is exclusive: a bank user holds no other role (not {others})"
    if "bank" not in roles and has_bank:
        return "only a user with the bank role acts for a bank"
    return None


def usable(user: User) -> bool:
    """False for a user whose stored roles break the exclusivity rule (rows written
    before it was enforced, or by hand): such a user is refused everywhere until an
    administrator fixes the roles, rather than guessed to be one or the other."""
    return roles_problem(user.roles, has_bank=user.bank_id is not None) is None


def issue_token(session: Session, user: User, *, actor: str) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, prefix=token[:10], token_hash=hash_token(token)))
    session.flush()
    audit.record(session, actor=actor, action="token.issue", entity_type="user", entity_id=user.name,
                 after={"prefix": token[:10]})
    return token


def authenticate(session: Session, token: str) -> User | None:
    """The user of a live token (not revoked, not expired; ledger.tokens), or None."""
    row = find(session, token)
    return row.user if row else None


def create_user(
    session: Session, name: str, roles: Iterable[str], *, actor: str, bank_code: str | None = None
) -> tuple[User, str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValidationFailed(f"Roles must be among {', '.join(ROLES)}.", errors={"roles": [f"unknown role {r}" for r in unknown] or ["at least one role"]})
    conflict = roles_problem(roles, has_bank=bool(bank_code))
    if conflict:
        field = "bank" if "bank" not in roles else "roles"
        raise ValidationFailed(f"Refused: {conflict}.", errors={field: [conflict]}, code="exclusive_bank_role")
    if session.scalar(select(User.id).where(User.name == name)):
        raise AlreadyExists(f"A user named {name} exists.")
    bank = None
    if "bank" in roles:
        if not bank_code:
            raise ValidationFailed("A bank user needs a bank.", errors={"bank": ["required for the bank role"]})
        bank = session.scalar(select(Bank).where(Bank.code == bank_code))
        if bank is None:
            raise NotFound(f"No bank {bank_code}.")
    user = User(name=name, bank_id=bank.id if bank else None, role_rows=[UserRole(role=r) for r in roles])
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", entity_type="user", entity_id=name,
                 after={"roles": roles, "bank": bank.code if bank else None})
    return user, issue_token(session, user, actor=actor)


def create_bank(session: Session, code: str, name: str, *, actor: str) -> tuple[Bank, str]:
    """Create a bank and its first API user (``bank-<CODE>``); returns the user's token."""
    if not _CODE_RE.match(code):
        raise ValidationFailed("Bank codes are 2-40 capital letters, digits, '-' or '_'.", errors={"code": ["invalid"]})
    if session.scalar(select(Bank.id).where(Bank.code == code)):
        raise AlreadyExists(f"Bank {code} exists.")
    bank = Bank(code=code, name=name)
    session.add(bank)
    session.flush()
    audit.record(session, actor=actor, action="bank.create", entity_type="bank", entity_id=code, after={"name": name})
    _user, token = create_user(session, f"bank-{code}", ["bank"], actor=actor, bank_code=code)
    return bank, token


def revoke_tokens(session: Session, user: User, *, actor: str) -> int:
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor=actor, action="token.revoke", entity_type="user", entity_id=user.name, after={"revoked": len(rows)})
    return len(rows)
