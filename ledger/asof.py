"""Balances as of the end of a past business day (SPEC §4a "as of a date").

Sub-fund balances come from ``account_days``, the closing balance of each account per
business day kept by the journal as it posts (:func:`ledger.journal._move_closings`):
one index probe per account — the latest day on or before the date — however long the
journal is. A bank's registered and outstanding principal, NPL ratio and caps used come
from the loans' event history and the claims' history: the position of each loan is
that of its latest event on or before the date (a loan without one is as registered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from sqlalchemy import Subquery, case, func, select, union_all
from sqlalchemy.orm import Session

from .clock import BUSINESS_TZ
from .models import AccountDay, Claim, ClaimEvent, Loan, LoanEvent, SubFund
from .subfunds import subfund_accounts

#: Loan statuses that count as non-performing, and those no longer outstanding (as in
#: ledger.loans' NPL definition: a default stays non-performing through claim and payment).
NPL_STATUSES = ("defaulted", "claimed", "compensated")
CLOSED_STATUSES = ("repaid", "closed", "cancelled")


def closings(session: Session, account_ids: Iterable[int], day: date) -> dict[int, int]:
    """Each account's balance at the end of ``day`` (0 before its first movement)."""
    ids = list(account_ids)
    if not ids:
        return {}
    # One index probe per account on (account_id, day): its latest day on or before
    # ``day``. A UNION ALL of LIMIT 1 probes, one statement; a correlated max() would
    # make SQLite walk every day of the account.
    probes = [closing_probe(account_id, day).select() for account_id in ids]
    rows = session.execute(union_all(*probes)) if len(probes) > 1 else session.execute(probes[0])
    found = {int(account_id): int(closing) for account_id, closing in rows}
    return {account_id: found.get(account_id, 0) for account_id in ids}


def closing_probe(account_id: int, day: date) -> Subquery:
    """(account_id, closing) of the account's latest day on or before ``day`` (no row
    before its first movement): one probe of the ``(account_id, day)`` key."""
    return (select(AccountDay.account_id, AccountDay.closing)
            .where(AccountDay.account_id == account_id, AccountDay.day <= day)
            .order_by(AccountDay.day.desc()).limit(1).subquery())


def subfund_balances_as_of(session: Session, subfund: SubFund, day: date) -> dict[str, int]:
    """The sub-fund's balances by purpose (available, reserved, paid, recovered, …) at
    the end of ``day``, by the journal's effective dates."""
    accounts = {purpose: account for (_code, purpose), account
                in subfund_accounts(session, [subfund.code], _purposes()).items()}
    values = closings(session, [a.id for a in accounts.values()], day)
    return {purpose: values[account.id] for purpose, account in accounts.items()}


def _purposes() -> tuple[str, ...]:
    from .models import SUBFUND_ACCOUNTS

    return tuple(SUBFUND_ACCOUNTS)


@dataclass(frozen=True)
class BankPosition:
    """A bank's book in a scheme at the end of a day."""

    registered: int
    outstanding: int
    non_performing: int
    loans: int

    @property
    def npl_ratio(self) -> Fraction:
        return Fraction(self.non_performing, self.outstanding) if self.outstanding else Fraction(0)


def bank_position_as_of(session: Session, bank_id: int, scheme_id: int, day: date) -> BankPosition:
    """Registered principal (loans registered by ``day``, not cancelled by then), and
    outstanding / non-performing principal at the end of ``day`` from the loan events."""
    # The latest event by business date, then by recording order within the day (as
    # the statements replay them).
    other = LoanEvent.__table__.alias("other")
    latest_day = select(func.max(other.c.on)).where(other.c.loan_id == LoanEvent.loan_id,
                                                    other.c.on <= day).scalar_subquery()
    last = (
        select(LoanEvent.loan_id, func.max(LoanEvent.id).label("event_id"))
        .join(Loan, Loan.id == LoanEvent.loan_id)
        .where(Loan.bank_id == bank_id, Loan.scheme_id == scheme_id, LoanEvent.on == latest_day)
        .group_by(LoanEvent.loan_id)
        .subquery()
    )
    status = func.coalesce(LoanEvent.status_after, "active")
    outstanding = func.coalesce(LoanEvent.outstanding_after, Loan.principal)
    row = session.execute(
        select(
            func.count(Loan.id),
            func.coalesce(func.sum(case((status != "cancelled", Loan.principal), else_=0)), 0),
            func.coalesce(func.sum(case((status.not_in(CLOSED_STATUSES), outstanding), else_=0)), 0),
            func.coalesce(func.sum(case((status.in_(NPL_STATUSES), outstanding), else_=0)), 0),
        )
        .select_from(Loan)
        .outerjoin(last, last.c.loan_id == Loan.id)
        .outerjoin(LoanEvent, LoanEvent.id == last.c.event_id)
        .where(Loan.bank_id == bank_id, Loan.scheme_id == scheme_id, Loan.registered_on <= day)
    ).one()
    return BankPosition(registered=int(row[1]), loans=int(row[0]), outstanding=int(row[2]),
                        non_performing=int(row[3]))


def end_of_day(day: date) -> datetime:
    """The end of a business day in Beijing time, as an aware moment."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ)


def approved_as_of(session: Session, bank_id: int, scheme_id: int, day: date, *, year: int | None = None) -> int:
    """Compensation approved for the bank in the scheme and still standing at the end of
    ``day`` (an approval later rejected or withdrawn counts until then); ``year`` keeps
    approvals of that calendar year (``per_bank_annual_cap``)."""
    query = select(Claim).where(Claim.bank_id == bank_id, Claim.scheme_id == scheme_id,
                                Claim.approved_on.is_not(None), Claim.approved_on <= day)
    if year is not None:
        query = query.where(Claim.approved_on >= date(year, 1, 1), Claim.approved_on <= date(year, 12, 31))
    claims = session.scalars(query).all()
    if not claims:
        return 0
    end = end_of_day(day)
    undone = set(session.scalars(
        select(ClaimEvent.claim_id).where(ClaimEvent.claim_id.in_([c.id for c in claims]),
                                          ClaimEvent.to_status.in_(("rejected", "withdrawn")),
                                          ClaimEvent.at < end)))
    return sum(c.approved_amount or 0 for c in claims if c.id not in undone)


def check_closings(session: Session) -> list[tuple[int, date, int, int]]:
    """Every stored day closing against the postings: ``(account id, day, stored, derived)``
    for each that differs (none when the running figure is sound)."""
    from .models import Account, JournalTransaction, Posting

    signed = case((Account.normal_side == "debit", Posting.amount), else_=-Posting.amount)
    daily = (select(Posting.account_id, JournalTransaction.effective_on, func.sum(signed))
             .join(JournalTransaction, JournalTransaction.id == Posting.transaction_id)
             .join(Account, Account.id == Posting.account_id)
             .group_by(Posting.account_id, JournalTransaction.effective_on)
             .order_by(Posting.account_id, JournalTransaction.effective_on))
    derived: dict[tuple[int, date], int] = {}
    running: dict[int, int] = {}
    for account_id, day, net in session.execute(daily):
        running[account_id] = running.get(account_id, 0) + int(net)
        derived[(account_id, day)] = running[account_id]
    stored = {(a, d): int(c) for a, d, c in session.execute(select(AccountDay.account_id, AccountDay.day,
                                                                   AccountDay.closing))}
    out = []
    for key in sorted(set(derived) | set(stored)):
        if key in stored and key not in derived:
            # A day whose movements net to zero has no postings sum but may hold a row.
            earlier = [d for (a, d) in derived if a == key[0] and d < key[1]]
            expected = derived[(key[0], max(earlier))] if earlier else 0
        else:
            expected = derived[key]
        if stored.get(key, expected) != expected or key not in stored and key in derived:
            out.append((key[0], key[1], stored.get(key, 0), expected))
    return out


__all__ = ["BankPosition", "check_closings", "approved_as_of", "bank_position_as_of", "closings", "end_of_day",
           "subfund_balances_as_of"]
