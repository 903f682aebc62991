"""Loss claims, their payer lines, history, recoveries and clawbacks (SPEC §3, §4)."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid, literal, select
from sqlalchemy.orm import Mapped, column_property, foreign, mapped_column, relationship, remote

from .auth import Bank, User
from .base import Base, utcnow
from .journal import Account, Reservation
from .loans import Loan

CLAIM_STATUSES = ("submitted", "returned", "reviewed", "approved", "paid", "rejected", "withdrawn")
#: Claims that block another claim on the same loan.
OPEN_CLAIM_STATUSES = ("submitted", "returned", "reviewed", "approved", "paid")


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'returned', 'reviewed', 'approved', 'paid', 'rejected', 'withdrawn')",
            name="status",
        ),
        CheckConstraint("compensation >= 0 AND eligible_loss >= 0", name="amounts_non_negative"),
        Index("ix_claims_status_submitted_at", "status", "submitted_at"),
        Index("ix_claims_bank_id_status", "bank_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"))
    #: Denormalised from the loan for the bureau's queue filters.
    region: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(10), default="submitted")
    default_on: Mapped[date]
    outstanding_principal: Mapped[int]
    #: The business date of (re)submission; timing checks run against it.
    claimed_on: Mapped[date]
    #: SLA clock (SPEC §4a): ``claimed_on`` + the rules' ``decision_days``; None when the
    #: claim's rule version sets no decision_days.
    decide_by: Mapped[date | None] = mapped_column(index=True)
    #: Ratio shown to four decimals, and exactly as a fraction ("29/80").
    ratio: Mapped[str] = mapped_column(String(12))
    ratio_exact: Mapped[str] = mapped_column(String(60))
    eligible_loss: Mapped[int]
    #: What the rules give at submission (before the approval-time bank cap).
    compensation: Mapped[int]
    #: What the approver approved (after the bank's annual cap and any repair).
    approved_amount: Mapped[int | None]
    #: The decision as stored: ``{"steps": [...], "payers": [...]}``, re-rendered on read.
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    review_recommendation: Mapped[str | None] = mapped_column(String(10))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    #: Business date of approval: the calendar year of per_bank_annual_cap.
    approved_on: Mapped[date | None]
    #: Why the approver approved less than computed, or rejected.
    decision_reason: Mapped[str | None] = mapped_column(Text)
    #: Why the reviewer returned the claim to the bank.
    return_reason: Mapped[str | None] = mapped_column(Text)
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    paid_on: Mapped[date | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    loan: Mapped[Loan] = relationship(lazy="joined")
    #: Joined: every answer about a claim names its bank.
    bank: Mapped[Bank] = relationship(lazy="joined", viewonly=True)
    payer_lines: Mapped[list["ClaimPayerLine"]] = relationship(
        order_by="ClaimPayerLine.position", lazy="selectin", cascade="all, delete-orphan"
    )
    #: Read-only views for the claim's answer, loaded on first use (ledger.claims.get_claim
    #: joins the history). Rows are added as rows; ledger.claims.keep_loaded keeps a
    #: loaded list in step instead of reading it again.
    history: Mapped[list["ClaimEvent"]] = relationship(order_by="ClaimEvent.id", viewonly=True)
    recoveries: Mapped[list["Recovery"]] = relationship(order_by="Recovery.id", viewonly=True)
    clawbacks: Mapped[list["Clawback"]] = relationship(order_by="Clawback.id", viewonly=True)


class ClaimPayerLine(Base):
    """One sub-fund's part of a claim: computed, reserved at approval, paid."""

    __tablename__ = "claim_payer_lines"
    __table_args__ = (UniqueConstraint("claim_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    position: Mapped[int]
    subfund_code: Mapped[str] = mapped_column(String(40))
    share: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int]
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"))
    #: Loaded with the lines (one query per claim load): approval, payment and the
    #: claim's answer all need them, and it keeps them in the session while they do.
    reservation: Mapped[Reservation | None] = relationship(lazy="selectin")
    #: Part of a payout kept back to settle the bank's clawback debt to this sub-fund.
    offset_amount: Mapped[int] = mapped_column(default=0)
    #: What this sub-fund has had returned from recoveries so far.
    recovered_amount: Mapped[int] = mapped_column(default=0)


class ClaimEvent(Base):
    """The claim's history: who moved it from which status to which, and why. Append-only."""

    __tablename__ = "claim_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Recovery(Base):
    """Net money a bank recovered after payment, and the pool's share returned (SPEC §3.2)."""

    __tablename__ = "recoveries"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    amount: Mapped[int]
    recovered_on: Mapped[date]
    #: Cumulative net recoveries including this one.
    cumulative: Mapped[int]
    #: The pool's cumulative share after this recovery, and what this one returned.
    pool_share_cumulative: Mapped[int]
    returned: Mapped[int]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    transaction_id: Mapped[Any | None] = mapped_column(
        Uuid, ForeignKey("journal_transactions.id", deferrable=True, initially="DEFERRED")
    )
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Clawback(Base):
    """A paid claim found ineligible: the amount becomes the bank's debt to the payers."""

    __tablename__ = "clawbacks"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: The reviewer's and approver's names, for the claim's answer; deferred, so only the
#: queries that ask for them (ledger.claims.get_claim) read them, in the same statement.
Claim.reviewer_name = column_property(
    select(User.name).where(User.id == Claim.reviewer_id).correlate_except(User).scalar_subquery(), deferred=True)
Claim.approver_name = column_property(
    select(User.name).where(User.id == Claim.approver_id).correlate_except(User).scalar_subquery(), deferred=True)



def _payout_account(purpose: str) -> Any:
    """A payer line's sub-fund account of one purpose, found by its code: one index probe.

    One many-to-one relationship per purpose rather than one collection of three: a
    claim loaded with its lines, their accounts and its history then has a row per line
    and history entry, not three (a collection beside the history multiplies them)."""
    code = literal("subfund:") + ClaimPayerLine.subfund_code + literal(f":{purpose}")
    return relationship(Account, primaryjoin=remote(Account.code) == foreign(code), uselist=False, viewonly=True)


#: The accounts approval (available -> reserved) and payment (reserved -> paid) move,
#: None for a sub-fund that does not exist. Loaded with the lines by
#: ledger.claims.get_claim(accounts=True) instead of looked up in a query of their own.
ClaimPayerLine.available_account = _payout_account("available")
ClaimPayerLine.reserved_account = _payout_account("reserved")
ClaimPayerLine.paid_account = _payout_account("paid")


class IdempotencyRecord(Base):
    """The first answer to a bank's ``Idempotency-Key``, replayed byte for byte."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    #: Method, path and SHA-256 of the body: a reuse with anything else is refused.
    request_fingerprint: Mapped[str] = mapped_column(String(300))
    status_code: Mapped[int]
    response_body: Mapped[bytes]
    content_type: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
