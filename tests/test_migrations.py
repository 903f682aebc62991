"""Migrations build the whole schema on both databases and match the models."""

from __future__ import annotations

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
