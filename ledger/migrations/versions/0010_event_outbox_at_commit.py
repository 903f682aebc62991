"""events written at commit: the feed position kept on audit_head; the worker's fan-out cursor

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN, as 0008 did for journal_seq (no rebuild of the chain's head).
    op.add_column("audit_head", sa.Column("event_seq", _ID, server_default="0", nullable=False))
    op.execute("UPDATE audit_head SET event_seq = (SELECT COALESCE(MAX(position), 0) FROM events)")
    op.create_table(
        "webhook_fanout",
        sa.Column("id", _ID, autoincrement=False, nullable=False),
        sa.Column("position", _ID, server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_fanout")),
    )
    # Events already written had their deliveries queued when they were written.
    op.execute("INSERT INTO webhook_fanout (id, position) SELECT 1, COALESCE(MAX(position), 0) FROM events")


def downgrade() -> None:
    op.drop_table("webhook_fanout")
    op.drop_column("audit_head", "event_seq")
