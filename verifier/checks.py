"""Checks over plain records (dicts), shared by ``ledger-admin verify`` and ``ledger-verify``.

Each function returns ``(checked, problems)``: how many things it looked at and a list
of problems in the order found (the first one names what changed first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonical import GENESIS_HASH, canonical_json
from .signing import checkpoint_problem

#: Audit actions that move money: each must cover the journal transaction(s) it wrote.
#: (``claim.recovery`` may return nothing, so it need not.)
MONEY_ACTIONS = frozenset({"subfund.contribute", "claim.reserve", "claim.payout", "claim.clawback",
                           "bank.debt_repayment"})

_HASHED = ("seq", "occurred_at", "actor", "action", "entity_type", "entity_id", "before", "after")


@dataclass
class Chain:
    """What one pass over the audit log learns."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    #: the first entry that no longer matches (None while the chain holds)
    first_broken: int | None = None
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    #: hashes at the sequence numbers asked for (checkpoints)
    hashes_at: dict[int, str] = field(default_factory=dict)
    #: (entry seq, journal number, transaction id, postings digest) in chain order
    journal: list[tuple[int, int, str, str]] = field(default_factory=list)
    #: statement number -> (entry seq, PDF sha256) of its ``statement.issue`` entry
    issues: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: entries of a money action that cover no transaction
    uncovered_money: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def walk_chain(entries: Iterable[Mapping[str, Any]], *, want: Iterable[int] = ()) -> Chain:
    """Re-hash every entry in order (``occurred_at`` as UTC text); stop at the first break.

    The byte form is written out here rather than through ``entry_fields`` because this
    loop is the verifier's hot path: one ``json.dumps`` and one SHA-256 per entry.
    """
    chain = Chain()
    wanted = set(want)
    prev, expected = GENESIS_HASH, 1
    sha256 = hashlib.sha256
    for entry in entries:
        seq = entry["seq"]
        if seq != expected:
            chain.problems.append(f"entry {expected} is missing (the next entry found is {seq})")
            chain.first_broken = expected
            return chain
        if entry["prev_hash"] != prev:
            chain.problems.append(f"entry {seq} does not follow entry {seq - 1} (removed, inserted or reordered)")
            chain.first_broken = seq
            return chain
        fields = {name: entry[name] for name in _HASHED}
        journal = entry.get("journal")
        if journal:
            fields["journal"] = journal
        if sha256((prev + canonical_json(fields)).encode("utf-8")).hexdigest() != entry["hash"]:
            chain.problems.append(f"entry {seq} was altered: its content no longer matches its hash")
            chain.first_broken = seq
            return chain
        prev = entry["hash"]
        if seq in wanted:
            chain.hashes_at[seq] = prev
        if journal:
            for ref in journal:
                chain.journal.append((seq, ref["n"], ref["id"], ref["sha256"]))
        action = entry["action"]
        if action in MONEY_ACTIONS and not journal:
            chain.uncovered_money.append((seq, action))
        elif action == "statement.issue":
            chain.issues[entry["entity_id"]] = (seq, (entry["after"] or {}).get("sha256", ""))
        chain.checked += 1
        expected += 1
    chain.last_seq, chain.head_hash = expected - 1, prev
    return chain


def check_head(chain: Chain, head_seq: int, head_hash: str) -> list[str]:
    if chain.ok and (head_seq != chain.last_seq or head_hash != chain.head_hash):
        chain.first_broken = chain.last_seq + 1
        return [f"the log ends at entry {chain.last_seq} but the head records {head_seq} entries "
                "(entries removed from the end, or the head rewritten)"]
    return []


def check_checkpoints(chain: Chain, checkpoints: Iterable[tuple[str, Mapping[str, Any]]],
                      public_key: Ed25519PublicKey | None) -> tuple[int, list[str]]:
    """Each checkpoint is signed by the bureau's key and its head is still at its seq.

    ``checkpoints`` are ``(where, checkpoint)``: where names it in a problem (a file,
    "stored checkpoint 3"). Needs the chain walked with ``want`` = their seqs.
    """
    checked, problems = 0, []
    for where, checkpoint in checkpoints:
        checked += 1
        if public_key is None:
            problems.append(f"{where}: no public key to check its signature")
            continue
        problem = checkpoint_problem(dict(checkpoint), public_key)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        seq = int(checkpoint["seq"])
        if seq > chain.last_seq and chain.ok:
            problems.append(f"{where}: signed at entry {seq}, but the log now ends at entry {chain.last_seq} "
                            "(entries cut off after it)")
        elif seq in chain.hashes_at and chain.hashes_at[seq] != checkpoint["head"]:
            problems.append(f"{where}: entry {seq} no longer has the signed hash (history up to it was rewritten)")
        elif seq == 0 and checkpoint["head"] != GENESIS_HASH:
            problems.append(f"{where}: a checkpoint at entry 0 must sign the genesis hash")
    return checked, problems


def check_coverage(chain: Chain, digests: Mapping[str, str], head_journal_seq: int | None) -> tuple[int, list[str]]:
    """Every journal transaction covered by exactly one entry, numbered 1, 2, 3, … without
    gaps, with its postings unchanged; every money entry covers a transaction."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    expected = 1
    for seq, number, txn_id, digest in chain.journal:
        if number != expected:
            problems.append(f"journal number {expected} is missing: entry {seq} covers number {number} next")
            expected = number
        expected += 1
        if txn_id in seen:
            problems.append(f"transaction {txn_id} is covered twice (entries {seen[txn_id]} and {seq})")
            continue
        seen[txn_id] = seq
        actual = digests.get(txn_id)
        if actual is None:
            problems.append(f"transaction {txn_id} (journal number {number}, entry {seq}) is missing from the journal")
        elif actual != digest:
            problems.append(f"transaction {txn_id} (journal number {number}) was altered: its postings no longer "
                            f"match the digest in entry {seq}")
    for txn_id in digests:
        if txn_id not in seen:
            problems.append(f"transaction {txn_id} is covered by no audit entry (added outside the application)")
    if head_journal_seq is not None and chain.ok and head_journal_seq != expected - 1:
        problems.append(f"the head records {head_journal_seq} journal transactions, the chain covers {expected - 1}")
    for seq, action in chain.uncovered_money:
        problems.append(f"entry {seq} ({action}) moves money but covers no journal transaction")
    return len(digests), problems


def derive_balances(normal_sides: Mapping[str, str], postings: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Every account's balance from its postings, in its normal direction (debits positive)."""
    totals = dict.fromkeys(normal_sides, 0)
    for code, amount in postings:
        totals[code] = totals.get(code, 0) + int(amount)
    return {code: total if normal_sides.get(code, "debit") == "debit" else -total for code, total in totals.items()}
