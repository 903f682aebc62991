"""Write throughput of the journal against bare SQL doing the same database work.

    .venv/bin/python bench/journal.py [--n 5000] [--backend sqlite|postgresql|both]
                                      [--batch 1] [--repeat 3] [--profile]

For each backend a dedicated, freshly migrated database is made (SQLite: a temporary
file; PostgreSQL: database ``bench_journal``, created through an autocommit connection
to the database in ``BENCH_POSTGRESQL_URL`` and dropped at the end).

Ledger: ``journal.post_transaction`` of N two-leg, contribution-like transactions
(debit a no-overdraft, debit-normal account; credit a credit-normal one), through an ORM
session, committing every ``--batch`` transactions (default 1: one transaction per
commit, as one API request would).

Baseline, in the same run, against its own identical fresh pair of accounts, through the
same DBAPI driver with no SQLAlchemy in between: per transaction the two conditional
UPDATEs (``balance = balance + d WHERE id = … AND balance + d >= 0``), the two postings
(executemany) and then the header, whose trigger checks that the postings balance; the
same commit cadence. So the difference is the ledger's Python and ORM overhead.

Postings/s counts journal rows in ``journal_postings`` (two per transaction). Each
figure is the best of ``--repeat`` rounds; the order of ledger and baseline alternates
between rounds so that neither always writes into the larger tables. ``--profile`` runs
one more ledger round under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone

from harness import DEFAULT_PG, scratch_database  # first: puts the project root on sys.path

from sqlalchemy import Engine, func, select  # noqa: E402

from ledger import journal  # noqa: E402
from ledger.db import make_sessionmaker
from ledger.models import CREDIT, DEBIT, Account, Posting  # noqa: E402

BENCH_DB = "bench_journal"
DAY = date(2026, 3, 1)
AMOUNT = 123_45  # fen per transaction
WARMUP = 200  # transactions before the clock starts (connections, statement caches)


def open_pair(engine: Engine, name: str) -> tuple[int, int]:
    """A fresh (available, contributions) pair of accounts, as a sub-fund has."""
    with make_sessionmaker(engine)() as session:
        available = journal.open_account(session, f"bench:{name}:available", f"{name} available",
                                         normal_side=DEBIT, no_overdraft=True)
        contributions = journal.open_account(session, f"bench:{name}:contributions", f"{name} contributions",
                                             normal_side=CREDIT)
        session.commit()
        return available.id, contributions.id


# -- the two writers -----------------------------------------------------------------------


def ledger_writer(engine: Engine, pair: tuple[int, int], batch: int) -> Callable[[int, int], None]:
    """Posts transactions ``first .. first + n - 1`` through ``journal.post_transaction``."""

    def write(first: int, n: int) -> None:
        with make_sessionmaker(engine)() as session:
            available = session.get_one(Account, pair[0])
            contributions = session.get_one(Account, pair[1])
            for i in range(first, first + n):
                journal.post_transaction(
                    session,
                    kind="contribution",
                    legs=[journal.debit(available, AMOUNT), journal.credit(contributions, AMOUNT)],
                    effective_on=DAY,
                    memo="bench contribution",
                    reference=f"L{i}",
                    actor="bench",
                )
                if (i + 1) % batch == 0:
                    session.commit()
            session.commit()

    return write


def baseline_writer(engine: Engine, pair: tuple[int, int], batch: int) -> Callable[[int, int], None]:
    """The same rows through the bare DBAPI connection: no ORM, no SQLAlchemy Core."""
    sqlite = engine.dialect.name == "sqlite"

    def sql(statement: str) -> str:
        return statement.replace("%s", "?") if sqlite else statement

    update = sql("UPDATE accounts SET balance = balance + %s WHERE id = %s AND balance + %s >= 0")
    postings = sql("INSERT INTO journal_postings (transaction_id, account_id, amount) VALUES (%s, %s, %s)")
    header = sql(
        "INSERT INTO journal_transactions (id, kind, effective_on, memo, reference, reverses_id, created_by,"
        " dedupe_key, created_at) VALUES (%s, 'contribution', %s, 'bench contribution', %s, NULL, 'bench', NULL, %s)"
    )
    available, contributions = pair

    def write(first: int, n: int) -> None:
        raw = engine.raw_connection()  # the pool's connect hook has set SQLite's pragmas
        try:
            cursor = raw.cursor()
            for i in range(first, first + n):
                if sqlite and (i - first) % batch == 0:
                    cursor.execute("BEGIN IMMEDIATE")  # what ledger.db issues for every SQLite transaction
                for account_id in (available, contributions):  # both increase in their normal direction
                    cursor.execute(update, (AMOUNT, account_id, AMOUNT))
                    if cursor.rowcount != 1:
                        raise RuntimeError("baseline overdraft")
                txn_id = uuid.uuid4()
                # Stored as SQLAlchemy stores them: SQLite gets the UUID as 32 hex digits
                # and the timestamp as text, PostgreSQL native uuid and timestamptz.
                key = txn_id.hex if sqlite else txn_id
                now = datetime.now(timezone.utc)
                cursor.executemany(postings, [(key, available, AMOUNT), (key, contributions, -AMOUNT)])
                cursor.execute(header, (key, DAY.isoformat() if sqlite else DAY, f"B{i}",
                                        now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now))
                if (i + 1) % batch == 0:
                    raw.commit()
            raw.commit()
        finally:
            raw.close()

    return write


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    transactions: int
    batch: int
    ledger_seconds: float
    baseline_seconds: float

    @property
    def ledger_rate(self) -> float:
        return 2 * self.transactions / self.ledger_seconds

    @property
    def baseline_rate(self) -> float:
        return 2 * self.transactions / self.baseline_seconds


def timed(write: Callable[[int, int], None], first: int, n: int) -> float:
    # Like timeit, with the cyclic garbage collector paused.
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        write(first, n)
        return time.perf_counter() - start
    finally:
        gc.enable()


def measure(engine: Engine, backend: str, n: int, batch: int, repeat: int, profile: bool) -> Result:
    ledger_pair, baseline_pair = open_pair(engine, "ledger"), open_pair(engine, "baseline")
    ledger = ledger_writer(engine, ledger_pair, batch)
    baseline = baseline_writer(engine, baseline_pair, batch)
    ledger(0, WARMUP)
    baseline(0, WARMUP)
    written = WARMUP  # transactions per writer so far
    best = {"ledger": float("inf"), "baseline": float("inf")}
    for round_ in range(repeat):
        order = (("ledger", ledger), ("baseline", baseline))
        for name, write in order if round_ % 2 == 0 else reversed(order):
            best[name] = min(best[name], timed(write, written, n))
        written += n
    verify(engine, ledger_pair, baseline_pair, written)
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(ledger, written, n)
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(35)
        print(f"\n== cProfile of {n:,} ledger transactions on {backend} ==\n{report.getvalue()}")
    return Result(backend, n, batch, best["ledger"], best["baseline"])


def verify(engine: Engine, ledger_pair: tuple[int, int], baseline_pair: tuple[int, int], txns: int) -> None:
    """Both writers left a consistent journal: balanced, balances equal to the postings."""
    with make_sessionmaker(engine)() as session:
        assert journal.unbalanced_transactions(session) == [], "unbalanced transactions"
        assert journal.check_balances(session) == [], "cached balances differ from the journal"
        for pair in (ledger_pair, baseline_pair):
            balances = session.scalars(select(Account.balance).where(Account.id.in_(pair))).all()
            assert balances == [txns * AMOUNT] * 2, (pair, balances, txns)
        total = session.scalar(select(func.count()).select_from(Posting))
        assert total == 2 * 2 * txns, total


def print_table(results: list[Result]) -> None:
    print()
    print(f"{'backend':<11} {'txns':>7} {'txns/commit':>11} {'ledger postings/s':>18} "
          f"{'baseline postings/s':>20} {'ratio':>6}")
    for r in results:
        ratio = r.ledger_rate / r.baseline_rate
        flag = "" if ratio >= 0.5 else "  < 0.5: see --profile"
        print(f"{r.backend:<11} {r.transactions:>7,} {r.batch:>11} {r.ledger_rate:>18,.0f} "
              f"{r.baseline_rate:>20,.0f} {ratio:>6.2f}{flag}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="transactions per measured round (default 5000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batch", type=int, default=1, help="transactions per commit (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best one counts (default 3)")
    parser.add_argument("--profile", action="store_true", help="also profile one ledger round with cProfile")
    args = parser.parse_args(argv)

    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = []
    for backend in backends:
        database = scratch_database(backend, BENCH_DB, admin_url=os.environ.get("BENCH_POSTGRESQL_URL", DEFAULT_PG))
        with database as engine:
            print(f"{backend}: {args.repeat} round(s) of {args.n:,} transactions each way ...", flush=True)
            results.append(measure(engine, backend, args.n, args.batch, args.repeat, args.profile))
    print_table(results)


if __name__ == "__main__":
    main()
