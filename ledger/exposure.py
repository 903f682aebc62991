"""Portfolio exposure: what the pool would owe if every active loan defaulted today.

Per sub-fund and per scheme, the contingent liability is the rules' compensation for
each active loan at its current outstanding principal (SPEC §3.1 steps 1–6, with the
per-claim cap; history-dependent caps are left out, so the figure is an upper bound),
beside the money available, reserved and paid. Leverage is measured exactly as loan
registration checks it (``ledger.loans``): live outstanding principal against the
available balance of the scheme's pool of payer sub-funds under the version in force.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import rules
from rules import ClaimFacts

from . import schemes
from .loans import LIVE_STATUSES, pool_subfunds
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
    #: Outstanding principal of live loans (active, defaulted, claimed): what leverage counts.
    outstanding: int = 0
    contingent: int = 0
    #: Available balance of the scheme's pool of payer sub-funds.
    payer_available: int = 0
    leverage_limit: Decimal | None = None
    payers: list[str] = field(default_factory=list)

    @property
    def leverage_used(self) -> Fraction | None:
        """Outstanding principal per yuan of payer money, to compare with ``leverage_limit``."""
        return Fraction(self.outstanding, self.payer_available) if self.payer_available else None


def portfolio_exposure(session: Session, today: date) -> tuple[list[SubFundExposure], list[SchemeExposure]]:
    funds = {}
    for subfund in session.scalars(select(SubFund).order_by(SubFund.code)):
        b = balances(session, subfund)
        funds[subfund.code] = SubFundExposure(subfund.code, subfund.name, b["available"], b["reserved"], b["paid"],
                                              b["recovered"])
    exists = funds.__contains__
    loans_per_fund: dict[str, set[int]] = defaultdict(set)
    result = []
    for scheme in session.scalars(select(Scheme).order_by(Scheme.code)):
        exposure = SchemeExposure(scheme.code)
        in_force = next((v for v in reversed(scheme.versions) if v.effective_from <= today), None)
        if in_force is not None:
            ruleset = schemes.ruleset_of(in_force)
            exposure.leverage_limit = ruleset.pool.leverage
            exposure.payers = pool_subfunds(ruleset, funds)
            exposure.payer_available = sum(funds[c].available for c in exposure.payers)
        exposure.outstanding = int(session.scalar(
            select(func.coalesce(func.sum(Loan.outstanding), 0))
            .where(Loan.scheme_id == scheme.id, Loan.status.in_(LIVE_STATUSES))) or 0)
        active = select(Loan).where(Loan.scheme_id == scheme.id, Loan.status == "active")
        for loan in session.scalars(active.execution_options(yield_per=1000)):
            exposure.active_loans += 1
            if loan.outstanding == 0:
                continue
            decision = rules.compute(schemes.ruleset_of(loan.rule_version),
                                     ClaimFacts(loan.region, frozenset(loan.categories), loan.principal,
                                                loan.outstanding), subfund_exists=exists)
            exposure.contingent += decision.compensation
            for line in decision.payers:
                if line.subfund in funds:
                    funds[line.subfund].contingent += line.amount
                    loans_per_fund[line.subfund].add(loan.id)
        result.append(exposure)
    for code, ids in loans_per_fund.items():
        funds[code].loans = len(ids)
    return list(funds.values()), result
