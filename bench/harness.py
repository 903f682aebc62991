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
    from sqlalchemy.orm import Session

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


#: The sub-funds GD-KJD's example rules pay from (bench/import.py, bench/registration.py).
SUBFUNDS = [("GD-PROV", "province", "440000"), ("INS-PICC", "insurer", "440000"), ("CITY-440700", "city", "440700"),
            ("CITY-440500", "city", "440500"), ("CITY-441900", "city", "441900")]


def funded_scheme(session: Session) -> None:
    """GD-KJD published from the example rules, every payer sub-fund opened and funded
    deeper than any benchmark draws (not committed)."""
    from datetime import date

    import rules
    from ledger import schemes, subfunds

    ruleset = rules.load_file(ROOT / "rules" / "examples" / "gd-kjd.toml")
    schemes.publish(session, "GD-KJD", ruleset.document, actor="bench")
    for code, owner_type, region in SUBFUNDS:
        subfunds.create_subfund(session, code=code, name=code, owner_type=owner_type, region=region, actor="bench")
        subfunds.contribute(session, code, amount=10**15, received_on=date(2026, 1, 5), reference="OPEN",
                            actor="bench")


def fill_loan_book(engine: Engine, bank_id: int, size: int, *, other_bank: str | None = None) -> None:
    """``size`` loans in GD-KJD (two in three of them the bank's, the rest
    ``other_bank``'s when given), ten per borrower — the shape the planner's statistics
    see in a real book — 94 % active, 2 % defaulted, 4 % repaid; written with Core
    ``INSERT … SELECT`` over a generated series (not through the registration checks),
    then the running figures as migration 0014 backfills them, and ANALYZE."""
    from datetime import date

    from sqlalchemy import String, case, cast, func, insert, inspect, literal, select, text

    from ledger.models import Bank, Enterprise, Loan, RuleVersion, Scheme
    from ledger.models.base import utcnow

    loans, firms, now = Loan.__table__, Enterprise.__table__, utcnow()
    with engine.begin() as connection:
        scheme_id = connection.scalar(select(Scheme.id).where(Scheme.code == "GD-KJD"))
        version_id = connection.scalar(select(RuleVersion.id).where(RuleVersion.scheme_id == scheme_id))
        other_id = connection.scalar(select(Bank.id).where(Bank.code == other_bank)) if other_bank else bank_id
        borrowers = max(1, size // 10)
        series = select(literal(1).label("n")).cte("series", recursive=True)
        series = series.union_all(select(series.c.n + 1).where(series.c.n < size))
        n = series.c.n
        first = (connection.scalar(select(func.max(Enterprise.id))) or 0) + 1
        connection.execute(insert(firms).from_select(
            ["id", "credit_code", "name", "region", "categories", "created_at", "updated_at"],
            select(literal(first - 1) + n, literal("BK") + cast(n, String), literal("借款企业"), literal("440703"),
                   literal(["tech_sme"], firms.c.categories.type), literal(now), literal(now))
            .where(n <= borrowers)))
        if connection.dialect.name == "postgresql":  # ids given: the sequence must follow
            connection.execute(text("SELECT setval(pg_get_serial_sequence('enterprises', 'id'), "
                                    "(SELECT max(id) FROM enterprises))"))
        status = case((n % 50 == 0, "defaulted"), (n % 25 == 1, "repaid"), else_="active")
        registration = {"scheme": "GD-KJD", "credit_code": "BK", "principal": "10000.00",
                        "disbursed_on": "2026-01-15", "maturity_on": "2027-01-15", "interest_rate": None,
                        "collateral_type": None}
        connection.execute(insert(loans).from_select(
            ["bank_id", "external_id", "scheme_id", "rule_version_id", "enterprise_id", "region", "categories",
             "principal", "outstanding", "disbursed_on", "maturity_on", "status", "registered_on", "registration",
             "created_at"],
            select(case((n % 3 == 0, other_id), else_=bank_id), literal("BOOK-") + cast(n, String),
                   literal(scheme_id), literal(version_id), literal(first) + n % borrowers, literal("440703"),
                   literal(["tech_sme"], loans.c.categories.type), literal(1_000_000),
                   case((n % 25 == 1, 0), else_=1_000_000), literal(date(2026, 1, 15)), literal(date(2027, 1, 15)),
                   status, literal(date(2026, 1, 15)), literal(registration, loans.c.registration.type),
                   literal(now)),
        ))
        if "loan_book_totals" in inspect(connection).get_table_names():
            from ledger.migrations import ddl

            connection.execute(text("DELETE FROM loan_book_totals"))
            connection.execute(text("INSERT INTO loan_book_totals (scheme_id, bank_id, live_outstanding, "
                                    "npl_outstanding, book_outstanding) " + ddl.loan_book_totals_sums()))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
