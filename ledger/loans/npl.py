"""Banks' NPL ratios in a scheme (SPEC §3 ``npl_suspend_*``; see ``ledger.loans``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.money import ratio_text

from ..errors import NotFound
from ..models import Bank, RuleVersion, Scheme
from ..schemes import ruleset_of
from .book import bank_figures


def npl_figures(session: Session, bank_id: int, scheme_id: int) -> tuple[int, int]:
    """(non-performing outstanding, all outstanding) of a bank in a scheme, in fen,
    from the book's running figures (``ledger.loans.book``)."""
    return bank_figures(session, bank_id, scheme_id)


def npl_ratio(session: Session, bank_id: int, scheme_id: int) -> Fraction:
    """The bank's NPL ratio in the scheme, exact (see the module doc for the definition)."""
    return ratio_of(*npl_figures(session, bank_id, scheme_id))


def ratio_of(bad: int, outstanding: int) -> Fraction:
    """Non-performing over outstanding, exact; 0 for an empty book."""
    return Fraction(bad, outstanding) if outstanding else Fraction(0)


@dataclass(frozen=True)
class NplReport:
    bank: str
    scheme: str
    ratio: Fraction
    non_performing: int
    outstanding: int
    #: The rule version in force on ``on`` whose thresholds apply (None: none in force).
    rule_version: int | None
    on: date
    npl_suspend_registrations: Decimal | None
    npl_suspend_compensation: Decimal | None

    @property
    def ratio_text(self) -> str:
        return ratio_text(self.ratio)

    @property
    def suspended_registrations(self) -> bool:
        limit = self.npl_suspend_registrations
        return limit is not None and self.ratio > Fraction(limit)

    @property
    def suspended_compensation(self) -> bool:
        limit = self.npl_suspend_compensation
        return limit is not None and self.ratio > Fraction(limit)


def bank_npl(session: Session, bank_code: str, scheme_code: str, *, caller_bank_id: int | None, today: date) -> NplReport:
    """A bank's NPL ratio in a scheme against the thresholds of the version in force
    today. A bank may only ask about itself (another bank's code is a 404)."""
    bank = session.scalar(select(Bank).where(Bank.code == bank_code))
    if bank is None or (caller_bank_id is not None and bank.id != caller_bank_id):
        raise NotFound(f"No bank {bank_code}.", code="bank_not_found")
    scheme = session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise NotFound(f"No scheme {scheme_code}.", code="scheme_not_found")
    bad, outstanding = npl_figures(session, bank.id, scheme.id)
    version = session.scalar(
        select(RuleVersion).where(RuleVersion.scheme_id == scheme.id, RuleVersion.effective_from <= today)
        .order_by(RuleVersion.effective_from.desc()).limit(1)
    )
    pool = ruleset_of(version).pool if version is not None else None
    return NplReport(
        bank=bank.code, scheme=scheme.code, ratio=Fraction(bad, outstanding) if outstanding else Fraction(0),
        non_performing=bad, outstanding=outstanding, rule_version=version.version if version else None, on=today,
        npl_suspend_registrations=pool.npl_suspend_registrations if pool else None,
        npl_suspend_compensation=pool.npl_suspend_compensation if pool else None,
    )
