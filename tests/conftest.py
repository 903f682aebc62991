"""Fixtures that build the world: a migrated database, the app, users and tokens.

The database under test is chosen by ``TEST_DATABASE_URL``: unset means a fresh
SQLite file per test (copied from one migrated template), a PostgreSQL URL means that
database, migrated once and emptied between tests (DELETE, sequences restarted). Tests marked ``postgresql`` always
use PostgreSQL (``TEST_POSTGRESQL_URL``, default the local server) and fail in CI
when it is unreachable rather than skip.
"""

from __future__ import annotations

import gc
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from web import create_app
from ledger import auth, subfunds
from ledger.db import make_engine, make_sessionmaker, normalize_url
from ledger.migrate import upgrade
from ledger.models import Base

# Apps the tests build keep their instance folder (the demo's signing material, …) out of
# the checkout: a developer's own `ledger-admin demo` must not change what tests see.
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="ledger-test-instance-"))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BUSINESS_DATE = "2026-06-30"


def _pg_reachable(url: str) -> str | None:
    try:
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def require_postgresql(url: str) -> None:
    problem = _pg_reachable(url)
    if problem is None:
        return
    message = f"PostgreSQL at {url} is unreachable ({problem})"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI requires it.")
    pytest.skip(message + "; start it or set TEST_POSTGRESQL_URL.")


def reset_postgresql(engine: Engine) -> None:
    """Empty every table and restart every sequence; triggers (the append-only guards
    and foreign keys) are bypassed (replica role) only for this cleanup.

    DELETE, not TRUNCATE: a test leaves a few rows, and deleting them costs about a
    tenth of truncating some forty tables, which gives each table a new file (measured
    0.16 s against 1.6 s per test on the CI machine). Cloning a migrated template with
    ``CREATE DATABASE … TEMPLATE`` was slower still (2.1 s).

    A connection that an earlier test left inside a transaction would make the cleanup
    wait for ever; after a lock timeout it is terminated and this test fails, naming it.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text("; ".join(f"DELETE FROM {table}" for table in tables)))
            connection.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                    "WHERE c.relkind = 'S' AND n.nspname = current_schema()"))
            connection.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    except OperationalError:
        with engine.begin() as connection:
            leaked = connection.execute(text(
                "SELECT pid, state, left(query, 200) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        pytest.fail(f"An earlier test left database connections open in a transaction: {leaked}")


class Database:
    """Hands out a clean, migrated database URL per test.

    On PostgreSQL the run gets a database of its own (created next to the one the URL
    names, dropped at the end), so leftovers of earlier runs or a concurrent run on the
    same server cannot leak in.
    """

    def __init__(self, tmp: Path, url: str | None) -> None:
        self.url = url
        self.tmp = tmp
        self.template: Path | None = None
        self.counter = 0
        self.server_url: str | None = None
        #: PostgreSQL: the engine that empties the database before each test, kept for
        #: the run (a new connection per test cost more than the DELETEs).
        self._reset_engine: Engine | None = None
        if url is None:
            self.template = tmp / "template.sqlite3"
            engine = make_engine(f"sqlite:///{self.template}")
            upgrade(engine)
            engine.dispose()  # closing the last connection folds the WAL into the file
        else:
            require_postgresql(url)
            self.server_url = url
            name = f"ledger_test_{os.getpid()}_{secrets.token_hex(3)}"
            self._admin(f'CREATE DATABASE "{name}"')
            self.url = make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False)
            engine = make_engine(self.url)
            upgrade(engine)
            engine.dispose()

    def _admin(self, statement: str) -> None:
        assert self.server_url is not None
        admin = make_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(statement))
        finally:
            admin.dispose()

    def drop(self) -> None:
        if self._reset_engine is not None:
            self._reset_engine.dispose()
        if self.server_url is not None and self.url is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{make_url(self.url).database}" WITH (FORCE)')

    @property
    def is_postgresql(self) -> bool:
        return self.url is not None

    def fresh(self) -> str:
        if self.template is not None:
            self.counter += 1
            path = self.tmp / f"test-{self.counter}.sqlite3"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        assert self.url is not None
        if self._reset_engine is None:
            self._reset_engine = make_engine(self.url)
        reset_postgresql(self._reset_engine)
        return self.url


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(tmp_path_factory.mktemp("db"), os.environ.get("TEST_DATABASE_URL") or None)
    yield database
    database.drop()


@pytest.fixture
def database_url(database: Database) -> str:
    return database.fresh()


@pytest.fixture(scope="session")
def postgresql_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = os.environ.get("TEST_POSTGRESQL_URL", DEFAULT_PG)
    require_postgresql(url)
    database = Database(tmp_path_factory.mktemp("pg"), url)
    yield database
    database.drop()


@pytest.fixture
def pg_url(postgresql_database: Database) -> str:
    return postgresql_database.fresh()


_start_up_frozen = False


def _freeze_start_up() -> None:
    """Once the first app is built, set aside (``gc.freeze``) what the run has made so
    far: the modules an app imports and their classes and schemas live for the whole
    run, and every full collection would walk them again (about a tenth of the suite's
    CPU, measured on the claims and statements tests). Reference counting still frees
    them; the collector keeps looking at everything made later."""
    global _start_up_frozen
    if not _start_up_frozen:
        gc.freeze()
        _start_up_frozen = True


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    # Signing material (checkpoint key, the demo's certificate) in the test's own folder.
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "BUSINESS_DATE": BUSINESS_DATE,
                      "SIGNING_KEY_PATH": str(tmp_path / "signing" / "checkpoint-ed25519.pem")})
    _freeze_start_up()
    yield app
    app.extensions["ledger_engine"].dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def engine(app) -> Engine:  # type: ignore[no-untyped-def]
    return app.extensions["ledger_engine"]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database; commit what the test sets up.

    It begins DEFERRED on SQLite so that a test holding it open (after a read) does
    not block the app's writers; tests are the only writer while it is in use.
    """
    with make_sessionmaker(engine, readonly=True)() as session:
        yield session


@pytest.fixture
def make_user(session: Session):  # type: ignore[no-untyped-def]
    """``make_user("approver")`` -> a bearer token for a new user with those roles."""
    counter = {"n": 0}

    def _make(*roles: str, name: str | None = None, bank: str | None = None) -> str:
        counter["n"] += 1
        _user, token = auth.create_user(session, name or f"user{counter['n']}", roles, actor="test", bank_code=bank)
        session.commit()
        return token

    return _make


@pytest.fixture
def make_bank(session: Session):  # type: ignore[no-untyped-def]
    def _make(code: str = "BANK-A", name: str = "测试银行") -> str:
        _bank, token = auth.create_bank(session, code, name, actor="test")
        session.commit()
        return token

    return _make


@pytest.fixture
def make_subfund(session: Session):  # type: ignore[no-untyped-def]
    """``make_subfund("GD-PROV", 1_000_00)`` -> a sub-fund holding that many fen."""
    from datetime import date

    def _make(code: str, fen: int = 0, *, owner_type: str = "province", region: str = "440000"):  # type: ignore[no-untyped-def]
        subfund = subfunds.create_subfund(session, code=code, name=f"{code} fund", owner_type=owner_type,
                                          region=region, actor="test")
        if fen:
            subfunds.contribute(session, code, amount=fen, received_on=date(2026, 1, 5), reference=f"OPEN-{code}",
                                actor="test")
        session.commit()
        return subfund

    return _make


EXAMPLE_RULES = Path(__file__).resolve().parent.parent / "rules" / "examples"
#: SPEC §3.3: the sub-funds of the worked examples (CITY-440100 deliberately absent).
SPEC_SUBFUNDS = {
    "GD-PROV": ("province", "440000"),
    "INS-PICC": ("insurer", "440000"),
    "CITY-440700": ("city", "440700"),
    "CITY-440500": ("city", "440500"),
    "CITY-441900": ("city", "441900"),
}


@pytest.fixture
def subfund_funding() -> dict[str, int]:
    """Fen per sub-fund for ``gd_scheme``; override in a test module to starve one."""
    return {code: 100_000_000_00 for code in SPEC_SUBFUNDS}


@pytest.fixture
def rule_overrides() -> dict:  # type: ignore[type-arg]
    """Changes to the GD-KJD document for ``gd_scheme``, e.g. ``{"claims": {"per_bank_annual_cap": ...}}``."""
    return {}


@pytest.fixture
def gd_scheme(session: Session, make_subfund, subfund_funding, rule_overrides):  # type: ignore[no-untyped-def]
    """SPEC §3's GD-KJD rules published, and its sub-funds funded (100,000,000.00 each by default)."""
    import rules
    from ledger import schemes

    for code, (owner, region) in SPEC_SUBFUNDS.items():
        make_subfund(code, subfund_funding[code], owner_type=owner, region=region)
    document = rules.load_file(EXAMPLE_RULES / "gd-kjd.toml").document
    for section, values in rule_overrides.items():
        document = {**document, section: {**document.get(section, {}), **values}}
    version = schemes.publish(session, "GD-KJD", document, actor="test")
    session.commit()
    return version


@pytest.fixture
def make_loan(session: Session, gd_scheme):  # type: ignore[no-untyped-def]
    """``make_loan("BANK-A", region=..., categories=..., principal=fen)`` -> a registered Loan row.

    Built directly (not through the registration checks) so claim tests stand alone.
    """
    from datetime import date

    from sqlalchemy import select

    from ledger.loans import book
    from ledger.models import Bank, Enterprise, Loan

    counter = {"n": 0}

    def _make(bank_code: str, *, region: str, categories: list[str], principal: int,
              outstanding: int | None = None, disbursed_on: date = date(2026, 1, 15),
              status: str = "active", enterprise: Enterprise | None = None) -> Loan:
        counter["n"] += 1
        bank = session.scalars(select(Bank).where(Bank.code == bank_code)).one()
        if enterprise is None:
            enterprise = Enterprise(credit_code=f"91440000TEST{counter['n']:05d}X"[:18], name=f"测试科技有限公司{counter['n']}",
                                    region=region, categories=sorted(categories))
            session.add(enterprise)
            session.flush()
        loan = Loan(bank_id=bank.id, external_id=f"L-{counter['n']}", scheme_id=gd_scheme.scheme_id,
                    rule_version_id=gd_scheme.id, enterprise_id=enterprise.id, region=region,
                    categories=sorted(categories), principal=principal,
                    outstanding=principal if outstanding is None else outstanding, disbursed_on=disbursed_on,
                    maturity_on=date(2027, 1, 15), status=status, registered_on=disbursed_on, registration={})
        session.add(loan)
        session.flush()
        book.recount(session, loan.scheme_id, loan.bank_id)  # as registration would have counted it
        session.commit()
        return loan

    return _make
