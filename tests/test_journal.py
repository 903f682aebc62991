"""The journal: balanced, append-only, two-phase, never overdrawn (SPEC §5, issue 2)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger import journal
from ledger.db import make_engine, make_sessionmaker
from ledger.errors import AlreadyReversed, InsufficientFunds, ReservationResolved, UnbalancedTransaction
from ledger.models import CREDIT, DEBIT, JournalTransaction
from ledger.models.base import utcnow

DAY = date(2026, 3, 1)


@pytest.fixture
def accounts(session: Session):
    cash = journal.open_account(session, "t:cash", "cash", normal_side=DEBIT, no_overdraft=True)
    held = journal.open_account(session, "t:held", "held", normal_side=DEBIT, no_overdraft=True)
    paid = journal.open_account(session, "t:paid", "paid", normal_side=DEBIT)
    equity = journal.open_account(session, "t:equity", "equity", normal_side=CREDIT)
    journal.post_transaction(session, kind="contribution", effective_on=DAY,
                             legs=[journal.debit(cash, 100_00), journal.credit(equity, 100_00)])
    session.commit()
    return cash, held, paid, equity


def balances(session: Session, *accts) -> list[int]:
    for a in accts:
        session.refresh(a)
    return [a.balance for a in accts]


def test_contribution_moves_balances_in_each_accounts_normal_direction(session, accounts):
    cash, _held, _paid, equity = accounts
    assert balances(session, cash, equity) == [100_00, 100_00]
    assert journal.check_balances(session) == []


@pytest.mark.parametrize(
    "legs",
    [
        lambda cash, eq: [journal.debit(cash, 5)],
        lambda cash, eq: [journal.debit(cash, 5), journal.credit(eq, 4)],
        lambda cash, eq: [journal.debit(cash, 0), journal.credit(eq, 0)],
    ],
    ids=["single-leg", "unequal", "zero"],
)
def test_unbalanced_transactions_are_refused_in_code(session, accounts, legs):
    cash, _held, _paid, equity = accounts
    with pytest.raises(UnbalancedTransaction):
        journal.post_transaction(session, kind="x", effective_on=DAY, legs=legs(cash, equity))


def _raw_insert_txn(session: Session, txn_id: uuid.UUID) -> None:
    session.execute(
        text("INSERT INTO journal_transactions (id, kind, effective_on, memo, created_at) "
             "VALUES (:id, 'forged', :d, '', :d)"),
        {"id": txn_id.hex if session.get_bind().dialect.name == "sqlite" else txn_id, "d": DAY},
    )


def _raw_posting(session: Session, txn_id: uuid.UUID, account_id: int, amount: int) -> None:
    session.execute(
        text("INSERT INTO journal_postings (transaction_id, account_id, amount) VALUES (:t, :a, :m)"),
        {"t": txn_id.hex if session.get_bind().dialect.name == "sqlite" else txn_id, "a": account_id, "m": amount},
    )


def test_the_database_refuses_an_unbalanced_transaction(session, accounts):
    cash, _held, _paid, equity = accounts
    txn = uuid.uuid4()
    _raw_posting(session, txn, cash.id, 500)
    _raw_posting(session, txn, equity.id, -400)
    with pytest.raises(DBAPIError, match="not balanced"):
        _raw_insert_txn(session, txn)
    session.rollback()


@pytest.mark.postgresql
def test_the_one_statement_write_is_checked_by_the_same_triggers(pg_url):
    """PostgreSQL writes a transaction's postings and header in one statement: the
    header's trigger sees those postings (it lets a balanced pair through and names the
    sum of an unbalanced one), and a posting for a written header is still refused."""
    engine = make_engine(pg_url)

    def write(session: Session, txn: uuid.UUID, amounts: list[int], *accounts) -> None:  # type: ignore[no-untyped-def]
        session.execute(journal._write_statement(), {
            "id": txn, "kind": "move", "effective_on": DAY, "memo": "", "reference": None, "reverses_id": None,
            "dedupe_key": None, "created_by": None, "created_at": utcnow(), "transaction_id": txn,
            "account_id_list": [account.id for account in accounts], "amount_list": amounts,
            "balance_after_list": amounts})

    try:
        with make_sessionmaker(engine)() as session:
            cash = journal.open_account(session, "t:cash", "cash", normal_side=DEBIT)
            equity = journal.open_account(session, "t:equity", "equity", normal_side=CREDIT)
            written = uuid.uuid4()
            write(session, written, [500, -500], cash, equity)
            session.commit()
            with pytest.raises(DBAPIError, match=r"not balanced \(2 postings, sum 100\)"):
                write(session, uuid.uuid4(), [500, -400], cash, equity)
            session.rollback()
            with pytest.raises(DBAPIError, match="already written"):
                write(session, written, [500, -500], cash, equity)
    finally:
        engine.dispose()


def test_the_database_refuses_postings_added_to_a_written_transaction(session, accounts):
    cash, _held, _paid, _equity = accounts
    posted = journal.post_transaction(session, kind="move", effective_on=DAY,
                                      legs=[journal.debit(accounts[1], 10), journal.credit(cash, 10)])
    session.commit()
    with pytest.raises(DBAPIError, match="already written"):
        _raw_posting(session, posted.id, cash.id, 1)
    session.rollback()


def test_the_database_refuses_postings_without_a_transaction(session, accounts):
    cash, _held, _paid, equity = accounts
    txn = uuid.uuid4()
    _raw_posting(session, txn, cash.id, 500)
    _raw_posting(session, txn, equity.id, -500)
    with pytest.raises(DBAPIError):  # the deferred foreign key fires at commit
        session.commit()
    session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE journal_postings SET amount = amount * 2",
        "DELETE FROM journal_postings",
        "UPDATE journal_transactions SET memo = 'edited'",
        "DELETE FROM journal_transactions",
    ],
)
def test_journal_rows_cannot_be_updated_or_deleted(session, accounts, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert journal.check_balances(session) == []


def test_no_overdraft_account_refuses_to_go_below_zero(session, accounts):
    cash, _held, paid, _equity = accounts
    with pytest.raises(InsufficientFunds) as info:
        journal.post_transaction(session, kind="payout", effective_on=DAY,
                                 legs=[journal.debit(paid, 100_01), journal.credit(cash, 100_01)])
    assert info.value.account == "t:cash"
    assert info.value.shortfall == 1
    session.rollback()
    assert balances(session, cash) == [100_00]


def test_reversal_restores_balances_and_keeps_the_original(session, accounts):
    cash, _held, paid, _equity = accounts
    posted = journal.post_transaction(session, kind="payout", effective_on=DAY,
                                      legs=[journal.debit(paid, 30_00), journal.credit(cash, 30_00)])
    reversal = journal.reverse_transaction(session, posted.id, effective_on=DAY, memo="keyed twice")
    session.commit()
    assert balances(session, cash, paid) == [100_00, 0]
    assert [amount for _a, amount in journal.transaction_legs(session, posted.id)] == [30_00, -30_00]
    assert [amount for _a, amount in journal.transaction_legs(session, reversal.id)] == [-30_00, 30_00]
    with pytest.raises(AlreadyReversed):
        journal.reverse_transaction(session, posted.id, effective_on=DAY, memo="again")


def test_reversing_a_contribution_already_spent_is_refused(session, accounts):
    cash, _held, paid, _equity = accounts
    journal.post_transaction(session, kind="payout", effective_on=DAY,
                             legs=[journal.debit(paid, 60_00), journal.credit(cash, 60_00)])
    first = journal.recompute_balances(session)
    contribution_id = session.scalars(
        select(JournalTransaction.id).where(JournalTransaction.kind == "contribution")).one()
    with pytest.raises(InsufficientFunds):
        journal.reverse_transaction(session, contribution_id, effective_on=DAY, memo="x")
    session.rollback()
    assert journal.recompute_balances(session) != first  # the payout was rolled back too
    assert journal.check_balances(session) == []


def test_postings_keep_their_legs_order_and_running_balances(session, accounts):
    """An account twice in one transaction: its postings are numbered in leg order, each
    with the balance after it (written in one statement on PostgreSQL)."""
    cash, _held, paid, equity = accounts
    journal.post_transaction(session, kind="contribution", effective_on=DAY, legs=[
        journal.credit(cash, 30_00), journal.debit(paid, 50_00), journal.credit(cash, 20_00),
        journal.debit(cash, 5_00), journal.credit(equity, 5_00)])
    session.commit()
    rows = session.execute(text("SELECT a.code, p.amount, p.balance_after FROM journal_postings p "
                                "JOIN accounts a ON a.id = p.account_id JOIN journal_transactions t "
                                "ON t.id = p.transaction_id WHERE t.kind = 'contribution' ORDER BY p.id")).all()
    assert [tuple(row) for row in rows[-5:]] == [("t:cash", -30_00, 70_00), ("t:paid", 50_00, 50_00),
                                                ("t:cash", -20_00, 50_00), ("t:cash", 5_00, 55_00),
                                                ("t:equity", -5_00, 105_00)]
    assert journal.running_balance_breaks(session) == []


def test_reserve_then_post(session, accounts):
    cash, held, paid, _equity = accounts
    reservation = journal.reserve(session, source=cash, hold=held, amount=40_00, effective_on=DAY)
    assert balances(session, cash, held) == [60_00, 40_00]
    journal.post_reservation(session, reservation, to=paid, effective_on=DAY)
    session.commit()
    assert balances(session, cash, held, paid) == [60_00, 0, 40_00]
    assert reservation.status == "posted"
    with pytest.raises(ReservationResolved):
        journal.release_reservation(session, reservation, effective_on=DAY)


def test_reserve_then_release(session, accounts):
    cash, held, _paid, _equity = accounts
    reservation = journal.reserve(session, source=cash, hold=held, amount=40_00, effective_on=DAY)
    journal.release_reservation(session, reservation, effective_on=DAY)
    session.commit()
    assert balances(session, cash, held) == [100_00, 0]
    assert reservation.status == "released"
    with pytest.raises(ReservationResolved):
        journal.post_reservation(session, reservation, to=accounts[2], effective_on=DAY)


def test_a_rolled_back_reservation_leaves_no_ghost(session, accounts):
    """SQLite hands a rolled-back row's id out again: the next reservation must get it
    cleanly, not collide with the expired object the session kept for the first."""
    cash, held, _paid, _equity = accounts
    first = journal.reserve(session, source=cash, hold=held, amount=10_00, effective_on=DAY)  # held: the map is weak
    session.rollback()
    reservation = journal.reserve(session, source=cash, hold=held, amount=20_00, effective_on=DAY)
    session.commit()
    assert balances(session, cash, held) == [80_00, 20_00]
    assert (reservation.amount, reservation.status) == (20_00, "pending")
    assert first is not reservation


def test_reservation_beyond_the_balance_is_refused(session, accounts):
    cash, held, _paid, _equity = accounts
    with pytest.raises(InsufficientFunds):
        journal.reserve(session, source=cash, hold=held, amount=100_01, effective_on=DAY)
    session.rollback()
    assert balances(session, cash, held) == [100_00, 0]
