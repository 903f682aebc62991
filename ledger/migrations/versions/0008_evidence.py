"""evidence: journal numbers and digests in the audit chain, signed checkpoints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import ddl

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild): audit_entries' triggers refuse the UPDATE
    # and DELETE a table rebuild would not do, but they must not be dropped either.
    op.add_column("audit_entries", sa.Column("journal", sa.JSON(), nullable=True))
    op.add_column("audit_head", sa.Column("journal_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                          server_default="0", nullable=False))
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_seq"), "audit_checkpoints", ["seq"], unique=False)
    ddl.append_only("audit_checkpoints")


def downgrade() -> None:
    ddl.drop_append_only("audit_checkpoints")
    op.drop_index(op.f("ix_audit_checkpoints_seq"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_column("audit_head", "journal_seq")
    op.drop_column("audit_entries", "journal")
