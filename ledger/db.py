"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (ARRAY, JSON, Date, DateTime, Engine, Insert, String, Text, bindparam, cast, create_engine,
                        event, func, insert, select)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Accept the usual ``postgresql://`` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: object) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Take transaction control away from the driver's legacy mode so that the
        # BEGIN below is the only one issued (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: two writers that both read and
        # then write would otherwise fail with SQLITE_BUSY when upgrading their
        # read lock, instead of queueing on the busy timeout. Read-only sessions
        # (see make_sessionmaker) begin DEFERRED so they never block writers.
        # Sent on the driver's connection, as psycopg sends PostgreSQL's BEGIN: not
        # a statement of the request (no cursor, no statement events to run).
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.connection.driver_connection.execute(f"BEGIN {mode}")


def make_sessionmaker(engine: Engine, *, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions for writers, or (``readonly``) for readers that must not take SQLite's write lock."""
    bind = engine.execution_options(sqlite_begin="DEFERRED") if readonly else engine
    return sessionmaker(bind, expire_on_commit=False)


def is_postgresql(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def allocate_ids(session: Session, table: Any, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, for a multi-row INSERT without RETURNING.

    PostgreSQL: from the column's sequence (never reused, gaps are harmless). SQLite:
    after the highest id — safe because a writer holds the database's write lock from
    BEGIN IMMEDIATE to COMMIT; should a caller write without it, the primary key
    refuses the duplicate and the upload redoes that batch row by row.
    """
    if n == 0:
        return []
    if is_postgresql(session):
        return list(session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(func.generate_series(1, n))
        ))
    start = int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
    return list(range(start + 1, start + n + 1))


def insert_unnested(table: Any, names: Sequence[str], *, shared: Sequence[str] = ()) -> Insert:
    """PostgreSQL: an INSERT into ``table`` of one row per element of the arrays bound as
    ``<name>_list`` for each of ``names`` (``unnest``), in the arrays' order (ids from a
    sequence follow it), with the columns in ``shared`` bound once (as ``<name>``) for
    every row. Any number of rows is one statement: SQLAlchemy compiles it once (a
    multi-row VALUES has no cache key and is compiled on every call), PostgreSQL
    prepares it once, and it runs once (an executemany runs once per row).

    JSON columns are bound as their text and cast, so they are stored as that text;
    strings as text[] (a cast to VARCHAR(n)[] would cut an overlong value where the
    assignment to the column refuses it)."""
    def element_type(column: Any) -> Any:
        return Text() if isinstance(column.type, (String, JSON)) else column.type

    rows = (func.unnest(*(bindparam(f"{name}_list", type_=ARRAY(element_type(table.c[name]))) for name in names))
            .table_valued(*names, with_ordinality="ordinality").render_derived())
    columns = [cast(rows.c[name], JSON()) if isinstance(table.c[name].type, JSON) else rows.c[name] for name in names]
    columns += [bindparam(name, type_=table.c[name].type) for name in shared]
    return insert(table).from_select([*names, *shared], select(*columns).order_by(rows.c.ordinality))


#: Below this many rows a Core executemany costs no more than the set-up below.
BULK_MIN_ROWS = 20


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]], *, json_text: Sequence[str] = ()) -> None:
    """INSERT ``rows`` (dicts with the same keys, ids included) the fastest way each
    database takes them: PostgreSQL's ``COPY … FROM STDIN`` — one statement for the
    lot instead of one per row — and on SQLite the driver's own executemany with the
    values converted once by the columns' types (Core's executemany spends more per
    row on its parameter bookkeeping than SQLite spends inserting the row). Both run
    in the session's transaction (and savepoint) and fire the same triggers and
    constraints; Python-side column defaults fill the keys not given, as Core would.
    A constraint violation raises SQLAlchemy's IntegrityError, as an execute() would.
    The JSON columns named in ``json_text`` are given as JSON text, stored as it is.
    """
    if not rows:
        return
    if len(rows) < BULK_MIN_ROWS:
        if json_text:
            raise ValueError("json_text is for bulk rows: insert fewer rows with their own statement")
        session.execute(table.insert(), rows)
        return
    from sqlalchemy.exc import IntegrityError

    given = list(rows[0])
    defaults = {column.name: column.default.arg(None) if column.default.is_callable else column.default.arg
                for column in table.columns
                if column.name not in rows[0] and column.default is not None and not column.default.is_sequence
                and (column.default.is_scalar or column.default.is_callable)}
    names, extra = given + list(defaults), list(defaults.values())
    dialect = session.get_bind().dialect
    preparer = dialect.identifier_preparer
    columns = f"{preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)})"
    session.flush()  # ORM objects pending in this session go first, as an execute() would send them
    driver = session.connection().connection.driver_connection
    assert driver is not None
    if dialect.name == "postgresql":
        statement = f"COPY {columns} FROM STDIN"
        write = _copy_writer(table, names, json_text)
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    write(copy, [row[name] for name in given] + extra)
        except dialect.dbapi.IntegrityError as exc:
            raise IntegrityError(statement, None, exc) from exc
        return
    statement = f"INSERT INTO {columns} VALUES ({', '.join('?' * len(names))})"
    processors = [(i, _memoised(table.c[name].type, p)) for i, name in enumerate(names) if name not in json_text
                  and (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    values = []
    for row in rows:
        value = [row[name] for name in given] + extra
        for i, process in processors:
            value[i] = process(value[i])
        values.append(value)
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, values)
    except dialect.dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    finally:
        cursor.close()


def _memoised(type_: Any, process: Any) -> Any:
    """A column's conversion done once per distinct value of one insert_rows call.

    SQLite's date and datetime conversions are string formatting (~2 µs each): a
    batch's rows share their created_at, occurred_at and registration day, and their
    loans' dates come from a few hundred days. JSON values are encoded once per object:
    a borrower's loans carry the same categories (lists are unhashable, so by identity —
    sound while the call's rows, which hold them, are alive)."""
    if isinstance(type_, JSON):
        return _by_identity(process)
    if not isinstance(type_, (Date, DateTime)):
        return process
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        converted = done.get(value, done)
        if converted is done:
            done[value] = converted = process(value)
        return converted

    return convert


def _by_identity(process: Any) -> Any:
    done: dict[int, Any] = {}

    def convert(value: Any) -> Any:
        converted = done.get(id(value), done)
        if converted is done:
            done[id(value)] = converted = process(value)
        return converted

    return convert


def _copy_writer(table: Any, names: list[str], json_text: Sequence[str]) -> Any:
    """write(copy, values): one COPY row, JSON columns encoded as psycopg's Json would
    (json.dumps; once per object, see :func:`_memoised`) and sent as text — COPY's text
    format parses it as json; those in ``json_text`` are that text already."""
    import json

    # A JSON column's None is JSON null unless the type says SQL NULL, as Core writes it.
    as_json = [(i, _by_identity(json.dumps)) for i, name in enumerate(names) if name not in json_text
               and isinstance(table.c[name].type, JSON) and not table.c[name].type.none_as_null]
    if not as_json:
        return lambda copy, values: copy.write_row(values)

    def write(copy: Any, values: list[Any]) -> None:
        for i, encode in as_json:
            values[i] = encode(values[i])
        copy.write_row(values)

    return write
