"""The bureau's decisions: approve (with caps, repairs and reservations), reject, pay.

Approval applies the limits that depend on history (SPEC §3.1 step 5): what is left of
the enterprise's cap, of the bank's annual cap and of its portfolio cap on the loan's
vintage (:mod:`ledger.portfolio`). Those are read-then-write, so the
bank's row and the enterprise's row are locked first (``SELECT … FOR UPDATE``; SQLite
serialises writers anyway), always in that order, so two approvals racing for the
last part of a cap queue instead of both taking it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, bindparam, extract, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import rules
from rules.money import format_amount

from . import audit, clock, events, journal, movement_dates, schemes
from .accounts import debt_code
from .claims import (
    CAPS_LOCKED,
    check_four_eyes,
    check_state,
    enterprise_compensated_query,
    release_claim_reservations,
    set_loan_status,
    store_decision,
    stored_decision,
    transition,
)
from .errors import InsufficientFunds, InvalidTransition, ValidationFailed
from .loans.book import bank_figure_queries
from .loans.npl import ratio_of
from .models import Account, Bank, Claim, ClaimPayerLine, Enterprise, Reservation, User
from .models.base import utcnow
from .portfolio import apply_portfolio_cap
from .subfunds import subfund_accounts


def _bank_annual_query(bank_id: Any, scheme_id: Any, claim_id: Any, year: Any) -> Select:  # type: ignore[type-arg]
    """Compensation approved for a bank in a scheme in ``year``, other claims than
    ``claim_id``; the values may be bound parameters."""
    return select(func.coalesce(func.sum(Claim.approved_amount), 0)).where(
        Claim.bank_id == bank_id, Claim.scheme_id == scheme_id, Claim.id != claim_id,
        Claim.status.in_(("approved", "paid")), extract("year", Claim.approved_on) == year,
    )


def bank_annual_approved(session: Session, claim: Claim, year: int) -> int:
    """Compensation approved for the claim's bank in its scheme in ``year`` (other claims)."""
    return int(session.scalar(_bank_annual_query(claim.bank_id, claim.scheme_id, claim.id, year)) or 0)


@dataclass(frozen=True)
class _Figures:
    """What an approval decides by, from other claims and the bank's loan book."""

    #: The bank's NPL ratio in the scheme (0 when not asked for).
    npl_ratio: Fraction
    #: What the enterprise's and the bank's annual cap have used (other claims).
    enterprise_used: int
    bank_used: int


@functools.cache
def _figures_query(npl: bool, enterprise: bool, bank: bool) -> tuple[tuple[str, ...], Select | None]:  # type: ignore[type-arg]
    """The figures asked for as one query of scalar sub-queries, with their names; built
    once per combination with the claim's values as parameters: building and keying the
    statement anew cost more CPU than running it."""
    bank_id, scheme_id, claim_id = bindparam("bank_id"), bindparam("scheme_id"), bindparam("claim_id")
    parts = {}
    if npl:
        parts["bad"], parts["outstanding"] = bank_figure_queries(bank_id, scheme_id)
    if enterprise:
        parts["enterprise"] = enterprise_compensated_query(
            bindparam("enterprise_id"), scheme_id, exclude_claim=claim_id).scalar_subquery()
    if bank:
        parts["bank"] = _bank_annual_query(bank_id, scheme_id, claim_id, bindparam("year")).scalar_subquery()
    return tuple(parts), (select(*parts.values()) if parts else None)


def _approval_figures(session: Session, claim: Claim, year: int, *, npl: bool, enterprise: bool,
                      bank: bool) -> _Figures:
    """The figures asked for, read in one query (every part is a scalar sub-query)."""
    names, query = _figures_query(npl, enterprise, bank)
    row: dict[str, int] = {}
    if query is not None:
        values = session.execute(query, {"bank_id": claim.bank_id, "scheme_id": claim.scheme_id, "claim_id": claim.id,
                                         "enterprise_id": claim.loan.enterprise_id, "year": year}).one()
        row = dict(zip(names, values, strict=True))
    return _Figures(npl_ratio=ratio_of(int(row.get("bad") or 0), int(row.get("outstanding") or 0)),
                    enterprise_used=int(row.get("enterprise") or 0), bank_used=int(row.get("bank") or 0))


def lock_caps(session: Session, claim: Claim) -> None:
    """Serialise approvals that share the bank's or the enterprise's caps.

    NO KEY UPDATE: serialises approvals like FOR UPDATE, but does not block the KEY
    SHARE locks that rows referencing the bank (events, payments) take, which would
    otherwise deadlock with a payment holding the sub-fund accounts. Both rows in one
    statement, bank first, as always; nothing when ``get_claim(for_approval=True)``
    took them with the claim. SQLite's writer lock (BEGIN IMMEDIATE) already
    serialises every writer: nothing to send there.
    """
    if session.get_bind().dialect.name == "sqlite" or claim.id in session.info.get(CAPS_LOCKED, ()):
        return
    session.execute(_LOCK_CAPS, {"bank_id": claim.bank_id, "enterprise_id": claim.loan.enterprise_id})


_LOCK_CAPS = (
    select(Bank.id, Enterprise.id)
    .join_from(Bank, Enterprise, true())  # two rows by their keys, not a product of tables
    .where(Bank.id == bindparam("bank_id"), Enterprise.id == bindparam("enterprise_id"))
    .with_for_update(of=[Bank, Enterprise], key_share=True)
)


def _check_suspension(ruleset: rules.RuleSet, ratio: Fraction) -> None:
    threshold = ruleset.pool.npl_suspend_compensation
    if threshold is not None and ratio > threshold:
        raise InvalidTransition(
            f"The bank's NPL ratio in this scheme is {rules.money.ratio_text(ratio)}, above "
            f"npl_suspend_compensation {threshold}: its claims cannot be approved now.",
            code="bank_compensation_suspended",
            extra={"npl_ratio": rules.money.ratio_text(ratio), "threshold": str(threshold)},
        )


def approve_claim(session: Session, claim: Claim, *, approver: User, today: date, amount: int | None = None,
                  reason: str | None = None) -> Claim:
    """Approve a reviewed claim and reserve every payer's line — all lines or none."""
    check_four_eyes(claim, approver)
    # The claim row is locked (loaded for update): its state decides before any lock or
    # sum is taken; the conditional UPDATE in ``transition`` still guards the change.
    check_state(claim, allowed_from=["reviewed"], action="approve")
    lock_caps(session, claim)
    ruleset = schemes.ruleset_of(claim.loan.rule_version)
    caps = ruleset.claims
    figures = _approval_figures(session, claim, today.year, npl=ruleset.pool.npl_suspend_compensation is not None,
                                enterprise=caps.per_enterprise_cap is not None,
                                bank=caps.per_bank_annual_cap is not None)
    _check_suspension(ruleset, figures.npl_ratio)

    decision = stored_decision(claim)
    if caps.per_enterprise_cap is not None:
        decision = rules.limit_to(decision, max(0, caps.per_enterprise_cap - figures.enterprise_used),
                                  "per_enterprise_cap")
    if caps.per_bank_annual_cap is not None:
        decision = rules.limit_to(decision, max(0, caps.per_bank_annual_cap - figures.bank_used),
                                  "per_bank_annual_cap")
    decision = apply_portfolio_cap(session, claim, decision, ruleset)
    if decision.compensation == 0:
        raise InvalidTransition("Nothing is left of the caps for this claim: approve nothing, reject it instead.",
                                code="cap_exhausted")
    if amount is not None and amount != decision.compensation:
        if amount > decision.compensation:
            raise ValidationFailed(
                f"The computed compensation after caps is {format_amount(decision.compensation)}; "
                "an approver may approve less, never more.",
                code="amount_above_computed", errors={"amount": [f"at most {format_amount(decision.compensation)}"]})
        if not (reason or "").strip():
            raise ValidationFailed("Approving less than computed is a repair and needs a reason.",
                                   code="repair_reason_required", errors={"reason": ["required for a repair"]})
        decision = rules.repair(decision, amount, reason.strip())  # type: ignore[union-attr]

    store_decision(session, claim, decision)
    transition(session, claim, allowed_from=["reviewed"], to="approved", action="approve", actor=approver.name,
               comment=reason,
               values={"approver_id": approver.id, "approved_at": utcnow(), "approved_on": today,
                       "decision_reason": reason, "approved_amount": decision.compensation})
    lines = sorted((line for line in claim.payer_lines if line.amount), key=lambda line: line.subfund_code)
    accounts = _accounts_of(lines)
    for line in lines:
        if (line.subfund_code, "available") not in accounts:
            raise InvalidTransition(f"Payer sub-fund {line.subfund_code} does not exist.",
                                    code="payer_subfund_missing", extra={"subfund": line.subfund_code})
    def link(reservations: list[Reservation]) -> None:
        for line, reservation in zip(lines, reservations, strict=True):
            line.reservation = reservation

    # All lines in one journal transaction: every payer's money is held, or none.
    try:
        journal.reserve_all(
            session,
            [(accounts[line.subfund_code, "available"], accounts[line.subfund_code, "reserved"], line.amount)
             for line in lines],
            effective_on=today, purpose=f"claim {claim.id}", actor=approver.name, before_posting=link,
        )
    except InsufficientFunds as exc:
        line = next(line for line in lines if accounts[line.subfund_code, "available"].code == exc.account)
        raise InsufficientFunds(
            exc.account, exc.shortfall,
            f"Sub-fund {line.subfund_code} lacks {format_amount(exc.shortfall)} yuan to reserve its "
            f"{format_amount(line.amount)} for claim {claim.id}; nothing was reserved.",
        ) from None
    audit.record(session, actor=approver.name, action="claim.reserve", entity_type="claim", entity_id=claim.id,
                 after={"approved_amount": format_amount(decision.compensation),
                        # A list, one entry per line: a sub-fund may pay several lines.
                        "lines": [{"position": line.position, "subfund": line.subfund_code,
                                   "amount": format_amount(line.amount), "reservation": line.reservation_id}
                                  for line in sorted(claim.payer_lines, key=lambda line: line.position)]})
    events.claim_event(session, claim, "claim.approved", reason=reason)
    return claim


def _closed_periods(claim: Claim) -> dict[str, tuple[date, str]] | None:
    """The payers' and the bank's closed periods when they came with the claim
    (``get_claim(accounts=True)``), as ``movement_dates.closed_periods`` answers; else None."""
    loaded = [line.__dict__ for line in claim.payer_lines] + [claim.bank.__dict__]
    if any("closed_until" not in values for values in loaded):
        return None
    rows = [("subfund", line.subfund_code, line.closed_until) for line in claim.payer_lines]
    rows.append(("bank", claim.bank.code, claim.bank.closed_until))
    return movement_dates.latest_closed(row for row in rows if row[2] is not None)


def _accounts_of(lines: list[ClaimPayerLine]) -> dict[tuple[str, str], Account]:
    """The payer lines' sub-fund accounts (loaded with the claim by approval and payment)
    by ``(sub-fund code, purpose)``; a sub-fund that does not exist has none."""
    keyed: dict[tuple[str, str], Account] = {}
    for line in lines:
        for purpose, account in (("available", line.available_account), ("reserved", line.reserved_account),
                                 ("paid", line.paid_account)):
            if account is not None:
                keyed[line.subfund_code, purpose] = account
    return keyed


def reject_claim(session: Session, claim: Claim, *, approver: User, reason: str, today: date) -> Claim:
    """Reject a claim (releasing any reservation); the loan returns to defaulted."""
    check_four_eyes(claim, approver)
    was_approved = claim.status == "approved"
    transition(session, claim, allowed_from=["submitted", "reviewed", "approved"], to="rejected", action="reject",
               actor=approver.name, comment=reason, values={"decision_reason": reason})
    if was_approved:
        release_claim_reservations(session, claim, actor=approver.name, today=today,
                                   memo=f"Claim {claim.id} rejected")
    set_loan_status(session, claim.loan, allowed_from=["claimed"], to="defaulted")
    events.claim_event(session, claim, "claim.rejected", reason=reason)
    return claim


def pay_claim(session: Session, claim: Claim, *, actor: str, payment_reference: str, paid_on: date,
              today: date | None = None) -> Claim:
    """Pay an approved claim: every reservation becomes a payout to the bank.

    What the bank owes a payer after a clawback is kept back from that payer's line
    (an offset) and settles the debt. Paying again with the same reference is a no-op.
    ``paid_on`` is sane (SPEC §1): not after ``today``, not before the approval nor the
    claim's default, not in a period closed for a payer sub-fund or the bank.
    """
    if claim.status == "paid" and claim.payment_reference == payment_reference:
        return claim
    bank = claim.bank
    if claim.status == "approved":
        movement_dates.check(
            session, "paid_on", paid_on, today=today or clock.today(),
            not_before=[(claim.default_on, "the claim's default"), (claim.approved_on, "the approval")],
            subfunds=[line.subfund_code for line in claim.payer_lines],
            banks=[bank.code], closed=_closed_periods(claim))
    transition(session, claim, allowed_from=["approved"], to="paid", action="pay", actor=actor,
               data={"payment_reference": payment_reference, "paid_on": paid_on.isoformat()},
               values={"payment_reference": payment_reference, "paid_on": paid_on})
    lines = sorted((line for line in claim.payer_lines if line.reservation_id is not None),
                   key=lambda line: line.subfund_code)
    accounts = _accounts_of(lines)
    # What the bank owes the payers after clawbacks (absent until one happened).
    debts = {key[1]: account for key, account in subfund_accounts(
        session, (), (), also=[debt_code(bank, line.subfund_code) for line in lines]).items()}
    offsets: dict[str, str] = {}
    extra = []
    for line in lines:
        debt = debts.get(debt_code(bank, line.subfund_code))
        offset = min(line.amount, debt.balance) if debt is not None else 0
        if offset:
            extra += [journal.debit(accounts[line.subfund_code, "available"], offset),
                      journal.credit(debt, offset)]  # type: ignore[arg-type]
            offsets[line.subfund_code] = format_amount(offset)
        line.offset_amount = offset
    kept = "".join(f", {amount} kept from {code} against clawback debt" for code, amount in offsets.items())
    set_loan_status(session, claim.loan, allowed_from=["claimed"], to="compensated")
    # Paid just now: no recovery or clawback can exist yet (the answer need not read them).
    set_committed_value(claim, "recoveries", [])
    set_committed_value(claim, "clawbacks", [])
    session.flush()  # everything else first: the sub-funds' accounts are locked last
    # One payout transaction for all the claim's reservations: all are paid, or none.
    journal.post_reservations(
        session,
        [(line.reservation, accounts[line.subfund_code, "paid"]) for line in lines],  # type: ignore[misc]
        effective_on=paid_on, kind="payout", memo=f"Claim {claim.id} paid to {bank.code}{kept}",
        reference=payment_reference, actor=actor, extra_legs=extra,
    )
    audit.record(session, actor=actor, action="claim.payout", entity_type="claim", entity_id=claim.id,
                 after={"amount": format_amount(claim.approved_amount or 0), "payment_reference": payment_reference,
                        "offsets": offsets})
    events.claim_event(session, claim, "claim.paid", offsets=offsets)
    return claim
