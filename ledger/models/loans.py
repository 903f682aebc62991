"""Registered loans (备案) and their events (SPEC §4)."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enterprises import Enterprise
from .schemes import RuleVersion

LOAN_STATUSES = ("active", "repaid", "defaulted", "claimed", "compensated", "closed", "cancelled")


class Loan(Base):
    __tablename__ = "loans"
    __table_args__ = (
        UniqueConstraint("bank_id", "external_id"),
        CheckConstraint("principal > 0", name="principal_positive"),
        CheckConstraint("outstanding >= 0 AND outstanding <= principal", name="outstanding_range"),
        CheckConstraint(
            "status IN ('active', 'repaid', 'defaulted', 'claimed', 'compensated', 'closed', 'cancelled')",
            name="status",
        ),
        Index("ix_loans_scheme_id_bank_id_status", "scheme_id", "bank_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    #: The bank's own loan number; registration is idempotent on it.
    external_id: Mapped[str] = mapped_column(String(64))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    #: The rule version in force on the disbursement date, frozen at registration.
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    #: Borrower's region and categories as registered: the claim is computed on them.
    region: Mapped[str] = mapped_column(String(6))
    categories: Mapped[list[str]] = mapped_column(JSON)
    principal: Mapped[int]
    #: Outstanding principal in fen, lowered by repayments.
    outstanding: Mapped[int]
    disbursed_on: Mapped[date]
    maturity_on: Mapped[date]
    #: Annual interest rate as a decimal string ("0.0435"); informational.
    interest_rate: Mapped[str | None] = mapped_column(String(12))
    collateral_type: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="active")
    default_on: Mapped[date | None]
    registered_on: Mapped[date]
    #: Canonical registration content, compared on a repeated external_id.
    registration: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    rule_version: Mapped[RuleVersion] = relationship(lazy="joined")


class LoanEvent(Base):
    """Repayment, default, repaid or cancellation, as reported. Append-only."""

    __tablename__ = "loan_events"
    __table_args__ = (CheckConstraint("type IN ('repayment', 'default', 'repaid', 'cancel')", name="type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    type: Mapped[str] = mapped_column(String(12))
    on: Mapped[date]
    amount: Mapped[int | None]
    outstanding_after: Mapped[int]
    status_after: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoanBookTotals(Base):
    """Running figures of one bank's loans in one scheme, so that a registration's pool
    capacity and NPL checks read a few rows instead of summing the loan book.

    A registration adds its principal in the transaction that inserts the loan
    (``ledger.loans.book``); every later change of a loan's status or outstanding moves
    them through a database trigger on ``loans`` (``ledger.migrations.ddl``), whatever
    code makes it. ``ledger-admin verify`` recomputes them from the loans."""

    __tablename__ = "loan_book_totals"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), primary_key=True)
    #: Outstanding principal (fen) of the live loans (active, defaulted, claimed): the
    #: scheme's exposure against the pool is the sum over its banks.
    live_outstanding: Mapped[int] = mapped_column(default=0)
    #: Outstanding principal of the non-performing loans (defaulted, claimed, compensated).
    npl_outstanding: Mapped[int] = mapped_column(default=0)
    #: Outstanding principal still on the bank's books (active, defaulted, claimed, compensated).
    book_outstanding: Mapped[int] = mapped_column(default=0)
