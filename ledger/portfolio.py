"""The portfolio cap (SPEC §3 ``claims.portfolio_cap_rate``, §3.1 step 5).

EIF-style: what a bank may be compensated on one *vintage* — its loans in a scheme
disbursed in one calendar year — is at most ROUND_HALF_UP(rate x the principal it
registered in the scheme for that vintage). Cancelled loans do not count as
registered: a cancellation takes the registration back. The cap is applied at
approval, after the annual cap, on what the bank's other claims on that vintage were
already approved (approved or paid; a clawback does not give the room back, as the
approval stands and its debt is settled separately).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import rules

from .models import Claim, Loan, RuleVersion, Scheme
from .schemes import ruleset_of


def _vintage(year: int):  # type: ignore[no-untyped-def]
    # A date range rather than extract(year): it uses the disbursement date as stored
    # on both databases and can be answered from an index.
    return Loan.disbursed_on >= date(year, 1, 1), Loan.disbursed_on < date(year + 1, 1, 1)


def vintage_registered(session: Session, bank_id: int, scheme_id: int, year: int) -> int:
    """Principal (fen) the bank registered in the scheme with disbursement in ``year``."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Loan.principal), 0)).where(
            Loan.bank_id == bank_id, Loan.scheme_id == scheme_id, Loan.status != "cancelled", *_vintage(year))
    ) or 0)


def vintage_approved(session: Session, bank_id: int, scheme_id: int, year: int, *,
                     exclude_claim: int | None = None) -> int:
    """Compensation approved (approved or paid) on the bank's loans of that vintage."""
    query = (
        select(func.coalesce(func.sum(Claim.approved_amount), 0))
        .join(Loan, Loan.id == Claim.loan_id)
        .where(Claim.bank_id == bank_id, Claim.scheme_id == scheme_id, Claim.status.in_(("approved", "paid")),
               *_vintage(year))
    )
    if exclude_claim is not None:
        query = query.where(Claim.id != exclude_claim)
    return int(session.scalar(query) or 0)


def apply_portfolio_cap(session: Session, claim: Claim, decision: rules.Decision,
                        ruleset: rules.RuleSet) -> rules.Decision:
    """The decision limited by what is left of the bank's portfolio cap on the claim's
    vintage; unchanged (no step) when the rule version has no ``portfolio_cap_rate``
    or the cap does not bite."""
    rate = ruleset.claims.portfolio_cap_rate
    if rate is None:
        return decision
    year = claim.loan.disbursed_on.year
    return rules.limit_by_portfolio_cap(
        decision, vintage=year, rate=rate,
        registered=vintage_registered(session, claim.bank_id, claim.scheme_id, year),
        used=vintage_approved(session, claim.bank_id, claim.scheme_id, year, exclude_claim=claim.id),
    )


@dataclass(frozen=True)
class VintageUse:
    """One vintage's portfolio cap and how much of it is used."""

    scheme: str
    vintage: int
    rate: Decimal
    registered: int
    cap: int
    approved: int

    @property
    def left(self) -> int:
        return max(0, self.cap - self.approved)

    @property
    def utilisation(self) -> Fraction:
        """approved / cap, exact (shown to four decimals with ``ratio_text``)."""
        if self.cap == 0:
            return Fraction(0) if self.approved == 0 else Fraction(1)
        return Fraction(self.approved, self.cap)


def portfolio_use(session: Session, bank_id: int, *, scheme_id: int | None = None) -> list[VintageUse]:
    """The bank's portfolio cap per scheme and vintage. The rate is the one approval
    applies: that of the rule version the vintage's loans are governed by (the latest
    of them, should the rules have changed within the year); vintages whose version
    sets no rate are left out."""
    query = (
        select(Loan.scheme_id, Scheme.code, func.min(Loan.disbursed_on), func.max(Loan.disbursed_on))
        .join(Scheme, Scheme.id == Loan.scheme_id)
        .where(Loan.bank_id == bank_id, Loan.status != "cancelled")
        .group_by(Loan.scheme_id, Scheme.code).order_by(Scheme.code)
    )
    if scheme_id is not None:
        query = query.where(Loan.scheme_id == scheme_id)
    out: list[VintageUse] = []
    for sid, code, first, last in session.execute(query).all():
        for year in range(first.year, last.year + 1):
            version_id = session.scalar(select(func.max(Loan.rule_version_id)).where(
                Loan.bank_id == bank_id, Loan.scheme_id == sid, Loan.status != "cancelled", *_vintage(year)))
            if version_id is None:
                continue
            rate = ruleset_of(session.get_one(RuleVersion, version_id)).claims.portfolio_cap_rate
            if rate is None:
                continue
            registered = vintage_registered(session, bank_id, sid, year)
            out.append(VintageUse(code, year, rate, registered, rules.portfolio_cap(rate, registered),
                                  vintage_approved(session, bank_id, sid, year)))
    return out


__all__ = ["VintageUse", "apply_portfolio_cap", "portfolio_use", "vintage_approved", "vintage_registered"]
