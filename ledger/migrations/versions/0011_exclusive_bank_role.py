"""user_roles: the bank role is exclusive, enforced by the database too (issue 10)

Rows written before this revision are left as they are (the API and console refuse a
user whose stored roles break the rule); new rows cannot break it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:35:00
"""

from __future__ import annotations

from ledger.migrations import ddl

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl.exclusive_bank_role()


def downgrade() -> None:
    ddl.drop_exclusive_bank_role()
