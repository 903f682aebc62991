"""The data of a bank statement (银行对账单, YHD): exactly what it prints."""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.money import ratio_text

from ..errors import NotFound
from ..models import (
    Bank,
    Claim,
    ClaimEvent,
    ClaimPayerLine,
    Clawback,
    Loan,
    LoanEvent,
    Recovery,
    RuleVersion,
    Scheme,
)
from .kinds import Period, as_utc, end_of_day, iso_date, local_date

log = logging.getLogger(__name__)


#: Loan statuses that count as non-performing, and those no longer on the books.
NPL_STATUSES = ("defaulted", "claimed", "compensated")
OFF_BOOK_STATUSES = ("repaid", "closed", "cancelled")


def get_bank(session: Session, code: str) -> Bank:
    bank = session.scalar(select(Bank).where(Bank.code == code))
    if bank is None:
        raise NotFound(f"No bank {code}.", code="bank_not_found")
    return bank


def _ratio_of(value: Any) -> Fraction | None:
    """Whatever a service's ``npl_ratio`` returns, as an exact fraction (or None)."""
    for attribute in ("ratio", "npl_ratio", "value"):
        if hasattr(value, attribute) and not isinstance(value, (int, str, Fraction)):
            value = getattr(value, attribute)
            break
    if value is None or isinstance(value, (bool, float)):
        return None
    try:
        result = Fraction(value) if not isinstance(value, str) else Fraction(value.strip())
    except (TypeError, ValueError):
        return None
    return result if 0 <= result <= 1 else None


def _service_npl(session: Session, bank: Bank, scheme: Scheme) -> Fraction | None:
    """The banks' side's ``ledger.loans.npl_ratio`` when it exists (issue 4), so the
    statement shows the very figure the registration and approval checks use.

    Its signature is matched by parameter names; any failure falls back to our own
    computation (logged). A savepoint keeps a failed query from spoiling the session.
    """
    try:
        from .. import loans as loan_service  # type: ignore[attr-defined]
    except ImportError:
        return None
    fn = getattr(loan_service, "npl_ratio", None)
    if not callable(fn):
        return None
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    values = {"bank_id": bank.id, "scheme_id": scheme.id, "bank": bank, "scheme": scheme,
              "bank_code": bank.code, "scheme_code": scheme.code}
    kwargs = {name: values[name] for name in params[1:] if name in values}
    try:
        with session.begin_nested():
            if len(kwargs) >= 2:
                result = fn(session, **kwargs)
            else:
                result = fn(session, bank, scheme)
    except Exception as exc:  # noqa: BLE001 - fall back to our own figure
        log.warning("ledger.loans.npl_ratio%s failed (%s); computing the NPL ratio from the loans",
                    inspect.signature(fn), exc)
        return None
    return _ratio_of(result)


def _loans_at(session: Session, bank: Bank, period: Period, current: bool) -> list[tuple[Loan, str, int]]:
    """(loan, status, outstanding) of each of the bank's loans registered by the
    period end, as at the period end: replayed from the loan events for a past
    period, the loans' own status for a period ending today."""
    loans = session.scalars(
        select(Loan).where(Loan.bank_id == bank.id, Loan.registered_on <= period.end).order_by(Loan.id)
    ).all()
    if current:
        return [(loan, loan.status, loan.outstanding) for loan in loans]
    last: dict[int, LoanEvent] = {}
    for event in session.scalars(
        select(LoanEvent).join(Loan, Loan.id == LoanEvent.loan_id)
        .where(Loan.bank_id == bank.id, LoanEvent.on <= period.end)
        .order_by(LoanEvent.on, LoanEvent.id)
    ):
        last[event.loan_id] = event
    out = []
    for loan in loans:
        event = last.get(loan.id)
        if event is None:
            out.append((loan, "active", loan.principal))
        else:
            out.append((loan, event.status_after, event.outstanding_after))
    return out


def _claim_status_at(claim: Claim, events: list[ClaimEvent], end: datetime) -> str:
    if not events:
        return claim.status
    before = [e for e in events if as_utc(e.at) <= end]
    return before[-1].to_status if before else "submitted"


def _portfolio_caps(session: Session, loans: list[tuple[Loan, str, int]], claims: Sequence[Claim],
                    status_at_end: dict[int, str], approved_on: Any) -> list[dict[str, Any]]:
    """The bank's portfolio cap per scheme and vintage at the period end (SPEC §3.1 step 5,
    ``ledger.portfolio``): principal registered with disbursement in the year (loans not
    cancelled by then), ROUND_HALF_UP(rate x it), and what was approved on the vintage and
    still stood at the period end. The rate is that of the vintage's latest rule version."""
    from rules import portfolio_cap

    from ..schemes import ruleset_of

    vintages: dict[tuple[int, int], dict[str, Any]] = {}
    loan_year = {}
    for loan, status, _outstanding in loans:
        loan_year[loan.id] = (loan.scheme_id, loan.disbursed_on.year)
        if status == "cancelled":
            continue
        entry = vintages.setdefault(loan_year[loan.id], {"registered": 0, "version_id": 0, "approved": 0})
        entry["registered"] += loan.principal
        entry["version_id"] = max(entry["version_id"], loan.rule_version_id)
    for claim in claims:
        key = loan_year.get(claim.loan_id)
        if key in vintages and status_at_end[claim.id] in ("approved", "paid") and approved_on(claim) is not None:
            vintages[key]["approved"] += claim.approved_amount or 0
    out = []
    for (scheme_id, year), entry in sorted(vintages.items()):
        rate = ruleset_of(session.get_one(RuleVersion, entry["version_id"])).claims.portfolio_cap_rate
        if rate is None:
            continue
        cap = portfolio_cap(rate, entry["registered"])
        out.append({"scheme": session.get_one(Scheme, scheme_id).code, "vintage": year, "rate": format(rate, "f"),
                    "registered": entry["registered"], "cap": cap, "approved": entry["approved"],
                    "left": max(cap - entry["approved"], 0),
                    "utilisation": ratio_text(Fraction(entry["approved"], cap)) if cap else None})
    return out


def bank_statement_data(session: Session, code: str, period: Period, *, today: date) -> tuple[dict[str, Any], datetime]:
    """Claims, money, principal, NPL ratio and caps of one bank: 银行对账单."""
    bank = get_bank(session, code)
    end = end_of_day(period.end)
    current = period.end >= today

    claims = session.scalars(
        select(Claim).where(Claim.bank_id == bank.id, Claim.claimed_on <= period.end).order_by(Claim.id)
    ).all()
    claim_ids = [c.id for c in claims]
    # The bank's claims by the period end, as a condition joined in (not an IN list of
    # their ids: a bank with tens of thousands of claims would exceed the drivers'
    # limit on bound parameters).
    of_claims = (Claim.bank_id == bank.id, Claim.claimed_on <= period.end)
    events: dict[int, list[ClaimEvent]] = defaultdict(list)
    paid_amounts: dict[int, int] = defaultdict(int)
    recoveries: list[Recovery] = []
    clawbacks: list[Clawback] = []
    if claim_ids:
        for e in session.scalars(select(ClaimEvent).join(Claim, Claim.id == ClaimEvent.claim_id).where(*of_claims)
                                 .order_by(ClaimEvent.at, ClaimEvent.id)):
            events[e.claim_id].append(e)
        # Only the claims paid in the period show what was paid.
        for claim_id, amount in session.execute(
            select(ClaimPayerLine.claim_id, func.sum(ClaimPayerLine.amount))
            .join(Claim, Claim.id == ClaimPayerLine.claim_id)
            .where(*of_claims, Claim.paid_on >= period.start, Claim.paid_on <= period.end)
            .group_by(ClaimPayerLine.claim_id)
        ):
            paid_amounts[claim_id] = int(amount)
        recoveries = list(session.scalars(select(Recovery).join(Claim, Claim.id == Recovery.claim_id).where(
            *of_claims, Recovery.recovered_on >= period.start,
            Recovery.recovered_on <= period.end).order_by(Recovery.id)))
        clawbacks = [c for c in session.scalars(select(Clawback).join(Claim, Claim.id == Clawback.claim_id)
                                                .where(*of_claims).order_by(Clawback.id))
                     if period.start <= local_date(c.created_at) <= period.end]  # type: ignore[operator]

    status_at_end = {c.id: _claim_status_at(c, events[c.id], end) for c in claims}
    counted = ("approved", "paid")
    by_status: dict[str, dict[str, Any]] = {}
    for c in claims:
        status = status_at_end[c.id]
        row = by_status.setdefault(status, {"status": status, "count": 0, "compensation": 0, "approved": 0})
        row["count"] += 1
        row["compensation"] += c.compensation
        if status in counted:
            row["approved"] += c.approved_amount or 0
    order = ("submitted", "returned", "reviewed", "approved", "paid", "rejected", "withdrawn")
    claims_by_status = sorted(by_status.values(),
                              key=lambda r: (order.index(r["status"]) if r["status"] in order else len(order), r["status"]))

    def in_period(day: date | None) -> bool:
        return day is not None and period.start <= day <= period.end

    def approved_on(claim: Claim) -> date | None:
        # The business date of approval where the claims service records it (the
        # calendar year of per_bank_annual_cap), else the approval moment in Beijing.
        return getattr(claim, "approved_on", None) or local_date(claim.approved_at)

    approved = [c for c in claims if c.approved_amount is not None and in_period(approved_on(c))]
    paid = [c for c in claims if in_period(c.paid_on)]
    activity = {
        "approved": {"count": len(approved), "amount": sum(c.approved_amount or 0 for c in approved)},
        "paid": {"count": len(paid), "amount": sum(paid_amounts[c.id] for c in paid)},
        "recovered": {"count": len(recoveries), "amount": sum(r.amount for r in recoveries),
                      "returned": sum(r.returned for r in recoveries)},
        "clawed_back": {"count": len(clawbacks), "amount": sum(c.amount for c in clawbacks)},
    }

    loans = _loans_at(session, bank, period, current)
    schemes: list[dict[str, Any]] = []
    for scheme_id in sorted({loan.scheme_id for loan, _s, _o in loans}):
        scheme = session.get_one(Scheme, scheme_id)
        mine = [(loan, status, outstanding) for loan, status, outstanding in loans if loan.scheme_id == scheme_id]
        on_book = [(s, o) for _l, s, o in mine if s not in OFF_BOOK_STATUSES]
        outstanding = sum(o for _s, o in on_book)
        npl_outstanding = sum(o for s, o in on_book if s in NPL_STATUSES)
        ratio: Fraction | None = Fraction(npl_outstanding, outstanding) if outstanding else Fraction(0)
        if current:
            # Today's figure is the one the registration and approval checks use.
            service_ratio = _service_npl(session, bank, scheme)
            if service_ratio is not None:
                ratio = service_ratio
        version = session.scalar(
            select(RuleVersion).where(RuleVersion.scheme_id == scheme_id, RuleVersion.effective_from <= period.end)
            .order_by(RuleVersion.effective_from.desc()).limit(1)
        )
        pool_rules, cap = None, None
        if version is not None:
            from ..schemes import ruleset_of

            ruleset = ruleset_of(version)
            pool_rules, cap = ruleset.pool, ruleset.claims.per_bank_annual_cap
        reg_threshold = pool_rules.npl_suspend_registrations if pool_rules else None
        comp_threshold = pool_rules.npl_suspend_compensation if pool_rules else None
        year_start = date(period.end.year, 1, 1)
        ytd = sum(
            c.approved_amount or 0 for c in claims
            if c.scheme_id == scheme_id and status_at_end[c.id] in counted
            and (d := approved_on(c)) is not None and year_start <= d <= period.end
        )
        schemes.append({
            "code": scheme.code,
            "rule_version": version.version if version else None,
            "registered_count": len(mine),
            "registered_principal": sum(loan.principal for loan, _s, _o in mine),
            "new_count": sum(1 for loan, _s, _o in mine if loan.registered_on >= period.start),
            "new_principal": sum(loan.principal for loan, _s, _o in mine if loan.registered_on >= period.start),
            "outstanding": outstanding,
            "npl_outstanding": npl_outstanding,
            "npl_ratio": ratio_text(ratio) if ratio is not None else None,
            "npl_suspend_registrations": format(reg_threshold, "f") if reg_threshold is not None else None,
            "npl_suspend_compensation": format(comp_threshold, "f") if comp_threshold is not None else None,
            "registrations_suspended": bool(ratio is not None and reg_threshold is not None and ratio > reg_threshold),
            "compensation_suspended": bool(ratio is not None and comp_threshold is not None and ratio > comp_threshold),
            "year": period.end.year,
            "annual_cap": cap,
            "ytd_compensation": ytd,
            "cap_remaining": max(cap - ytd, 0) if cap is not None else None,
        })

    portfolio_caps = _portfolio_caps(session, loans, claims, status_at_end, approved_on)

    loan_of = {loan.id: loan for loan, _s, _o in loans}
    paid_claims = []
    for c in sorted(paid, key=lambda c: (c.paid_on, c.id)):
        loan = loan_of.get(c.loan_id) or session.get_one(Loan, c.loan_id)
        paid_claims.append({"id": c.id, "loan": loan.external_id, "enterprise": loan.enterprise.name,
                            "paid_on": iso_date(c.paid_on), "reference": c.payment_reference,
                            "amount": paid_amounts[c.id]})

    data = {
        "bank": {"code": bank.code, "name": bank.name},
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "claims_by_status": claims_by_status,
        "claims_total": {"count": len(claims), "compensation": sum(r["compensation"] for r in claims_by_status),
                         "approved": sum(r["approved"] for r in claims_by_status)},
        "activity": activity,
        "schemes": schemes,
        "portfolio_caps": portfolio_caps,
        "paid_claims": paid_claims,
        "as_of": end.isoformat(),
    }
    return data, end
