"""Throughput of the bulk loan upload against bare Core inserts of the same rows.

    .venv/bin/python bench/import.py [--n 100000] [--db sqlite|postgresql|both] [--repeat 1] [--prefill 0]
                                     [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--profile]

Generates a CSV of N loans (GD-KJD example rules, 粤 regions, two loans per borrower,
each row carrying its borrower's columns so the upload registers the enterprises
too) and measures, on a temporary database of each kind:

* **bulk** — ``ledger.bulk.import_loans`` from the CSV bytes, batches of 500 committed
  as they go: parsing, credit-code check digits, the rule version in force, every
  registration check (categories, principal, term, window, NPL suspension, pool
  capacity), idempotency look-ups, enterprise links and one audit entry per loan and
  per new enterprise.
* **baseline** — the same CSV read with :mod:`csv`, the values converted, and the same
  enterprise, enterprise-bank and loan rows inserted with SQLAlchemy Core
  ``executemany`` in one transaction, with no check and no audit.

Each run starts from a freshly migrated, empty database: a temporary SQLite file,
or on PostgreSQL the databases ``bench_import`` (bulk) and ``bench_import_baseline``
created next to the one in ``--pg-url`` through an autocommit connection, and dropped
afterwards. With ``--prefill P`` both first get a book of P loans (bank BENCH's, ten
per borrower, written with ``INSERT … SELECT``, not timed): does the upload slow as
the table grows? (Emptying one database between the runs instead — DELETE, then
VACUUM ANALYZE — made PostgreSQL's next bulk load several times slower: that measured
the harness, not the import.) With ``--repeat`` each is run that many times and the best
time kept. The aim (issue 13): a ratio of at least 0.4 on SQLite and 0.5 on
PostgreSQL, and the rate with ``--prefill 1000000`` at least 0.8 of the rate without.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from harness import DEFAULT_PG, fill_loan_book, funded_scheme, scratch_database  # first: puts the project root on sys.path

from sqlalchemy import Engine, insert, select

from ledger import auth, bulk, creditcode  # noqa: E402
from ledger.db import make_sessionmaker
from ledger.models import Enterprise, EnterpriseBank, Loan, RuleVersion, Scheme  # noqa: E402

TODAY = date(2026, 6, 30)
REGIONS = ["440703", "440704", "440705", "440781", "440511", "440513", "441502", "445102", "440106", "440305",
           "441900", "442000", "440803", "441402"]
EXTRA_CATEGORIES = ["high_tech", "agri_tech", "specialized_town"]
HEADER = ["external_id", "scheme", "credit_code", "principal", "disbursed_on", "maturity_on", "interest_rate",
          "collateral_type", "enterprise_name", "region", "categories"]


def make_csv(n: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    firms: list[tuple[str, str, str, str]] = []
    for i in range(n):
        if i % 2 == 0:  # two loans per borrower
            n_firm = len(firms)
            body = "".join(creditcode.CHARSET[(n_firm // 31**k) % 31] for k in range(6))
            region = rnd.choice(REGIONS)
            categories = ["tech_sme"] + [c for c in EXTRA_CATEGORIES if rnd.random() < 0.3]
            firms.append((creditcode.complete(f"91{region}MA{body}"), f"测试科技有限公司{n_firm:06d}", region,
                          ",".join(categories)))
        code, name, region, categories = firms[-1]
        disbursed = TODAY - timedelta(days=rnd.randrange(0, 30))
        maturity = disbursed + timedelta(days=rnd.randrange(180, 1080))
        principal = rnd.randrange(10_000_000, 1_000_000_000)
        writer.writerow([f"BENCH-{i:07d}", "GD-KJD", code, f"{principal // 100}.{principal % 100:02d}",
                         disbursed.isoformat(), maturity.isoformat(), f"0.0{rnd.randrange(300, 600)}",
                         rnd.choice(["信用", "保证", "抵押", "质押"]), name, region, categories])
    return out.getvalue().encode("utf-8")


def build_world(engine: Engine) -> int:
    """Rules, sub-funds deep enough for every loan, and the bank; returns the bank id."""
    with make_sessionmaker(engine)() as session:
        funded_scheme(session)
        bank, _token = auth.create_bank(session, "BENCH", "基准银行", actor="bench")
        session.commit()
        return bank.id


def run_bulk(engine: Engine, data: bytes, bank_id: int) -> bulk.ImportReport:
    with make_sessionmaker(engine)() as session:
        return bulk.import_loans(session, data, bank_id=bank_id, today=TODAY, actor="bench", commit=session.commit)


def run_baseline(engine: Engine, data: bytes, bank_id: int) -> int:
    """The same rows, bare: csv + conversions + Core executemany, one transaction."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    firms: dict[str, dict[str, object]] = {}
    loans = []
    for row in reader:
        code = row["credit_code"]
        if code not in firms:
            firms[code] = {"credit_code": code, "name": row["enterprise_name"], "region": row["region"],
                           "categories": sorted(row["categories"].split(","))}
        principal = int(Decimal(row["principal"]) * 100)
        disbursed, maturity = date.fromisoformat(row["disbursed_on"]), date.fromisoformat(row["maturity_on"])
        loans.append({"external_id": row["external_id"], "credit_code": code, "principal": principal,
                      "disbursed_on": disbursed, "maturity_on": maturity, "interest_rate": row["interest_rate"],
                      "collateral_type": row["collateral_type"],
                      "registration": {"scheme": row["scheme"], "credit_code": code, "principal": row["principal"],
                                       "disbursed_on": row["disbursed_on"], "maturity_on": row["maturity_on"],
                                       "interest_rate": row["interest_rate"],
                                       "collateral_type": row["collateral_type"]}})
    with engine.begin() as connection:
        scheme_id = connection.scalar(select(Scheme.id).where(Scheme.code == "GD-KJD"))
        version_id = connection.scalar(select(RuleVersion.id).where(RuleVersion.scheme_id == scheme_id))
        # The fastest bare way on both drivers: executemany, then the ids by credit code.
        connection.execute(insert(Enterprise.__table__), list(firms.values()))
        codes = list(firms)
        ids: dict[str, int] = {}
        for start in range(0, len(codes), 500):
            ids.update(connection.execute(select(Enterprise.credit_code, Enterprise.id)
                                          .where(Enterprise.credit_code.in_(codes[start:start + 500]))).all())
        by_code = {code: (ids[code], firm) for code, firm in firms.items()}
        connection.execute(insert(EnterpriseBank.__table__),
                           [{"enterprise_id": new_id, "bank_id": bank_id} for new_id, _firm in by_code.values()])
        rows = []
        for loan in loans:
            enterprise_id, firm = by_code[loan.pop("credit_code")]
            rows.append({**loan, "bank_id": bank_id, "scheme_id": scheme_id, "rule_version_id": version_id,
                         "enterprise_id": enterprise_id, "region": firm["region"], "categories": firm["categories"],
                         "outstanding": loan["principal"], "status": "active", "registered_on": TODAY})
        connection.execute(insert(Loan.__table__), rows)
    return len(loans)


def measure(label: str, backend: str, pg_url: str, data: bytes, n: int, repeat: int,
            prefill: int = 0) -> tuple[float, float]:
    """Best of ``repeat`` runs of each, every run on a freshly migrated database
    (holding ``prefill`` loans already)."""
    baseline = elapsed = float("inf")
    for _ in range(repeat):
        with scratch_database(backend, "bench_import_baseline", admin_url=pg_url) as engine:
            bank_id = build_world(engine)
            if prefill:
                fill_loan_book(engine, bank_id, prefill)
            gc.collect()
            start = time.perf_counter()
            inserted = run_baseline(engine, data, bank_id)
            baseline = min(baseline, time.perf_counter() - start)
            assert inserted == n
        with scratch_database(backend, "bench_import", admin_url=pg_url) as engine:
            bank_id = build_world(engine)
            if prefill:
                fill_loan_book(engine, bank_id, prefill)
            gc.collect()
            start = time.perf_counter()
            report = run_bulk(engine, data, bank_id)
            elapsed = min(elapsed, time.perf_counter() - start)
        if report.totals["created"] != n:
            raise SystemExit(f"{label}: expected {n} created, got {report.totals}; first failures: {report.failed[:3]}")
    bulk_rate, base_rate = n / elapsed, n / baseline
    print(f"{label:<11} bulk {bulk_rate:>9,.0f} loans/s ({elapsed:6.2f} s)   baseline {base_rate:>9,.0f} loans/s "
          f"({baseline:6.2f} s)   ratio {bulk_rate / base_rate:.2f}", flush=True)
    return bulk_rate, base_rate


def profile(backend: str, pg_url: str, data: bytes) -> None:
    """Where the bulk upload's time goes: one run, sampled by pyinstrument."""
    from pyinstrument import Profiler

    with scratch_database(backend, "bench_import", admin_url=pg_url) as engine:
        bank_id = build_world(engine)
        gc.collect()
        profiler = Profiler(interval=0.0005)
        with profiler:
            run_bulk(engine, data, bank_id)
    print(f"--- {backend}")
    print(profiler.output_text(unicode=True, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="loans in the generated CSV (default 100000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs of each (default 1)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--prefill", type=int, default=0,
                        help="loans already in the book before the upload (written in bulk, not timed)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of measuring: one bulk upload under pyinstrument, its call tree printed")
    parser.add_argument("--pg-url", default=DEFAULT_PG,
                        help="a database on the server to benchmark on (bench_import is created beside it)")
    args = parser.parse_args()
    start = time.perf_counter()
    data = make_csv(args.n, args.seed)
    print(f"{args.n:,} loans, {len(data) / 1e6:.1f} MB of CSV generated in {time.perf_counter() - start:.1f} s"
          + (f"; uploaded into a book of {args.prefill:,} loans" if args.prefill else ""))
    if args.profile:
        for backend in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            profile(backend, args.pg_url, data)
        return
    if args.db in ("sqlite", "both"):
        measure("SQLite", "sqlite", args.pg_url, data, args.n, args.repeat, args.prefill)
    if args.db in ("postgresql", "both"):
        measure("PostgreSQL", "postgresql", args.pg_url, data, args.n, args.repeat, args.prefill)


if __name__ == "__main__":
    main()
