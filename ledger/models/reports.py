"""Banks' monthly loan-level reports (SPEC §4a, 贷款月度报送) and their lines."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

#: A loan's position as a bank reports it at a month's end.
REPORT_STATUSES = ("current", "overdue", "default", "repaid")


class LoanReport(Base):
    """One report a bank sent for one month; a later one for the same month is a
    correction (``sequence`` 2, 3, …). Append-only: what was received stays on record."""

    __tablename__ = "loan_reports"
    __table_args__ = (UniqueConstraint("bank_id", "period", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    #: The month reported, ``YYYY-MM``.
    period: Mapped[str] = mapped_column(String(7), index=True)
    #: 1 for the first report of the month, then one more per correction.
    sequence: Mapped[int]
    #: Business date the report was received.
    received_on: Mapped[date]
    #: Day N of the following month per ``monthly_report_due_day`` (None: no duty set).
    due_on: Mapped[date | None]
    late: Mapped[bool]
    #: ``json``, ``csv`` or ``xlsx``.
    source: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str | None] = mapped_column(String(255))
    #: SHA-256 of the body as received.
    sha256: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int]
    #: The reconciliation answer: ``{period, late, applied, missing, unknown, mismatches, …}``.
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoanReportLine(Base):
    """One loan's position in a report, as reported (kept to apply corrections as differences)."""

    __tablename__ = "loan_report_lines"
    __table_args__ = (
        CheckConstraint("status IN ('current', 'overdue', 'default', 'repaid')", name="status"),
        CheckConstraint("outstanding >= 0 AND days_past_due >= 0", name="figures_non_negative"),
        Index("ix_loan_report_lines_report_id", "report_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("loan_reports.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    #: None when the ledger knows no loan of the bank with that external id.
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    outstanding: Mapped[int]
    status: Mapped[str] = mapped_column(String(8))
    days_past_due: Mapped[int]
    default_on: Mapped[date | None]
