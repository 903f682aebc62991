"""Early warning (SPEC §4a): per bank and scheme, monthly series of registered principal,
outstanding, NPL ratio and compensation, from the ledger's history, and the flags.

A month's figures are those at its last day (or today, for the month in progress):
registered and outstanding principal and the NPL ratio from the loans' event history
(:func:`ledger.asof.bank_position_as_of`), compensation the claims paid in the month.

Flags, against the suspension thresholds of the version in force at the month's end:

* ``near_threshold`` — the NPL ratio is within a fifth of a threshold: at or above four
  fifths of ``npl_suspend_registrations`` or of ``npl_suspend_compensation`` (above the
  threshold itself included: suspended banks are flagged too);
* ``rising`` — the NPL ratio rose two months running (m-2 < m-1 < m).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.money import ratio_text

from .asof import bank_position_as_of
from .models import Bank, Claim, Loan, RuleVersion, Scheme
from .schemes import ruleset_of

NEAR = Fraction(4, 5)


@dataclass(frozen=True)
class MonthFigures:
    month: str
    registered: int
    outstanding: int
    non_performing: int
    npl_ratio: Fraction
    compensation: int
    suspend_registrations: Fraction | None
    suspend_compensation: Fraction | None


@dataclass
class BankSeries:
    bank: str
    name: str
    scheme: str
    months: list[MonthFigures] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def month_ends(last: date, count: int) -> list[tuple[str, date]]:
    """The ``count`` months up to ``last``'s month: (``YYYY-MM``, its last day or ``last``)."""
    out = []
    year, month = last.year, last.month
    for _ in range(count):
        end = date(year, month, calendar.monthrange(year, month)[1])
        out.append((f"{year:04d}-{month:02d}", min(end, last)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _thresholds(session: Session, scheme_id: int, day: date) -> tuple[Fraction | None, Fraction | None]:
    version = session.scalar(select(RuleVersion).where(RuleVersion.scheme_id == scheme_id,
                                                       RuleVersion.effective_from <= day)
                             .order_by(RuleVersion.effective_from.desc()).limit(1))
    if version is None:
        return None, None
    pool = ruleset_of(version).pool
    return (None if pool.npl_suspend_registrations is None else Fraction(pool.npl_suspend_registrations),
            None if pool.npl_suspend_compensation is None else Fraction(pool.npl_suspend_compensation))


def _flags(months: list[MonthFigures]) -> list[dict[str, str]]:
    flags = []
    if not months:
        return flags
    last = months[-1]
    for key, limit in (("npl_suspend_registrations", last.suspend_registrations),
                       ("npl_suspend_compensation", last.suspend_compensation)):
        if limit is not None and limit > 0 and last.outstanding and last.npl_ratio >= NEAR * limit:
            flags.append({"code": "near_threshold", "month": last.month, "threshold": key,
                          "message": f"NPL ratio {ratio_text(last.npl_ratio)} is within a fifth of {key} "
                                     f"{ratio_text(limit)}"})
    if len(months) >= 3:
        a, b, c = (m.npl_ratio for m in months[-3:])
        if a < b < c:
            flags.append({"code": "rising", "month": last.month,
                          "message": f"NPL ratio rose two months running: {ratio_text(a)} -> {ratio_text(b)} -> "
                                     f"{ratio_text(c)}"})
    return flags


def series(session: Session, *, today: date, months: int = 12, bank_id: int | None = None,
           scheme_code: str | None = None) -> list[BankSeries]:
    """Every bank-and-scheme pair with loans: its last ``months`` months and its flags."""
    pairs = select(Loan.bank_id, Loan.scheme_id).distinct()
    if bank_id is not None:
        pairs = pairs.where(Loan.bank_id == bank_id)
    banks = {b.id: b for b in session.scalars(select(Bank))}
    schemes = {s.id: s for s in session.scalars(select(Scheme))}
    ends = month_ends(today, months)
    out = []
    for b_id, s_id in session.execute(pairs).all():
        scheme = schemes[s_id]
        if scheme_code and scheme.code != scheme_code:
            continue
        entry = BankSeries(banks[b_id].code, banks[b_id].name, scheme.code)
        for label, end in ends:
            position = bank_position_as_of(session, b_id, s_id, end)
            start = date(end.year, end.month, 1)
            paid = int(session.scalar(select(func.coalesce(func.sum(Claim.approved_amount), 0)).where(
                Claim.bank_id == b_id, Claim.scheme_id == s_id, Claim.paid_on >= start, Claim.paid_on <= end)) or 0)
            reg, comp = _thresholds(session, s_id, end)
            entry.months.append(MonthFigures(label, position.registered, position.outstanding,
                                             position.non_performing, position.npl_ratio, paid, reg, comp))
        entry.flags = _flags([m for m in entry.months if m.registered])
        out.append(entry)
    return sorted(out, key=lambda e: (e.bank, e.scheme))


__all__ = ["BankSeries", "MonthFigures", "month_ends", "series"]
