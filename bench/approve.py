"""Approvals + payments per second through the HTTP API under gunicorn on PostgreSQL,
against bare conditional UPDATEs through psycopg doing the unavoidable money work.

    .venv/bin/python bench/approve.py [--claims 2000] [--clients 8] [--workers 2]
                                      [--worker-class gthread|sync] [--threads 4]
                                      [--banks 8] [--baseline-accounts 3] [--repeat 1]
                                      [--time-limit 300] [--profile N] [--app wsgi:app]
                                      [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Setup (not timed): a database ``bench_approve`` is created next to the one in
``--pg-url`` (through an autocommit connection; dropped first if left over, and always
dropped at the end), migrated with ``ledger.migrate.upgrade``, and filled through the
ledger's own services: the GD-KJD example rules with ``per_enterprise_cap`` and
``per_bank_annual_cap`` raised so they never bite, SPEC §3.3's five sub-funds funded
generously, ``--banks`` banks each with one large performing loan (so that its NPL
ratio stays far under ``npl_suspend_compensation``), a reviewer, one approver per
client and a fund admin with API tokens, and for each claim its own borrower and loan
(ORM rows, as ``tests/conftest.py::make_loan`` builds them) filed with
``claims.submit_claim`` and recommended with ``claims.review_claim`` on the business
date 2026-06-30. Borrowers rotate over Jiangmen, Shantou, Dongguan and Guangzhou, so a
claim's payers are GD-PROV, INS-PICC and one of the city funds (or GD-PROV again for
Guangzhou, whose city fund does not exist).

Ledger (timed): gunicorn (``wsgi:app``, ``--workers`` workers of ``--worker-class``) on
127.0.0.1, a free port, ``DATABASE_URL`` the bench database and
``BUSINESS_DATE=2026-06-30``. ``--clients`` threads each keep one ``http.client``
connection and take claims from a shared queue; for each claim they
``POST /api/v1/claims/{id}/approve`` (as their approver) and then
``POST /api/v1/claims/{id}/pay`` (as the fund admin). One approve + pay is one claim
processed. ``2 x --clients`` warm-up claims go through first, untimed. Any non-2xx
answer or connection error fails the run. The timed rounds stop taking claims after
``--time-limit`` seconds (requests time out after 60 s, a baseline round after 60 s).
gthread is the default worker class: it keeps connections alive and overlaps each
worker's waits on PostgreSQL; ``--worker-class sync`` measures plain sync workers.
The CPU used per claim by gunicorn's workers, the bench database's server backends
(read from /proc: same machine) and the clients is printed too: on a shared machine it
says what the rate would be with the cores to oneself.

Baseline (timed, same run, same database, same number of client threads): for every
claim two bare transactions through psycopg with no SQLAlchemy, each the conditional
``UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s``, an
``INSERT`` of one row into ``bench_baseline_postings`` (a table of the bench's own:
a posting at its barest) and ``COMMIT`` (the approval's reservation and the payment,
at their barest: issue 13's "bare conditional UPDATE + INSERT"), spread round-robin over
``--baseline-accounts`` funded accounts (default 3: a claim has three payer sub-funds).
The baseline writes no journal postings, so its accounts' cached balances
deliberately differ from the journal; the final check expects exactly that for them.

Floor (timed, same run, same gunicorn, same clients, after each round's pair): two
``GET /api/v1/health`` per claim-equivalent, the cheapest answer the app gives (one
session, a trivial query, no token). Its CPU per request, added to the PostgreSQL CPU a
claim costs today, gives the ceiling no change to the app's Python alone can pass;
it is printed with its ratio to the baseline.

With ``--repeat R`` there are R rounds of ``--claims`` claims each way (R x claims are
set up), alternating which goes first; the best round counts. At the end every claim
must be paid, ``journal.check_balances`` must be empty (apart from the baseline's own
accounts, checked against their expected balance) and ``audit.verify_chain`` ok.
``--profile N`` then approves and pays N more claims in this process through
``app.test_client()`` under cProfile and prints where the time goes. ``--app`` serves
another WSGI module (on ``PYTHONPATH``) instead of ``wsgi:app``, to measure a prototype.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import pstats
import queue
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from harness import DEFAULT_PG, ROOT, scratch_database  # first: puts the project root on sys.path

import psycopg  # noqa: E402
from sqlalchemy import Engine, func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import rules  # noqa: E402
from ledger import audit, auth, journal, schemes, subfunds  # noqa: E402
from ledger.claims import ClaimInput, review_claim, submit_claim  # noqa: E402
from ledger.db import make_sessionmaker
from ledger.loans import book  # noqa: E402
from ledger.models import CREDIT, DEBIT, Claim, Enterprise, Loan, Reservation, RuleVersion, User  # noqa: E402

BENCH_DB = "bench_approve"
BUSINESS_DATE = "2026-06-30"
TODAY = date.fromisoformat(BUSINESS_DATE)
DISBURSED, MATURITY, DEFAULT_ON = date(2026, 1, 15), date(2027, 1, 15), date(2026, 3, 1)
EXAMPLES = ROOT / "rules" / "examples"
#: SPEC §3.3's sub-funds: (code, owner type, region).
SUBFUNDS = (("GD-PROV", "province", "440000"), ("INS-PICC", "insurer", "440000"),
            ("CITY-440700", "city", "440700"), ("CITY-440500", "city", "440500"),
            ("CITY-441900", "city", "441900"))
FUNDING = 10_000_000_000_00  # fen per sub-fund: 10 billion yuan, far more than any run pays
#: Borrower regions: Jiangmen (CITY-440700), Shantou (YDXB, CITY-440500), Dongguan
#: (CITY-441900), Guangzhou (CITY-440100 does not exist: GD-PROV pays its share).
REGIONS = ("440703", "440511", "441900", "440106")
CLAIM_PRINCIPAL = 1_000_000_00  # fen: each claimed loan is 1,000,000.00 yuan, all outstanding
BIG_CAP = "100000000000.00"  # per_enterprise_cap and per_bank_annual_cap: never bite
BASELINE_AMOUNT = 123_45  # fen per baseline statement
SETUP_BATCH = 100  # claims submitted + reviewed per commit during setup
TIMEOUT = 60.0  # seconds: per HTTP request, and for gunicorn to come up
BASELINE_LIMIT = 60.0  # seconds: bound on one baseline or floor round
#: The baseline's INSERT, a posting at its barest: a row per movement, into a table of
#: the bench's own (the journal's tables carry the ledger's constraints and triggers).
BASELINE_TABLE = ("CREATE TABLE IF NOT EXISTS bench_baseline_postings (id bigserial PRIMARY KEY, "
                  "account_id bigint NOT NULL, amount bigint NOT NULL, "
                  "created_at timestamptz NOT NULL DEFAULT now())")
BASELINE_INSERT = "INSERT INTO bench_baseline_postings (account_id, amount) VALUES (%s, %s)"
GOAL = 0.1  # issue 13: approve + pay at 0.1 of the baseline's rate or better


# -- the database --------------------------------------------------------------------------


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def libpq_dsn(engine: Engine) -> str:
    """The engine's URL as psycopg itself takes it (no SQLAlchemy driver suffix)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


# -- setup (not timed) -----------------------------------------------------------------------


@dataclass
class World:
    reviewer: str
    approvers: list[str]
    fund_admin: str
    claim_ids: list[int] = field(default_factory=list)
    baseline_accounts: list[int] = field(default_factory=list)
    baseline_funding: int = 0


def publish_rules(session: Session) -> RuleVersion:
    document = rules.load_file(EXAMPLES / "gd-kjd.toml").document
    document["claims"] = {**document["claims"], "per_enterprise_cap": BIG_CAP, "per_bank_annual_cap": BIG_CAP}
    version = schemes.publish(session, document["scheme"], document, actor="bench")
    session.commit()
    return version


def setup_world(engine: Engine, *, claims: int, banks: int, approvers: int, baseline_accounts: int,
                baseline_statements: int) -> World:
    started = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        version = publish_rules(session)
        for code, owner_type, region in SUBFUNDS:
            subfunds.create_subfund(session, code=code, name=f"{code} fund", owner_type=owner_type, region=region,
                                    actor="bench")
            subfunds.contribute(session, code, amount=FUNDING, received_on=date(2026, 1, 5),
                                reference=f"OPEN-{code}", actor="bench")
        session.commit()

        reviewer, reviewer_token = auth.create_user(session, "bench.reviewer", ["reviewer"], actor="bench")
        approver_tokens = [auth.create_user(session, f"bench.approver{i}", ["approver"], actor="bench")[1]
                           for i in range(approvers)]
        _admin, admin_token = auth.create_user(session, "bench.fund_admin", ["fund_admin"], actor="bench")
        world = World(reviewer_token, approver_tokens, admin_token)

        # Banks, each with one performing loan 40 times what all its claims put together
        # owe: its NPL ratio stays at about 2.5 %, under npl_suspend_compensation (5 %).
        per_bank = -(-claims // banks)
        bank_ids = []
        for b in range(banks):
            bank, _token = auth.create_bank(session, f"BENCH-{b:02d}", f"基准测试银行{b:02d}", actor="bench")
            bank_ids.append(bank.id)
            enterprise = Enterprise(credit_code=f"91440000P{b:09d}", name=f"基准履约企业{b:02d}", region="440106",
                                    categories=["tech_sme"])
            session.add(enterprise)
            session.flush()
            performing = 40 * per_bank * CLAIM_PRINCIPAL
            session.add(_loan(bank.id, version, enterprise.id, "440106", f"PERFORMING-{b}", performing))
        session.commit()

        # Baseline accounts, funded through the journal like a sub-fund's contribution.
        contributions = journal.open_account(session, "bench:baseline:contributions", "baseline contributions",
                                             normal_side=CREDIT)
        need = -(-baseline_statements // max(1, baseline_accounts)) * BASELINE_AMOUNT
        for k in range(baseline_accounts):
            account = journal.open_account(session, f"bench:baseline:available:{k}", f"baseline available {k}",
                                           normal_side=DEBIT, no_overdraft=True)
            journal.post_transaction(session, kind="contribution",
                                     legs=[journal.debit(account, 10 * need), journal.credit(contributions, 10 * need)],
                                     effective_on=date(2026, 1, 5), memo="bench baseline funding", actor="bench")
            world.baseline_accounts.append(account.id)
        world.baseline_funding = 10 * need
        session.commit()

        # One borrower and one loan per claim, built directly (Core inserts), then each
        # claim filed and recommended through the services, SETUP_BATCH per commit.
        reviewer = session.get_one(User, reviewer.id)
        done = 0
        for first in range(0, claims, SETUP_BATCH):
            n = min(SETUP_BATCH, claims - first)
            enterprise_ids = session.scalars(
                insert(Enterprise).returning(Enterprise.id, sort_by_parameter_order=True),
                [{"credit_code": f"91440000C{first + i:09d}", "name": f"基准测试科技有限公司{first + i:06d}",
                  "region": REGIONS[(first + i) % len(REGIONS)], "categories": ["tech_sme"]} for i in range(n)],
            ).all()
            loans = []
            for i, enterprise_id in enumerate(enterprise_ids):
                j = first + i
                loans.append(_loan(bank_ids[j % banks], version, enterprise_id, REGIONS[j % len(REGIONS)],
                                   f"CLAIMED-{j}", CLAIM_PRINCIPAL))
            session.add_all(loans)
            session.flush()
            for loan in loans:
                claim = submit_claim(session, ClaimInput(loan.id, DEFAULT_ON, CLAIM_PRINCIPAL), bank_id=loan.bank_id,
                                     actor="bench.bank", today=TODAY)
                review_claim(session, claim, reviewer=reviewer, recommendation="approve", comment="材料齐全（基准测试）")
                world.claim_ids.append(claim.id)
            session.commit()
            session.expunge_all()
            reviewer = session.get_one(User, reviewer.id)
            done += n
            print(f"\r  set up {done:,}/{claims:,} claims ...", end="", flush=True)
        # The loans went in directly, not through the Registrar: give each bank its
        # loan-book figures, which the approval's NPL check reads.
        for bank_id in bank_ids:
            book.recount(session, version.scheme_id, bank_id)
        session.commit()
    print(f"\r  set up {claims:,} submitted and reviewed claims, {banks} banks "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    return world


def _loan(bank_id: int, version: RuleVersion, enterprise_id: int, region: str, external_id: str,
          principal: int) -> Loan:
    return Loan(bank_id=bank_id, external_id=external_id, scheme_id=version.scheme_id, rule_version_id=version.id,
                enterprise_id=enterprise_id, region=region, categories=["tech_sme"], principal=principal,
                outstanding=principal, disbursed_on=DISBURSED, maturity_on=MATURITY, status="active",
                registered_on=DISBURSED, registration={})


# -- gunicorn --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gunicorn(database_url: str, *, app: str, workers: int, worker_class: str,
             threads: int) -> Iterator[tuple[int, int]]:
    """A gunicorn serving ``app`` on the bench database; yields (port, master pid); always stopped."""
    port = free_port()
    env = {"SECRET_KEY": secrets.token_hex(32), **os.environ, "DATABASE_URL": database_url,
           "BUSINESS_DATE": BUSINESS_DATE}
    command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(workers),
               "--worker-class", worker_class, "--bind", f"127.0.0.1:{port}", "--timeout", "120",
               "--graceful-timeout", "10", "--keep-alive", "30"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    command.append(app)
    with tempfile.TemporaryFile(mode="w+b") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(process, port)
            yield port, process.pid
        except BaseException:
            log.seek(0)
            tail = log.read().decode("utf-8", "replace")[-4000:]
            print(f"\n-- gunicorn log (tail) --\n{tail}", file=sys.stderr)
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def wait_healthy(process: subprocess.Popen, port: int) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode} before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/health")
            response = connection.getresponse()
            body = response.read()
            connection.close()
            if response.status == 200 and json.loads(body)["status"] == "ok":
                return
        except (OSError, http.client.HTTPException, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /api/v1/health within {TIMEOUT:.0f} s")


# -- CPU accounting (Linux /proc; best effort) ---------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far, or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU used during a round by gunicorn's workers, the bench database's server
    backends (when the server is local) and this process (the clients)."""

    def __init__(self, engine: Engine, master: int) -> None:
        self.engine, self.master = engine, master

    def _backends(self) -> list[int]:
        with self.engine.connect() as connection:
            return list(connection.exec_driver_sql(
                # Client backends only: an autovacuum worker cleaning up after the setup's
                # bulk writes is not this round's work.
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").scalars())

    def _sample(self) -> dict[str, dict[int, float]]:
        groups = {"app": _children(self.master), "db": self._backends()}
        return {name: {pid: cpu for pid in pids if (cpu := _cpu_seconds(pid)) is not None}
                for name, pids in groups.items()}

    def __enter__(self) -> CpuMeter:
        self.start, self.start_self = self._sample(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        end = self._sample()
        self.used = {name: sum(cpu - self.start[name].get(pid, 0.0) for pid, cpu in end[name].items())
                     for name in end}
        self.used["clients"] = time.process_time() - self.start_self
        self.readable = bool(end["app"])  # False: no /proc here


# -- the two runs ----------------------------------------------------------------------------


@dataclass
class Run:
    """One timed round: wall time, latencies by kind, failures."""

    seconds: float = 0.0
    units: int = 0  # claims processed (ledger) or claim-equivalents (baseline: 2 statements)
    requests: int = 0  # HTTP requests (ledger) or statements (baseline)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stopped_early: bool = False
    done_ids: list[int] = field(default_factory=list)  # ledger: claims approved and paid
    cpu: dict[str, float] = field(default_factory=dict)  # ledger: CPU seconds by consumer

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds else 0.0

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


def run_threads(n: int, work: Callable[[int], None]) -> float:
    """Runs ``work(i)`` in ``n`` threads released together; returns the wall time."""
    barrier = threading.Barrier(n + 1)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def ledger_round(port: int, world: World, claim_ids: list[int], clients: int, deadline: float) -> Run:
    """Approve then pay every claim over HTTP from ``clients`` threads sharing a queue."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for claim_id in claim_ids:
        todo.put(claim_id)
    run = Run()
    lock = threading.Lock()
    admin = {"Authorization": f"Bearer {world.fund_admin}", "Content-Type": "application/json"}

    def client(i: int) -> None:
        approver = {"Authorization": f"Bearer {world.approvers[i % len(world.approvers)]}",
                    "Content-Type": "application/json"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        local: list[tuple[str, float]] = []
        failures: list[str] = []
        done: list[int] = []
        stopped = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    stopped = 1
                    break
                try:
                    claim_id = todo.get_nowait()
                except queue.Empty:
                    break
                ok = True
                for kind, body, headers in (
                    ("approve", b"{}", approver),
                    ("pay", json.dumps({"payment_reference": f"BENCH-{claim_id}", "paid_on": BUSINESS_DATE}).encode(),
                     admin),
                ):
                    t0 = time.perf_counter()
                    try:
                        connection.request("POST", f"/api/v1/claims/{claim_id}/{kind}", body=body, headers=headers)
                        response = connection.getresponse()
                        payload = response.read()
                    except (OSError, http.client.HTTPException) as exc:
                        connection.close()  # the next request reconnects
                        failures.append(f"{kind} {claim_id}: {type(exc).__name__}: {exc}")
                        ok = False
                        break
                    local.append((kind, time.perf_counter() - t0))
                    if not 200 <= response.status < 300:
                        failures.append(f"{kind} {claim_id}: {response.status} {payload[:300]!r}")
                        ok = False
                        break
                if ok:
                    done.append(claim_id)
        finally:
            connection.close()
            with lock:
                for kind, seconds in local:
                    run.add(kind, seconds)
                run.failures.extend(failures)
                run.done_ids.extend(done)
                run.units += len(done)
                run.requests += len(local)
                run.stopped_early |= bool(stopped)

    run.seconds = run_threads(clients, client)
    return run


def numbered_round(kind: str, first: int, count: int, clients: int, deadline: float,
                   connect: Callable[[int], Any], step: Callable[[Any, int], str | None]) -> Run:
    """Numbers ``first`` .. ``first + count - 1`` shared by ``clients`` threads until
    ``deadline``; each thread opens its connection with ``connect(i)`` and times
    ``step(connection, n)``, which returns a failure or None. Two steps are one
    claim-equivalent."""
    numbers = iter(range(first, first + count))
    numbers_lock, lock = threading.Lock(), threading.Lock()
    run = Run()

    def client(i: int) -> None:
        connection = connect(i)
        local: list[float] = []
        failures: list[str] = []
        stopped = False
        try:
            while not (stopped := time.monotonic() > deadline):
                with numbers_lock:
                    n = next(numbers, None)
                if n is None:
                    break
                t0 = time.perf_counter()
                failure = step(connection, n)
                local.append(time.perf_counter() - t0)
                if failure:
                    failures.append(failure)
        finally:
            connection.close()
            with lock:
                for seconds in local:
                    run.add(kind, seconds)
                run.failures.extend(failures)
                run.requests += len(local)
                run.stopped_early |= stopped

    run.seconds = run_threads(clients, client)
    run.units = run.requests // 2
    return run


def floor_round(port: int, requests: int, clients: int, deadline: float) -> Run:
    """``requests`` ``GET /api/v1/health`` over HTTP from ``clients`` threads: the
    cheapest answer the same gunicorn and app give (routing, the request's hooks, one
    session with a trivial query, a JSON answer), two per claim-equivalent."""
    def step(connection: http.client.HTTPConnection, n: int) -> str | None:
        try:
            connection.request("GET", "/api/v1/health")
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()  # the next request reconnects
            return f"health {n}: {type(exc).__name__}: {exc}"
        return None if response.status == 200 else f"health {n}: {response.status} {payload[:300]!r}"

    return numbered_round("health", 0, requests, clients, deadline,
                          lambda _i: http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT), step)


def baseline_round(dsn: str, world: World, statements: int, clients: int, first: int, deadline: float) -> Run:
    """``statements`` bare conditional UPDATE + INSERT + COMMIT through psycopg, ``clients`` threads."""
    accounts = world.baseline_accounts
    sql = "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s"
    connections = [psycopg.connect(dsn) for _ in range(clients)]  # connected before the clock starts
    with connections[0].cursor() as cursor:  # the INSERT's table, outside the ledger's schema
        cursor.execute(BASELINE_TABLE)
    connections[0].commit()

    def step(connection: psycopg.Connection, n: int) -> str | None:
        account = accounts[n % len(accounts)]
        with connection.cursor() as cursor:
            cursor.execute(sql, (BASELINE_AMOUNT, account, BASELINE_AMOUNT))
            matched = cursor.rowcount
            cursor.execute(BASELINE_INSERT, (account, BASELINE_AMOUNT))
        connection.commit()
        return None if matched == 1 else f"statement {n}: no row matched (overdraft)"

    try:
        return numbered_round("update", first, statements, clients, deadline, connections.__getitem__, step)
    finally:
        for connection in connections:
            connection.close()


# -- checks, profile, report -----------------------------------------------------------------


def verify(engine: Engine, world: World, paid_ids: list[int], baseline_statements: int) -> None:
    """Every processed claim paid, no reservation left, journal and audit chain consistent."""
    with make_sessionmaker(engine, readonly=True)() as session:
        statuses = dict(session.execute(select(Claim.id, Claim.status).where(Claim.id.in_(paid_ids))).all())
        unpaid = [cid for cid in paid_ids if statuses.get(cid) != "paid"]
        assert not unpaid, f"{len(unpaid)} claims not paid, e.g. {unpaid[:5]}"
        pending = session.scalar(select(func.count()).select_from(Reservation).where(Reservation.status == "pending"))
        assert pending == 0, f"{pending} reservations still pending"
        assert journal.unbalanced_transactions(session) == [], "unbalanced journal transactions"
        mismatches = journal.check_balances(session)
        ledger_mismatches = [m for m in mismatches if not m.account.startswith("bench:baseline:")]
        assert ledger_mismatches == [], f"cached balances differ from the journal: {ledger_mismatches[:5]}"
        # The baseline's accounts moved by bare UPDATEs only: cached = journal - what it took.
        taken = {}
        for n in range(baseline_statements):
            k = n % len(world.baseline_accounts)
            taken[k] = taken.get(k, 0) + BASELINE_AMOUNT
        expected = {f"bench:baseline:available:{k}": world.baseline_funding - v for k, v in taken.items()}
        got = {m.account: m.cached for m in mismatches if m.account.startswith("bench:baseline:")}
        assert got == expected, f"baseline accounts: {got} != {expected}"
        chain = audit.verify_chain(session)
        assert chain.ok, f"audit chain broken at entry {chain.first_broken}: {chain.reason}"
        print(f"verified: {len(paid_ids):,} claims paid, no pending reservation, journal balanced and equal to "
              f"the cached balances, audit chain of {chain.checked:,} entries intact")


def profile_in_process(engine: Engine, world: World, claim_ids: list[int]) -> None:
    """Approve and pay ``claim_ids`` through ``app.test_client()`` under cProfile."""
    from web import create_app

    app = create_app({"DATABASE_URL": url_of(engine), "BUSINESS_DATE": BUSINESS_DATE, "AUTO_MIGRATE": False,
                      "SECRET_KEY": secrets.token_hex(32)})  # create_app refuses to start without one
    client = app.test_client()
    approver = {"Authorization": f"Bearer {world.approvers[0]}"}
    admin = {"Authorization": f"Bearer {world.fund_admin}"}

    def work(ids: list[int]) -> None:
        for claim_id in ids:
            r = client.post(f"/api/v1/claims/{claim_id}/approve", json={}, headers=approver)
            assert r.status_code == 200, r.json
            r = client.post(f"/api/v1/claims/{claim_id}/pay", headers=admin,
                            json={"payment_reference": f"BENCH-{claim_id}", "paid_on": BUSINESS_DATE})
            assert r.status_code == 200, r.json

    warm = min(10, len(claim_ids) // 5)
    work(claim_ids[:warm])
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(work, claim_ids[warm:])
    elapsed = time.perf_counter() - start
    app.extensions["ledger_engine"].dispose()
    n = len(claim_ids) - warm
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report).strip_dirs()
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(60)
    print(f"\n== cProfile: {n} claims approved + paid in one process through app.test_client() "
          f"({elapsed:.2f} s under the profiler, {1000 * elapsed / n:.1f} ms per claim) ==\n{report.getvalue()}")


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f}"


def print_table(ledger: Run, baseline: Run, floor: Run, args: argparse.Namespace) -> None:
    server = f"gunicorn {args.workers} x {args.worker_class}" + (
        f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
    print()
    print(f"{args.claims:,} claims per round, {args.clients} clients, {server}, PostgreSQL; best of {args.repeat}")
    print(f"{'':<34} {'claims/s':>9} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in ("approve", "pay"):
        lat = ledger.latencies.get(kind, [])
        print(f"{'ledger ' + kind:<34} {'':>9} {'':>11} {ms(percentile(lat, 50)):>8} {ms(percentile(lat, 99)):>8}")
    both = [x for v in ledger.latencies.values() for x in v]
    print(f"{'ledger approve+pay':<34} {ledger.rate:>9.1f} {ledger.request_rate:>11.1f} "
          f"{ms(percentile(both, 50)):>8} {ms(percentile(both, 99)):>8}")
    lat = baseline.latencies.get("update", [])
    print(f"{'baseline UPDATE+INSERT (2/claim)':<34} {baseline.rate:>9.1f} {baseline.request_rate:>11.1f} "
          f"{ms(percentile(lat, 50)):>8} {ms(percentile(lat, 99)):>8}")
    lat = floor.latencies.get("health", [])
    print(f"{'floor GET /health (2/claim)':<34} {floor.rate:>9.1f} {floor.request_rate:>11.1f} "
          f"{ms(percentile(lat, 50)):>8} {ms(percentile(lat, 99)):>8}")
    ratio = ledger.rate / baseline.rate if baseline.rate else float("nan")
    flag = "" if ratio >= GOAL else f"   < {GOAL} (issue 13's goal): see --profile N"
    print(f"{'ratio ledger / baseline':<34} {ratio:>9.3f}{flag}")
    print(f"{'ratio floor / baseline':<34} {floor.rate / baseline.rate if baseline.rate else float('nan'):>9.3f}")
    cores = os.cpu_count() or 1
    if ledger.cpu and ledger.units:
        per = {k: 1000 * v / ledger.units for k, v in ledger.cpu.items()}
        total = sum(per.values())
        print(f"CPU per claim processed (approve+pay): gunicorn workers {per['app']:.1f} ms, PostgreSQL backends "
              f"{per['db']:.1f} ms, bench clients {per['clients']:.1f} ms; total {total:.1f} ms, so "
              f"{cores} cores allow at most ~{1000 * cores / total:.0f} claims/s")
        if floor.cpu and floor.units:
            # What no code change in the app can beat: the database work a claim costs
            # today, plus two requests that do nothing but answer.
            least = {k: 1000 * v / floor.units for k, v in floor.cpu.items()}
            bound = 1000 * cores / (per["db"] + least["app"])
            print(f"CPU per claim-equivalent of the floor (2 health requests): gunicorn workers {least['app']:.1f} ms, "
                  f"PostgreSQL backends {least['db']:.1f} ms")
            print(f"ceiling with today's SQL and an app costing no more than the floor: {cores} x 1000 / "
                  f"({per['db']:.1f} + {least['app']:.1f}) = ~{bound:.0f} claims/s, "
                  f"ratio {bound / baseline.rate if baseline.rate else float('nan'):.3f} of the baseline")
    failures = len(ledger.failures)
    print(f"non-2xx or failed requests: {failures}" + ("" if not failures else f"  e.g. {ledger.failures[:3]}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000, help="claims per round (default 2000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread",
                        help="gunicorn worker class (default gthread: keeps connections alive)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--banks", type=int, default=8, help="banks the claims are spread over (default 8)")
    parser.add_argument("--baseline-accounts", type=int, default=3,
                        help="accounts the baseline's UPDATEs rotate over (default 3, a claim's payers)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds each way; the best counts (default 1)")
    parser.add_argument("--time-limit", type=float, default=300.0,
                        help="seconds after which the timed rounds stop taking work (default 300)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N claims approved + paid in-process (default 0: no profile)")
    parser.add_argument("--app", default="wsgi:app",
                        help="gunicorn application (default wsgi:app; another module to measure a prototype)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRESQL_URL", DEFAULT_PG))
    args = parser.parse_args(argv)
    if min(args.claims, args.clients, args.workers, args.threads, args.banks, args.baseline_accounts,
           args.repeat) < 1:
        parser.error("counts must be at least 1")

    warmup = 2 * args.clients
    total = warmup + args.claims * args.repeat + args.profile
    statements = 2 * args.claims * args.repeat + 2 * warmup
    with scratch_database("postgresql", BENCH_DB, admin_url=args.pg_url) as engine:
        print(f"database {BENCH_DB}: setting up {total:,} claims ...", flush=True)
        world = setup_world(engine, claims=total, banks=args.banks, approvers=args.clients,
                            baseline_accounts=args.baseline_accounts, baseline_statements=statements)
        ids = world.claim_ids
        warm_ids, profile_ids = ids[:warmup], ids[len(ids) - args.profile:] if args.profile else []
        rounds = [ids[warmup + r * args.claims: warmup + (r + 1) * args.claims] for r in range(args.repeat)]
        deadline = time.monotonic() + args.time_limit
        dsn = libpq_dsn(engine)
        runs: dict[str, list[Run]] = {"ledger": [], "baseline": [], "floor": []}
        processed: list[int] = []
        baseline_done = 0
        with gunicorn(url_of(engine), app=args.app, workers=args.workers, worker_class=args.worker_class,
                      threads=args.threads) as (port, master):
            print(f"gunicorn on 127.0.0.1:{port}: {args.workers} {args.worker_class} workers; warming up ...",
                  flush=True)
            warm = ledger_round(port, world, warm_ids, args.clients, deadline)
            assert not warm.failures, warm.failures[:5]
            processed += warm.done_ids
            baseline_done += baseline_round(dsn, world, 2 * warmup, args.clients, 0,
                                            time.monotonic() + BASELINE_LIMIT).requests
            for r, claim_ids in enumerate(rounds):
                order = ["ledger", "baseline"] if r % 2 == 0 else ["baseline", "ledger"]
                for name in order:
                    if name == "ledger":
                        with CpuMeter(engine, master) as meter:
                            run = ledger_round(port, world, claim_ids, args.clients, deadline)
                        run.cpu = meter.used if meter.readable else {}
                        processed += run.done_ids
                    else:
                        # A few seconds' work: its own bound, so that it still runs (and gives
                        # a ratio) when the ledger round used up the time limit.
                        run = baseline_round(dsn, world, 2 * args.claims, args.clients, baseline_done,
                                             time.monotonic() + BASELINE_LIMIT)
                        baseline_done += run.requests
                    print(f"  round {r + 1} {name:<8}: {run.rate:7.1f} claims/s ({run.requests:,} "
                          f"{'requests' if name == 'ledger' else 'statements'} in {run.seconds:.2f} s)"
                          + (", STOPPED AT THE TIME LIMIT" if run.stopped_early else "")
                          + (f", {len(run.failures)} FAILURES" if run.failures else ""), flush=True)
                    runs[name].append(run)
                with CpuMeter(engine, master) as meter:
                    run = floor_round(port, 2 * args.claims, args.clients, time.monotonic() + BASELINE_LIMIT)
                run.cpu = meter.used if meter.readable else {}
                print(f"  round {r + 1} floor   : {run.rate:7.1f} claims/s ({run.requests:,} health requests in "
                      f"{run.seconds:.2f} s)" + (f", {len(run.failures)} FAILURES" if run.failures else ""), flush=True)
                runs["floor"].append(run)
        # The best round counts; a round with failures is reported instead (it must not hide).
        ledger, baseline, floor = (next((x for x in runs[k] if x.failures), None)
                                   or max(runs[k], key=lambda x: x.rate) for k in ("ledger", "baseline", "floor"))
        print_table(ledger, baseline, floor, args)
        if any(r.stopped_early for r in (ledger, baseline)):
            print("note: the time limit stopped a round before it finished; its rate covers what it did")
        if ledger.failures or baseline.failures or floor.failures:
            raise SystemExit(f"FAILED: {len(ledger.failures)} ledger, {len(baseline.failures)} baseline and "
                             f"{len(floor.failures)} floor failures")
        verify(engine, world, processed, baseline_done)
        if profile_ids:
            profile_in_process(engine, world, profile_ids)


if __name__ == "__main__":
    main()
