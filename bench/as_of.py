"""As-of reads (SPEC §4a) on a small and a large journal: the read must not scan postings.

    .venv/bin/python bench/as_of.py [--small 10000] [--large 1000000] [--reads 300]

For each size, a temporary SQLite file gets 20 sub-funds and a year of journal
(2025-07-01 … 2026-06-30): half the postings are contributions into a sub-fund's
available money, half reservations of it (available -> reserved), each dated on a
random day, written as bare Core rows (transactions, postings) with the
``account_days`` closings derived as the migration backfills them. Then it times
``ledger.asof.subfund_balances_as_of`` for random sub-funds and days, and for
comparison the naive read that sums the account's postings dated up to the day
(what an as-of read without the running figure would cost). Figures: microseconds
per read, and the large/small ratio of each (the aim: at most 1.5 for the as-of read).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402

from ledger import asof, subfunds  # noqa: E402
from ledger.db import make_engine, make_sessionmaker  # noqa: E402
from ledger.migrate import upgrade  # noqa: E402
from ledger.models import Account, JournalTransaction, Posting, SubFund  # noqa: E402

FIRST = date(2025, 7, 1)
DAYS = 365
FUNDS = 20


def build(engine: Engine, postings: int, seed: int) -> list[SubFund]:
    upgrade(engine)
    rnd = random.Random(seed)
    with make_sessionmaker(engine)() as session:
        for i in range(FUNDS):
            subfunds.create_subfund(session, code=f"F-{i:02d}", name=f"F {i}", owner_type="city",
                                    region="440700", actor="bench")
        session.commit()
        accounts = {code: account_id for code, account_id in session.execute(select(Account.code, Account.id))}
    transactions = postings // 2
    batch_t, batch_p = [], []
    with engine.begin() as connection:
        for n in range(transactions):
            fund = f"F-{rnd.randrange(FUNDS):02d}"
            txn = uuid.uuid4()
            day = FIRST + timedelta(days=rnd.randrange(DAYS))
            amount = rnd.randrange(100, 10_000_000)
            if n % 2 == 0:  # a contribution: available up, contributions up
                legs = [(accounts[f"subfund:{fund}:available"], amount),
                        (accounts[f"subfund:{fund}:contributions"], -amount)]
            else:  # a small reservation: reserved up, available down
                amount //= 10
                legs = [(accounts[f"subfund:{fund}:reserved"], amount + 1),
                        (accounts[f"subfund:{fund}:available"], -(amount + 1))]
            batch_p += [{"transaction_id": txn, "account_id": a, "amount": x} for a, x in legs]
            batch_t.append({"id": txn, "kind": "bench", "effective_on": day, "memo": ""})
            if len(batch_t) >= 20_000:
                connection.execute(insert(Posting.__table__), batch_p)
                connection.execute(insert(JournalTransaction.__table__), batch_t)
                batch_t, batch_p = [], []
        if batch_t:
            connection.execute(insert(Posting.__table__), batch_p)
            connection.execute(insert(JournalTransaction.__table__), batch_t)
        # The closings as migration 0012 derives them from the postings.
        from importlib import import_module

        backfill = import_module("ledger.migrations.versions.0012_account_days")._BACKFILL
        connection.execute(text(backfill))
        connection.execute(text("ANALYZE"))
    with make_sessionmaker(engine)() as session:
        return list(session.scalars(select(SubFund).order_by(SubFund.code)))


def naive(session, subfund: SubFund, day: date) -> int:  # type: ignore[no-untyped-def]
    account_id = session.scalar(select(Account.id).where(Account.code == subfund.account_code("available")))
    return int(session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(JournalTransaction, JournalTransaction.id == Posting.transaction_id)
        .where(Posting.account_id == account_id, JournalTransaction.effective_on <= day)) or 0)


def measure(engine: Engine, funds: list[SubFund], reads: int, seed: int) -> tuple[float, float]:
    rnd = random.Random(seed)
    asks = [(rnd.choice(funds), FIRST + timedelta(days=rnd.randrange(DAYS))) for _ in range(reads)]
    with make_sessionmaker(engine)() as session:
        for fund, day in asks[:20]:  # warm the cache and check the two agree
            assert asof.subfund_balances_as_of(session, fund, day)["available"] == naive(session, fund, day)
        start = time.perf_counter()
        for fund, day in asks:
            asof.subfund_balances_as_of(session, fund, day)
        fast = (time.perf_counter() - start) / reads
        start = time.perf_counter()
        for fund, day in asks[: max(20, reads // 10)]:
            naive(session, fund, day)
        slow = (time.perf_counter() - start) / max(20, reads // 10)
    return fast, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (args.small, args.large):
            engine = make_engine(f"sqlite:///{Path(tmp) / f'asof-{size}.sqlite3'}")
            try:
                start = time.perf_counter()
                funds = build(engine, size, args.seed)
                built = time.perf_counter() - start
                results[size] = measure(engine, funds, args.reads, args.seed)
            finally:
                engine.dispose()
            fast, slow = results[size]
            print(f"SQLite {size:>9,} postings (built in {built:5.1f} s): as-of read {fast * 1e6:8.0f} µs   "
                  f"naive sum {slow * 1e6:10.0f} µs", flush=True)
    (fs, ss), (fl, sl) = results[args.small], results[args.large]
    print(f"large/small: as-of read {fl / fs:.2f}   naive sum {sl / ss:.2f}")


if __name__ == "__main__":
    main()
