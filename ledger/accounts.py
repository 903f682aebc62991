"""Accounts opened on demand: a bank's clawback debt to a sub-fund, and the sub-fund's
clawback income. Sub-funds' own accounts are opened with the sub-fund."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import journal
from .models import CREDIT, DEBIT, Account, Bank, SubFund


def _get_or_open(session: Session, code: str, name: str, *, normal_side: str, no_overdraft: bool) -> Account:
    account = session.scalar(select(Account).where(Account.code == code))
    if account is not None:
        return account
    try:
        # A savepoint: a concurrent request may open the same account first.
        with session.begin_nested():
            return journal.open_account(session, code, name, normal_side=normal_side, no_overdraft=no_overdraft)
    except IntegrityError:
        return session.scalars(select(Account).where(Account.code == code)).one()


def debt_code(bank: Bank, subfund_code: str) -> str:
    return f"bank:{bank.code}:owes:{subfund_code}"


def bank_debt(session: Session, bank: Bank, subfund_code: str) -> Account:
    """What ``bank`` owes ``subfund`` after clawbacks (debit-normal, never negative)."""
    return _get_or_open(session, debt_code(bank, subfund_code), f"{bank.name} owes {subfund_code}",
                        normal_side=DEBIT, no_overdraft=True)


def find_bank_debt(session: Session, bank: Bank, subfund_code: str) -> Account | None:
    return session.scalar(select(Account).where(Account.code == debt_code(bank, subfund_code)))


def clawback_income(session: Session, subfund: SubFund) -> Account:
    return _get_or_open(session, subfund.account_code("clawbacks"), f"{subfund.name} — clawbacks",
                        normal_side=CREDIT, no_overdraft=False)
