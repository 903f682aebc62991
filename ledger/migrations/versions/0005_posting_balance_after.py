"""running balance on each posting (journal_postings.balance_after)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import ddl

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Existing postings get the running balance they would have been written with: the
# account's postings in journal (id) order, summed in the account's normal direction.
# Postings are append-only, so the UPDATE trigger is lifted for this one backfill.
_BACKFILL = """
UPDATE journal_postings SET balance_after = r.running
FROM (
    SELECT p.id AS id,
           SUM(CASE WHEN a.normal_side = 'debit' THEN p.amount ELSE -p.amount END)
               OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
    FROM journal_postings p JOIN accounts a ON a.id = p.account_id
) AS r
WHERE r.id = journal_postings.id
"""


def upgrade() -> None:
    op.add_column(
        "journal_postings",
        sa.Column("balance_after", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    )
    ddl.drop_append_only("journal_postings")
    op.execute(_BACKFILL)
    ddl.append_only("journal_postings")


def downgrade() -> None:
    op.drop_column("journal_postings", "balance_after")
