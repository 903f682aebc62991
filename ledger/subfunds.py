"""Sub-funds: creation, contributions, balances and movements (SPEC §4)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.money import format_amount

from . import audit, journal
from .errors import AlreadyExists, NotFound, ValidationFailed
from .models import OWNER_TYPES, SUBFUND_ACCOUNTS, Account, JournalTransaction, Posting, SubFund

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,39}$")


def get_subfund(session: Session, code: str) -> SubFund:
    subfund = session.scalar(select(SubFund).where(SubFund.code == code))
    if subfund is None:
        raise NotFound(f"No sub-fund {code}.", code="subfund_not_found")
    return subfund


def subfund_account(session: Session, subfund: SubFund, purpose: str) -> Account:
    return journal.get_account(session, subfund.account_code(purpose))


def create_subfund(session: Session, *, code: str, name: str, owner_type: str, region: str, actor: str) -> SubFund:
    errors: dict[str, list[str]] = {}
    if not _CODE_RE.match(code):
        errors["code"] = ["2-40 capital letters, digits or '-', starting with a letter (e.g. CITY-440700)."]
    if owner_type not in OWNER_TYPES:
        errors["owner_type"] = [f"Must be one of {', '.join(OWNER_TYPES)}."]
    if not re.fullmatch(r"\d{6}", region or ""):
        errors["region"] = ["A 6-digit GB/T 2260 region code."]
    if errors:
        raise ValidationFailed("Invalid sub-fund.", errors=errors)
    if session.scalar(select(SubFund.id).where(SubFund.code == code)):
        raise AlreadyExists(f"Sub-fund {code} exists.", code="subfund_exists", errors={"code": ["already exists"]})
    subfund = SubFund(code=code, name=name, owner_type=owner_type, region=region)
    session.add(subfund)
    for purpose, (side, no_overdraft) in SUBFUND_ACCOUNTS.items():
        journal.open_account(session, subfund.account_code(purpose), f"{name} — {purpose}",
                             normal_side=side, no_overdraft=no_overdraft)
    session.flush()
    audit.record(session, actor=actor, action="subfund.create", entity_type="subfund", entity_id=code,
                 after={"name": name, "owner_type": owner_type, "region": region})
    return subfund


@dataclass(frozen=True)
class Contribution:
    transaction_id: uuid.UUID
    subfund: str
    amount: int
    received_on: date
    reference: str
    created: bool  # False when an identical contribution was already recorded


def contribute(
    session: Session, code: str, *, amount: int, received_on: date, reference: str, actor: str
) -> Contribution:
    """Record money paid in. The reference is the owner's payment reference: recording
    the same one twice is a no-op if identical and a conflict otherwise."""
    subfund = get_subfund(session, code)
    if amount <= 0:
        raise ValidationFailed("A contribution is a positive amount.", errors={"amount": ["must be greater than zero"]})
    key = f"contribution:{code}:{reference}"
    existing = journal.find_by_dedupe_key(session, key)
    if existing is None:
        try:
            posted = journal.post_transaction(
                session,
                kind="contribution",
                legs=[journal.debit(subfund_account(session, subfund, "available"), amount),
                      journal.credit(subfund_account(session, subfund, "contributions"), amount)],
                effective_on=received_on,
                memo=f"Contribution to {code}",
                reference=reference,
                actor=actor,
                dedupe_key=key,
            )
        except AlreadyExists:
            # A concurrent retry of the same contribution committed first (the journal
            # undid this attempt): answer as for any repeat, below.
            existing = journal.find_by_dedupe_key(session, key)
            if existing is None:
                raise
    if existing is not None:
        legs = journal.transaction_legs(session, existing.id)
        recorded = max(amount for _account, amount in legs)
        if recorded != amount or existing.effective_on != received_on:
            raise AlreadyExists(
                f"Reference {reference} was already recorded for {code} with other figures.",
                code="duplicate_reference", errors={"reference": ["already used with another amount or date"]},
            )
        return Contribution(existing.id, code, amount, received_on, reference, created=False)
    audit.record(session, actor=actor, action="subfund.contribute", entity_type="subfund", entity_id=code,
                 after={"amount": format_amount(amount), "received_on": received_on, "reference": reference,
                        "transaction": posted.id})
    return Contribution(posted.id, code, amount, received_on, reference, created=True)


def balances(session: Session, subfund: SubFund) -> dict[str, int]:
    """Balances by purpose (fen), from the journal-maintained account balances."""
    rows = session.execute(
        select(Account.code, Account.balance).where(Account.code.like(f"subfund:{subfund.code}:%"))
    ).all()
    prefix = f"subfund:{subfund.code}:"
    return {code.removeprefix(prefix): int(balance) for code, balance in rows}


@dataclass(frozen=True)
class Movement:
    seq: int
    transaction_id: uuid.UUID
    kind: str
    effective_on: date
    memo: str
    reference: str | None
    #: Change in fen of each of the sub-fund's accounts touched, by purpose.
    changes: dict[str, int]


def movements(session: Session, subfund: SubFund, *, page: int = 1, per_page: int = 50) -> tuple[list[Movement], int]:
    """Journal transactions touching the sub-fund, oldest first, one page at a time."""
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.code.like(f"subfund:{subfund.code}:%")))}
    touching = (
        select(JournalTransaction.seq)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .where(Posting.account_id.in_(accounts))
        .distinct()
    )
    total = session.scalar(select(func.count()).select_from(touching.subquery())) or 0
    seqs = session.scalars(touching.order_by(JournalTransaction.seq).limit(per_page).offset((page - 1) * per_page)).all()
    if not seqs:
        return [], total
    rows = session.execute(
        select(JournalTransaction, Posting.account_id, Posting.amount)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .where(JournalTransaction.seq.in_(seqs), Posting.account_id.in_(accounts))
        .order_by(JournalTransaction.seq, Posting.id)
    ).all()
    prefix = f"subfund:{subfund.code}:"
    result: dict[int, Movement] = {}
    for txn, account_id, amount in rows:
        account = accounts[account_id]
        change = amount if account.normal_side == "debit" else -amount
        movement = result.setdefault(
            txn.seq, Movement(txn.seq, txn.id, txn.kind, txn.effective_on, txn.memo, txn.reference, {})
        )
        purpose = account.code.removeprefix(prefix)
        movement.changes[purpose] = movement.changes.get(purpose, 0) + change
    return list(result.values()), total
