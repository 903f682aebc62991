"""Verification throughput (SPEC §5.1): audit entries per second against raw SHA-256.

    .venv/bin/python bench/verify.py [--sizes 100000 1000000] [--no-db] [--postgresql]

For each size N a chain of N entries is made (deterministic content shaped like the
ledger's: actors, actions, before/after objects with Chinese text, every third entry
covering a journal transaction with its number and digest), written as an export's
``audit.chain`` and, unless ``--no-db``, into a freshly migrated SQLite database
(``--postgresql``: also a scratch PostgreSQL database, ``bench_verify``).

Measured in the same run:

- *raw*: SHA-256 over exactly the bytes the chain hashes (``prev_hash`` + canonical JSON
  of each entry), prepared beforehand; only the hashing is timed. The ceiling.
- *offline*: ``ledger-verify``'s pass over ``audit.chain`` (``verifier.checks.walk_chain``:
  read, hash, link, and read the journal coverage, money entries and statement issues
  the other checks need); *chain part*: the same pass reading nothing but the chain.
- *database*: ``ledger-admin verify``'s check ``chain`` (``ledger.chain.walk``: the stored
  ``prev_hash || canonical`` bytes read with a lean cursor, hashed, compared).
- *entries*: check ``entries`` (every entry's columns against its hashed text, one SQL
  statement), reported as its own rate.

Ratios are against raw (goal: at least 0.5). Then the cost of signing and verifying one
Ed25519 checkpoint (best of several thousand).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness import scratch_database  # first: puts the project root on sys.path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from verifier.canonical import GENESIS_HASH, canonical_json, entry_fields  # noqa: E402
from verifier.checks import read_blocks, walk_chain  # noqa: E402
from verifier.signing import checkpoint_problem, sign_checkpoint  # noqa: E402

ACTIONS = ("subfund.contribute", "claim.submit", "claim.review", "loan.register", "token.issue", "claim.approve")
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entries(n: int) -> Iterator[dict]:
    """N chained entries: the columns as the ledger stores them (ledger.audit.entry_row)
    and ``line``, the bytes hashed (prev_hash + canonical text)."""
    prev, number = GENESIS_HASH, 0
    for seq in range(1, n + 1):
        journal = None
        if seq % 3 == 0:
            number += 1
            journal = [{"n": number, "id": f"00000000-0000-4000-8000-{seq:012d}",
                        "sha256": hashlib.sha256(str(seq).encode()).hexdigest()}]
        occurred_at = START + timedelta(seconds=seq)
        before = {"status": "submitted"} if seq % 2 else None
        after = {"status": "reviewed", "amount": f"{seq * 37 % 10_000_000}.00", "comment": "材料齐全"}
        actor, action, entity_id = f"user{seq % 50}", ACTIONS[seq % len(ACTIONS)], str(seq // 7)
        text = canonical_json(entry_fields(seq, occurred_at.isoformat(timespec="microseconds"), actor, action,
                                           "claim", entity_id, before, after, journal))
        line = (prev + text).encode("utf-8")
        digest = hashlib.sha256(line).hexdigest()
        yield {"seq": seq, "occurred_at": occurred_at, "actor": actor, "action": action, "entity_type": "claim",
               "entity_id": entity_id, "before_text": canonical_json(before), "after_text": canonical_json(after),
               "journal_text": canonical_json(journal), "prev_hash": prev, "hash": digest, "canonical": text,
               "line": line, "journal_seq": number}
        prev = digest


def write_chain(path: Path, n: int) -> list[bytes]:
    """``audit.chain`` as ``ledger-admin export`` writes it; returns the hashed bytes for *raw*."""
    lines = [entry["line"] for entry in entries(n)]
    with path.open("wb") as handle:
        for start in range(0, n, 20_000):
            handle.write(b"".join(line + b"\n" for line in lines[start:start + 20_000]))
    return lines


def raw_seconds(lines: list[bytes]) -> float:
    """SHA-256 over each entry's hashed bytes, prepared beforehand; only hashing timed."""
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for data in lines:
        sha256(data).hexdigest()
    return time.perf_counter() - start


def offline_seconds(path: Path, n: int) -> tuple[float, float]:
    """(the whole pass over audit.chain, its chain part alone: read, hash, link)."""
    start = time.perf_counter()
    chain = walk_chain(read_blocks(path))
    elapsed = time.perf_counter() - start
    assert chain.ok and chain.checked == n and len(chain.journal) == n // 3, chain.problems
    start = time.perf_counter()
    alone = walk_chain(read_blocks(path), facts=False)
    hashing = time.perf_counter() - start
    assert alone.ok and alone.checked == n
    return elapsed, hashing


def database_seconds(n: int, backend: str) -> tuple[float, float]:
    """(check ``chain``, check ``entries``) on a database holding the N entries."""
    from sqlalchemy import update

    from ledger import verification
    from ledger.audit import insert_entries
    from ledger.db import make_sessionmaker
    from ledger.models import AuditHead

    with scratch_database(backend, "bench_verify") as engine:
        rows, last = [], None
        with engine.begin() as connection:
            statement = insert_entries(engine.dialect.name)
            for entry in entries(n):
                rows.append(entry)
                last = entry
                if len(rows) >= 20_000:
                    connection.execute(statement, rows)
                    rows = []
            if rows:
                connection.execute(statement, rows)
            connection.execute(update(AuditHead.__table__).values(seq=n, hash=last["hash"],
                                                                  journal_seq=last["journal_seq"]))
        timings = []
        for check in ("chain", "entries"):
            with make_sessionmaker(engine, readonly=True)() as session:
                start = time.perf_counter()
                report = verification.run(session, only={check})
                timings.append(time.perf_counter() - start)
            assert report.ok and report.chain.checked == n, report.as_dict()
    return timings[0], timings[1]


def checkpoint_costs(rounds: int = 3000) -> tuple[float, float]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    start = time.perf_counter()
    for seq in range(rounds):
        checkpoint = sign_checkpoint(key, seq, "ab" * 32, "2026-12-01T00:00:00.000000+00:00")
    sign = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for _ in range(rounds):
        assert checkpoint_problem(checkpoint, public) is None
    verify = (time.perf_counter() - start) / rounds
    return sign, verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-db", action="store_true", help="Skip the database measurements.")
    parser.add_argument("--postgresql", action="store_true", help="Also measure on a scratch PostgreSQL database.")
    args = parser.parse_args()
    backends = [] if args.no_db else ["sqlite"] + (["postgresql"] if args.postgresql else [])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        header = f"{'entries':>9} {'raw/s':>11} {'offline/s':>11} {'ratio':>5} {'chain part/s':>12} {'ratio':>5}"
        for backend in backends:
            header += f" | {backend + ' chain/s':>18} {'ratio':>5} {'entries/s':>11}"
        print(header)
        for n in args.sizes:
            path = workdir / f"audit-{n}.chain"
            lines = write_chain(path, n)
            raw = raw_seconds(lines)
            del lines
            offline, hashing = offline_seconds(path, n)
            line = (f"{n:>9} {n / raw:>11,.0f} {n / offline:>11,.0f} {raw / offline:>5.2f} {n / hashing:>12,.0f} "
                    f"{raw / hashing:>5.2f}")
            for backend in backends:
                chain, columns = database_seconds(n, backend)
                line += f" | {n / chain:>18,.0f} {raw / chain:>5.2f} {n / columns:>11,.0f}"
            print(line, flush=True)
            path.unlink()
    sign, verify = checkpoint_costs()
    print(f"checkpoint: sign {sign * 1e6:.0f} µs, verify {verify * 1e6:.0f} µs (Ed25519, one checkpoint)")


if __name__ == "__main__":
    main()
