"""Issuing, registering and verifying PDF statements (SPEC §5, §6).

A statement is a promise an auditor may check years later, so:

- **What it shows is hashed.** Each kind has a data builder that gathers exactly the
  data printed (plain dicts, amounts in fen). The *state hash* is the SHA-256 of the
  canonical JSON of that data together with the kind, scope, period, language and the
  fund's name; it is printed in every footer.
- **Rendering is deterministic.** The PDF is a function of (data, number, language,
  fund name): no clock (``invariant=1``, the PDF dates come from the data), no random
  ids. So the register need not keep the bytes: it keeps their SHA-256.
- **One number per state.** Asked again for the same kind, scope, period and language
  while the state is unchanged, we re-render under the registered number and hand out
  the same bytes; a changed state gets a new number. (Should a software upgrade ever
  change the bytes of an unchanged state, that re-render cannot match its register
  entry and the statement is issued anew under a new number — never two different
  files under one number.)
- **The register is in the audit chain.** Every issue writes a ``statements`` row
  (append-only by trigger) holding the number, scope, period, the PDF's SHA-256, the
  state hash and the audit-chain head it was issued at, and an audit entry.

Numbers are per kind and calendar year of issue: ``BCJ-2026-000001`` (补偿结算单, a
claim), ``ZJD-…`` (资金对账单, a sub-fund), ``YHD-…`` (银行对账单, a bank).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from fractions import Fraction
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import pdf
from pdf.fonts import FontSetup, load_font
from pdf.layout import StatementMeta
from rules.money import format_amount, ratio_text

from . import audit, clock
from .audit import canonical_json
from .clock import BUSINESS_TZ
from .errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from .models import (
    Account,
    Bank,
    Claim,
    ClaimEvent,
    ClaimPayerLine,
    Clawback,
    Enterprise,
    JournalTransaction,
    Loan,
    LoanEvent,
    Posting,
    Recovery,
    RuleVersion,
    Scheme,
    Statement,
    SubFund,
    User,
)

log = logging.getLogger(__name__)

#: Statement kinds and their number prefixes.
PREFIXES = {"claim": "BCJ", "subfund": "ZJD", "bank": "YHD"}
KINDS = tuple(PREFIXES)
LANGS = ("zh", "en")
#: Part of every state hash: a change to what the statements show (a new section, a
#: different layout of the same data) is a new state, so it gets a new number rather
#: than a re-render that no longer matches its register entry.
LAYOUT_VERSION = 1
NUMBER_RE = re.compile(r"\b(BCJ|ZJD|YHD)-(\d{4})-(\d{6,})\b")
_NUMBER_BYTES_RE = re.compile(rb"(BCJ|ZJD|YHD)-\d{4}-\d{6,}")
#: Keys of the PostgreSQL advisory locks that serialise numbering per kind.
_LOCK_KEYS = {"claim": 7_106_001, "subfund": 7_106_002, "bank": 7_106_003}

#: Loan statuses that count as non-performing, and those no longer on the books.
NPL_STATUSES = ("defaulted", "claimed", "compensated")
OFF_BOOK_STATUSES = ("repaid", "closed", "cancelled")


class LedgerInconsistent(DomainError):
    """The journal and the cached balances disagree: no statement is issued on them."""

    category = "conflict"
    code = "ledger_inconsistent"


@dataclass(frozen=True)
class Period:
    start: date
    end: date


@dataclass(frozen=True)
class Prepared:
    """A statement's data, gathered and hashed, ready to render under a number."""

    kind: str
    scope: str
    period: Period | None
    lang: str
    fund_name: str
    data: dict[str, Any]
    as_of: datetime
    state_sha256: str
    subject: str

    @property
    def title(self) -> str:
        return pdf.title(self.kind, self.lang)

    def meta(self, number: str) -> StatementMeta:
        return StatementMeta(number=number, title=self.title, fund_name=self.fund_name, lang=self.lang,
                             state_sha256=self.state_sha256, as_of=self.as_of, subject=self.subject)


@dataclass(frozen=True)
class Issued:
    statement: Statement
    sha256: str
    size: int
    pages: int
    #: True when an identical statement was already registered (same number, same bytes).
    reused: bool


@dataclass(frozen=True)
class Verification:
    #: The bytes are exactly a statement this ledger issued.
    issued: bool
    #: The bytes claim to be one of our statements (its number is in them) but differ.
    altered: bool
    statement: Statement | None
    #: "authentic" | "altered" | "not_issued_here"
    verdict: str
    reason: str


# -- time -----------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def local(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment).astimezone(BUSINESS_TZ)


def local_text(moment: datetime | None) -> str | None:
    """A moment as printed: Beijing time to the second."""
    value = local(moment)
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def local_date(moment: datetime | None) -> date | None:
    value = local(moment)
    return None if value is None else value.date()


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=BUSINESS_TZ)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# -- the claim statement --------------------------------------------------------------


def _user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def get_claim(session: Session, claim_id: int) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"No claim {claim_id}.", code="claim_not_found")
    return claim


def claim_statement_data(session: Session, claim_id: int) -> tuple[dict[str, Any], datetime]:
    """Everything the 补偿结算单 of a paid claim shows, and the moment it reflects."""
    claim = get_claim(session, claim_id)
    if claim.status != "paid":
        raise InvalidTransition(
            f"Claim {claim_id} is {claim.status}; a compensation statement exists only for a paid claim.",
            code="claim_not_paid", extra={"current_status": claim.status},
        )
    loan: Loan = claim.loan
    enterprise: Enterprise = loan.enterprise
    bank = session.get_one(Bank, claim.bank_id)
    version = session.get_one(RuleVersion, claim.rule_version_id)
    scheme = session.get_one(Scheme, claim.scheme_id)
    events = session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.at, ClaimEvent.id)
    ).all()
    recoveries = session.scalars(
        select(Recovery).where(Recovery.claim_id == claim.id).order_by(Recovery.recovered_on, Recovery.id)
    ).all()
    clawbacks = session.scalars(
        select(Clawback).where(Clawback.claim_id == claim.id).order_by(Clawback.created_at, Clawback.id)
    ).all()
    lines = session.scalars(
        select(ClaimPayerLine).where(ClaimPayerLine.claim_id == claim.id).order_by(ClaimPayerLine.position)
    ).all()
    subfund_names = dict(session.execute(
        select(SubFund.code, SubFund.name).where(SubFund.code.in_({line.subfund_code for line in lines}))
    ).all())
    names = _user_names(session, (claim.reviewer_id, claim.approver_id))

    moments = [claim.submitted_at, claim.reviewed_at, claim.approved_at]
    moments += [e.at for e in events] + [r.created_at for r in recoveries] + [c.created_at for c in clawbacks]
    as_of = max(_aware(m) for m in moments if m is not None).astimezone(BUSINESS_TZ).replace(microsecond=0)

    decision = claim.decision or {}
    data = {
        "claim": {
            "id": claim.id,
            "status": claim.status,
            "claimed_on": _iso(claim.claimed_on),
            "default_on": _iso(claim.default_on),
            "outstanding_principal": claim.outstanding_principal,
            "ratio": claim.ratio,
            "eligible_loss": claim.eligible_loss,
            "compensation": claim.compensation,
            "approved_amount": claim.approved_amount,
            "payment_reference": claim.payment_reference,
            "paid_on": _iso(claim.paid_on),
        },
        "scheme": {"code": scheme.code, "version": version.version, "effective_from": _iso(version.effective_from),
                   "document_sha256": version.document_sha256},
        "bank": {"code": bank.code, "name": bank.name},
        "enterprise": {"name": enterprise.name, "credit_code": enterprise.credit_code, "region": enterprise.region},
        "loan": {"external_id": loan.external_id, "principal": loan.principal, "disbursed_on": _iso(loan.disbursed_on),
                 "maturity_on": _iso(loan.maturity_on), "categories": sorted(loan.categories or [])},
        "steps": [{"rule": s["rule"], "detail": s.get("detail", ""), "params": s.get("params") or {}}
                  for s in decision.get("steps", [])],
        "payers": [{"position": line.position, "subfund": line.subfund_code,
                    "subfund_name": subfund_names.get(line.subfund_code, ""), "share": line.share,
                    "amount": line.amount, "offset_amount": line.offset_amount,
                    "recovered_amount": line.recovered_amount} for line in lines],
        "review": {"by": names.get(claim.reviewer_id) if claim.reviewer_id else None,
                   "at": local_text(claim.reviewed_at), "recommendation": claim.review_recommendation,
                   "comment": claim.review_comment},
        "approval": {"by": names.get(claim.approver_id) if claim.approver_id else None,
                     "at": local_text(claim.approved_at), "reason": claim.decision_reason},
        "events": [{"at": local_text(e.at), "action": e.action, "from_status": e.from_status,
                    "to_status": e.to_status, "actor": e.actor, "comment": e.comment} for e in events],
        "recoveries": [{"recovered_on": _iso(r.recovered_on), "amount": r.amount, "cumulative": r.cumulative,
                        "pool_share_cumulative": r.pool_share_cumulative, "returned": r.returned}
                       for r in recoveries],
        "clawbacks": [{"on": local_date(c.created_at).isoformat(), "amount": c.amount, "reason": c.reason}  # type: ignore[union-attr]
                      for c in clawbacks],
        "as_of": as_of.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return data, as_of


# -- the sub-fund statement -----------------------------------------------------------


def get_subfund(session: Session, code: str) -> SubFund:
    subfund = session.scalar(select(SubFund).where(SubFund.code == code))
    if subfund is None:
        raise NotFound(f"No sub-fund {code}.", code="subfund_not_found")
    return subfund


def subfund_statement_data(session: Session, code: str, period: Period) -> tuple[dict[str, Any], datetime]:
    """Opening balance, movements with running balance, totals, closing: 资金对账单.

    One query reads every posting on the sub-fund's available and reserved accounts
    (with the cached balance of each in the same snapshot), ordered by business date
    and journal order, so that the opening, the movements, the closing and the check
    against the cached balance all describe one state of the journal even while
    others write.
    """
    subfund = get_subfund(session, code)
    purposes = ("available", "reserved")
    accounts = {acc.code: acc for acc in session.scalars(
        select(Account).where(Account.code.in_([subfund.account_code(p) for p in purposes])))}
    by_id = {accounts[subfund.account_code(p)].id: p for p in purposes}
    sign = {accounts[subfund.account_code(p)].id: (1 if accounts[subfund.account_code(p)].normal_side == "debit" else -1)
            for p in purposes}

    opening = dict.fromkeys(purposes, 0)
    at_end = dict.fromkeys(purposes, 0)  # the journal's balance at the period end
    everything = dict.fromkeys(purposes, 0)  # every posting, also those dated later
    cached: dict[str, int] = {}
    movements: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    balance = 0

    rows = session.execute(
        select(JournalTransaction.seq, JournalTransaction.kind, JournalTransaction.effective_on,
               JournalTransaction.memo, JournalTransaction.reference, Posting.account_id, Posting.amount,
               Account.balance)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.account_id.in_(list(by_id)))
        .order_by(JournalTransaction.effective_on, JournalTransaction.seq, Posting.id)
        .execution_options(yield_per=2000)
    )
    try:
        for seq, kind, effective_on, memo, reference, account_id, amount, cached_balance in rows:
            purpose = by_id[account_id]
            change = sign[account_id] * int(amount)
            cached[purpose] = int(cached_balance)
            everything[purpose] += change
            if effective_on > period.end:
                continue
            at_end[purpose] += change
            if effective_on < period.start:
                opening[purpose] += change
                continue
            if current is None or current["seq"] != seq:
                if current is not None:
                    movements.append(current)
                current = {"seq": seq, "date": effective_on.isoformat(), "kind": kind, "memo": memo or "",
                           "reference": reference, "available": 0, "reserved": 0}
            current[purpose] += change
        if current is not None:
            movements.append(current)
    finally:
        rows.close()

    balance = opening["available"] + opening["reserved"]
    by_kind: dict[str, dict[str, Any]] = {}
    for m in movements:
        m["net"] = m["available"] + m["reserved"]
        balance += m["net"]
        m["balance"] = balance
        k = by_kind.setdefault(m["kind"], {"kind": m["kind"], "count": 0, "available": 0, "reserved": 0, "net": 0})
        k["count"] += 1
        for field in ("available", "reserved", "net"):
            k[field] += m[field]
    totals = {"count": len(movements), "available": sum(m["available"] for m in movements),
              "reserved": sum(m["reserved"] for m in movements), "net": sum(m["net"] for m in movements)}
    closing = {"available": opening["available"] + totals["available"],
               "reserved": opening["reserved"] + totals["reserved"]}
    closing["total"] = closing["available"] + closing["reserved"]
    journal_end = {**at_end, "total": at_end["available"] + at_end["reserved"]}
    # SPEC §5: the statement is only issued when its figures are the journal's.
    if closing != journal_end or balance != closing["total"]:
        raise LedgerInconsistent(f"Sub-fund {code}: opening + movements {closing} differs from the journal {journal_end}.")
    for purpose in purposes:
        if purpose in cached and cached[purpose] != everything[purpose]:
            raise LedgerInconsistent(
                f"Account {subfund.account_code(purpose)}: cached balance {format_amount(cached[purpose])} differs "
                f"from its journal {format_amount(everything[purpose])}; run the journal check."
            )
    as_of = end_of_day(period.end)
    data = {
        "subfund": {"code": subfund.code, "name": subfund.name, "owner_type": subfund.owner_type,
                    "region": subfund.region},
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "opening": {**opening, "total": opening["available"] + opening["reserved"]},
        "movements": movements,
        "by_kind": [by_kind[k] for k in sorted(by_kind)],
        "totals": totals,
        "closing": closing,
        "journal": journal_end,
        "as_of": as_of.isoformat(),
    }
    return data, as_of


# -- the bank statement ---------------------------------------------------------------


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
        from . import loans as loan_service  # type: ignore[attr-defined]
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
    before = [e for e in events if _aware(e.at) <= end]
    return before[-1].to_status if before else "submitted"


def bank_statement_data(session: Session, code: str, period: Period, *, today: date) -> tuple[dict[str, Any], datetime]:
    """Claims, money, principal, NPL ratio and caps of one bank: 银行对账单."""
    bank = get_bank(session, code)
    end = end_of_day(period.end)
    current = period.end >= today

    claims = session.scalars(
        select(Claim).where(Claim.bank_id == bank.id, Claim.claimed_on <= period.end).order_by(Claim.id)
    ).all()
    claim_ids = [c.id for c in claims]
    events: dict[int, list[ClaimEvent]] = defaultdict(list)
    paid_amounts: dict[int, int] = defaultdict(int)
    recoveries: list[Recovery] = []
    clawbacks: list[Clawback] = []
    if claim_ids:
        for e in session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id.in_(claim_ids))
                                 .order_by(ClaimEvent.at, ClaimEvent.id)):
            events[e.claim_id].append(e)
        for claim_id, amount in session.execute(
            select(ClaimPayerLine.claim_id, func.sum(ClaimPayerLine.amount))
            .where(ClaimPayerLine.claim_id.in_(claim_ids)).group_by(ClaimPayerLine.claim_id)
        ):
            paid_amounts[claim_id] = int(amount)
        recoveries = list(session.scalars(select(Recovery).where(
            Recovery.claim_id.in_(claim_ids), Recovery.recovered_on >= period.start,
            Recovery.recovered_on <= period.end).order_by(Recovery.id)))
        clawbacks = [c for c in session.scalars(select(Clawback).where(Clawback.claim_id.in_(claim_ids))
                                                .order_by(Clawback.id))
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
            from .schemes import ruleset_of

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

    loan_of = {loan.id: loan for loan, _s, _o in loans}
    paid_claims = []
    for c in sorted(paid, key=lambda c: (c.paid_on, c.id)):
        loan = loan_of.get(c.loan_id) or session.get_one(Loan, c.loan_id)
        paid_claims.append({"id": c.id, "loan": loan.external_id, "enterprise": loan.enterprise.name,
                            "paid_on": _iso(c.paid_on), "reference": c.payment_reference,
                            "amount": paid_amounts[c.id]})

    data = {
        "bank": {"code": bank.code, "name": bank.name},
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "claims_by_status": claims_by_status,
        "claims_total": {"count": len(claims), "compensation": sum(r["compensation"] for r in claims_by_status),
                         "approved": sum(r["approved"] for r in claims_by_status)},
        "activity": activity,
        "schemes": schemes,
        "paid_claims": paid_claims,
        "as_of": end.isoformat(),
    }
    return data, end


# -- preparing, hashing, rendering ---------------------------------------------------------


def state_hash(kind: str, scope: str, period: Period | None, lang: str, fund_name: str, data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of exactly what the statement shows."""
    document = {
        "layout": LAYOUT_VERSION,
        "kind": kind,
        "scope": scope,
        "period": None if period is None else {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "lang": lang,
        "fund_name": fund_name,
        "data": data,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def parse_period(start: date | None, end: date | None, *, today: date) -> Period:
    """A statement period; by default the current month up to today. A period may not
    end after today: a statement of days not yet over could not stay true."""
    end = end or today
    start = start or end.replace(day=1)
    errors: dict[str, list[str]] = {}
    if start > end:
        errors["from"] = [f"must not be after 'to' ({end.isoformat()})"]
    if end > today:
        errors["to"] = [f"must not be after today ({today.isoformat()})"]
    if errors:
        code = "period_in_future" if "to" in errors and "from" not in errors else "invalid_period"
        raise ValidationFailed("Invalid statement period.", code=code, errors=errors)
    return Period(start, end)


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValidationFailed(f"Language must be one of {', '.join(LANGS)}.", code="invalid_language",
                               errors={"lang": [f"must be one of {', '.join(LANGS)}"]})


def prepare(session: Session, kind: str, scope: str, period: Period | None, lang: str, fund_name: str, *,
            today: date | None = None) -> Prepared:
    """Gather and hash a statement's data (validating kind, scope, period, language)."""
    _check_lang(lang)
    today = today or clock.today()
    if kind == "claim":
        try:
            claim_id = int(scope)
        except (TypeError, ValueError):
            raise NotFound(f"No claim {scope}.", code="claim_not_found") from None
        data, as_of = claim_statement_data(session, claim_id)
        scope, period = str(claim_id), None
        subject = f"claim {claim_id}"
    elif kind in ("subfund", "bank"):
        if period is None:
            period = parse_period(None, None, today=today)
        else:
            period = parse_period(period.start, period.end, today=today)
        if kind == "subfund":
            data, as_of = subfund_statement_data(session, scope, period)
        else:
            data, as_of = bank_statement_data(session, scope, period, today=today)
        subject = f"{kind} {scope}, {period.start.isoformat()} to {period.end.isoformat()}"
    else:
        raise ValidationFailed(f"Statement kinds are {', '.join(KINDS)}.", code="invalid_kind",
                               errors={"kind": [f"must be one of {', '.join(KINDS)}"]})
    digest = state_hash(kind, scope, period, lang, fund_name, data)
    return Prepared(kind, scope, period, lang, fund_name, data, as_of, digest, subject)


class _HashingWriter:
    """A write-only file that hashes and counts what passes through to ``target``."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()


def render_prepared(prepared: Prepared, number: str, font: FontSetup, out: IO[bytes]) -> tuple[str, int, int]:
    """Render under ``number`` into ``out``; returns (sha256, size, pages)."""
    if not font.cjk:
        log.error("Statement %s is rendered WITHOUT a CJK font (metadata says so); install fonts-wqy-microhei "
                  "or set PDF_FONT_PATH.", number)
    writer = _HashingWriter(out)
    pages = pdf.render(prepared.kind, prepared.data, prepared.meta(number), font, writer)  # type: ignore[arg-type]
    return writer.sha.hexdigest(), writer.size, pages


def render_statement(session: Session, kind: str, scope: str, period: Period | None, lang: str, fund_name: str,
                     number: str, *, today: date | None = None, font: FontSetup | None = None) -> bytes:
    """Render without registering anything (previews, tests, benchmarks)."""
    prepared = prepare(session, kind, scope, period, lang, fund_name, today=today)
    buffer = io.BytesIO()
    render_prepared(prepared, number, font or load_font(), buffer)
    return buffer.getvalue()


# -- numbers, files, the register ---------------------------------------------------------


def _lock_numbering(session: Session, kind: str) -> None:
    """Serialise issuing per kind: two requests for the same unchanged statement must
    find one register entry, and numbers must not collide. SQLite writers already
    hold the database's write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEYS[kind])))


def next_number(session: Session, kind: str, year: int) -> str:
    prefix = f"{PREFIXES[kind]}-{year:04d}-"
    last = session.scalar(
        select(Statement.number).where(Statement.number.like(prefix + "%"))
        .order_by(func.length(Statement.number).desc(), Statement.number.desc()).limit(1)
    )
    sequence = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filenames(kind: str, scope: str, period: Period | None, lang: str, number: str) -> tuple[str, str]:
    """(ASCII file name, file name in the statement's language) for downloads."""
    scope_safe = _SAFE.sub("_", scope)
    dates = "" if period is None else f"_{period.start.isoformat()}_{period.end.isoformat()}"
    ascii_name = f"{number}_{kind}-{scope_safe}{dates}.pdf"
    title = pdf.title(kind, lang)
    if lang == "zh":
        what = f"理赔{scope_safe}" if kind == "claim" else scope_safe
        span = "" if period is None else f"_{period.start.isoformat()}至{period.end.isoformat()}"
    else:
        title = title.replace(" ", "-")
        what = f"claim-{scope_safe}" if kind == "claim" else scope_safe
        span = dates
    return ascii_name, f"{title}_{what}{span}_{number}.pdf"


def issue_statement_to(session: Session, kind: str, scope: str, period: Period | None, lang: str, actor: str,
                       fund_name: str, out: IO[bytes], *, today: date | None = None,
                       font: FontSetup | None = None) -> Issued:
    """Issue (or re-issue) a statement, writing the PDF into ``out`` (e.g. a spooled
    temporary file a response streams from). Only flushes; the caller commits."""
    today = today or clock.today()
    prepared = prepare(session, kind, scope, period, lang, fund_name, today=today)
    font = font or load_font()
    _lock_numbering(session, kind)
    period = prepared.period
    existing = session.scalar(
        select(Statement).where(
            Statement.kind == kind, Statement.scope == prepared.scope, Statement.language == lang,
            Statement.state_sha256 == prepared.state_sha256,
            Statement.period_from.is_(None) if period is None else Statement.period_from == period.start,
            Statement.period_to.is_(None) if period is None else Statement.period_to == period.end,
        ).order_by(Statement.id.desc()).limit(1)
    )
    start = out.tell() if out.seekable() else 0
    if existing is not None:
        digest, size, pages = render_prepared(prepared, existing.number, font, out)
        if digest == existing.sha256:
            return Issued(existing, digest, size, pages, reused=True)
        log.warning("Statement %s re-rendered from an unchanged ledger state gives other bytes (software or font "
                    "changed since it was issued); issuing it anew under a new number.", existing.number)
        out.seek(start)
        out.truncate()
    number = next_number(session, kind, today.year)
    digest, size, pages = render_prepared(prepared, number, font, out)
    head_seq, head_hash = audit.chain_head(session)
    ascii_name, _local_name = filenames(kind, prepared.scope, period, lang, number)
    row = Statement(
        number=number, kind=kind, scope=prepared.scope,
        period_from=period.start if period else None, period_to=period.end if period else None,
        language=lang, sha256=digest, state_sha256=prepared.state_sha256, audit_seq=head_seq,
        audit_hash=head_hash, filename=ascii_name, size=size, issued_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="statement.issue", entity_type="statement", entity_id=number,
                 after={"kind": kind, "scope": prepared.scope, "period_from": row.period_from,
                        "period_to": row.period_to, "language": lang, "sha256": digest,
                        "state_sha256": prepared.state_sha256, "audit_seq": head_seq, "audit_hash": head_hash,
                        "filename": ascii_name, "size": size, "pages": pages,
                        "font": font.face_name or "none (CJK font missing)"})
    return Issued(row, digest, size, pages, reused=False)


def issue_statement(session: Session, kind: str, scope: str, period: Period | tuple[date, date] | None, lang: str,
                    actor: str, fund_name: str, *, today: date | None = None,
                    font: FontSetup | None = None) -> tuple[Statement, bytes]:
    """Issue a statement and return its register row and PDF bytes (see the module doc)."""
    if isinstance(period, tuple):
        period = Period(*period)
    buffer = io.BytesIO()
    issued = issue_statement_to(session, kind, scope, period, lang, actor, fund_name, buffer, today=today, font=font)
    return issued.statement, buffer.getvalue()


# -- verification ---------------------------------------------------------------------------


def claimed_numbers(data: bytes) -> list[str]:
    """Statement numbers a PDF carries: in its metadata (plain bytes in our files), else
    in its metadata or first page's text as a PDF reader sees them."""
    found = [m.group(0).decode("ascii") for m in _NUMBER_BYTES_RE.finditer(data)]
    if not found and data.lstrip()[:5] == b"%PDF-":
        found = _numbers_via_reader(data)
    return list(dict.fromkeys(found))


def _numbers_via_reader(data: bytes) -> list[str]:
    try:
        from pypdf import PdfReader
    except ImportError:  # pypdf is a dev dependency; raw bytes cover our own files
        return []
    import warnings

    texts: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            texts += [str(v) for v in (reader.metadata or {}).values()]
            if reader.pages:
                texts.append(reader.pages[0].extract_text() or "")
    except Exception:  # noqa: BLE001 - a damaged or foreign file simply yields nothing
        return []
    return [m.group(0) for text in texts for m in NUMBER_RE.finditer(text)]


def verify_pdf(session: Session, data: bytes) -> Verification:
    """Is ``data`` a statement this ledger issued, unaltered, and which one?"""
    digest = hashlib.sha256(data).hexdigest()
    row = session.scalar(select(Statement).where(Statement.sha256 == digest))
    if row is not None:
        return Verification(True, False, row, "authentic",
                            f"The file is statement {row.number} exactly as issued on {local_text(row.issued_at)}.")
    numbers = claimed_numbers(data)
    for number in numbers:
        row = session.scalar(select(Statement).where(Statement.number == number))
        if row is not None:
            return Verification(False, True, row, "altered",
                                f"The file carries number {number}, but its bytes differ from the statement issued "
                                f"under that number (SHA-256 {digest}, issued {row.sha256}).")
    if numbers:
        return Verification(False, False, None, "not_issued_here",
                            f"The file carries number {numbers[0]}, which this ledger never issued.")
    return Verification(False, False, None, "not_issued_here", "The file is not a statement issued by this ledger.")


def statement_dict(row: Statement) -> dict[str, Any]:
    period = Period(row.period_from, row.period_to) if row.period_from and row.period_to else None
    ascii_name, local_name = filenames(row.kind, row.scope, period, row.language, row.number)
    return {
        "number": row.number,
        "kind": row.kind,
        "scope": row.scope,
        "period_from": row.period_from,
        "period_to": row.period_to,
        "language": row.language,
        "sha256": row.sha256,
        "state_sha256": row.state_sha256,
        "audit_seq": row.audit_seq,
        "audit_hash": row.audit_hash,
        "filename": row.filename,
        "display_filename": local_name,
        "size": row.size,
        "issued_by": row.issued_by,
        "issued_at": _aware(row.issued_at),
    }


__all__ = [
    "KINDS",
    "LANGS",
    "NUMBER_RE",
    "PREFIXES",
    "Issued",
    "LedgerInconsistent",
    "Period",
    "Prepared",
    "Verification",
    "bank_statement_data",
    "claim_statement_data",
    "claimed_numbers",
    "filenames",
    "issue_statement",
    "issue_statement_to",
    "next_number",
    "parse_period",
    "prepare",
    "render_prepared",
    "render_statement",
    "state_hash",
    "statement_dict",
    "subfund_statement_data",
    "verify_pdf",
]
