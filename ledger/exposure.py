"""Portfolio exposure: what the pool would owe if every active loan defaulted today.

Per sub-fund and per scheme, the contingent liability is the rules' compensation for
each active loan at its current outstanding principal (SPEC §3.1 steps 1–6, with the
per-claim cap; history-dependent caps are left out, so the figure is an upper bound),
beside the money available, reserved and paid, and the leverage used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from rules import ClaimFacts

from . import schemes
from .models import Loan, Scheme, SubFund
from .subfunds import balances


@dataclass
class SubFundExposure:
    code: str
    name: str
    available: int
    reserved: int
    paid: int
    recovered: int
    contingent: int = 0
    loans: int = 0

    @property
    def coverage(self) -> Fraction | None:
        """Available money per yuan of contingent liability (None when nothing is at risk)."""
        return Fraction(self.available, self.contingent) if self.contingent else None


@dataclass
class SchemeExposure:
    code: str
    active_loans: int = 0
    outstanding: int = 0
    contingent: int = 0
    #: Available balance of the sub-funds that pay for this scheme's active loans.
    payer_available: int = 0
    leverage_limit: Decimal | None = None
    payers: set[str] = field(default_factory=set)

    @property
    def leverage_used(self) -> Fraction | None:
        """Outstanding principal per yuan of payer money, to compare with ``leverage_limit``."""
        return Fraction(self.outstanding, self.payer_available) if self.payer_available else None


def portfolio_exposure(session: Session) -> tuple[list[SubFundExposure], list[SchemeExposure]]:
    funds = {}
    for subfund in session.scalars(select(SubFund).order_by(SubFund.code)):
        b = balances(session, subfund)
        funds[subfund.code] = SubFundExposure(subfund.code, subfund.name, b["available"], b["reserved"], b["paid"],
                                              b["recovered"])
    exists = funds.__contains__
    by_scheme: dict[int, SchemeExposure] = {}
    scheme_codes = dict(session.execute(select(Scheme.id, Scheme.code)).all())
    loans_per_fund: dict[str, set[int]] = defaultdict(set)
    for loan in session.scalars(select(Loan).where(Loan.status == "active").execution_options(yield_per=1000)):
        ruleset = schemes.ruleset_of(loan.rule_version)
        scheme = by_scheme.setdefault(loan.scheme_id, SchemeExposure(scheme_codes[loan.scheme_id]))
        scheme.leverage_limit = ruleset.pool.leverage
        scheme.active_loans += 1
        scheme.outstanding += loan.outstanding
        if loan.outstanding == 0:
            continue
        decision = rules.compute(ruleset, ClaimFacts(loan.region, frozenset(loan.categories), loan.principal,
                                                     loan.outstanding), subfund_exists=exists)
        scheme.contingent += decision.compensation
        for line in decision.payers:
            scheme.payers.add(line.subfund)
            if line.subfund in funds:
                funds[line.subfund].contingent += line.amount
                loans_per_fund[line.subfund].add(loan.id)
    for code, ids in loans_per_fund.items():
        funds[code].loans = len(ids)
    for scheme in by_scheme.values():
        scheme.payer_available = sum(funds[c].available for c in scheme.payers if c in funds)
    return list(funds.values()), sorted(by_scheme.values(), key=lambda s: s.code)
