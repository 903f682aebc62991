"""One verification of everything the ledger claims about itself (SPEC §5, §5.1).

``run(session, …)`` runs :data:`CHECKS` in order and reports, for each, how much it
looked at and the first problem it found (with the count of problems). The same report
backs ``ledger-admin verify``, the auditor API and the console's audit page.

Adding a check: write ``def my_check(ctx: Context) -> tuple[int, list[str]]`` returning
``(things checked, problems in order found)`` and decorate it with
``@check("name", "what it proves")`` in this module (or in a module imported at the
bottom of it). The chain is walked once and shared through ``ctx.chain`` (hashes only);
``ctx.facts`` adds what the chain says about journal coverage and statement issues.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.money import format_amount
from verifier import checks as pure
from verifier.signing import load_public_key

from . import asof, journal, schemes
from . import chain as stored_chain
from .loans import book
from .models import (
    Account,
    AccountDay,
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    Claim,
    ClaimPayerLine,
    JournalTransaction,
    Posting,
    Reservation,
    RuleVersion,
    Scheme,
    Statement,
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    ok: bool
    checked: int
    problem: str | None = None
    problems: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "ok": self.ok, "checked": self.checked,
                "problem": self.problem, "problems": self.problems}


@dataclass(frozen=True)
class Report:
    checks: list[CheckResult]
    head_seq: int
    head_hash: str
    #: The chain walk itself (entries re-hashed, first broken entry).
    chain: pure.Chain

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.checks)

    def first(self, name: str) -> CheckResult:
        return next(result for result in self.checks if result.name == name)

    #: Entries whose columns no longer say what their hashed text says (check ``entries``).
    altered: tuple[int, ...] = ()

    @property
    def intact(self) -> bool:
        """The audit log holds: its chain, and every entry's columns against its text."""
        return self.chain.ok and not self.altered

    @property
    def first_broken(self) -> int | None:
        """The chain's first break, else the first entry whose columns were rewritten under it."""
        if self.chain.first_broken is not None or not self.altered:
            return self.chain.first_broken
        return self.altered[0]

    @property
    def reason(self) -> str:
        named = {result.name: result for result in self.checks}
        result = named.get("chain") if self.chain.first_broken is not None or not self.altered else named.get("entries")
        return (result.problem or "") if result else ""

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "checked": self.chain.checked, "first_broken": self.first_broken, "reason": self.reason,
                "checks": [result.as_dict() for result in self.checks]}


@dataclass
class Context:
    session: Session
    #: ``(where, checkpoint)`` pairs handed in from outside (files an auditor kept).
    external: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    #: The bureau's public key, when the verifier has it.
    public_key: Ed25519PublicKey | None = None
    #: filled by check ``entries``
    altered: list[int] = field(default_factory=list)

    @cached_property
    def stored(self) -> list[tuple[str, Mapping[str, Any], str]]:
        rows = self.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars()
        return [(f"stored checkpoint {row.id}", {"seq": row.seq, "head": row.head, "issued_at": row.issued_at,
                                                 "key_id": row.key_id, "signature": row.signature}, row.public_key)
                for row in rows]

    @cached_property
    def head(self) -> Any:
        return self.session.execute(select(AuditHead.seq, AuditHead.hash, AuditHead.journal_seq)
                                    .where(AuditHead.id == 1)).one()

    @cached_property
    def chain(self) -> pure.Chain:
        """The chain re-hashed from its stored bytes (only hashes: see :attr:`facts`)."""
        want = {int(cp["seq"]) for _where, cp in self.external if "seq" in cp}
        want |= {int(cp["seq"]) for _where, cp, _key in self.stored}
        return stored_chain.walk(self.session, want=want)

    @cached_property
    def facts(self) -> pure.Chain:
        """The walked chain with its journal coverage, money entries and statement issues,
        read from the columns (which check ``entries`` ties to the hashed text)."""
        return stored_chain.read_facts(self.session, self.chain)


Check = Callable[[Context], tuple[int, list[str]]]
CHECKS: list[tuple[str, str, Check]] = []


def check(name: str, title: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS.append((name, title, function))
        return function
    return register


def run(session: Session, *, checkpoints: list[tuple[str, Mapping[str, Any]]] = (),  # type: ignore[assignment]
        public_key: Ed25519PublicKey | None = None, only: set[str] | None = None) -> Report:
    ctx = Context(session, list(checkpoints), public_key)
    results = []
    for name, title, function in CHECKS:
        if only is not None and name not in only:
            continue
        checked, problems = function(ctx)
        results.append(CheckResult(name, title, not problems, checked, problems[0] if problems else None,
                                   len(problems)))
    return Report(results, int(ctx.head.seq), ctx.head.hash, ctx.chain, tuple(ctx.altered))


# -- the checks, in the order they run -------------------------------------------------


@check("chain", "Every audit entry re-hashes to its stored hash, in order, up to the head")
def chain_check(ctx: Context) -> tuple[int, list[str]]:
    chain = ctx.chain
    return chain.checked, chain.problems + pure.check_head(chain, int(ctx.head.seq), ctx.head.hash)


@check("entries", "Every audit entry's columns say what its hashed text says")
def entries_check(ctx: Context) -> tuple[int, list[str]]:
    # An insider may rewrite the columns the application reads and leave the hashed
    # text (and so the chain) intact: this comparison names every such entry.
    ctx.altered = stored_chain.column_mismatches(ctx.session)
    problems = [f"entry {seq} was altered: its columns no longer say what its hashed text says" for seq in ctx.altered]
    return int(ctx.head.seq), problems


@check("checkpoints", "Each checkpoint's signature holds and its head is still at its seq")
def checkpoints_check(ctx: Context) -> tuple[int, list[str]]:
    checked, problems = pure.check_checkpoints(ctx.chain, ctx.external, ctx.public_key)
    for where, checkpoint, stored_key in ctx.stored:
        n, found = pure.check_checkpoints(ctx.chain, [(where, checkpoint)], ctx.public_key or load_public_key(stored_key))
        checked += n
        problems += found
    return checked, problems


@check("journal", "Every journal transaction is covered once, numbered without gaps, its postings unchanged")
def journal_check(ctx: Context) -> tuple[int, list[str]]:
    return pure.check_coverage(ctx.facts, transaction_digests(ctx.session), int(ctx.head.journal_seq))


@check("balances", "Every cached balance equals the sum of its postings; every transaction balances")
def balances_check(ctx: Context) -> tuple[int, list[str]]:
    mismatches = journal.check_balances(ctx.session)
    problems = [f"account {m.account}: cached {format_amount(m.cached)}, journal {format_amount(m.recomputed)}"
                for m in mismatches]
    problems += [f"transaction {txn} does not balance" for txn in journal.unbalanced_transactions(ctx.session)]
    accounts = ctx.session.scalar(select(Account.id).order_by(Account.id.desc()).limit(1)) or 0
    return accounts, problems


@check("running_balances", "Every posting's balance_after is its account's running sum up to it")
def running_balances_check(ctx: Context) -> tuple[int, list[str]]:
    breaks = journal.running_balance_breaks(ctx.session)
    problems = [f"posting {b.posting_id} on {b.account}: stored balance_after "
                f"{'none' if b.stored is None else format_amount(b.stored)}, running sum {format_amount(b.recomputed)}"
                for b in breaks]
    postings = ctx.session.scalar(select(Posting.id).order_by(Posting.id.desc()).limit(1)) or 0
    return postings, problems


@check("day_closings", "Every account's stored day closing (the as-of figure) equals its postings up to that day")
def day_closings_check(ctx: Context) -> tuple[int, list[str]]:
    broken = asof.check_closings(ctx.session)
    problems = [f"account {account} on {day.isoformat()}: stored closing {format_amount(stored)}, "
                f"postings {format_amount(derived)}" for account, day, stored, derived in broken]
    days = ctx.session.scalar(select(func.count()).select_from(AccountDay)) or 0
    return days, problems


@check("claims", "Claims' approved amounts, payer lines and statuses agree with their journal transactions and the chain")
def claims_check(ctx: Context) -> tuple[int, list[str]]:
    return claim_problems(ctx.session)


@check("register", "Every registered statement has its statement.issue entry in the chain")
def register_check(ctx: Context) -> tuple[int, list[str]]:
    problems = []
    rows = ctx.session.execute(select(Statement.number, Statement.sha256).order_by(Statement.id)).all()
    for number, sha256 in rows:
        issued = ctx.facts.issues.get(number)
        if issued is None:
            problems.append(f"statement {number} is registered but no statement.issue entry in the chain issued it")
        elif issued[1] != sha256:
            problems.append(f"statement {number}: the register's PDF hash differs from the one in entry {issued[0]}")
    return len(rows), problems


@check("rules", "Every published rule document hashes to its SHA-256, the one its rules.publish entry recorded")
def rules_check(ctx: Context) -> tuple[int, list[str]]:
    # The entries' columns, not their hashed text: check ``entries`` ties the two.
    published = {(entity_id, (after or {}).get("version")): (int(seq), (after or {}).get("document_sha256"))
                 for seq, entity_id, after in ctx.session.execute(
                     select(AuditEntry.seq, AuditEntry.entity_id, AuditEntry.after)
                     .where(AuditEntry.action == "rules.publish"))}
    problems = []
    rows = ctx.session.execute(select(Scheme.code, RuleVersion.version, RuleVersion.document,
                                      RuleVersion.document_sha256)
                               .join(Scheme, Scheme.id == RuleVersion.scheme_id)
                               .order_by(Scheme.code, RuleVersion.version)).all()
    for code, version, document, sha256 in rows:
        name = f"rule version {code} v{version}"
        if schemes.document_sha256(document) != sha256:
            problems.append(f"{name}: its document no longer hashes to its SHA-256 {sha256}")
        entry = published.pop((code, version), None)
        if entry is None:
            problems.append(f"{name} has no rules.publish entry in the chain")
        elif entry[1] != sha256:
            problems.append(f"{name}: its SHA-256 differs from the one in entry {entry[0]}")
    problems += [f"rule version {code} v{version}, published in entry {seq}, is missing"
                 for (code, version), (seq, _sha256) in sorted(published.items(), key=lambda item: item[1][0])]
    return len(rows), problems


@check("loan_book", "Every bank's running loan-book figures in each scheme equal the sums of its loans")
def loan_book_check(ctx: Context) -> tuple[int, list[str]]:
    return book.mismatches(ctx.session)


# -- helpers ---------------------------------------------------------------------------


def transaction_digests(session: Session) -> dict[str, str]:
    """Each transaction's canonical-postings digest, recomputed from the tables."""
    headers = {
        row.id: row for row in session.execute(select(
            JournalTransaction.id, JournalTransaction.kind, JournalTransaction.effective_on, JournalTransaction.memo,
            JournalTransaction.reference, JournalTransaction.reverses_id))
    }
    postings: dict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    for txn_id, code, amount in session.execute(
        select(Posting.transaction_id, Account.code, Posting.amount).join(Account, Account.id == Posting.account_id)
    ):
        postings[txn_id].append((code, int(amount)))
    digests = {}
    for txn_id, header in headers.items():
        digests[str(txn_id)] = journal.canonical_digest(
            {"id": txn_id, "kind": header.kind, "effective_on": header.effective_on, "memo": header.memo,
             "reference": header.reference, "reverses_id": header.reverses_id}, postings.get(txn_id, []))
    for txn_id in postings.keys() - headers.keys():
        digests[str(txn_id)] = "(postings without a transaction header)"
    return digests


#: Reservation status each claim status implies for its payer lines' reservations.
_RESERVATION_FOR = {"approved": "pending", "paid": "posted"}


def claim_problems(session: Session) -> tuple[int, list[str]]:
    """Claims against the money: lines against their reservations' postings (bound into
    the chain), the approved amount against the lines, the status against the chain."""
    problems: list[str] = []
    claims = session.execute(select(Claim.id, Claim.status, Claim.approved_amount).order_by(Claim.id)).all()
    lines: dict[int, list[Any]] = defaultdict(list)
    for line in session.execute(select(ClaimPayerLine.claim_id, ClaimPayerLine.subfund_code, ClaimPayerLine.amount,
                                       ClaimPayerLine.reservation_id)):
        lines[line.claim_id].append(line)
    reservations = {row.id: row for row in session.execute(select(
        Reservation.id, Reservation.status, Reservation.hold_account_id, Reservation.reserve_transaction_id,
        Reservation.resolve_transaction_id))}
    # What each transaction moved on each account, from the (hash-bound) postings.
    moved: dict[tuple[uuid.UUID, int], int] = defaultdict(int)
    wanted = {r.reserve_transaction_id for r in reservations.values()} | {
        r.resolve_transaction_id for r in reservations.values() if r.resolve_transaction_id}
    for txn_id, account_id, amount in session.execute(select(Posting.transaction_id, Posting.account_id, Posting.amount)):
        if txn_id in wanted:
            moved[(txn_id, account_id)] += int(amount)
    kinds = dict(session.execute(select(JournalTransaction.id, JournalTransaction.kind)).all())
    last_status, last_reserve = _claims_in_chain(session)

    for claim_id, status, approved in claims:
        where = f"claim {claim_id}"
        chained = last_status.get(str(claim_id))
        if chained is not None and chained != status:
            problems.append(f"{where} is {status} but its last audit entry left it {chained}")
        reserved = [line for line in lines[claim_id] if line.reservation_id is not None]
        expected = _RESERVATION_FOR.get(status)
        if status in ("approved", "paid"):
            if approved is None or sum(line.amount for line in lines[claim_id]) != approved:
                problems.append(f"{where}: approved amount {format_amount(approved or 0)} is not the sum of its payer lines")
            recorded = last_reserve.get(str(claim_id))
            if recorded is not None and recorded.get("approved_amount") != format_amount(approved or 0):
                problems.append(f"{where}: approved amount {format_amount(approved or 0)} differs from "
                                f"{recorded.get('approved_amount')} recorded in the chain")
            if recorded is not None and _recorded_lines(recorded.get("lines")) != sorted(
                    (line.subfund_code, format_amount(line.amount)) for line in lines[claim_id]):
                problems.append(f"{where}: payer lines differ from those recorded in the chain")
        # Lines are reserved (and paid) together: one transaction may hold several lines of
        # one sub-fund, so compare per transaction and hold account.
        held: dict[tuple[Any, int], list[Any]] = defaultdict(list)
        paid_out: dict[tuple[Any, int], list[Any]] = defaultdict(list)
        for line in reserved:
            reservation = reservations.get(line.reservation_id)
            if reservation is None:
                problems.append(f"{where}: the reservation of its {line.subfund_code} line is missing")
                continue
            held[(reservation.reserve_transaction_id, reservation.hold_account_id)].append(line)
            # A claim that left approval (rejected, withdrawn, returned) released its money.
            wanted_status = expected or "released"
            if reservation.status != wanted_status:
                problems.append(f"{where} is {status} but the reservation of its {line.subfund_code} line is "
                                f"{reservation.status}")
            if status == "paid":
                paid_out[(reservation.resolve_transaction_id, reservation.hold_account_id)].append(line)
        for key, group in held.items():
            said, journal_held = sum(line.amount for line in group), moved.get(key, 0)
            if said != journal_held:
                problems.append(f"{where}: its {group[0].subfund_code} line(s) say {format_amount(said)} but the "
                                f"journal reserved {format_amount(journal_held)}")
        for key, group in paid_out.items():
            said, journal_paid = sum(line.amount for line in group), -moved.get(key, 0)
            if kinds.get(key[0]) != "payout" or said != journal_paid:
                problems.append(f"{where}: its {group[0].subfund_code} line(s) say {format_amount(said)} but the "
                                f"journal paid out {format_amount(journal_paid)}")
    return len(claims), problems


def _recorded_lines(lines: Any) -> list[tuple[str, str]]:
    """A claim.reserve entry's lines: a list of {subfund, amount}, or (older entries) {subfund: amount}."""
    if isinstance(lines, dict):
        return sorted(lines.items())
    return sorted((line["subfund"], line["amount"]) for line in lines or [])


def _claims_in_chain(session: Session) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Each claim's status as its last transition entry left it, and its last reserve entry."""
    status: dict[str, str] = {}
    reserve: dict[str, dict[str, Any]] = {}
    rows = session.execute(select(AuditEntry.entity_id, AuditEntry.action, AuditEntry.after)
                           .where(AuditEntry.entity_type == "claim").order_by(AuditEntry.seq))
    for entity_id, action, after in rows:
        if action == "claim.reserve":
            reserve[entity_id] = after or {}
        elif after and "status" in after:
            status[entity_id] = after["status"]
    return status, reserve
