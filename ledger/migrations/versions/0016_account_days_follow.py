"""an account's latest day closing follows its balance (trigger accounts_day_closing)

The journal's balance UPDATE used to be followed by an upsert of the day's closing,
one more statement per journal transaction while the accounts are locked; the trigger
does it inside the UPDATE. The closings already hold these values: no data changes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 19:45:00
"""

from __future__ import annotations

from ledger.migrations import ddl

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl.account_days_follow()


def downgrade() -> None:
    ddl.drop_account_days_follow()
