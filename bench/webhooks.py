"""Bank events and webhook delivery (issue 15).

1. What an event costs the transaction that writes it: N commits each recording one
   audit entry (the baseline: what every change already pays) against N commits
   recording the same audit entry plus one bank event.
2. Delivery throughput: N events delivered by one in-process worker to a receiver on
   127.0.0.1 (http.server in a thread), against N bare httpx POSTs of the same bodies
   to the same receiver (the network and receiver share of the cost).

    .venv/bin/python bench/webhooks.py [--backend sqlite|postgresql|both] [--n 500]
"""

from __future__ import annotations

import argparse
import time

import harness  # noqa: F401 - the project root on sys.path first

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ledger import audit, auth, events, webhooks  # noqa: E402
from ledger.db import make_sessionmaker  # noqa: E402
from ledger.models import Bank  # noqa: E402
from ledger.worker import Worker, WorkerSettings, event_bytes  # noqa: E402
from tests.receiver import receiver  # noqa: E402

POLICY = webhooks.UrlPolicy(allow_private=True, require_https=False)


def commits(sessions, bank_id: int, n: int, *, with_event: bool) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with sessions() as session:
        for i in range(n):
            audit.record(session, actor="bench", action="bench.change", entity_type="bench", entity_id=i)
            if with_event:
                events.record_event(session, "claim.paid", bank_id, {"claim_id": i, "approved_amount": "1000.00"})
            session.commit()
    return time.perf_counter() - started


def run(backend: str, n: int) -> None:
    with harness.scratch_database(backend, "bench_webhooks") as engine, receiver() as rx:
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            auth.create_bank(session, "BANK-A", "A", actor="bench")
            session.commit()
            bank_id = session.scalar(select(Bank.id).where(Bank.code == "BANK-A"))
        base = commits(sessions, bank_id, n, with_event=False)
        with_events = commits(sessions, bank_id, n, with_event=True)
        print(f"{backend}: {n} commits with an audit entry {base:.2f} s; with an event too {with_events:.2f} s "
              f"(ratio {with_events / base:.2f})")

        with sessions() as session:
            webhooks.create_webhook(session, bank_id=bank_id, url=rx.url, event_types=["*"], policy=POLICY,
                                    actor="bench")
            for i in range(n):
                events.record_event(session, "claim.paid", bank_id, {"claim_id": i})
            session.commit()
        body = event_bytes({"id": "evt_x", "type": "claim.paid", "occurred_at": "", "data": {"claim_id": 0}})
        with httpx.Client(trust_env=False) as client:
            started = time.perf_counter()
            for _ in range(n):
                client.post(rx.url, content=body, headers={"Idempotency-Key": "evt_x"})
            bare = time.perf_counter() - started
        worker = Worker(sessions, WorkerSettings(policy=POLICY))
        started = time.perf_counter()
        made = worker.run_once()
        delivered = time.perf_counter() - started
        worker.close()
        print(f"{backend}: {made} deliveries by one worker {delivered:.2f} s ({made / delivered:.0f}/s); "
              f"{n} bare POSTs {bare:.2f} s ({n / bare:.0f}/s); ratio {delivered / bare:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.n)


if __name__ == "__main__":
    main()
