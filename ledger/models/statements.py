"""The register of issued PDF statements (SPEC §5, §6)."""

from datetime import date, datetime

from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from .auth import Bank
from .base import Base, utcnow
from .claims import ClaimPayerLine


class Statement(Base):
    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Human statement number printed on every page, e.g. ``BCJ-2026-000001``.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    #: claim | subfund | bank
    kind: Mapped[str] = mapped_column(String(10))
    #: What it covers: a claim id, a sub-fund code or a bank code.
    scope: Mapped[str] = mapped_column(String(60), index=True)
    period_from: Mapped[date | None]
    period_to: Mapped[date | None]
    language: Mapped[str] = mapped_column(String(5))
    #: SHA-256 of the PDF bytes as issued.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 of the ledger state the statement reflects (printed on it).
    state_sha256: Mapped[str] = mapped_column(String(64))
    #: The audit chain head when it was issued.
    audit_seq: Mapped[int]
    audit_hash: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    issued_by: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


def _closed_until(kind: str, scope):  # type: ignore[no-untyped-def]
    return column_property(
        select(func.max(Statement.period_to))
        .where(Statement.kind == kind, Statement.scope == scope, Statement.period_to.is_not(None))
        .correlate_except(Statement).scalar_subquery(), deferred=True)


#: The end of the latest period an issued statement closed for the line's sub-fund and
#: for the bank (None: none): a payment may not be dated in it. Deferred: the payment
#: reads them with the claim (``ledger.claims.get_claim(accounts=True)``) instead of
#: asking ``ledger.movement_dates.closed_periods`` in a query of its own.
ClaimPayerLine.closed_until = _closed_until("subfund", ClaimPayerLine.subfund_code)
Bank.closed_until = _closed_until("bank", Bank.code)
