"""Verification throughput (SPEC §5.1): audit entries per second against raw SHA-256.

    .venv/bin/python bench/verify.py [--sizes 100000 1000000] [--no-db]

For each size N a chain of N entries is made (deterministic content shaped like the
ledger's: actors, actions, before/after objects, every third entry covering a journal
transaction with its number and digest), written as an export's ``audit.jsonl`` and, unless
``--no-db``, into a freshly migrated SQLite database.

Measured in the same run:

- *raw*: SHA-256 over exactly the bytes the chain hashes (``prev_hash`` + canonical JSON
  of each entry), prepared beforehand; only the hashing is timed. The ceiling.
- *offline*: ``ledger-verify``'s chain walk over ``audit.jsonl`` (read, parse, canonical
  JSON, hash, compare).
- *database*: ``ledger-admin verify``'s chain check (``ledger.verification``, check
  ``chain``) reading the entries from SQLite.

Ratios are against raw (goal: at least 0.5). Then the cost of signing and verifying one
Ed25519 checkpoint (best of several thousand).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from verifier.canonical import GENESIS_HASH, canonical_json, entry_fields  # noqa: E402
from verifier.checks import walk_chain  # noqa: E402
from verifier.signing import checkpoint_problem, sign_checkpoint  # noqa: E402

ACTIONS = ("subfund.contribute", "claim.submit", "claim.review", "loan.register", "token.issue", "claim.approve")
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entries(n: int) -> Iterator[dict]:
    """N chained entries, as an export writes them (fields, prev_hash, hash)."""
    prev, number = GENESIS_HASH, 0
    for seq in range(1, n + 1):
        journal = None
        if seq % 3 == 0:
            number += 1
            journal = [{"n": number, "id": f"00000000-0000-4000-8000-{seq:012d}",
                        "sha256": hashlib.sha256(str(seq).encode()).hexdigest()}]
        fields = entry_fields(
            seq, (START + timedelta(seconds=seq)).isoformat(timespec="microseconds"), f"user{seq % 50}",
            ACTIONS[seq % len(ACTIONS)], "claim", str(seq // 7), {"status": "submitted"} if seq % 2 else None,
            {"status": "reviewed", "amount": f"{seq * 37 % 10_000_000}.00", "comment": "材料齐全"}, journal)
        digest = hashlib.sha256((prev + canonical_json(fields)).encode("utf-8")).hexdigest()
        yield {**fields, "prev_hash": prev, "hash": digest}
        prev = digest


def write_jsonl(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for entry in entries(n):
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")


def lines(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def raw_seconds(path: Path, batch: int = 20_000) -> float:
    """SHA-256 over each entry's hashed bytes, prepared in batches outside the timing."""
    total, chunk = 0.0, []
    sha256 = hashlib.sha256

    def flush() -> float:
        start = time.perf_counter()
        for data in chunk:
            sha256(data).hexdigest()
        return time.perf_counter() - start

    for entry in lines(path):
        fields = {k: v for k, v in entry.items() if k not in ("prev_hash", "hash")}
        chunk.append((entry["prev_hash"] + canonical_json(fields)).encode("utf-8"))
        if len(chunk) >= batch:
            total += flush()
            chunk = []
    total += flush()
    return total


def offline_seconds(path: Path, n: int) -> float:
    start = time.perf_counter()
    chain = walk_chain(lines(path))
    elapsed = time.perf_counter() - start
    assert chain.ok and chain.checked == n, chain.problems
    return elapsed


def database_seconds(path: Path, n: int, workdir: Path) -> float:
    from sqlalchemy import insert, update

    from ledger import verification
    from ledger.db import make_engine, make_sessionmaker
    from ledger.migrate import upgrade
    from ledger.models import AuditEntry, AuditHead

    engine = make_engine(f"sqlite:///{workdir / f'verify-{n}.sqlite3'}")
    upgrade(engine)
    rows, last = [], None
    with engine.begin() as connection:
        for entry in lines(path):
            row = dict(entry)
            row["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
            row["journal"] = row.get("journal")
            rows.append(row)
            last = row
            if len(rows) >= 20_000:
                connection.execute(insert(AuditEntry.__table__), rows)
                rows = []
        if rows:
            connection.execute(insert(AuditEntry.__table__), rows)
        journal_seq = max((ref["n"] for ref in (last or {}).get("journal") or []), default=n // 3)
        connection.execute(update(AuditHead.__table__).values(seq=n, hash=last["hash"], journal_seq=journal_seq))
    with make_sessionmaker(engine, readonly=True)() as session:
        start = time.perf_counter()
        report = verification.run(session, only={"chain"})
        elapsed = time.perf_counter() - start
    engine.dispose()
    assert report.ok and report.chain.checked == n, report.as_dict()
    return elapsed


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
    parser.add_argument("--no-db", action="store_true", help="Skip the database measurement.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"{'entries':>9} {'raw/s':>12} {'offline/s':>12} {'ratio':>6} {'database/s':>12} {'ratio':>6}")
        for n in args.sizes:
            path = workdir / f"audit-{n}.jsonl"
            write_jsonl(path, n)
            raw = raw_seconds(path)
            offline = offline_seconds(path, n)
            line = f"{n:>9} {n / raw:>12,.0f} {n / offline:>12,.0f} {raw / offline:>6.2f}"
            if not args.no_db:
                database = database_seconds(path, n, workdir)
                line += f" {n / database:>12,.0f} {raw / database:>6.2f}"
            print(line, flush=True)
            path.unlink()
    sign, verify = checkpoint_costs()
    print(f"checkpoint: sign {sign * 1e6:.0f} µs, verify {verify * 1e6:.0f} µs (Ed25519, one checkpoint)")


if __name__ == "__main__":
    main()
