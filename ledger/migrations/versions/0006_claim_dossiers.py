"""claim dossiers (documents with their bytes) and the SLA clock (claims.decide_by)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import ddl

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "claim_documents",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("claim_id", _BIGINT, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", _BIGINT, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0 AND size <= 20971520", name=op.f("ck_claim_documents_size_range")),
        sa.CheckConstraint(
            "content_type IN ('application/pdf', 'image/jpeg', 'image/png', 'application/ofd')",
            name=op.f("ck_claim_documents_content_type"),
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_documents_claim_id_claims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_documents")),
    )
    op.create_index("ix_claim_documents_claim_id_kind", "claim_documents", ["claim_id", "kind"])
    # Documents are never replaced (SPEC §4a): a new upload supersedes, the old stays.
    ddl.append_only("claim_documents")
    op.add_column("claims", sa.Column("decide_by", sa.Date(), nullable=True))
    op.create_index(op.f("ix_claims_decide_by"), "claims", ["decide_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_claims_decide_by"), table_name="claims")
    op.drop_column("claims", "decide_by")
    ddl.drop_append_only("claim_documents")
    op.drop_index("ix_claim_documents_claim_id_kind", table_name="claim_documents")
    op.drop_table("claim_documents")
