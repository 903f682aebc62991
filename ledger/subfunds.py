"""Sub-funds: creation, contributions, balances and movements (SPEC §4)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from rules.money import format_amount
from rules.regions import unknown_region_problem

from . import audit, clock, journal, movement_dates
from .errors import AlreadyExists, NotFound, ValidationFailed
from .models import DEBIT, OWNER_TYPES, SUBFUND_ACCOUNTS, Account, JournalTransaction, Posting, SubFund

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,39}\Z")


def get_subfund(session: Session, code: str) -> SubFund:
    subfund = session.scalar(select(SubFund).where(SubFund.code == code))
    if subfund is None:
        raise NotFound(f"No sub-fund {code}.", code="subfund_not_found")
    return subfund


def subfund_account(session: Session, subfund: SubFund, purpose: str) -> Account:
    return journal.get_account(session, subfund.account_code(purpose))


def subfund_accounts(session: Session, codes: Iterable[str], purposes: Iterable[str], *,
                     also: Iterable[str] = ()) -> dict[tuple[str, str], Account]:
    """Several sub-funds' accounts in one query, by ``(sub-fund code, purpose)``; a
    sub-fund that does not exist has none. Accounts named in ``also`` (full codes)
    come in the same query, keyed ``("", code)``."""
    wanted = {f"subfund:{code}:{purpose}": (code, purpose) for code in codes for purpose in purposes}
    wanted.update({code: ("", code) for code in also})
    if not wanted:
        return {}
    return {wanted[account.code]: account for account in session.scalars(select(Account).where(Account.code.in_(wanted)))}


def create_subfund(session: Session, *, code: str, name: str, owner_type: str, region: str, actor: str) -> SubFund:
    errors: dict[str, list[str]] = {}
    if not _CODE_RE.match(code):
        errors["code"] = ["2-40 capital letters, digits or '-', starting with a letter (e.g. CITY-440700)."]
    if owner_type not in OWNER_TYPES:
        errors["owner_type"] = [f"Must be one of {', '.join(OWNER_TYPES)}."]
    region_problem = unknown_region_problem(region)
    if region_problem is not None:
        errors["region"] = [region_problem]
    if errors:
        only_region = set(errors) == {"region"} and re.fullmatch(r"\d{6}", region or "")
        raise ValidationFailed("Invalid sub-fund.", errors=errors,
                               **({"code": "unknown_region"} if only_region else {}))
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
    session: Session, code: str, *, amount: int, received_on: date, reference: str, actor: str,
    today: date | None = None,
) -> Contribution:
    """Record money paid in. The reference is the owner's payment reference: recording
    the same one twice is a no-op if identical and a conflict otherwise.

    ``received_on`` may be in the past (opening balances from before the ledger went
    live), never after ``today`` nor in a period closed by this sub-fund's statements.
    """
    subfund = get_subfund(session, code)
    if amount <= 0:
        raise ValidationFailed("A contribution is a positive amount.", errors={"amount": ["must be greater than zero"]})
    key = f"contribution:{code}:{reference}"
    existing = journal.find_by_dedupe_key(session, key)
    if existing is None:
        movement_dates.check(session, "received_on", received_on, today=today or clock.today(), subfunds=[code])
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
    #: Each touched account's balance just after this movement, in journal order.
    balances_after: dict[str, int]
    #: Where the movement sits in the sub-fund's journal order (its first posting on the
    #: sub-fund's accounts): the keyset that pages continue from.
    position: int


@dataclass(frozen=True)
class MovementPage:
    items: list[Movement]
    #: Position of the last item when more may follow, else None.
    next_after: int | None


def movements(session: Session, subfund: SubFund, *, after: int = 0, limit: int = 50) -> MovementPage:
    """Journal transactions touching the sub-fund, in journal order, after a position.

    Keyset pagination: each of the sub-fund's accounts is read from its
    ``(account_id, id)`` index starting after ``after``, at most ``limit + 1`` postings
    each, so a page costs the same whether the account holds ten or ten million
    postings before it. A movement's position is its first posting on the sub-fund's
    accounts; movements are ordered by it and a page continues after the last one.
    """
    codes = {subfund.account_code(purpose): purpose for purpose in SUBFUND_ACCOUNTS}
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.code.in_(codes)))}
    fetch = limit + 1
    while True:
        streams = [
            select(Posting.account_id, Posting.id, Posting.transaction_id)
            .where(Posting.account_id == account_id, Posting.id > after)
            .order_by(Posting.id)
            .limit(fetch)
            .subquery()
            for account_id in sorted(accounts)
        ]
        heads = session.execute(union_all(*(select(*sq.c) for sq in streams))).all()
        # Every account's postings are known up to ``complete``: the last one read of each
        # account whose stream was cut off by the limit.
        read: dict[int, list[int]] = {}
        for account_id, posting_id, _txn in heads:
            read.setdefault(account_id, []).append(posting_id)
        cut = [max(ids) for ids in read.values() if len(ids) == fetch]
        complete = min(cut) if cut else None
        candidates = {txn for _acc, posting_id, txn in heads if complete is None or posting_id <= complete}
        found = _movements_of(session, accounts, codes, candidates, after)
        page = found[:limit]
        more = complete is not None or len(found) > limit
        if page or not more:
            break
        fetch *= 4  # only movements that started before ``after`` were read: read further
    next_after = page[-1].position if more and page else None
    return MovementPage(page, next_after)


def _movements_of(session: Session, accounts: dict[int, Account], codes: dict[str, str],
                  transaction_ids: set[uuid.UUID], after: int) -> list[Movement]:
    """The given transactions as movements of the sub-fund, those positioned after ``after``."""
    if not transaction_ids:
        return []
    rows = session.execute(
        select(JournalTransaction.seq, JournalTransaction.id, JournalTransaction.kind, JournalTransaction.effective_on,
               JournalTransaction.memo, JournalTransaction.reference,
               Posting.id, Posting.account_id, Posting.amount, Posting.balance_after)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .where(JournalTransaction.id.in_(transaction_ids), Posting.transaction_id.in_(transaction_ids))
        .order_by(Posting.id)
    ).all()
    # Filtered here, not in SQL: with an account condition the planner may read the
    # accounts' postings whole instead of these transactions' few.
    result: dict[uuid.UUID, Movement] = {}
    for seq, txn_id, kind, effective_on, memo, reference, posting_id, account_id, amount, balance_after in rows:
        account = accounts.get(account_id)
        if account is None:
            continue
        purpose = codes[account.code]
        movement = result.get(txn_id)
        if movement is None:
            movement = result[txn_id] = Movement(seq, txn_id, kind, effective_on, memo, reference, {}, {}, posting_id)
        change = amount if account.normal_side == DEBIT else -amount
        movement.changes[purpose] = movement.changes.get(purpose, 0) + change
        if balance_after is not None:
            movement.balances_after[purpose] = int(balance_after)
    return sorted((m for m in result.values() if m.position > after), key=lambda m: m.position)
