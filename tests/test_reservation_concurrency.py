"""Real concurrency (SPEC §4: "Available balance never goes below zero, whatever the
concurrency"; §5: the audit chain). Every worker is a thread with its own session and
connection; a barrier releases them together so that they really race.

Each test runs on the default test backend (``TEST_DATABASE_URL``; SQLite serialises
writers with BEGIN IMMEDIATE and a busy timeout) and on PostgreSQL, where the row locks
and conditional UPDATEs in ``ledger.journal`` have to do the work.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from ledger import audit, journal, subfunds
from ledger.db import make_engine, make_sessionmaker
from ledger.errors import AlreadyReversed, InsufficientFunds, ReservationResolved
from ledger.models import JournalTransaction, Reservation

DAY = date(2026, 3, 1)
THREADS = 24
FUND = "GD-PROV"


@pytest.fixture(params=["default", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def url(request: pytest.FixtureRequest) -> str:
    """The default test database, then PostgreSQL explicitly."""
    return request.getfixturevalue("database_url" if request.param == "default" else "pg_url")


#: Marks our connections in pg_stat_activity, should other tests share the server.
APPLICATION = f"ledger-race-{os.getpid()}"


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    # One connection per worker, plus the test's own and a lock-watcher's.
    extra = {"connect_args": {"application_name": APPLICATION}} if url.startswith("postgresql") else {}
    engine = make_engine(url, pool_size=THREADS + 4, max_overflow=0, **extra)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def fund(sessions: sessionmaker[Session]) -> str:
    """A sub-fund holding 1,000.00 yuan."""
    with sessions() as session:
        subfunds.create_subfund(session, code=FUND, name="广东省科技信贷风险准备金", owner_type="province",
                                region="440000", actor="test")
        subfunds.contribute(session, FUND, amount=1_000_00, received_on=DAY, reference="OPEN",
                            actor="test")
        session.commit()
    return FUND


def race(count: int, work: Callable[[int], str], *, meanwhile: Callable[[], None] | None = None) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together, and ``meanwhile()`` in
    this thread while they run; each result is what ``work`` returned or the exception
    it raised (collected, never lost)."""
    barrier = threading.Barrier(count, timeout=60)
    results: list[object] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,), name=f"ledger-worker-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results


def outcomes(results: list[object]) -> Counter[str]:
    unexpected = [r for r in results if not isinstance(r, str)]
    assert unexpected == [], f"unexpected exceptions: {unexpected!r}"
    return Counter(results)  # type: ignore[arg-type]


def accounts(session: Session, code: str = FUND) -> tuple:
    subfund = subfunds.get_subfund(session, code)
    return tuple(subfunds.subfund_account(session, subfund, p) for p in ("available", "reserved", "paid"))


def assert_consistent(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert journal.check_balances(session) == []
        assert journal.unbalanced_transactions(session) == []
        assert audit.verify_chain(session).ok


def wait_for_lock_waiters(engine: Engine, count: int) -> None:
    """Until ``count`` sessions queue behind a row lock (PostgreSQL). On SQLite they wait
    inside BEGIN IMMEDIATE's busy handler, which nothing can observe: give them time."""
    if engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app AND wait_event_type = 'Lock'"
            ), {"app": APPLICATION})
            connection.rollback()  # a fresh snapshot of pg_stat_activity next time
            if waiting >= count:
                return
            time.sleep(0.02)
    pytest.fail(f"fewer than {count} sessions ever waited for the lock")


# -- reservations ----------------------------------------------------------------------


def test_24_reservations_of_100_yuan_against_1000_yuan_exactly_10_succeed(sessions, fund):
    def reserve_100(_i: int) -> str:
        with sessions() as session:
            available, reserved, _paid = accounts(session)
            try:
                journal.reserve(session, source=available, hold=reserved, amount=100_00, effective_on=DAY)
                session.commit()
                return "reserved"
            except InsufficientFunds:
                session.rollback()
                return "refused"

    assert outcomes(race(THREADS, reserve_100)) == {"reserved": 10, "refused": THREADS - 10}

    with sessions() as session:
        assert subfunds.balances(session, subfunds.get_subfund(session, fund)) == {
            "available": 0, "reserved": 1_000_00, "contributions": 1_000_00, "paid": 0, "recovered": 0,
        }
        assert session.scalar(select(func.count()).select_from(Reservation).where(Reservation.status == "pending")) == 10
    assert_consistent(sessions)


def test_one_reservation_resolved_by_16_threads_at_once_is_resolved_exactly_once(sessions, fund):
    with sessions() as session:
        available, reserved, _paid = accounts(session)
        reservation_id = journal.reserve(session, source=available, hold=reserved, amount=100_00, effective_on=DAY).id
        session.commit()

    def resolve(i: int) -> str:
        with sessions() as session:
            reservation = session.get_one(Reservation, reservation_id)
            try:
                if i % 2:
                    journal.release_reservation(session, reservation, effective_on=DAY)
                else:
                    journal.post_reservation(session, reservation, to=accounts(session)[2], effective_on=DAY)
                session.commit()
                return "won"
            except ReservationResolved:
                session.rollback()
                return "already resolved"

    assert outcomes(race(16, resolve)) == {"won": 1, "already resolved": 15}

    with sessions() as session:
        status = session.get_one(Reservation, reservation_id).status
        balances = subfunds.balances(session, subfunds.get_subfund(session, fund))
        paid_out = 100_00 if status == "posted" else 0
        assert (balances["available"], balances["reserved"], balances["paid"]) == (1_000_00 - paid_out, 0, paid_out)
        resolutions = select(func.count()).select_from(JournalTransaction).where(
            JournalTransaction.kind.in_(["payout", "release"]))
        assert session.scalar(resolutions) == 1
    assert_consistent(sessions)


# -- the audit chain -------------------------------------------------------------------


def test_16_sub_funds_created_at_once_chain_their_audit_entries_in_one_line(sessions):
    with sessions() as session:
        first_seq, _hash = audit.chain_head(session)

    def create(i: int) -> str:
        code = f"CITY-{i:02d}"
        with sessions() as session:
            subfunds.create_subfund(session, code=code, name=code, owner_type="city", region="440700", actor=f"u{i}")
            subfunds.contribute(session, code, amount=10_00, received_on=DAY, reference="R1", actor=f"u{i}")
            session.commit()  # two audit entries, appended under the chain-head lock
            return "created"

    assert outcomes(race(16, create)) == {"created": 16}

    with sessions() as session:
        report = audit.verify_chain(session)
        assert report.ok, report.reason
        assert report.checked == first_seq + 2 * 16
        assert audit.chain_head(session)[0] == first_seq + 2 * 16
    assert_consistent(sessions)


# -- racing the same correction twice ---------------------------------------------------


def test_a_transaction_reversed_by_16_sessions_at_once_is_reversed_once(engine, sessions, fund):
    """The first reversal holds its locks while 15 more queue behind it; once it commits
    they must all see it and answer AlreadyReversed."""
    with sessions() as session:
        available, _reserved, paid = accounts(session)
        payout = journal.post_transaction(session, kind="payout", effective_on=DAY,
                                          legs=[journal.debit(paid, 100_00), journal.credit(available, 100_00)])
        session.commit()

    first = sessions()
    journal.reverse_transaction(first, payout.id, effective_on=DAY, memo="paid twice")

    def reverse(_i: int) -> str:
        with sessions() as session:
            try:
                journal.reverse_transaction(session, payout.id, effective_on=DAY, memo="paid twice")
                session.commit()
                return "reversed"
            except AlreadyReversed:
                session.rollback()
                return "already reversed"

    def commit_first() -> None:
        try:
            wait_for_lock_waiters(engine, 15)
        finally:  # even if they never queued: the workers must not wait forever
            first.commit()
            first.close()

    results = race(15, reverse, meanwhile=commit_first)
    assert outcomes(results) == {"already reversed": 15}
    assert_consistent(sessions)


def test_a_contribution_retried_by_16_sessions_at_once_is_recorded_once(engine, sessions, fund):
    """SPEC §4 idempotency: a retry of a contribution still in flight is the same
    contribution (``created=False``), not a conflict, and the money moves once."""
    first = sessions()
    subfunds.contribute(first, fund, amount=500_00, received_on=DAY, reference="BANK-TRANSFER-7", actor="test")

    def retry(_i: int) -> str:
        with sessions() as session:
            done = subfunds.contribute(session, fund, amount=500_00, received_on=DAY, reference="BANK-TRANSFER-7",
                                       actor="test")
            session.commit()
            return "created" if done.created else "already recorded"

    def commit_first() -> None:
        try:
            wait_for_lock_waiters(engine, 15)
        finally:  # even if they never queued: the workers must not wait forever
            first.commit()
            first.close()

    results = race(15, retry, meanwhile=commit_first)
    assert outcomes(results) == {"already recorded": 15}
    with sessions() as session:
        assert subfunds.balances(session, subfunds.get_subfund(session, fund))["available"] == 1_500_00
    assert_consistent(sessions)
