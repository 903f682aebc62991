"""The webhook worker as a process (SPEC §4a): ``ledger-admin worker``, killed, stopped, doubled.

Real processes and a real receiver on 127.0.0.1: a worker killed with SIGKILL in the
middle of a delivery loses nothing (its lease runs out and another worker delivers),
SIGTERM lets the delivery in flight finish, and two workers on PostgreSQL deliver 500
events each exactly once when nothing fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger import auth, events, webhooks
from ledger.db import make_engine, make_sessionmaker
from ledger.models import Bank, WebhookAttempt, WebhookDelivery
from ledger.worker import Worker, WorkerSettings

from .receiver import receiver

ROOT = Path(__file__).resolve().parent.parent
#: ``ledger-admin`` from this source tree.
LEDGER_ADMIN = [sys.executable, "-c", "import sys; from web.cli import main; sys.exit(main())"]
PRIVATE = webhooks.UrlPolicy(allow_private=True, require_https=False)


def _env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path),
            "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_REQUIRE_HTTPS": "false", "BUSINESS_DATE": "2026-06-30",
            "SECRET_KEY": "worker-tests-" + "x" * 32, **extra}


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*LEDGER_ADMIN, "worker", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _once(env: dict[str, str]) -> str:
    done = subprocess.run([*LEDGER_ADMIN, "worker", "--once"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _world(url: str, hook_url: str, n_events: int = 1) -> tuple[list[str], int]:
    """A bank, a webhook taking every event, and ``n_events`` events; (their ids, the webhook id)."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            if session.scalar(select(Bank.id).where(Bank.code == "BANK-A")) is None:
                auth.create_bank(session, "BANK-A", "A", actor="test")
            bank_id = session.scalar(select(Bank.id).where(Bank.code == "BANK-A"))
            hook = webhooks.create_webhook(session, bank_id=bank_id, url=hook_url, event_types=["*"], policy=PRIVATE,
                                           actor="test")
            ids = [events.record_event(session, "claim.paid", bank_id, {"n": n}).public_id for n in range(n_events)]
            session.commit()
            return ids, hook.id
    finally:
        engine.dispose()


def _emit(url: str, n_events: int) -> list[str]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            bank_id = session.scalar(select(Bank.id).where(Bank.code == "BANK-A"))
            ids = [events.record_event(session, "claim.paid", bank_id, {"n": n}).public_id for n in range(n_events)]
            session.commit()
            return ids
    finally:
        engine.dispose()


def _deliveries(url: str) -> list[WebhookDelivery]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    finally:
        engine.dispose()


def _wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_sigkill_mid_delivery_loses_nothing(database_url, tmp_path):
    with receiver(hold=True) as rx:
        [event_id], _hook = _world(database_url, rx.url)
        env = _env(database_url, tmp_path, WEBHOOK_LEASE_SECONDS="4")
        proc = _worker(env)
        try:
            assert rx.arrived.wait(60), "the worker never delivered"
        finally:
            proc.kill()  # SIGKILL: no handler, no clean-up, the attempt is never recorded
            proc.communicate(timeout=30)
        rx.hold = False
        rx.release.set()
        [held] = _deliveries(database_url)
        assert (held.status, held.attempts) == ("pending", 0) and held.lease_owner

        # The dead worker's lease still holds: another worker leaves the delivery alone...
        engine = make_engine(database_url)
        other = Worker(make_sessionmaker(engine), WorkerSettings(policy=PRIVATE))
        assert other.run_once() == 0
        other.close()
        engine.dispose()
        lease_until = held.lease_until.replace(tzinfo=timezone.utc)
        time.sleep(max(0.0, (lease_until - datetime.now(timezone.utc)).total_seconds()) + 0.2)
        # ...and once it ran out, the next `ledger-admin worker --once` delivers it.
        assert "Made 1" in _once(env)
    [delivered] = _deliveries(database_url)
    assert delivered.status == "delivered"
    assert [r.headers["Idempotency-Key"] for r in rx.requests] == [event_id, event_id]
    assert list(rx.processed) == [event_id]  # the receiver acted on it once


def test_sigterm_lets_the_delivery_in_flight_finish(database_url, tmp_path):
    with receiver(hold=True) as rx:
        _world(database_url, rx.url, n_events=3)
        proc = _worker(_env(database_url, tmp_path))
        try:
            assert rx.arrived.wait(60)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            rx.release.set()  # the receiver answers only now
            output, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopped" in output
    statuses = [d.status for d in _deliveries(database_url)]
    # The first was finished and recorded; the others are left for the next worker, unleased.
    assert statuses == ["delivered", "pending", "pending"]
    assert all(d.lease_owner is None for d in _deliveries(database_url))


@pytest.mark.postgresql
def test_two_workers_on_postgresql_deliver_500_events_once_each(pg_url, tmp_path):
    # 10 ms per answer: one worker alone needs 5 s for the 500, longer than the other's
    # 2 s poll interval, so both take part however fast the machine delivers.
    with receiver(delay=0.01) as rx:
        _ids, _hook = _world(pg_url, rx.url, n_events=0)
        env = _env(pg_url, tmp_path)
        workers = [_worker(env), _worker(env)]
        try:
            for proc in workers:  # both polling before the events exist, so both take part
                assert proc.stdout is not None and "started" in proc.stdout.readline()
            ids = _emit(pg_url, 500)
            engine = make_engine(pg_url)
            with make_sessionmaker(engine)() as session:

                def all_delivered() -> bool:
                    session.expire_all()
                    return session.scalar(select(func.count()).where(WebhookDelivery.status == "delivered")) == 500

                _wait_for(all_delivered, timeout=180)
                by_worker = dict(session.execute(select(WebhookAttempt.worker, func.count())
                                                 .group_by(WebhookAttempt.worker)).all())
            engine.dispose()
        finally:
            for proc in workers:
                proc.send_signal(signal.SIGTERM)
            for proc in workers:
                proc.communicate(timeout=30)
    keys = [r.headers["Idempotency-Key"] for r in rx.requests]
    assert len(keys) == 500 and set(keys) == set(ids)  # each at least once, none twice
    assert len(by_worker) == 2 and sum(by_worker.values()) == 500, by_worker
    assert all(proc.returncode == 0 for proc in workers)
