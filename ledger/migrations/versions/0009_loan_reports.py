"""monthly loan-level reports and their lines

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import ddl

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loan_reports",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("bank_id", _BIGINT, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("sequence", _BIGINT, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("lines", _BIGINT, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_loan_reports_bank_id_banks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_reports")),
        sa.UniqueConstraint("bank_id", "period", "sequence", name=op.f("uq_loan_reports_bank_id")),
    )
    op.create_index(op.f("ix_loan_reports_period"), "loan_reports", ["period"])
    op.create_table(
        "loan_report_lines",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("report_id", _BIGINT, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", _BIGINT, nullable=True),
        sa.Column("outstanding", _BIGINT, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("days_past_due", _BIGINT, nullable=False),
        sa.Column("default_on", sa.Date(), nullable=True),
        sa.CheckConstraint("status IN ('current', 'overdue', 'default', 'repaid')",
                           name=op.f("ck_loan_report_lines_status")),
        sa.CheckConstraint("outstanding >= 0 AND days_past_due >= 0",
                           name=op.f("ck_loan_report_lines_figures_non_negative")),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_report_lines_loan_id_loans")),
        sa.ForeignKeyConstraint(["report_id"], ["loan_reports.id"],
                                name=op.f("fk_loan_report_lines_report_id_loan_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_report_lines")),
    )
    op.create_index("ix_loan_report_lines_report_id", "loan_report_lines", ["report_id"])
    # What a bank sent stays on record: a correction is a new report, not an edit.
    for table in ("loan_reports", "loan_report_lines"):
        ddl.append_only(table)


def downgrade() -> None:
    for table in ("loan_report_lines", "loan_reports"):
        ddl.drop_append_only(table)
    op.drop_index("ix_loan_report_lines_report_id", table_name="loan_report_lines")
    op.drop_table("loan_report_lines")
    op.drop_index(op.f("ix_loan_reports_period"), table_name="loan_reports")
    op.drop_table("loan_reports")
