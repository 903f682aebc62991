"""``ledger-verify DIR --public-key KEY [--checkpoint FILE]...``: check an export with no database.

Reads what ``ledger-admin export DIR`` wrote and, from those files alone, re-hashes the
audit chain (``audit.chain``: each line the exact bytes an entry's hash is taken over,
hashed as they are, never re-serialised), checks every checkpoint's signature and that its head is still at its
seq, checks that every journal transaction is covered once (numbers without gaps,
postings unchanged), re-derives every balance from the postings and compares it with
the exported cached balance, and checks that every registered statement has its issue
entry in the chain. Prints one line per check; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import checks
from .canonical import postings_digest
from .signing import load_public_key


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def fen(text: str) -> int:
    """A wire amount ("-1200000.00") as integer fen, exactly."""
    value = Decimal(text) * 100
    if value != value.to_integral_value():
        raise ValueError(f"{text} is not a whole number of fen")
    return int(value)


def verify_directory(directory: Path, public_key: Any, checkpoint_files: list[Path]) -> list[tuple[str, int, list[str]]]:
    """``(check name, things checked, problems)`` for every check, in order."""
    head = json.loads((directory / "head.json").read_text(encoding="utf-8"))
    given = [(str(path), json.loads(path.read_text(encoding="utf-8"))) for path in checkpoint_files]
    exported = [(f"exported checkpoint {n + 1}", cp) for n, cp in enumerate(_lines(directory / "checkpoints.jsonl"))]
    want = {int(cp["seq"]) for _where, cp in given + exported if "seq" in cp}
    chain_file = directory / "audit.chain"
    if not chain_file.exists() and (directory / "audit.jsonl").exists():
        raise ValueError("this export has audit.jsonl, written before exports carried the hashed bytes "
                         "(audit.chain): export again")
    chain = checks.walk_chain(checks.read_blocks(chain_file), want=want)
    results: list[tuple[str, int, list[str]]] = [
        ("chain", chain.checked, chain.problems + checks.check_head(chain, int(head["seq"]), head["hash"]))]
    results.append(("checkpoints", *checks.check_checkpoints(chain, given + exported, public_key)))

    headers: dict[str, dict[str, Any]] = {}
    postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in _lines(directory / "journal.jsonl"):
        headers.setdefault(row["transaction_id"], row)
        postings[row["transaction_id"]].append((row["account"], fen(row["amount"])))
    digests = {
        txn_id: postings_digest(id=txn_id, kind=row["kind"], effective_on=row["effective_on"], memo=row["memo"] or "",
                                reference=row["reference"], reverses=row["reverses"], postings=postings[txn_id])
        for txn_id, row in headers.items()
    }
    results.append(("journal", *checks.check_coverage(chain, digests, int(head.get("journal_seq", 0)))))

    accounts = list(_lines(directory / "accounts.jsonl"))
    derived = checks.derive_balances({a["code"]: a["normal_side"] for a in accounts},
                                     (leg for legs in postings.values() for leg in legs))
    problems = [f"account {a['code']}: cached {a['balance']}, postings give {derived[a['code']] / 100:.2f}"
                for a in accounts if fen(a["balance"]) != derived[a["code"]]]
    problems += [f"transaction {txn_id} does not balance" for txn_id, legs in postings.items()
                 if sum(amount for _code, amount in legs) != 0]
    results.append(("balances", len(accounts), problems))

    register = list(_lines(directory / "statements.jsonl"))
    problems = []
    for row in register:
        issued = chain.issues.get(row["number"])
        if issued is None:
            problems.append(f"statement {row['number']} is registered but no statement.issue entry in the chain issued it")
        elif issued[1] != row["sha256"]:
            problems.append(f"statement {row['number']}: the register's PDF hash differs from the one in entry {issued[0]}")
    results.append(("register", len(register), problems))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ledger-verify", description="Verify a `ledger-admin export` directory without any database.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--public-key", type=Path, required=True,
                        help="The bureau's Ed25519 public key (PEM, or raw base64/hex), from `ledger-admin keys`.")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[],
                        help="A checkpoint kept outside the ledger; repeat for several.")
    args = parser.parse_args(argv)
    try:
        public_key = load_public_key(args.public_key.read_bytes())
        results = verify_directory(args.directory, public_key, args.checkpoint)
    except (OSError, ValueError, KeyError) as exc:
        print(f"ledger-verify: cannot read the export: {exc}", file=sys.stderr)
        return 2
    ok = True
    for name, checked, problems in results:
        if problems:
            ok = False
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            print(f"FAILED  {name}: {problems[0]}{more}", file=sys.stderr)
        else:
            print(f"ok      {name}: {checked} checked")
    if ok:
        print(f"Everything verifies from {args.directory} alone.")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
