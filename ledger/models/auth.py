"""Banks, users, roles and API tokens."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

ROLES = ("bank", "reviewer", "approver", "fund_admin", "auditor")
#: Roles of the finance bureau (everything but banks and auditors' read-only access).
BUREAU_ROLES = ("reviewer", "approver", "fund_admin")


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    #: Set for users holding the ``bank`` role: they act for this bank only.
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Console password as a werkzeug KDF hash (scrypt, salted, parameters inside);
    #: None: the user cannot log in to the console (API token only).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: Consecutive failed console logins since the last success or lock-out.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Console logins are refused until this moment (UTC) after too many failures.
    locked_until: Mapped[datetime | None]

    bank: Mapped[Bank | None] = relationship(lazy="joined")
    role_rows: Mapped[list["UserRole"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('bank', 'reviewer', 'approver', 'fund_admin', 'auditor')", name="role"
        ),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: First characters of the token, shown in listings so a leaked token can be named.
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 hex of the whole token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: What the holder calls it ("core banking", "rotated 2026-06-30").
    name: Mapped[str] = mapped_column(String(80), default="default", server_default="default")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Refused from this moment (a rotated token's grace period ends here).
    expires_at: Mapped[datetime | None]
    #: Refreshed at most once a minute (ledger.auth.LAST_USED_GRANULARITY).
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
