"""One loan registration with a small and a large loan book in the scheme (issue 13).

    .venv/bin/python bench/registration.py [--sizes 10000,1000000] [--n 60] [--db sqlite|postgresql|both]
                                           [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each size, a freshly migrated scratch database (SQLite file; PostgreSQL
``bench_registration_<size>``) gets GD-KJD's example rules, SPEC §3.3's five sub-funds
(deep enough for any book), the bank and another, the borrower registrations lend
to, and then a loan book of that many loans in the scheme — two in three the bank's,
ten per borrower, 94 % active, 2 % defaulted, 4 % repaid — written with Core
``INSERT … SELECT`` over a generated series (not through the registration checks),
its running figures filled as migration 0014 backfills them, and the tables analysed.

Then ``--n`` single registrations are timed, alternating between the sizes so that
the machine's load falls on both alike: each is ``ledger.loans.register_loan`` in its
own session and transaction (scheme lock, every check, the INSERT, its audit entry,
COMMIT) — what ``POST /api/v1/loans`` does below HTTP. Printed: the median per size
and the ratio largest / smallest (goal: at most 1.5), and for comparison the median
of the sums registration read before issue 13 (the scheme's live exposure and the
bank's NPL figures, summed from the loans).

The script also runs on a tree without migration 0014 (``--sizes`` the same): the
book is then not backfilled, and the registrations pay the old sums themselves.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from datetime import date

from harness import DEFAULT_PG, fill_loan_book, funded_scheme, scratch_database  # first: puts the project root on sys.path

from sqlalchemy import Engine, case, func, select

from ledger import auth, enterprises
from ledger.db import make_sessionmaker
from ledger.loans import LoanRequest, register_loan
from ledger.models import Loan, Scheme

TODAY = date(2026, 6, 30)
LIVE, NPL, ON_BOOK = ("active", "defaulted", "claimed"), ("defaulted", "claimed", "compensated"), \
    ("active", "defaulted", "claimed", "compensated")


def _credit_code(n: int) -> str:
    from ledger import creditcode

    return creditcode.complete(f"91440703MA4X{n:04d}")


def world(engine: Engine) -> int:
    with make_sessionmaker(engine)() as session:
        funded_scheme(session)
        bank, _token = auth.create_bank(session, "BENCH", "基准银行", actor="bench")
        auth.create_bank(session, "OTHER", "他行", actor="bench")
        enterprises.register_enterprise(session, bank_id=bank.id, actor="bench", credit_code=_credit_code(1),
                                        name="基准科技有限公司", region="440703", categories=["tech_sme"])
        session.commit()
        return bank.id


def register_one(engine: Engine, bank_id: int, number: int) -> float:
    request = LoanRequest(external_id=f"NEW-{number:06d}", scheme="GD-KJD", credit_code=_credit_code(1),
                          principal=1_000_000_00, disbursed_on=date(2026, 6, 15), maturity_on=date(2027, 6, 15),
                          interest_rate="0.0435", collateral_type="信用")
    start = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        _loan, created = register_loan(session, request, bank_id=bank_id, today=TODAY, actor="bench")
        session.commit()
    elapsed = time.perf_counter() - start
    assert created
    return elapsed


def old_sums(engine: Engine, bank_id: int) -> float:
    """What registration read before issue 13: the scheme's exposure and the bank's NPL
    figures, summed from the loans."""
    start = time.perf_counter()
    with engine.connect() as connection:
        scheme_id = connection.scalar(select(Scheme.id).where(Scheme.code == "GD-KJD"))
        connection.execute(select(func.max(Loan.id), func.coalesce(func.sum(
            case((Loan.status.in_(LIVE), Loan.outstanding), else_=0)), 0)).where(Loan.scheme_id == scheme_id)).one()
        for statuses in (NPL, ON_BOOK):
            connection.scalar(select(func.coalesce(func.sum(Loan.outstanding), 0)).where(
                Loan.scheme_id == scheme_id, Loan.bank_id == bank_id, Loan.status.in_(statuses)))
    return time.perf_counter() - start


def measure(backend: str, pg_url: str, sizes: list[int], n: int) -> None:
    with contextlib.ExitStack() as stack:
        books = []
        for size in sizes:
            engine = stack.enter_context(scratch_database(backend, f"bench_registration_{size}", admin_url=pg_url))
            start = time.perf_counter()
            bank_id = world(engine)
            fill_loan_book(engine, bank_id, size, other_bank="OTHER")
            print(f"{backend}: {size:,} loans written, figures filled and analysed in "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
            books.append((size, engine, bank_id))
        for size, engine, bank_id in books:  # warm: caches, first connection
            register_one(engine, bank_id, 0)
        times: dict[int, list[float]] = {size: [] for size in sizes}
        scans: dict[int, list[float]] = {size: [] for size in sizes}
        for i in range(1, n + 1):
            for size, engine, bank_id in books:
                times[size].append(register_one(engine, bank_id, i))
                if i % 10 == 0:
                    scans[size].append(old_sums(engine, bank_id))
    smallest = statistics.median(times[sizes[0]])
    for size in sizes:
        median = statistics.median(times[size])
        scan = statistics.median(scans[size]) if scans[size] else float("nan")
        print(f"{backend:<10} {size:>9,} loans: registration {median * 1000:7.1f} ms (x{median / smallest:.2f} of "
              f"{sizes[0]:,})   the old sums alone {scan * 1000:8.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="loan-book sizes, smallest first")
    parser.add_argument("--n", type=int, default=60, help="registrations timed per size (default 60)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.db in ("sqlite", "both"):
        measure("sqlite", args.pg_url, sizes, args.n)
    if args.db in ("postgresql", "both"):
        measure("postgresql", args.pg_url, sizes, args.n)


if __name__ == "__main__":
    main()
