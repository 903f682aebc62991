"""Migrations build the whole schema on both databases and match the models."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ledger.db import make_engine
from ledger.migrate import current_revision, downgrade, head_revision, upgrade
from ledger.models import Base

from .conftest import reset_postgresql


def _assert_no_drift(engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def _roundtrip(url: str) -> None:
    engine = make_engine(url)
    try:
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
        _assert_no_drift(engine)
    finally:
        engine.dispose()


def test_upgrade_from_empty_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    upgrade(engine)
    _assert_no_drift(engine)
    engine.dispose()
    _roundtrip(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


@pytest.mark.postgresql
def test_upgrade_from_empty_on_postgresql(pg_url):
    _roundtrip(pg_url)
    engine = make_engine(pg_url)
    reset_postgresql(engine)  # leave the shared test database as the fixtures expect
    engine.dispose()


def test_start_up_check_reads_the_same_head_as_alembic():
    # ledger.migrate reads the head from the files so that start-up need not import alembic.
    from alembic.script import ScriptDirectory

    from ledger.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def _entries_before_0015(engine) -> list[str]:  # type: ignore[no-untyped-def]
    """Three entries as the application wrote them before 0015: JSON columns in the driver's
    own encoding (ASCII escapes, spaces), no stored text. Returns their canonical texts."""
    import sqlalchemy as sa

    from verifier.canonical import GENESIS_HASH, canonical_json, entry_fields, entry_hash, utc_text

    entries = sa.table("audit_entries", *(sa.column(name) for name in (
        "seq", "actor", "action", "entity_type", "entity_id", "prev_hash", "hash")),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("before", sa.JSON()), sa.column("after", sa.JSON()), sa.column("journal", sa.JSON()))
    prev, texts = GENESIS_HASH, []
    with engine.begin() as connection:
        for seq in (1, 2, 3):
            moment = datetime(2026, 6, 30, 8, 0, seq, 1234 * seq, tzinfo=timezone.utc)
            journal = [{"n": 1, "id": "00000000-0000-4000-8000-000000000002", "sha256": "ab" * 32}] if seq == 2 else None
            row = dict(seq=seq, occurred_at=moment, actor="审核员" if seq == 1 else 'a "quoted" actor',
                       action="subfund.contribute" if seq == 2 else "claim.review", entity_type="claim",
                       entity_id=str(seq), before=None if seq == 1 else {"status": "submitted"},
                       after={"comment": "材料齐全\n第二行", "amount": "1200000.00", "lines": [1, 2.5, None, True]},
                       journal=journal)
            fields = entry_fields(seq, utc_text(moment), row["actor"], row["action"], "claim", row["entity_id"],
                                  row["before"], row["after"], journal)
            texts.append(canonical_json(fields))
            before, prev = prev, entry_hash(prev, fields)
            connection.execute(sa.insert(entries).values(**row, prev_hash=before, hash=prev))
        connection.execute(sa.text("UPDATE audit_head SET seq = 3, hash = :h, journal_seq = 1"), {"h": prev})
    return texts


def _backfill_roundtrip(url: str) -> None:
    from sqlalchemy import text

    from ledger import audit
    from ledger.db import make_sessionmaker

    engine = make_engine(url)
    try:
        downgrade(engine, "base")
        upgrade(engine, "0014")
        texts = _entries_before_0015(engine)
        upgrade(engine)
        with engine.connect() as connection:
            assert [row[0] for row in connection.execute(text("SELECT canonical FROM audit_entries ORDER BY seq"))] == texts
        with make_sessionmaker(engine, readonly=True)() as session:
            report = audit.verify_chain(session)  # same hashes, and the columns agree with the text
            assert report.ok and report.checked == 3, report
        with engine.begin() as connection:  # the append-only triggers are back
            with pytest.raises(Exception, match="append-only"):
                connection.execute(text("UPDATE audit_entries SET actor = 'x' WHERE seq = 1"))
        downgrade(engine, "0014")
        assert "canonical" not in {c["name"] for c in inspect(engine).get_columns("audit_entries")}
        upgrade(engine)
        _assert_no_drift(engine)
    finally:
        engine.dispose()


def test_existing_audit_entries_get_their_hashed_text_on_sqlite(tmp_path):
    _backfill_roundtrip(f"sqlite:///{tmp_path / 'backfill.sqlite3'}")


@pytest.mark.postgresql
def test_existing_audit_entries_get_their_hashed_text_on_postgresql(pg_url):
    _backfill_roundtrip(pg_url)
    engine = make_engine(pg_url)
    reset_postgresql(engine)
    engine.dispose()
