"""What every benchmark shares: the project root on ``sys.path``, and a scratch
database — migrated, and dropped afterwards.

Import it before anything of ours (``import harness``): run as ``python bench/x.py``,
``bench/`` is ``sys.path[0]`` and ``bench/rules.py`` would shadow the ``rules``
package the ledger imports, so the project root takes its place.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The PostgreSQL server benchmarks create their databases on (beside this one).
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def scratch_database(backend: str, name: str, *, admin_url: str = DEFAULT_PG, migrate: bool = True) -> Iterator[Engine]:
    """An empty database for one measurement: SQLite in a temporary directory, or
    PostgreSQL database ``name`` created beside ``admin_url`` (dropped first if a
    crashed run left it behind, and always dropped at the end)."""
    from sqlalchemy.engine import make_url

    from ledger.db import make_engine, normalize_url
    from ledger.migrate import upgrade

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
            try:
                if migrate:
                    upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    if backend != "postgresql":
        raise ValueError(f"backend is sqlite or postgresql, not {backend!r}")
    admin = make_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        _drop(admin, name)
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        engine = make_engine(make_url(admin.url).set(database=name).render_as_string(hide_password=False))
        try:
            if migrate:
                upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        # FORCE: a server process that did not exit in time must not keep it alive.
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
