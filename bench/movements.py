"""Sub-fund movements and balance reads against the length of the account's history.

    .venv/bin/python bench/movements.py                          # SQLite and PostgreSQL, 10k and 100k postings
    .venv/bin/python bench/movements.py --sizes 10000,1000000    # the 1M point (a few minutes to fill)
    .venv/bin/python bench/movements.py --db sqlite --repeat 20

For each database and each size N, a fresh migrated ledger (SQLite: a temporary file;
PostgreSQL: a database ``bench_movements`` next to ``--pg-url``, dropped at the end)
gets a sub-fund GD-PROV whose ``available`` account holds N postings: N contributions
written as journal rows in batches (balanced, with their running ``balance_after``,
the cached balance set to match; ``journal.check_balances`` is run after the fill).
Then, through the Flask app in-process with an auditor's token, it times (median of
``--repeat``):

- ``GET /api/v1/subfunds/GD-PROV/movements`` first page (50), and a page deep in the
  history (following a cursor taken near the end);
- ``GET /api/v1/subfunds/GD-PROV`` (the cached balances);
- before: the pre-issue-13 page-number query (count of distinct transactions +
  ``ORDER BY seq LIMIT/OFFSET``), run on the same database as a baseline.

It prints each figure and the ratio of each size against the smallest, measured in
the same run: the goal is page 1 at the largest size <= 1.5x page 1 at the smallest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import date

from harness import DEFAULT_PG, scratch_database  # first: puts the project root on sys.path

from sqlalchemy import Engine, func, insert, select, text, update  # noqa: E402

from web import create_app  # noqa: E402
from ledger import auth, journal, subfunds  # noqa: E402
from ledger.db import make_sessionmaker
from ledger.models import Account, JournalTransaction, Posting  # noqa: E402

BENCH_DB = "bench_movements"
BATCH = 20_000


def fill(engine, postings: int) -> None:  # type: ignore[no-untyped-def]
    """GD-PROV with ``postings`` contributions on its available account."""
    with make_sessionmaker(engine)() as session:
        subfunds.create_subfund(session, code="GD-PROV", name="省级子基金", owner_type="province", region="440000",
                                actor="bench")
        _user, token = auth.create_user(session, "bench-auditor", ["auditor"], actor="bench")
        session.commit()
        available = journal.get_account(session, "subfund:GD-PROV:available")
        contributions = journal.get_account(session, "subfund:GD-PROV:contributions")
        ids = (available.id, contributions.id)
    balance = 0
    done = 0
    while done < postings:
        n = min(BATCH, postings - done)
        headers, rows = [], []
        for i in range(done, done + n):
            txn = uuid.uuid4()
            amount = 100_00 + i % 997
            balance += amount
            rows.append({"transaction_id": txn, "account_id": ids[0], "amount": amount, "balance_after": balance})
            rows.append({"transaction_id": txn, "account_id": ids[1], "amount": -amount, "balance_after": balance})
            headers.append({"id": txn, "kind": "contribution", "effective_on": date(2026, 1, 5), "memo": "",
                            "reference": f"B{i}", "dedupe_key": f"contribution:GD-PROV:B{i}"})
        with engine.begin() as connection:
            connection.execute(insert(Posting.__table__), rows)
            connection.execute(insert(JournalTransaction.__table__), headers)
        done += n
    with engine.begin() as connection:
        connection.execute(update(Account.__table__).where(Account.__table__.c.id.in_(ids)).values(balance=balance))
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    with make_sessionmaker(engine)() as session:
        assert journal.check_balances(session) == []
    return token


def median_ms(call, repeat: int) -> float:  # type: ignore[no-untyped-def]
    call()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def before_page(engine) -> None:  # type: ignore[no-untyped-def]
    """The movements query before issue 13: count + OFFSET page over distinct transactions."""
    with make_sessionmaker(engine, readonly=True)() as session:
        accounts = [a.id for a in session.scalars(select(Account).where(Account.code.like("subfund:GD-PROV:%")))]
        touching = (select(JournalTransaction.seq).join(Posting, Posting.transaction_id == JournalTransaction.id)
                    .where(Posting.account_id.in_(accounts)).distinct())
        session.scalar(select(func.count()).select_from(touching.subquery()))
        seqs = session.scalars(touching.order_by(JournalTransaction.seq).limit(50)).all()
        session.execute(select(JournalTransaction, Posting.account_id, Posting.amount)
                        .join(Posting, Posting.transaction_id == JournalTransaction.id)
                        .where(JournalTransaction.seq.in_(seqs), Posting.account_id.in_(accounts))).all()


def measure(engine: Engine, postings: int, repeat: int, *, before: bool) -> dict[str, float]:
    url = engine.url.render_as_string(hide_password=False)
    started = time.perf_counter()
    token = fill(engine, postings)
    fill_s = time.perf_counter() - started
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "TESTING": True, "BUSINESS_DATE": "2026-06-30"})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> dict:  # type: ignore[type-arg]
        r = client.get(path, headers=headers)
        assert r.status_code == 200, r.json
        return r.json  # type: ignore[no-any-return]

    first = get("/api/v1/subfunds/GD-PROV/movements")
    assert len(first["items"]) == 50 and first["next_cursor"]
    # A cursor near the end of history: the position of a posting 100 from the last.
    with app.extensions["ledger_engine"].connect() as connection:
        deep = connection.scalar(select(Posting.id).order_by(Posting.id.desc()).offset(200).limit(1))
    from api.pagination import encode_cursor

    deep_cursor = encode_cursor(int(deep))
    figures = {
        "fill_s": fill_s,
        "page1_ms": median_ms(lambda: get("/api/v1/subfunds/GD-PROV/movements"), repeat),
        "deep_ms": median_ms(lambda: get(f"/api/v1/subfunds/GD-PROV/movements?cursor={deep_cursor}"), repeat),
        "balance_ms": median_ms(lambda: get("/api/v1/subfunds/GD-PROV"), repeat),
    }
    if before:
        engine = app.extensions["ledger_engine"]
        figures["before_ms"] = median_ms(lambda: before_page(engine), max(3, repeat // 4))
    app.extensions["ledger_engine"].dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="postings in the account, comma-separated")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-before", action="store_true", help="skip the pre-issue-13 query (slow at 1M on SQLite)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRESQL_URL", DEFAULT_PG))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for db in dbs:
        results = {}
        for size in sizes:
            with scratch_database(db, BENCH_DB, admin_url=args.pg_url) as engine:
                results[size] = measure(engine, size, args.repeat, before=not args.no_before)
            r = results[size]
            print(f"{db:10} {size:>9,} postings  fill {r['fill_s']:6.1f} s  page 1 {r['page1_ms']:7.2f} ms  "
                  f"deep page {r['deep_ms']:7.2f} ms  balance {r['balance_ms']:6.2f} ms"
                  + (f"  before (offset query) {r['before_ms']:9.2f} ms" if "before_ms" in r else ""), flush=True)
        small = results[sizes[0]]
        for size in sizes[1:]:
            r = results[size]
            line = (f"{db:10} {size:,} vs {sizes[0]:,}: page 1 x{r['page1_ms'] / small['page1_ms']:.2f}  "
                    f"deep page x{r['deep_ms'] / small['page1_ms']:.2f} (vs page 1 at {sizes[0]:,})  "
                    f"balance x{r['balance_ms'] / small['balance_ms']:.2f}")
            if "before_ms" in r:
                line += f"  before x{r['before_ms'] / small['before_ms']:.2f}"
            print(line + ("  OK (<= 1.5)" if r["page1_ms"] / small["page1_ms"] <= 1.5 else "  ABOVE 1.5"))


if __name__ == "__main__":
    main()
