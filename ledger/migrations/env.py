"""Alembic environment: uses the engine handed over by ``ledger.migrate``, or
``DATABASE_URL`` when run through the ``alembic`` command for authoring revisions."""

from __future__ import annotations

import os

from alembic import context

from ledger.db import make_engine
from ledger.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine(os.environ.get("DATABASE_URL", "sqlite:///instance/ledger.sqlite3"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
