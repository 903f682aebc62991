"""Schema migrations (Alembic), run programmatically so no alembic.ini is needed.

Every process checks at start-up that the database is at head (``AUTO_MIGRATE``).
Importing alembic (and mako, pygments and every dialect's DDL) costs about as much as
importing Flask and SQLAlchemy together, so the check reads the head from the
migration files and ``alembic_version`` with one query, and alembic is imported only
when there is something to upgrade (or when the files are not a simple line of
revisions, which alembic then judges).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: Arbitrary constant: the PostgreSQL advisory lock that keeps two app servers
#: starting at once from migrating concurrently.
_LOCK_KEY = 7_402_116
_VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*['"]([^'"]+)['"]\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*(None|['"]([^'"]+)['"])\s*$""", re.M)


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision in ``migrations/versions`` (alembic's answer when the
    files are not one straight line of revisions)."""
    return _head_from_files() or _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


@cache
def _head_from_files() -> str | None:
    """The head of a single line of revisions, read from the files' ``revision`` and
    ``down_revision`` assignments; None (ask alembic) for anything else: branches,
    merges, a revision spelled in a way this does not read."""
    parents: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1 or revision[0] in parents:
            return None
        parents[revision[0]] = down[0][1] or None
    children = {parent for parent in parents.values() if parent is not None}
    heads = set(parents) - children
    roots = [revision for revision, parent in parents.items() if parent is None]
    if len(heads) != 1 or len(roots) != 1 or not children <= set(parents):
        return None
    return heads.pop()


def current_revision(bind: Engine | Connection) -> str | None:
    """The revision the database is at (None: not migrated). Read with one query;
    alembic judges a table holding several heads."""
    if isinstance(bind, Engine):
        # A reader: on SQLite, do not take the write lock (ledger.db begins IMMEDIATE).
        with bind.execution_options(sqlite_begin="DEFERRED").connect() as connection:
            return current_revision(connection)
    if not inspect(bind).has_table(_VERSION_TABLE):
        return None
    rows = bind.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()
    if len(rows) <= 1:
        return rows[0] if rows else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(bind).get_current_revision()  # raises: several heads


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; a no-op when it is already there."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command

    if engine.dialect.name == "postgresql":
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            try:
                command.upgrade(alembic_config(engine), revision)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                lock.commit()
    else:
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)
