"""enterprise_banks: a bank's own, pending record of a shared enterprise (issue 10)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enterprise_banks", sa.Column("requested", sa.JSON(), nullable=True))
    op.add_column("enterprise_banks", sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("enterprise_banks", "requested_at")
    op.drop_column("enterprise_banks", "requested")
