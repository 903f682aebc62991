"""running outstanding figures per (scheme, bank) for registration checks (loan_book_totals)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import ddl

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loan_book_totals",
        sa.Column("scheme_id", _BIGINT, nullable=False),
        sa.Column("bank_id", _BIGINT, nullable=False),
        sa.Column("live_outstanding", _BIGINT, nullable=False),
        sa.Column("npl_outstanding", _BIGINT, nullable=False),
        sa.Column("book_outstanding", _BIGINT, nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_loan_book_totals_bank_id_banks")),
        sa.ForeignKeyConstraint(["scheme_id"], ["schemes.id"], name=op.f("fk_loan_book_totals_scheme_id_schemes")),
        sa.PrimaryKeyConstraint("scheme_id", "bank_id", name=op.f("pk_loan_book_totals")),
    )
    # Existing books get their figures; from here on registrations add to them and the
    # trigger follows every change of a loan's status or outstanding.
    op.execute("INSERT INTO loan_book_totals (scheme_id, bank_id, live_outstanding, npl_outstanding, "
               "book_outstanding) " + ddl.loan_book_totals_sums())
    ddl.loan_book_totals_follow()


def downgrade() -> None:
    ddl.drop_loan_book_totals_follow()
    op.drop_table("loan_book_totals")
