"""audit entries keep the exact text they were hashed over (audit_entries.canonical)

Verification then hashes the stored bytes instead of re-serialising every entry. Existing
entries get the canonical text of their columns (the hash definition is unchanged, so
their hashes and every checkpoint still verify), and their before/after/journal
columns are rewritten as the same values in canonical JSON, as entries are written from
now on, so that check ``entries`` can compare columns and text as text.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.migrations import ddl
from verifier.canonical import canonical_json, entry_fields, utc_text

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BATCH = 5000

_entries = sa.table(
    "audit_entries",
    sa.column("seq", sa.Integer()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("journal", sa.JSON()),
)


def _backfill() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"

    def json_text(name: str) -> str:
        return f"CAST(:{name} AS JSON)" if postgresql else f":{name}"

    update = sa.text(
        f"UPDATE audit_entries SET canonical = :canonical, before = {json_text('before')}, "
        f"after = {json_text('after')}, journal = {json_text('journal')} WHERE seq = :seq")
    last = 0
    while True:
        rows = bind.execute(sa.select(_entries).where(_entries.c.seq > last).order_by(_entries.c.seq)
                            .limit(_BATCH)).all()
        if not rows:
            return
        bind.execute(update, [
            {"seq": row.seq, "before": canonical_json(row.before), "after": canonical_json(row.after),
             "journal": canonical_json(row.journal or None),
             "canonical": canonical_json(entry_fields(row.seq, utc_text(row.occurred_at), row.actor, row.action,
                                                      row.entity_type, row.entity_id, row.before, row.after,
                                                      row.journal))}
            for row in rows])
        last = rows[-1].seq


def upgrade() -> None:
    op.add_column("audit_entries", sa.Column("canonical", sa.Text(), nullable=True))
    # Filling the column is an UPDATE, which the append-only triggers refuse: they are
    # lifted for this migration only (it holds the schema lock throughout).
    ddl.drop_append_only("audit_entries")
    _backfill()
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot add NOT NULL to a column in place: the table is rebuilt (copied,
        # never updated or deleted from), which drops its triggers along with it.
        with op.batch_alter_table("audit_entries") as batch:
            batch.alter_column("canonical", existing_type=sa.Text(), nullable=False)
    else:
        op.alter_column("audit_entries", "canonical", existing_type=sa.Text(), nullable=False)
    ddl.append_only("audit_entries")


def downgrade() -> None:
    op.drop_column("audit_entries", "canonical")
