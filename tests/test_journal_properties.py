"""The journal under random histories (SPEC §4, §5): whatever sequence of contributions,
reservations, resolutions, transfers and reversals happens, every transaction balances,
no protected account goes below zero, the cached balances are what the journal replays
to, and a refused movement leaves nothing behind.

A small Python model predicts every outcome, including which movements must be refused;
the ledger has to agree with it step by step.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import audit, journal, subfunds
from ledger.errors import AlreadyReversed, DomainError, InsufficientFunds, InvalidTransition, ReservationResolved
from ledger.models import DEBIT, SUBFUND_ACCOUNTS, Account, AuditEntry, JournalTransaction, Posting, Reservation

DAY = date(2026, 3, 1)
AMOUNTS = st.integers(min_value=1, max_value=400_00)
#: Mostly affordable, sometimes not: so that reservations also live to be resolved.
RESERVATIONS = st.one_of(st.integers(min_value=1, max_value=50_00), AMOUNTS)
#: Purposes a plain transfer may touch. ``reserved`` only moves through reserve/post/
#: release, so that its balance always equals the pending reservations.
FREE_PURPOSES = ("available", "paid", "recovered", "contributions")

#: The database lives for the whole test, examples come and go: every example gets
#: sub-fund codes and payment references nobody used before.
_codes = itertools.count(1)

SETTINGS = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Txn:
    """A committed-or-pending journal transaction as the model knows it."""

    id: uuid.UUID
    #: (account code, signed fen, debits positive), as posted.
    legs: tuple[tuple[str, int], ...]


@dataclass
class Model:
    """What the ledger should hold, in each account's normal direction (fen)."""

    balances: dict[str, int] = field(default_factory=dict)
    normal_side: dict[str, str] = field(default_factory=dict)
    no_overdraft: dict[str, bool] = field(default_factory=dict)
    funds: list[str] = field(default_factory=list)
    #: reservation id -> [fund code, amount, status]
    reservations: dict[int, list] = field(default_factory=dict)
    #: Transactions a reversal may target: plain ones, and the legs of two-phase
    #: movements (reserve, payout, release), which it must refuse.
    reversible: list[Txn] = field(default_factory=list)
    two_phase: set[uuid.UUID] = field(default_factory=set)
    reversed: set[uuid.UUID] = field(default_factory=set)

    def add_fund(self, code: str) -> None:
        self.funds.append(code)
        for purpose, (side, no_overdraft) in SUBFUND_ACCOUNTS.items():
            account = f"subfund:{code}:{purpose}"
            self.balances[account] = 0
            self.normal_side[account] = side
            self.no_overdraft[account] = no_overdraft

    def overdrawn(self, legs: list[tuple[str, int]]) -> dict[str, int]:
        """Accounts (with their shortfall) that these legs would take below zero."""
        net: dict[str, int] = defaultdict(int)
        for code, amount in legs:
            net[code] += amount if self.normal_side[code] == DEBIT else -amount
        return {
            code: -(self.balances[code] + delta)
            for code, delta in net.items()
            if self.no_overdraft[code] and self.balances[code] + delta < 0
        }

    def apply(self, legs: list[tuple[str, int]]) -> None:
        for code, amount in legs:
            self.balances[code] += amount if self.normal_side[code] == DEBIT else -amount

    def pending(self, fund: str) -> int:
        return sum(amount for code, amount, status in self.reservations.values() if code == fund and status == "pending")


def account(fund: str, purpose: str) -> str:
    return f"subfund:{fund}:{purpose}"


class FundHistory(RuleBasedStateMachine):
    """One example: a few fresh sub-funds, contributions, commits and rollbacks; the
    subclasses add what else happens to them."""

    session: Session  # set by the test, shared by every example

    def __init__(self) -> None:
        super().__init__()
        self.session.rollback()
        self.model = Model()
        self.committed = Model()

    # -- helpers ---------------------------------------------------------------------

    def acct(self, code: str) -> Account:
        return journal.get_account(self.session, code)

    def fund(self, pick: int) -> str:
        return self.model.funds[pick % len(self.model.funds)]

    def attempt(self, label: str, action, expected: type[DomainError] | None):  # type: ignore[no-untyped-def]
        """Run one operation in its own savepoint; it must fail exactly when the model
        says so, and a failure must leave the enclosing transaction untouched."""
        try:
            with self.session.begin_nested():
                result = action()
        except (InsufficientFunds, ReservationResolved, AlreadyReversed, InvalidTransition) as exc:
            assert expected is not None and isinstance(exc, expected), f"{label}: unexpected {exc!r}"
            return exc
        assert expected is None, f"{label}: expected {expected.__name__}, the ledger accepted it"
        return result

    def commit_now(self) -> None:
        self.session.commit()
        self.committed = copy.deepcopy(self.model)

    # -- rules -----------------------------------------------------------------------

    @initialize()
    def two_funds(self) -> None:
        self.open_fund()
        self.open_fund()
        self.commit_now()  # a roll_back never leaves an example without sub-funds

    # Opening a sub-fund and recording a contribution cannot be refused here, so they
    # run straight in the transaction, as a service would: their audit entries then
    # wait for the commit while later savepoints fail around them.

    @precondition(lambda self: len(self.model.funds) < 4)
    @rule()
    def open_fund(self) -> None:
        code = f"P{next(_codes):06d}"
        subfunds.create_subfund(self.session, code=code, name=code, owner_type="city", region="440700",
                                actor="hypothesis")
        self.model.add_fund(code)

    @rule(pick=st.integers(0, 3), amount=st.integers(min_value=1, max_value=1_000_00))
    def contribute(self, pick: int, amount: int) -> None:
        code = self.fund(pick)
        done = subfunds.contribute(self.session, code, amount=amount, received_on=DAY,
                                   reference=f"REF-{next(_codes)}", actor="hypothesis")
        assert done.created
        legs = [(account(code, "available"), amount), (account(code, "contributions"), -amount)]
        self.model.apply(legs)
        self.model.reversible.append(Txn(done.transaction_id, tuple(legs)))

    @rule()
    def commit(self) -> None:
        self.commit_now()

    @rule()
    def roll_back(self) -> None:
        """Abandon everything since the last commit."""
        self.session.rollback()
        self.model = copy.deepcopy(self.committed)

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def cached_balances_match_the_model(self) -> None:
        if not self.model.balances:
            return
        rows = self.session.execute(
            select(Account.code, Account.balance).where(Account.code.in_(self.model.balances))
        ).all()
        assert {code: balance for code, balance in rows} == self.model.balances

    @invariant()
    def reserved_money_is_exactly_the_pending_reservations(self) -> None:
        for code in self.model.funds:
            assert self.model.balances[account(code, "reserved")] == self.model.pending(code)

    def teardown(self) -> None:
        try:
            self.commit_now()
            assert_journal_consistent(self.session)
            assert_replay_matches(self.session, self.model.balances)
            assert_audited(self.session, self.model.funds)
        finally:
            self.session.rollback()
            self.session.expunge_all()


class JournalHistory(FundHistory):
    """Movements on the sub-funds: recoveries, transfers, reservations, payouts,
    releases and reversals, each allowed or refused as the model predicts."""

    def post_legs(self, kind: str, legs: list[tuple[str, int]]) -> None:
        """A raw ``journal.post_transaction``; refused when the model says it overdraws."""
        shortfall = self.model.overdrawn(legs)
        outcome = self.attempt(
            kind,
            lambda: journal.post_transaction(
                self.session, kind=kind, effective_on=DAY,
                legs=[journal.Leg(self.acct(code), amount) for code, amount in legs],
            ),
            InsufficientFunds if shortfall else None,
        )
        if shortfall:
            assert outcome.account in shortfall
            assert outcome.shortfall == shortfall[outcome.account]
            return
        self.model.apply(legs)
        self.model.reversible.append(Txn(outcome.id, tuple(legs)))

    @rule(pick=st.integers(0, 3), amount=AMOUNTS)
    def recover(self, pick: int, amount: int) -> None:
        code = self.fund(pick)
        self.post_legs("recovery", [(account(code, "available"), amount), (account(code, "recovered"), -amount)])

    @rule(
        source=st.tuples(st.integers(0, 3), st.sampled_from(FREE_PURPOSES)),
        destinations=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(FREE_PURPOSES), AMOUNTS), min_size=1, max_size=3),
    )
    def transfer(self, source: tuple[int, str], destinations: list[tuple[int, str, int]]) -> None:
        """Credit one account, debit one to three others (possibly the same account)."""
        legs = [(account(self.fund(pick), purpose), amount) for pick, purpose, amount in destinations]
        legs.append((account(self.fund(source[0]), source[1]), -sum(amount for _code, amount in legs)))
        self.post_legs("transfer", legs)

    @rule(pick=st.integers(0, 3), amount=RESERVATIONS)
    def reserve(self, pick: int, amount: int) -> None:
        self._reserve(self.fund(pick), amount)

    @precondition(lambda self: any(self.model.balances[account(f, "available")] > 1 for f in self.model.funds))
    @rule(pick=st.integers(0, 3), offset=st.sampled_from([-1, 0, 1]))
    def reserve_near_the_balance(self, pick: int, offset: int) -> None:
        """The boundary: exactly what is available, a fen less, a fen more."""
        funded = [f for f in self.model.funds if self.model.balances[account(f, "available")] > 1]
        code = funded[pick % len(funded)]
        self._reserve(code, self.model.balances[account(code, "available")] + offset)

    def _reserve(self, code: str, amount: int) -> None:
        available, reserved = account(code, "available"), account(code, "reserved")
        too_much = amount > self.model.balances[available]
        outcome = self.attempt(
            "reserve",
            lambda: journal.reserve(self.session, source=self.acct(available), hold=self.acct(reserved),
                                    amount=amount, effective_on=DAY),
            InsufficientFunds if too_much else None,
        )
        if too_much:
            assert outcome.account == available
            assert outcome.shortfall == amount - self.model.balances[available]
            return
        legs = [(reserved, amount), (available, -amount)]
        self.model.apply(legs)
        self.model.reservations[outcome.id] = [code, amount, "pending"]
        self.model.reversible.append(Txn(outcome.reserve_transaction_id, tuple(legs)))
        self.model.two_phase.add(outcome.reserve_transaction_id)

    @precondition(lambda self: self.model.reservations)
    @rule(pick=st.integers(0, 10**6), settled=st.booleans())
    def post(self, pick: int, settled: bool) -> None:
        self._resolve(pick, settled, post=True)

    @precondition(lambda self: self.model.reservations)
    @rule(pick=st.integers(0, 10**6), settled=st.booleans())
    def release(self, pick: int, settled: bool) -> None:
        self._resolve(pick, settled, post=False)

    def _resolve(self, pick: int, settled: bool, *, post: bool) -> None:
        """Pay out or release a pending reservation or, when ``settled``, any reservation
        (one already resolved must be refused)."""
        pending = [rid for rid, (_code, _amount, status) in self.model.reservations.items() if status == "pending"]
        choices = sorted(self.model.reservations) if settled or not pending else pending
        reservation_id = choices[pick % len(choices)]
        code, amount, status = self.model.reservations[reservation_id]
        target = account(code, "paid") if post else account(code, "available")

        def action():  # type: ignore[no-untyped-def]
            reservation = self.session.get_one(Reservation, reservation_id)
            if post:
                return journal.post_reservation(self.session, reservation, to=self.acct(target), effective_on=DAY)
            return journal.release_reservation(self.session, reservation, effective_on=DAY)

        expected = ReservationResolved if status != "pending" else None
        outcome = self.attempt("post" if post else "release", action, expected)
        if expected is not None:
            return
        legs = [(target, amount), (account(code, "reserved"), -amount)]
        self.model.apply(legs)
        self.model.reservations[reservation_id][2] = "posted" if post else "released"
        self.model.reversible.append(Txn(outcome.id, tuple(legs)))
        self.model.two_phase.add(outcome.id)
        assert self.session.get_one(Reservation, reservation_id).status == self.model.reservations[reservation_id][2]
        assert outcome.kind == ("payout" if post else "release")

    @precondition(lambda self: self.model.reversible)
    @rule(pick=st.integers(0, 10**6))
    def reverse(self, pick: int) -> None:
        """Reverse an earlier movement (or a reversal); refused when already reversed,
        when it is one leg of a two-phase movement, or when the money has moved on and
        the mirror image would overdraw."""
        original = self.model.reversible[pick % len(self.model.reversible)]
        mirror = [(code, -amount) for code, amount in original.legs]
        expected: type[DomainError] | None = None
        if original.id in self.model.reversed:
            expected = AlreadyReversed
        elif original.id in self.model.two_phase:
            expected = InvalidTransition
        elif self.model.overdrawn(mirror):
            expected = InsufficientFunds
        outcome = self.attempt(
            "reverse",
            lambda: journal.reverse_transaction(self.session, original.id, effective_on=DAY, memo="correction"),
            expected,
        )
        if expected is not None:
            return
        self.model.apply(mirror)
        self.model.reversed.add(original.id)
        self.model.reversible.append(Txn(outcome.id, tuple(mirror)))


class FailedWorkHistory(FundHistory):
    """Services that record audit entries and then fail inside a savepoint enclosing a
    savepoint of their own (the contribution's dedupe key), among contributions whose
    entries are still queued."""

    @rule(pick=st.integers(0, 3), amount=AMOUNTS)
    def contribute_then_overreserve(self, pick: int, amount: int) -> None:
        """A contribution and a reservation of a fen more than there then is, in one
        savepoint: both vanish, and so does the contribution's audit entry."""
        code = self.fund(pick)
        available, reserved = account(code, "available"), account(code, "reserved")
        too_much = self.model.balances[available] + amount + 1

        def action():  # type: ignore[no-untyped-def]
            subfunds.contribute(self.session, code, amount=amount, received_on=DAY,
                                reference=f"REF-{next(_codes)}", actor="hypothesis")
            journal.reserve(self.session, source=self.acct(available), hold=self.acct(reserved),
                            amount=too_much, effective_on=DAY)

        refused = self.attempt("contribute, then over-reserve", action, InsufficientFunds)
        assert refused.shortfall == 1


# -- whole-database checks -------------------------------------------------------------


def assert_journal_consistent(session: Session) -> None:
    assert journal.unbalanced_transactions(session) == []
    assert journal.check_balances(session) == []
    negative = session.scalars(select(Account.code).where(Account.no_overdraft.is_(True), Account.balance < 0)).all()
    assert negative == []
    # Two-phase bookkeeping: each hold account holds exactly its pending reservations.
    pending = dict(
        session.execute(
            select(Reservation.hold_account_id, func.sum(Reservation.amount))
            .where(Reservation.status == "pending")
            .group_by(Reservation.hold_account_id)
        ).all()
    )
    holds = session.execute(
        select(Account.id, Account.balance).where(Account.id.in_(select(Reservation.hold_account_id)))
    ).all()
    assert {account_id: balance for account_id, balance in holds} == {
        account_id: int(pending.get(account_id, 0)) for account_id, _balance in holds
    }


def assert_replay_matches(session: Session, expected: dict[str, int]) -> None:
    """Replay every posting in journal order: no protected account is ever below zero
    after a transaction, and the end state is the cached balances (and the model's)."""
    accounts = {
        row.id: row
        for row in session.execute(select(Account.id, Account.code, Account.normal_side, Account.no_overdraft, Account.balance))
    }
    running: dict[int, int] = defaultdict(int)
    rows = session.execute(
        select(JournalTransaction.seq, Posting.account_id, Posting.amount)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .order_by(JournalTransaction.seq, Posting.id)
    )
    for seq, group in itertools.groupby(rows, key=lambda row: row.seq):
        touched = set()
        for _seq, account_id, amount in group:
            running[account_id] += amount if accounts[account_id].normal_side == DEBIT else -amount
            touched.add(account_id)
        for account_id in touched:
            if accounts[account_id].no_overdraft:
                assert running[account_id] >= 0, f"{accounts[account_id].code} below zero after transaction {seq}"
    replayed = {row.code: running[account_id] for account_id, row in accounts.items()}
    assert replayed == {row.code: row.balance for row in accounts.values()}
    assert {code: replayed[code] for code in expected} == expected


def assert_audited(session: Session, funds: list[str]) -> None:
    """One audit entry per sub-fund and per contribution committed, naming it: no
    more, no less, and none for work that was rolled back."""
    entries = session.execute(
        select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.after).where(AuditEntry.entity_id.in_(funds))
    ).all()
    assert sorted(code for action, code, _after in entries if action == "subfund.create") == sorted(funds)
    contributions = session.execute(
        select(JournalTransaction.id, JournalTransaction.dedupe_key).where(JournalTransaction.kind == "contribution")
    ).all()
    assert sorted(after["transaction"] for action, _code, after in entries if action == "subfund.contribute") == sorted(
        str(txn_id) for txn_id, key in contributions if key.split(":")[1] in funds
    )


def test_random_histories_keep_the_journal_consistent(session: Session) -> None:
    machine = type("History", (JournalHistory,), {"session": session})
    run_state_machine_as_test(machine, settings=SETTINGS)
    assert audit.verify_chain(session).ok


def test_random_histories_with_failed_work_keep_the_audit_log_exact(session: Session) -> None:
    machine = type("History", (FailedWorkHistory,), {"session": session})
    # Fewer rules than the journal histories: fewer examples find the same.
    run_state_machine_as_test(machine, settings=settings(SETTINGS, max_examples=30))
    assert audit.verify_chain(session).ok


# -- what the histories found, pinned down -----------------------------------------------


@pytest.fixture
def fund(session: Session, make_subfund):  # type: ignore[no-untyped-def]
    """``(available, reserved, paid)`` of a sub-fund holding 100.00 yuan."""
    subfund = make_subfund("BUG-FUND", 100_00)
    return tuple(subfunds.subfund_account(session, subfund, purpose) for purpose in ("available", "reserved", "paid"))


def test_a_failed_savepoint_keeps_earlier_audit_entries(session: Session, fund) -> None:
    """A refused movement in a savepoint takes its own audit entries with it, not the
    entries of changes made before the savepoint, which are committed."""
    available, reserved, _paid = fund
    subfunds.create_subfund(session, code="BUG-OTHER", name="other", owner_type="city", region="440700", actor="t")
    with pytest.raises(InsufficientFunds), session.begin_nested():
        journal.reserve(session, source=available, hold=reserved, amount=100_01, effective_on=DAY)
    session.commit()
    created = session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "subfund.create")).all()
    assert "BUG-OTHER" in created  # the sub-fund itself was committed


def test_an_audit_entry_follows_its_change_through_nested_savepoints(session: Session, fund) -> None:
    """Found by the histories with failed work: a contribution and an overdrawing
    reservation in one savepoint, after a sub-fund created in the same transaction."""
    available, reserved, _paid = fund
    subfunds.create_subfund(session, code="BUG-OTHER", name="other", owner_type="city", region="440700", actor="t")
    with pytest.raises(InsufficientFunds), session.begin_nested():
        subfunds.contribute(session, "BUG-FUND", amount=1_00, received_on=DAY, reference="LOST", actor="t")
        # A fen more than the 101.00 now available.
        journal.reserve(session, source=available, hold=reserved, amount=101_01, effective_on=DAY)
    session.commit()
    entries = session.execute(
        select(AuditEntry.action, AuditEntry.entity_id).where(AuditEntry.entity_id.in_(["BUG-OTHER", "BUG-FUND"]))
    ).all()
    assert sorted(map(tuple, entries)) == [
        ("subfund.contribute", "BUG-FUND"),  # the opening contribution of the fixture
        ("subfund.create", "BUG-FUND"),
        ("subfund.create", "BUG-OTHER"),
    ]


@pytest.mark.parametrize("target", ["reservation", "payout", "release"])
def test_a_two_phase_movement_cannot_be_reversed_behind_its_reservations_back(session, fund, target):
    """Reversing one leg of a reservation would leave its status contradicting the money
    (found by the histories above): it is refused, and holds still equal what is pending."""
    available, reserved, paid = fund
    first = journal.reserve(session, source=available, hold=reserved, amount=40_00, effective_on=DAY)
    journal.reserve(session, source=available, hold=reserved, amount=30_00, effective_on=DAY)
    if target == "reservation":
        txn_id = first.reserve_transaction_id
    elif target == "payout":
        txn_id = journal.post_reservation(session, first, to=paid, effective_on=DAY).id
    else:
        txn_id = journal.release_reservation(session, first, effective_on=DAY).id
    session.commit()
    with pytest.raises(InvalidTransition) as info:
        journal.reverse_transaction(session, txn_id, effective_on=DAY, memo="keyed in error")
    assert info.value.code == "two_phase_transaction"
    session.rollback()
    assert_journal_consistent(session)
