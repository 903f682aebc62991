"""journal transactions by business date (ix_journal_transactions_effective_on_seq)

A period's statement reads the transactions dated in the period through this index,
in the order it prints them (date, then journal order), instead of reading each
account's postings from its first.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_journal_transactions_effective_on_seq", "journal_transactions", ["effective_on", "seq"])


def downgrade() -> None:
    op.drop_index("ix_journal_transactions_effective_on_seq", table_name="journal_transactions")
