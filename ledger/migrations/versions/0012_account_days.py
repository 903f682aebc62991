"""each account's closing balance per business day, for as-of reads (account_days, accounts.last_day)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Existing journals get their closings: each account's net movement per effective
# date, summed in date order in the account's normal direction.
_BACKFILL = """
INSERT INTO account_days (account_id, day, closing)
SELECT account_id, day, SUM(net) OVER (PARTITION BY account_id ORDER BY day)
FROM (
    SELECT p.account_id AS account_id, t.effective_on AS day,
           SUM(CASE WHEN a.normal_side = 'debit' THEN p.amount ELSE -p.amount END) AS net
    FROM journal_postings p
    JOIN journal_transactions t ON t.id = p.transaction_id
    JOIN accounts a ON a.id = p.account_id
    GROUP BY p.account_id, t.effective_on
) AS daily
"""


def upgrade() -> None:
    op.create_table(
        "account_days",
        sa.Column("account_id", _BIGINT, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closing", _BIGINT, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_days_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_account_days")),
    )
    op.execute(_BACKFILL)
    op.add_column("accounts", sa.Column("last_day", sa.Date(), nullable=True))
    op.execute("UPDATE accounts SET last_day = (SELECT MAX(day) FROM account_days WHERE account_id = accounts.id)")


def downgrade() -> None:
    op.drop_column("accounts", "last_day")
    op.drop_table("account_days")
