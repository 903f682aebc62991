"""The one write path for money: balanced transactions, reversals, reservations.

Every movement is a balanced set of postings (signed fen, debits positive) written
with Core statements in one database transaction together with the cached balances.
Overdraft protection is a conditional UPDATE (``… WHERE balance + delta >= 0``), so two
concurrent writers can never both spend the last yuan: the second one's UPDATE
re-evaluates against the first one's committed balance and matches no row.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import BigInteger, Insert, Select, Update, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from verifier.canonical import postings_digest

from . import audit
from .db import insert_unnested
from .errors import (
    AlreadyExists,
    AlreadyReversed,
    InsufficientFunds,
    InvalidTransition,
    NotFound,
    ReservationResolved,
    UnbalancedTransaction,
)
from .models import DEBIT, Account, AccountDay, JournalTransaction, Posting, Reservation
from .models.base import utcnow

_accounts = Account.__table__
_postings = Posting.__table__
_transactions = JournalTransaction.__table__
_reservations = Reservation.__table__

# The hot path's statements, built once: SQLAlchemy then reuses their compiled form
# instead of building and cache-keying new statement objects for every posting.
#: An account's latest effective date moves forward only: a back-dated movement leaves it.
_LAST_DAY = case((or_(_accounts.c.last_day.is_(None), _accounts.c.last_day < bindparam("day")), bindparam("day")),
                 else_=_accounts.c.last_day)
_APPLY_DELTA = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account_id"))
    .where(or_(_accounts.c.no_overdraft.is_(False), _accounts.c.balance + bindparam("delta") >= 0))
    .values(balance=_accounts.c.balance + bindparam("delta"), last_day=_LAST_DAY)
    .returning(_accounts.c.balance, _accounts.c.last_day)
)
#: SQLite: the postings by the driver's executemany, then the header.
_INSERT_POSTINGS = insert(_postings)
_INSERT_HEADER = insert(_transactions)


@functools.cache  # built on first use: not at import, which every CLI command pays
def _write_statement() -> Insert:
    """PostgreSQL: the postings (in leg order) and then their header in one statement (an
    executemany runs once per posting there, and each round trip is made while the
    accounts' rows are locked). The header's row is made from the count of the postings
    written, so they are all in before it: its trigger, which checks that they balance,
    sees them (a row trigger sees what its statement wrote before the row), and none of
    them sees the header (``journal_postings_sealed``)."""
    postings = insert_unnested(_postings, ("account_id", "amount", "balance_after"), shared=("transaction_id",)) \
        .returning(_postings.c.id).cte("postings")
    written = select(func.count().label("n")).select_from(postings).subquery("written")
    header = ("id", "kind", "effective_on", "memo", "reference", "reverses_id", "dedupe_key", "created_by",
              "created_at")
    return insert(_transactions).from_select(
        header, select(*(bindparam(name, type_=_transactions.c[name].type) for name in header)).select_from(written)
    ).add_cte(postings)


#: Executed with a list of rows: SQLAlchemy sends them as one multi-row INSERT
#: ("insertmanyvalues") from a statement compiled once, where ``.values([rows])``
#: would be compiled anew on every call (a multi-row VALUES has no cache key).
_INSERT_RESERVATIONS = insert(_reservations).returning(
    _reservations.c.id, _reservations.c.source_account_id, _reservations.c.hold_account_id, _reservations.c.amount)


@dataclass(frozen=True)
class Leg:
    account: Account
    #: Signed fen: positive debits, negative credits.
    amount: int


def debit(account: Account, amount: int) -> Leg:
    return Leg(account, amount)


def credit(account: Account, amount: int) -> Leg:
    return Leg(account, -amount)


@dataclass(frozen=True)
class Posted:
    id: uuid.UUID
    kind: str
    legs: tuple[Leg, ...]


def get_account(session: Session, code: str) -> Account:
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise NotFound(f"No account {code}.")
    return account


def open_account(session: Session, code: str, name: str, *, normal_side: str, no_overdraft: bool = False) -> Account:
    account = Account(code=code, name=name, normal_side=normal_side, no_overdraft=no_overdraft, balance=0)
    session.add(account)
    session.flush()
    return account


def post_transaction(
    session: Session,
    *,
    kind: str,
    legs: Sequence[Leg],
    effective_on: date,
    memo: str = "",
    reference: str | None = None,
    actor: str | None = None,
    dedupe_key: str | None = None,
    reverses: uuid.UUID | None = None,
    transaction_id: uuid.UUID | None = None,
) -> Posted:
    """Write one balanced transaction and update the cached balances it touches.

    Raises ``UnbalancedTransaction`` before touching the database, and
    ``InsufficientFunds`` when a no-overdraft account would go below zero; after the
    latter the caller must roll back (earlier balance updates of this call stand).
    """
    if len(legs) < 2:
        raise UnbalancedTransaction("A transaction needs at least two postings.")
    if any(not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount == 0 for leg in legs):
        raise UnbalancedTransaction("Posting amounts are non-zero integer fen.")
    if sum(leg.amount for leg in legs) != 0:
        raise UnbalancedTransaction("Debits and credits differ.")
    session.flush()  # accounts created in this unit of work must exist first
    txn_id = transaction_id or uuid.uuid4()
    values = dict(
        id=txn_id,
        kind=kind,
        effective_on=effective_on,
        memo=memo,
        reference=reference,
        reverses_id=reverses,
        created_by=actor,
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None and reverses is None:
        _write(session, legs, values)
        return Posted(txn_id, kind, tuple(legs))
    # A unique key guards these (the business event, the reversed transaction). The
    # whole movement runs in a savepoint so that, when a concurrent request took the
    # key first, its balance updates are undone and the caller's transaction stays
    # usable (PostgreSQL aborts a transaction on an error outside a savepoint).
    try:
        with session.begin_nested():
            _write(session, legs, values)
    except IntegrityError:
        _forget_balances(session, legs)  # the savepoint undid the UPDATEs
        if reverses is not None:
            raise AlreadyReversed(f"Transaction {reverses} was already reversed.") from None
        raise AlreadyExists(f"A movement with key {dedupe_key} was already recorded.", code="duplicate_movement") from None
    return Posted(txn_id, kind, tuple(legs))


def _write(session: Session, legs: Sequence[Leg], values: dict[str, object]) -> None:
    """Cached balances, then postings, then the header (whose trigger checks the sum).

    Each account's UPDATE returns its new balance, from which every posting gets its
    ``balance_after``: the row is locked from that UPDATE to the commit, so the account's
    postings are numbered in the same order as its balance moved.
    """
    deltas: dict[int, int] = defaultdict(int)
    by_id: dict[int, Account] = {}
    for leg in legs:
        by_id[leg.account.id] = leg.account
        deltas[leg.account.id] += leg.amount if leg.account.normal_side == DEBIT else -leg.amount

    balances = _apply_deltas(session, deltas, values["effective_on"])  # type: ignore[arg-type]
    if len(balances) != len(deltas):
        _forget_balances(session, legs)  # what this call already set stands until rollback
        account_id = min(set(deltas) - set(balances))
        balance = session.scalar(select(_accounts.c.balance).where(_accounts.c.id == account_id))
        raise InsufficientFunds(by_id[account_id].code, -(int(balance or 0) + deltas[account_id]))
    running: dict[int, int] = {}
    for account_id, balance in balances.items():
        # The request already knows the new balance: no reload of the account later.
        set_committed_value(by_id[account_id], "balance", balance)
        running[account_id] = balance - deltas[account_id]

    account_ids, amounts, balances_after = [], [], []
    for leg in legs:
        account = leg.account
        running[account.id] += leg.amount if account.normal_side == DEBIT else -leg.amount
        account_ids.append(account.id)
        amounts.append(leg.amount)
        balances_after.append(running[account.id])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_write_statement(), {**values, "created_at": utcnow(), "transaction_id": values["id"],
                                 "account_id_list": account_ids, "amount_list": amounts,
                                 "balance_after_list": balances_after})
    else:
        session.execute(_INSERT_POSTINGS, [
            {"transaction_id": values["id"], "account_id": account_id, "amount": amount, "balance_after": after}
            for account_id, amount, after in zip(account_ids, amounts, balances_after)])
        session.execute(_INSERT_HEADER, values)
    _move_closings(session, deltas, balances, values["effective_on"])  # type: ignore[arg-type]
    audit.bind_journal(session, values["id"], canonical_digest(values, ((leg.account.code, leg.amount) for leg in legs)))


_account_days = AccountDay.__table__


_LAST_DAYS = "ledger_account_last_days"


def _move_closings(session: Session, deltas: dict[int, int], balances: dict[int, int], day: date) -> None:
    """Keep ``account_days`` (the closing balance per account and business day) in step.

    The balance UPDATE also moved each account's ``last_day`` forward and returned it;
    its trigger (``accounts_day_closing``, migration 0016) set that day's closing to
    the new balance. So a movement dated on an account's ``last_day`` (the common
    case, dated today) needs nothing more here. A back-dated one also moves the
    closing of its day and of every later day before ``last_day``, adding its day's
    row from the closing of the latest earlier day. The account rows are locked by
    the balance UPDATE until commit, so no concurrent writer touches the same
    accounts' days.
    """
    last_days = session.info.get(_LAST_DAYS, {})
    back = [account_id for account_id in balances if last_days.get(account_id) != day and deltas[account_id]]
    if not back:
        return
    delta = case({account_id: literal(deltas[account_id], BigInteger) for account_id in back},
                 value=_account_days.c.account_id)
    hit = session.execute(
        update(_account_days)
        .where(_account_days.c.account_id.in_(back), _account_days.c.day >= day,
               _account_days.c.day < case({account_id: literal(last_days[account_id])
                                            for account_id in back}, value=_account_days.c.account_id))
        .values(closing=_account_days.c.closing + delta)
        .returning(_account_days.c.account_id, _account_days.c.day)
    ).all()
    have_day = {account_id for account_id, row_day in hit if row_day == day}
    new = [account_id for account_id in back if account_id not in have_day]
    if not new:
        return
    before = {account_id: int(closing) for account_id, closing in session.execute(
        select(_account_days.c.account_id, _account_days.c.closing)
        .where(_account_days.c.account_id.in_(new), _account_days.c.day == (
            select(func.max(_days_before.c.day)).where(_days_before.c.account_id == _account_days.c.account_id,
                                                       _days_before.c.day < day).scalar_subquery())))}
    session.execute(insert(_account_days), [
        {"account_id": account_id, "day": day, "closing": before.get(account_id, 0) + deltas[account_id]}
        for account_id in new])


_days_before = AccountDay.__table__.alias("days_before")


def canonical_digest(header: dict[str, object], postings: Iterable[tuple[str, int]]) -> str:
    """SHA-256 of a transaction's canonical postings (byte form: ``verifier.canonical``)."""
    reverses = header.get("reverses_id")
    return postings_digest(
        id=str(header["id"]), kind=str(header["kind"]), effective_on=header["effective_on"].isoformat(),  # type: ignore[attr-defined]
        memo=str(header.get("memo") or ""), reference=header.get("reference"),  # type: ignore[arg-type]
        reverses=str(reverses) if reverses is not None else None, postings=postings,
    )


def _apply_deltas(session: Session, deltas: dict[int, int], day: date) -> dict[int, int]:
    """Move the cached balances; return the new balance of every account that moved.

    An account missing from the result would have gone below zero (no-overdraft) and
    was left unchanged. A net-zero account is updated too: its row lock is what makes
    its postings' running balance exact.

    Concurrent writers lock accounts in one fixed order (by id) so that they queue
    instead of deadlocking: one account is one conditional UPDATE; several are first
    locked by a ``SELECT … ORDER BY id FOR NO KEY UPDATE`` (PostgreSQL locks rows in the order
    it returns them; SQLite's writer lock already serialises) and then moved by a single
    UPDATE, so a claim's six accounts cost two round trips instead of six.
    """
    ids = sorted(deltas)
    last_days = session.info.setdefault(_LAST_DAYS, {})
    if len(ids) == 1:
        row = session.execute(_APPLY_DELTA, {"account_id": ids[0], "delta": deltas[ids[0]], "day": day}).one_or_none()
        if row is None:
            return {}
        last_days[ids[0]] = row[1]
        return {ids[0]: int(row[0])}
    lock, move = _balance_statements(len(ids))
    params: dict[str, object] = {"day": day}
    for n, account_id in enumerate(ids):
        params[f"account_{n}"], params[f"delta_{n}"] = account_id, deltas[account_id]
    if session.get_bind().dialect.name != "sqlite":
        # Its own statement: folded into the UPDATE as a locking sub-select, the rows
        # were not reliably locked in id order (concurrent payments deadlocked under
        # bench/approve.py).
        session.execute(lock, params)
    rows = session.execute(move, params).all()
    last_days.update({int(account_id): last_day for account_id, _balance, last_day in rows})
    return {int(account_id): int(balance) for account_id, balance, _last_day in rows}


_BALANCE_STATEMENTS: dict[int, tuple[Select[tuple[int]], Update]] = {}
#: Movements of more accounts than this (bulk corrections) build their statements each time.
_KEEP_BALANCE_STATEMENTS = 32


def _balance_statements(n: int) -> tuple[Select[tuple[int]], Update]:
    """The lock and the UPDATE moving ``n`` accounts' balances, the ids and deltas bound as
    ``account_<i>`` and ``delta_<i>``: built once per number of accounts, so SQLAlchemy
    neither builds and cache-keys them per movement nor expands an IN list per call."""
    statements = _BALANCE_STATEMENTS.get(n)
    if statements is None:
        accounts = [bindparam(f"account_{i}", type_=_accounts.c.id.type) for i in range(n)]
        delta = case({account: bindparam(f"delta_{i}", type_=BigInteger()) for i, account in enumerate(accounts)},
                     value=_accounts.c.id)
        lock = (
            select(_accounts.c.id)
            .where(_accounts.c.id.in_(accounts))
            .order_by(_accounts.c.id)
            # NO KEY UPDATE, the lock a plain UPDATE of the balance takes: FOR UPDATE would
            # also conflict with the KEY SHARE locks that inserting postings and reservations
            # take on the accounts they reference (foreign keys), in no particular order, and
            # concurrent approvals then deadlock.
            .with_for_update(key_share=True)
        )
        move = (
            update(_accounts)
            .where(_accounts.c.id.in_(accounts))
            .where(or_(_accounts.c.no_overdraft.is_(False), _accounts.c.balance + delta >= 0))
            .values(balance=_accounts.c.balance + delta, last_day=_LAST_DAY)
            .returning(_accounts.c.id, _accounts.c.balance, _accounts.c.last_day)
        )
        statements = lock, move
        if n <= _KEEP_BALANCE_STATEMENTS:
            _BALANCE_STATEMENTS[n] = statements
    return statements


def _forget_balances(session: Session, legs: Sequence[Leg]) -> None:
    for leg in legs:
        if leg.account in session:
            session.expire(leg.account, ["balance"])


def find_by_dedupe_key(session: Session, dedupe_key: str) -> JournalTransaction | None:
    return session.scalar(select(JournalTransaction).where(JournalTransaction.dedupe_key == dedupe_key))


def transaction_legs(session: Session, transaction_id: uuid.UUID) -> list[tuple[Account, int]]:
    rows = session.execute(
        select(Account, Posting.amount)
        .join(Posting, Posting.account_id == Account.id)
        .where(Posting.transaction_id == transaction_id)
        .order_by(Posting.id)
    ).all()
    return [(account, amount) for account, amount in rows]


def reverse_transaction(
    session: Session, transaction_id: uuid.UUID, *, effective_on: date, memo: str, actor: str | None = None
) -> Posted:
    """Correct a transaction by posting its mirror image; the original stays."""
    original = session.scalar(select(JournalTransaction).where(JournalTransaction.id == transaction_id))
    if original is None:
        raise NotFound(f"No journal transaction {transaction_id}.")
    if session.scalar(select(JournalTransaction.seq).where(JournalTransaction.reverses_id == transaction_id)):
        raise AlreadyReversed(f"Transaction {transaction_id} was already reversed.")
    two_phase = session.scalar(
        select(Reservation.id).where(
            or_(Reservation.reserve_transaction_id == transaction_id, Reservation.resolve_transaction_id == transaction_id)
        )
    )
    if two_phase is not None:
        # Reversing one leg of a two-phase movement would leave the reservation's
        # status contradicting the money; release it, or claw a payout back, instead.
        raise InvalidTransition(
            f"Transaction {transaction_id} belongs to reservation {two_phase}; release the reservation "
            "or claw back the payout instead of reversing it.",
            code="two_phase_transaction",
        )
    legs = [Leg(account, -amount) for account, amount in transaction_legs(session, transaction_id)]
    return post_transaction(
        session,
        kind="reversal",
        legs=legs,
        effective_on=effective_on,
        memo=memo,
        reference=str(transaction_id),
        actor=actor,
        reverses=transaction_id,
    )


# -- two-phase movements ------------------------------------------------------------


def reserve(
    session: Session,
    *,
    source: Account,
    hold: Account,
    amount: int,
    effective_on: date,
    purpose: str = "",
    actor: str | None = None,
) -> Reservation:
    """Phase one: move ``amount`` from ``source`` into ``hold`` (no-overdraft applies)."""
    return reserve_all(session, [(source, hold, amount)], effective_on=effective_on, purpose=purpose, actor=actor)[0]


def reserve_all(
    session: Session,
    holds: Sequence[tuple[Account, Account, int]],
    *,
    effective_on: date,
    purpose: str = "",
    actor: str | None = None,
    before_posting: Callable[[list[Reservation]], None] | None = None,
) -> list[Reservation]:
    """Phase one for several ``(source, hold, amount)`` at once: one balanced transaction
    holds them all (all or none), and each gets its own reservation to resolve later.

    The reservation rows are written first (their foreign key to the transaction is
    checked at commit), then ``before_posting`` may write what refers to them, and only
    then the balances move: the accounts' row locks, which every movement of the same
    sub-funds queues on, are taken as late as possible.
    """
    txn_id = uuid.uuid4()
    rows = [{"source_account_id": source.id, "hold_account_id": hold.id, "amount": amount, "status": "pending",
             "purpose": purpose, "reserve_transaction_id": txn_id, "resolve_transaction_id": None,
             "created_at": utcnow()} for source, hold, amount in holds]
    # One INSERT for all of them (the ORM writes them one by one where it cannot rely
    # on the order of RETURNING). Ids are matched back by content: rows alike in
    # everything but their id are interchangeable.
    ids: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for row_id, source_id, hold_id, amount in session.execute(_INSERT_RESERVATIONS, rows):
        ids[int(source_id), int(hold_id), int(amount)].append(int(row_id))
    reservations = []
    for row in rows:
        reservation = Reservation(id=ids[row["source_account_id"], row["hold_account_id"], row["amount"]].pop(), **row)
        # An object the session already maps to this brand-new id can only be a ghost: a
        # reservation whose savepoint rolled back (the session expires it but keeps it,
        # having never seen it pending) and whose id SQLite has handed out again.
        ghost = session.identity_map.get(session.identity_key(Reservation, reservation.id))
        if ghost is not None:
            session.expunge(ghost)
        make_transient_to_detached(reservation)  # written above: known, not pending
        session.add(reservation)
        reservations.append(reservation)
    legs = [leg for source, hold, amount in holds for leg in (debit(hold, amount), credit(source, amount))]
    if before_posting is not None:
        before_posting(reservations)
        session.flush()
    post_transaction(session, kind="reservation", legs=legs, effective_on=effective_on, memo=purpose, actor=actor,
                     transaction_id=txn_id)
    return reservations


_RESOLVE = (
    update(_reservations)
    .where(_reservations.c.id.in_(bindparam("ids", expanding=True)), _reservations.c.status == "pending")
    .values(status=bindparam("status"), resolve_transaction_id=bindparam("txn_id"))
    .returning(_reservations.c.id)
)


def _resolve(session: Session, reservations: Sequence[Reservation], status: str) -> uuid.UUID:
    txn_id = uuid.uuid4()
    ids = [reservation.id for reservation in reservations]
    # The conditional UPDATE is the guard: of two concurrent resolutions only one
    # finds the rows still pending.
    resolved = session.execute(_RESOLVE, {"ids": ids, "status": status, "txn_id": txn_id}).scalars().all()
    if len(resolved) != len(ids):
        for reservation in reservations:
            session.expire(reservation)
        stale = next(r for r in reservations if r.id not in set(resolved))
        raise ReservationResolved(f"Reservation {stale.id} is already {stale.status}.")
    for reservation in reservations:  # known without reloading them
        set_committed_value(reservation, "status", status)
        set_committed_value(reservation, "resolve_transaction_id", txn_id)
    return txn_id


def post_reservation(
    session: Session,
    reservation: Reservation,
    *,
    to: Account,
    effective_on: date,
    kind: str = "payout",
    memo: str = "",
    reference: str | None = None,
    actor: str | None = None,
    extra_legs: Iterable[Leg] = (),
) -> Posted:
    """Phase two: the held money leaves for ``to`` (e.g. a payout to a bank)."""
    return post_reservations(session, [(reservation, to)], effective_on=effective_on, kind=kind, memo=memo,
                             reference=reference, actor=actor, extra_legs=extra_legs)


def post_reservations(
    session: Session,
    targets: Sequence[tuple[Reservation, Account]],
    *,
    effective_on: date,
    kind: str = "payout",
    memo: str = "",
    reference: str | None = None,
    actor: str | None = None,
    extra_legs: Iterable[Leg] = (),
) -> Posted:
    """Phase two for several ``(reservation, to)`` at once, in one transaction: all
    were pending and are now posted, or nothing changed."""
    txn_id = _resolve(session, [reservation for reservation, _to in targets], "posted")
    legs = [
        leg
        for reservation, to in targets
        for leg in (debit(to, reservation.amount),
                    credit(session.get_one(Account, reservation.hold_account_id), reservation.amount))
    ]
    return post_transaction(session, kind=kind, legs=[*legs, *extra_legs], effective_on=effective_on, memo=memo,
                            reference=reference, actor=actor, transaction_id=txn_id)


def release_reservation(
    session: Session, reservation: Reservation, *, effective_on: date, memo: str = "", actor: str | None = None
) -> Posted:
    """Phase two, cancelled: the held money returns to its source."""
    txn_id = _resolve(session, [reservation], "released")
    hold = session.get_one(Account, reservation.hold_account_id)
    source = session.get_one(Account, reservation.source_account_id)
    return post_transaction(
        session,
        kind="release",
        legs=[debit(source, reservation.amount), credit(hold, reservation.amount)],
        effective_on=effective_on,
        memo=memo,
        actor=actor,
        transaction_id=txn_id,
    )


# -- checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceMismatch:
    account: str
    cached: int
    recomputed: int


def recompute_balances(session: Session) -> dict[str, int]:
    """Every account's balance replayed from its postings, in its normal direction."""
    rows = session.execute(
        select(Account.code, Account.normal_side, func.coalesce(func.sum(Posting.amount), 0))
        .outerjoin(Posting, Posting.account_id == Account.id)
        .group_by(Account.id, Account.code, Account.normal_side)
    ).all()
    return {code: int(total) if side == DEBIT else -int(total) for code, side, total in rows}


def check_balances(session: Session) -> list[BalanceMismatch]:
    """Compare each cached balance with the journal; an empty list means all agree."""
    recomputed = recompute_balances(session)
    cached = {code: balance for code, balance in session.execute(select(Account.code, Account.balance))}
    return [
        BalanceMismatch(code, int(cached[code]), value)
        for code, value in sorted(recomputed.items())
        if int(cached[code]) != value
    ]


@dataclass(frozen=True)
class RunningBalanceBreak:
    account: str
    posting_id: int
    stored: int | None
    recomputed: int


def running_balance_breaks(session: Session, *, limit: int = 100) -> list[RunningBalanceBreak]:
    """Postings whose stored ``balance_after`` differs from the running sum of their
    account's postings up to them (in journal order); empty when movements pages and
    their running balances can be trusted. Reads the whole journal: a check, not a path."""
    signed = case((Account.normal_side == DEBIT, Posting.amount), else_=-Posting.amount)
    running = (
        select(Account.code.label("code"), Posting.id.label("posting_id"), Posting.balance_after.label("stored"),
               func.sum(signed).over(partition_by=Posting.account_id, order_by=Posting.id).label("recomputed"))
        .join(Account, Account.id == Posting.account_id)
        .subquery()
    )
    rows = session.execute(
        select(running)
        .where(or_(running.c.stored.is_(None), running.c.stored != running.c.recomputed))
        .order_by(running.c.posting_id)
        .limit(limit)
    ).all()
    return [RunningBalanceBreak(code, int(pid), None if stored is None else int(stored), int(recomputed))
            for code, pid, stored, recomputed in rows]


def unbalanced_transactions(session: Session) -> list[uuid.UUID]:
    """Transactions whose postings do not sum to zero (the triggers make this empty)."""
    rows = session.execute(
        select(Posting.transaction_id)
        .group_by(Posting.transaction_id)
        .having(or_(func.sum(Posting.amount) != 0, func.count() < 2))
    ).scalars()
    return list(rows)
