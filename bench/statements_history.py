"""One month's sub-fund and bank statements against the length of the journal's history.

    .venv/bin/python bench/statements_history.py                               # both databases, 10k and 100k
    .venv/bin/python bench/statements_history.py --sizes 10000,1000000 --repeat 9   # the 1M point
    .venv/bin/python bench/statements_history.py --db sqlite --no-before

For each database and each size N, a fresh migrated ledger (SQLite: a temporary file;
PostgreSQL: databases ``bench_statements_history_<i>`` next to ``--pg-url``, dropped at
the end) gets what ``bench/statements.py`` builds through the services — a sub-fund GD-PROV
with ``--movements`` movements over the first half of 2026 (contributions,
reservations, payouts, releases), two neighbour sub-funds, bank CCB-JM with a paid claim —
and then N contributions on GD-PROV's ``available`` account dated before the month,
spread over 2020-01-01 … 2026-04-30, written as bare Core rows in batches with their
running ``balance_after``; the cached balances are moved to match and the day closings
(``account_days``) rebuilt as migration 0012 derives them. Then it times (median of
``--repeat``, a fresh read-only session each) for June 2026:

- the sub-fund statement's data (``statements.prepare``: opening, movements, checks, state hash);
- the same, rendered to PDF bytes (``pdf.render``);
- the bank statement's data for CCB-JM;
- before (unless ``--no-before``): the read the sub-fund statement made before issue 13,
  every posting of the two accounts from the first, on the same database; its figures
  (opening, movements, closing) are checked equal to the new statement's.

All sizes' ledgers are built first and then timed call by call in turn (the machine is
shared: a load spike hits every size alike). It prints each figure and the ratio of
each size against the smallest, measured in the same run: the goal is <= 1.5x for
both statements.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from importlib import import_module
from typing import Any

from harness import DEFAULT_PG, ROOT, scratch_database  # first: puts the project root on sys.path

from sqlalchemy import Engine, insert, select, text, update  # noqa: E402

import pdf  # noqa: E402
from ledger import statements  # noqa: E402
from ledger.db import make_sessionmaker  # noqa: E402
from ledger.models import Account, JournalTransaction, Posting  # noqa: E402
from tests.test_statements_history import whole_history_figures  # noqa: E402

BENCH_DB = "bench_statements_history"
BATCH = 20_000
JUNE = statements.Period(date(2026, 6, 1), date(2026, 6, 30))
TODAY = date(2026, 7, 15)
FIRST = date(2020, 1, 1)
DAYS = (date(2026, 4, 30) - FIRST).days + 1


def _statements_bench():  # type: ignore[no-untyped-def]
    """bench/statements.py as a module (its name would clash with ``ledger.statements``'s
    users on ``sys.path``): its ledger builder is the month this bench reads."""
    spec = importlib.util.spec_from_file_location("bench_statements", ROOT / "bench" / "statements.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def fill(engine: Engine, history: int, movements: int) -> None:
    """The month's ledger through the services, then ``history`` earlier contributions."""
    with make_sessionmaker(engine)() as session:
        _statements_bench().build_ledger(session, movements)
        accounts = {a.code: a for a in session.scalars(select(Account).where(Account.code.in_(
            ["subfund:GD-PROV:available", "subfund:GD-PROV:contributions"])))}
        available, contributions = accounts["subfund:GD-PROV:available"], accounts["subfund:GD-PROV:contributions"]
        ids, balances = (available.id, contributions.id), [available.balance, contributions.balance]
    done = 0
    while done < history:
        n = min(BATCH, history - done)
        headers, rows = [], []
        for i in range(done, done + n):
            txn = uuid.uuid4()
            amount = 100_00 + i % 997
            balances[0] += amount
            balances[1] += amount  # credit-normal: a credit raises it
            rows.append({"transaction_id": txn, "account_id": ids[0], "amount": amount, "balance_after": balances[0]})
            rows.append({"transaction_id": txn, "account_id": ids[1], "amount": -amount,
                         "balance_after": balances[1]})
            headers.append({"id": txn, "kind": "contribution", "effective_on": FIRST + timedelta(days=i * DAYS // history),
                            "memo": "", "reference": f"H{i}", "dedupe_key": f"contribution:GD-PROV:H{i}"})
        with engine.begin() as connection:
            connection.execute(insert(Posting.__table__), rows)
            connection.execute(insert(JournalTransaction.__table__), headers)
        done += n
    table = Account.__table__
    with engine.begin() as connection:
        for account_id, balance in zip(ids, balances):
            connection.execute(update(table).where(table.c.id == account_id).values(balance=balance))
        # The closings as migration 0012 derives them from every posting.
        connection.execute(text("DELETE FROM account_days"))
        connection.execute(text(import_module("ledger.migrations.versions.0012_account_days")._BACKFILL))
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))


class Ledger:
    """One filled ledger and the timed reads of June on it."""

    def __init__(self, engine: Engine, history: int, movements: int) -> None:
        started = time.perf_counter()
        fill(engine, history, movements)
        self.fill_s = time.perf_counter() - started
        self.readers = make_sessionmaker(engine, readonly=True)
        self.fund = _statements_bench().FUND
        self.font = pdf.load_font()
        self.subfund = self.prepare("subfund", "GD-PROV")

    def prepare(self, kind: str, scope: str) -> statements.Prepared:
        with self.readers() as session:
            return statements.prepare(session, kind, scope, JUNE, "zh", self.fund, today=TODAY)

    def rendered(self) -> int:
        prepared = self.prepare("subfund", "GD-PROV")
        out = io.BytesIO()
        pdf.render(prepared.kind, prepared.data, prepared.meta("ZJD-2026-000001"), self.font, out)
        return len(out.getvalue())

    def whole_history(self) -> dict[str, Any]:
        with self.readers() as session:
            return whole_history_figures(session, "GD-PROV", JUNE)

    def check_against_whole_history(self) -> None:
        """The new figures are the old way's: opening, closing and every movement."""
        old, new = self.whole_history(), self.subfund.data
        printed = old["movements"][0].keys() if old["movements"] else ()
        assert old["opening"] == new["opening"] and old["journal"] == new["journal"]
        assert old["movements"] == [{k: m[k] for k in printed} for m in new["movements"]]

    def calls(self, before: bool) -> dict[str, Callable[[], object]]:
        calls: dict[str, Callable[[], object]] = {
            "subfund_ms": lambda: self.prepare("subfund", "GD-PROV"),
            "bank_ms": lambda: self.prepare("bank", "CCB-JM"),
            "pdf_ms": self.rendered,
        }
        if before:
            calls["before_ms"] = self.whole_history
        return calls


def race(ledgers: dict[int, Ledger], repeat: int, before: bool) -> dict[int, dict[str, float]]:
    """Median ms of each call on each ledger, the sizes alternating call by call so that
    all see the same machine load (the machine is shared)."""
    times: dict[int, dict[str, list[float]]] = {size: {} for size in ledgers}
    for ledger in ledgers.values():
        for call in ledger.calls(before).values():
            call()  # warm
    for round_ in range(repeat):
        for name in ledgers[next(iter(ledgers))].calls(before):
            if name in ("before_ms", "pdf_ms") and round_ >= max(3, repeat // 3):
                continue  # slow at 1M (before), and no database in it (PDF): fewer rounds
            for size, ledger in ledgers.items():
                start = time.perf_counter()
                ledger.calls(before)[name]()
                times[size].setdefault(name, []).append(time.perf_counter() - start)
    return {size: {name: statistics.median(values) * 1000 for name, values in by_name.items()}
            for size, by_name in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="postings of history before the month, comma-separated")
    parser.add_argument("--movements", type=int, default=300, help="movements over the half-year (about a sixth in June)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--no-before", action="store_true", help="skip the pre-issue-13 whole-history read")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRESQL_URL", DEFAULT_PG))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for db in dbs:
        with contextlib.ExitStack() as stack:
            ledgers = {}
            for i, size in enumerate(sizes):
                engine = stack.enter_context(scratch_database(db, f"{BENCH_DB}_{i}", admin_url=args.pg_url))
                ledgers[size] = Ledger(engine, size, args.movements)
                if not args.no_before:
                    ledgers[size].check_against_whole_history()
                print(f"{db:10} {size:>9,} postings of history: filled in {ledgers[size].fill_s:6.1f} s, June has "
                      f"{len(ledgers[size].subfund.data['movements'])} movements", flush=True)
            results = race(ledgers, args.repeat, not args.no_before)
        for size in sizes:
            r = results[size]
            print(f"{db:10} {size:>9,}  sub-fund data {r['subfund_ms']:7.2f} ms  with PDF {r['pdf_ms']:7.1f} ms  "
                  f"bank data {r['bank_ms']:7.2f} ms"
                  + (f"  before (whole history) {r['before_ms']:9.1f} ms" if "before_ms" in r else ""), flush=True)
        small = results[sizes[0]]
        for size in sizes[1:]:
            r = results[size]
            ratios = {key: r[key] / small[key] for key in r}
            line = (f"{db:10} {size:,} vs {sizes[0]:,}: sub-fund data x{ratios['subfund_ms']:.2f}  "
                    f"with PDF x{ratios['pdf_ms']:.2f}  bank data x{ratios['bank_ms']:.2f}")
            if "before_ms" in ratios:
                line += f"  before x{ratios['before_ms']:.2f}"
            ok = ratios["subfund_ms"] <= 1.5 and ratios["bank_ms"] <= 1.5
            print(line + ("  OK (<= 1.5)" if ok else "  ABOVE 1.5"), flush=True)


if __name__ == "__main__":
    main()
