"""Claims: submission, amendment, review, withdrawal and their state machine (SPEC §4).

Every transition is a conditional UPDATE on the claim's status, so of two concurrent
requests moving the same claim only one finds it in the expected state; the other
gets ``InvalidTransition`` naming the state it found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session, defaultload, joinedload, undefer
from sqlalchemy.orm.attributes import set_committed_value

import rules
from rules import ClaimFacts, Decision, Step
from rules.money import format_amount, parse_amount

from . import audit, dossiers, events, journal, schemes
from .errors import FourEyesViolation, InvalidTransition, NotFound, ValidationFailed
from .loans.events import record_event
from .loans.listing import get_loan_for
from .models import (
    OPEN_CLAIM_STATUSES,
    Bank,
    Claim,
    ClaimEvent,
    ClaimPayerLine,
    Enterprise,
    Loan,
    RuleVersion,
    Scheme,
    User,
)
from .models.base import utcnow

_claims = Claim.__table__
_loans = Loan.__table__
#: A claim's and a loan's conditional state change: only a row in one of ``allowed``
#: changes; the columns set are the other keys of the parameters (one compiled form per
#: set of keys). Built once: building and keying an UPDATE anew per call cost more CPU
#: than running it.
_CLAIM_TRANSITION = update(_claims).where(_claims.c.id == bindparam("claim_id"),
                                          _claims.c.status.in_(bindparam("allowed", expanding=True)))
_LOAN_TRANSITION = update(_loans).where(_loans.c.id == bindparam("loan_id"),
                                        _loans.c.status.in_(bindparam("allowed", expanding=True)))

#: Loan statuses from which a claim may be filed (the default may be reported with the claim).
CLAIMABLE_LOAN_STATUSES = ("active", "defaulted")


#: A claim with everything its answer and its transitions read, in one statement: the
#: loan, enterprise, rule version and bank (joined by the model), the payer lines with
#: their reservations, the history and the reviewer's and approver's names. Built once.
#: Not the rule document (ledger.schemes.ruleset_of keys its cache by the version's
#: hash and reads it on a miss only), nor the loan's registration and the enterprise's
#: categories, which no claim answer or transition reads: JSON decoded on every row.
_CLAIM = select(Claim).where(Claim.id == bindparam("claim_id")).options(
    joinedload(Claim.payer_lines).joinedload(ClaimPayerLine.reservation),
    joinedload(Claim.history), undefer(Claim.reviewer_name), undefer(Claim.approver_name),
    defaultload(Claim.loan).defer(Loan.registration),
    defaultload(Claim.loan).defaultload(Loan.enterprise).defer(Enterprise.categories),
    defaultload(Claim.loan).defaultload(Loan.rule_version).defer(RuleVersion.document))
_FRESH_CLAIM = _CLAIM.execution_options(populate_existing=True)
#: For approval and payment: also the accounts each payer line moves (one many-to-one
#: each: a row per line and history entry), and the closed periods of the payers and the
#: bank (a payment's date may not fall in one).
_FRESH_CLAIM_AND_ACCOUNTS = _FRESH_CLAIM.options(
    *(defaultload(Claim.payer_lines).joinedload(account) for account in (
        ClaimPayerLine.available_account, ClaimPayerLine.reserved_account, ClaimPayerLine.paid_account)),
    defaultload(Claim.payer_lines).undefer(ClaimPayerLine.closed_until),
    defaultload(Claim.bank).undefer(Bank.closed_until))
#: The row lock alone. A locking SELECT that also joined the lines would, after waiting
#: for a concurrent transition, see the claim's new row but the lines as they were before
#: it (READ COMMITTED re-reads only the locked row): so lock first, then read everything.
_LOCK_CLAIM = select(Claim.id).where(Claim.id == bindparam("claim_id")).with_for_update()
#: An approval's locks in one statement, in the order they were always taken: the
#: claim, then its bank and its enterprise, whose caps approvals share (NO KEY UPDATE:
#: see ledger.approvals.lock_caps).
_LOCK_FOR_APPROVAL = (
    select(Claim.id)
    .join(Loan, Loan.id == Claim.loan_id).join(Bank, Bank.id == Claim.bank_id)
    .join(Enterprise, Enterprise.id == Loan.enterprise_id)
    .where(Claim.id == bindparam("claim_id"))
    .with_for_update(of=[Claim, Bank, Enterprise], key_share=True)
)
#: session.info key: claims whose approval locks (ledger.approvals.lock_caps) are held.
CAPS_LOCKED = "claims_caps_locked"


def get_claim(session: Session, claim_id: int, *, bank_id: int | None = None, lock: bool = False,
              for_approval: bool = False, accounts: bool = False) -> Claim:
    """The claim, or 404 — also when it belongs to another bank (never confirm it exists).

    ``lock`` takes the row lock before anything is decided from the claim's state:
    a withdrawal deciding whether to release reservations must not read "reviewed"
    while a concurrent approval is turning it into "approved". ``for_approval`` takes
    the approval's bank and enterprise locks with it. SQLite's writer lock (BEGIN
    IMMEDIATE) already serialises every writer: nothing to lock there. ``accounts``
    (with ``lock``) loads each payer line's accounts with it, for approval and payment.
    """
    if lock and session.get_bind().dialect.name != "sqlite":
        if session.execute(_LOCK_FOR_APPROVAL if for_approval else _LOCK_CLAIM,
                           {"claim_id": claim_id}).first() is not None and for_approval:
            session.info.setdefault(CAPS_LOCKED, set()).add(claim_id)
    query = (_FRESH_CLAIM_AND_ACCOUNTS if accounts else _FRESH_CLAIM) if lock else _CLAIM
    claim = session.execute(query, {"claim_id": claim_id}).unique().scalar_one_or_none()
    if claim is None or (bank_id is not None and claim.bank_id != bank_id):
        raise NotFound(f"No claim {claim_id}.", code="claim_not_found")
    return claim


def check_state(claim: Claim, *, allowed_from: Iterable[str], action: str) -> None:
    """Refuse ``action`` unless the (locked) claim is in one of ``allowed_from``."""
    if claim.status not in tuple(allowed_from):
        raise InvalidTransition(
            f"Claim {claim.id} is {claim.status}: '{action}' is not possible in that state.",
            extra={"current_status": claim.status},
        )


def transition(
    session: Session,
    claim: Claim,
    *,
    allowed_from: Iterable[str],
    to: str,
    action: str,
    actor: str,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    """Move ``claim`` to ``to`` if it is in one of ``allowed_from``; record history and audit."""
    before = claim.status
    changes = {"status": to, "updated_at": utcnow(), **(values or {})}
    result = session.execute(_CLAIM_TRANSITION, {"claim_id": claim.id, "allowed": list(allowed_from), **changes})
    if result.rowcount != 1:
        session.refresh(claim)
        raise InvalidTransition(
            f"Claim {claim.id} is {claim.status}: '{action}' is not possible in that state.",
            extra={"current_status": claim.status},
        )
    # The row now holds what we wrote: mirror it on the object instead of re-reading.
    for key, value in changes.items():
        set_committed_value(claim, key, value)
    for key in ("reviewer", "approver"):
        if f"{key}_id" in changes:  # the name read with the claim was the previous user's
            set_committed_value(claim, f"{key}_name", None)
    add_event(session, claim, action=action, from_status=before, to_status=to, actor=actor, comment=comment,
              data=data)
    session.flush()
    audit.record(session, actor=actor, action=f"claim.{action}", entity_type="claim", entity_id=claim.id,
                 before={"status": before}, after={"status": to, **({"comment": comment} if comment else {}),
                                                   **(data or {})})


def keep_loaded(claim: Claim, key: str, row: object) -> None:
    """Append a row just added to the claim's loaded ``history``/``recoveries``/``clawbacks``
    list, so that the answer shows it without reading the list again."""
    if key in claim.__dict__:
        set_committed_value(claim, key, [*claim.__dict__[key], row])


def add_event(session: Session, claim: Claim, **values: Any) -> ClaimEvent:
    """One more entry in the claim's history (append-only)."""
    event = ClaimEvent(claim_id=claim.id, **values)
    session.add(event)
    keep_loaded(claim, "history", event)
    return event


def set_loan_status(session: Session, loan: Loan, *, allowed_from: Iterable[str], to: str,
                     values: dict[str, Any] | None = None) -> None:
    changes = {"status": to, **(values or {})}
    result = session.execute(_LOAN_TRANSITION, {"loan_id": loan.id, "allowed": list(allowed_from), **changes})
    if result.rowcount != 1:
        session.refresh(loan)
        raise InvalidTransition(f"Loan {loan.id} is {loan.status}.", code="loan_state_changed",
                                extra={"current_status": loan.status})
    for key, value in changes.items():
        set_committed_value(loan, key, value)


# -- computing -------------------------------------------------------------------------


def enterprise_compensated(session: Session, loan: Loan, *, exclude_claim: int | None = None) -> int:
    """Approved or paid compensation of the loan's enterprise in its scheme (per_enterprise_cap)."""
    query = enterprise_compensated_query(loan.enterprise_id, loan.scheme_id, exclude_claim=exclude_claim)
    return int(session.scalar(query) or 0)


def enterprise_compensated_query(enterprise_id: Any, scheme_id: Any, *, exclude_claim: Any = None) -> Select:  # type: ignore[type-arg]
    """:func:`enterprise_compensated` as a query; the ids may be values or bound parameters."""
    query = (
        select(func.coalesce(func.sum(Claim.approved_amount), 0))
        .join(Loan, Loan.id == Claim.loan_id)
        .where(Loan.enterprise_id == enterprise_id, Claim.scheme_id == scheme_id,
               Claim.status.in_(("approved", "paid")))
    )
    if exclude_claim is not None:
        query = query.where(Claim.id != exclude_claim)
    return query


def decide(session: Session, loan: Loan, outstanding_principal: int, *, exclude_claim: int | None = None) -> Decision:
    ruleset = schemes.ruleset_of(loan.rule_version)
    facts = ClaimFacts(region=loan.region, categories=frozenset(loan.categories), loan_principal=loan.principal,
                       outstanding_principal=outstanding_principal)
    return rules.compute(ruleset, facts, subfund_exists=schemes.subfund_exists_in(session),
                         enterprise_compensated=enterprise_compensated(session, loan, exclude_claim=exclude_claim))


def store_decision(session: Session, claim: Claim, decision: Decision) -> None:
    """Write the decision's figures, steps and payer lines onto the claim."""
    values = {"ratio": decision.ratio_text, "ratio_exact": f"{decision.ratio.numerator}/{decision.ratio.denominator}",
              "eligible_loss": decision.eligible_loss,
              "decision": {"steps": [step.to_dict() for step in decision.steps],
                           "payers": [line.to_dict() for line in decision.payers]}}
    # Only what differs: an approval without caps or repair changes nothing here, and a
    # flush of the claim would expire what was read with it (the names).
    for key, value in values.items():
        if key not in claim.__dict__ or claim.__dict__[key] != value:
            setattr(claim, key, value)
    current = claim.payer_lines
    if [line.subfund_code for line in current] == [p.subfund for p in decision.payers]:
        for line, payer in zip(current, decision.payers, strict=True):
            if line.amount != payer.amount:
                line.amount = payer.amount
    else:
        current.clear()
        session.flush()  # delete the old lines before their positions are reused
        claim.payer_lines = [
            ClaimPayerLine(position=i, subfund_code=p.subfund, share=format(p.share, "f"), amount=p.amount)
            for i, p in enumerate(decision.payers)
        ]
    session.flush()


def stored_decision(claim: Claim) -> Decision:
    """The claim's decision rebuilt from what was stored (for approval-time limits)."""
    payers = tuple(
        rules.PayerLine(subfund=p["subfund"], share=Decimal(p["share"]), amount=parse_amount(p["amount"]),
                        template=p["template"], fallback_used=bool(p["fallback_used"]))
        for p in claim.decision["payers"]
    )
    num, den = claim.ratio_exact.split("/")
    return Decision(Fraction(int(num), int(den)), claim.eligible_loss, sum(p.amount for p in payers), payers,
                    [Step.from_dict(s) for s in claim.decision["steps"]])


def stored_payer_lines(claim: Claim) -> list[dict[str, Any]]:
    """The decision's payer entry (template, fallback_used, …) of each payer line, in order.

    Paired by position, never by sub-fund code: one sub-fund may pay several lines
    (GD-PROV its own share and, as the fallback, the city's), each with its own label.
    """
    stored = claim.decision.get("payers", [])
    lines = sorted(claim.payer_lines, key=lambda line: line.position)
    if len(stored) == len(lines) and all(p["subfund"] == line.subfund_code for p, line in zip(stored, lines)):
        return list(stored)
    # Lines that no longer follow the stored decision (a repair re-split): no labels.
    return [{} for _ in lines]


def decide_by(loan: Loan, submitted_on: date) -> date | None:
    """The SLA clock (SPEC §4a): (re)submission date + the rules' ``decision_days``."""
    days = schemes.ruleset_of(loan.rule_version).claims.decision_days
    return None if days is None else submitted_on + timedelta(days=days)


# -- bank side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimInput:
    loan_id: int
    default_on: date
    outstanding_principal: int


def _violations(session: Session, loan: Loan, data: ClaimInput, today: date, *, claim_id: int | None) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def add(code: str, field: str, message: str) -> None:
        problems.append({"code": code, "field": field, "message": message})

    open_claim = session.scalar(
        select(Claim.id).where(Claim.loan_id == loan.id, Claim.status.in_(OPEN_CLAIM_STATUSES),
                               *([Claim.id != claim_id] if claim_id else []))
    )
    if open_claim is not None:
        add("duplicate_claim", "loan_id", f"Loan {loan.id} already has claim {open_claim}.")
    elif claim_id is None and loan.status not in CLAIMABLE_LOAN_STATUSES:
        add("loan_not_active", "loan_id", f"Loan {loan.id} is {loan.status}; only an active or defaulted loan can be claimed.")
    if loan.default_on is not None and loan.default_on != data.default_on:
        add("default_date_mismatch", "default_on",
            f"The loan's default was reported on {loan.default_on.isoformat()}, not {data.default_on.isoformat()}.")
    if data.default_on < loan.disbursed_on:
        add("default_before_disbursement", "default_on", f"The loan was disbursed on {loan.disbursed_on.isoformat()}.")
    if data.outstanding_principal > loan.outstanding:
        add("outstanding_above_loan", "outstanding_principal",
            f"The loan's recorded outstanding principal is {format_amount(loan.outstanding)}.")
    if data.outstanding_principal == 0:
        add("nothing_outstanding", "outstanding_principal", "There is no outstanding principal to compensate.")
    ruleset = schemes.ruleset_of(loan.rule_version)
    for v in rules.claim_timing_violations(ruleset, default_on=data.default_on, claim_on=today):
        add(v.code, v.field, v.message)
    return problems


def _refuse(problems: list[dict[str, str]]) -> ValidationFailed:
    errors: dict[str, list[str]] = {}
    for p in problems:
        errors.setdefault(p["field"], []).append(p["message"])
    codes = ", ".join(p["code"] for p in problems)
    return ValidationFailed(f"The claim cannot be accepted: {codes}.", code="claim_refused", errors=errors,
                            details=problems)


def submit_claim(session: Session, data: ClaimInput, *, bank_id: int, actor: str, today: date) -> Claim:
    """File a loss claim. Every failed check is reported at once (422 ``claim_refused``)."""
    loan = get_loan_for(session, data.loan_id, bank_id, for_update=True)
    problems = _violations(session, loan, data, today, claim_id=None)
    decision = None
    if not problems:
        decision = decide(session, loan, data.outstanding_principal)
        if decision.compensation == 0:
            problems.append({"code": "nothing_to_compensate", "field": "loan_id",
                             "message": "The rules give no compensation (the enterprise's cap may be used up)."})
    if problems:
        raise _refuse(problems)
    assert decision is not None
    if loan.status == "active":
        # The claim is the bank's report of the default: record it as the loan event it
        # is (a default event, its loan.default audit entry, the outstanding at default),
        # exactly as POST /loans/{id}/events would.
        try:
            record_event(session, loan.id, bank_id=bank_id, type="default", on=data.default_on,
                         amount=data.outstanding_principal, today=today, actor=actor)
        except ValidationFailed as exc:
            # The event's "on" is the claim's default_on (e.g. a period the bank's
            # statement closed): name the claim's field.
            messages = [m for ms in (exc.errors or {}).values() for m in ms] or [exc.message]
            raise _refuse([{"code": exc.code, "field": "default_on", "message": m} for m in messages]) from None
    set_loan_status(session, loan, allowed_from=CLAIMABLE_LOAN_STATUSES, to="claimed",
                     values={"default_on": data.default_on})
    claim = Claim(
        loan_id=loan.id, bank_id=bank_id, scheme_id=loan.scheme_id, rule_version_id=loan.rule_version_id,
        region=loan.region, status="submitted", default_on=data.default_on,
        outstanding_principal=data.outstanding_principal, claimed_on=today, decide_by=decide_by(loan, today),
        compensation=decision.compensation, ratio="", ratio_exact="", eligible_loss=0, decision={},
    )
    session.add(claim)
    store_decision(session, claim, decision)
    add_event(session, claim, action="submit", from_status=None, to_status="submitted", actor=actor)
    session.flush()
    audit.record(session, actor=actor, action="claim.submit", entity_type="claim", entity_id=claim.id,
                 after={"loan_id": loan.id, "default_on": data.default_on,
                        "outstanding_principal": format_amount(data.outstanding_principal),
                        "compensation": format_amount(decision.compensation), "ratio": decision.ratio_text})
    events.claim_event(session, claim, "claim.submitted")
    return claim


def amend_claim(session: Session, claim: Claim, data: ClaimInput, *, actor: str, today: date) -> Claim:
    """Resubmit a claim the reviewer returned, with corrected figures; recomputed afresh."""
    if claim.status != "returned":
        raise InvalidTransition(f"Claim {claim.id} is {claim.status}; only a returned claim can be amended.",
                                extra={"current_status": claim.status})
    loan = get_loan_for(session, claim.loan_id, claim.bank_id, for_update=True)
    problems = _violations(session, loan, data, today, claim_id=claim.id)
    decision = decide(session, loan, data.outstanding_principal, exclude_claim=claim.id) if not problems else None
    if decision is not None and decision.compensation == 0:
        problems.append({"code": "nothing_to_compensate", "field": "loan_id",
                         "message": "The rules give no compensation (the enterprise's cap may be used up)."})
    if problems:
        raise _refuse(problems)
    assert decision is not None
    transition(session, claim, allowed_from=["returned"], to="submitted", action="resubmit", actor=actor,
               values={"default_on": data.default_on, "outstanding_principal": data.outstanding_principal,
                       "claimed_on": today, "decide_by": decide_by(loan, today), "compensation": decision.compensation,
                       "review_recommendation": None, "review_comment": None, "reviewer_id": None,
                       "reviewed_at": None},
               data={"outstanding_principal": format_amount(data.outstanding_principal),
                     "compensation": format_amount(decision.compensation)})
    store_decision(session, claim, decision)
    if loan.default_on != data.default_on:
        loan.default_on = data.default_on
        session.flush()
    events.claim_event(session, claim, "claim.resubmitted")
    return claim


def release_claim_reservations(session: Session, claim: Claim, *, actor: str, today: date, memo: str) -> None:
    """Release the pending reservations of an approved claim that will not be paid."""
    for line in claim.payer_lines:
        if line.reservation_id is None:
            continue
        reservation = line.reservation
        if reservation is not None and reservation.status == "pending":
            journal.release_reservation(session, reservation, effective_on=today, memo=memo, actor=actor)


def withdraw_claim(session: Session, claim: Claim, *, reason: str, actor: str, today: date) -> Claim:
    """The bank withdraws its claim; an approved claim's reservations are released."""
    was_approved = claim.status == "approved"
    transition(session, claim, allowed_from=["submitted", "returned", "reviewed", "approved"], to="withdrawn",
               action="withdraw", actor=actor, comment=reason)
    if was_approved:
        release_claim_reservations(session, claim, actor=actor, today=today, memo=f"Claim {claim.id} withdrawn")
    set_loan_status(session, claim.loan, allowed_from=["claimed"], to="defaulted")
    events.claim_event(session, claim, "claim.withdrawn", reason=reason)
    return claim


# -- bureau: review ------------------------------------------------------------------------


def review_claim(session: Session, claim: Claim, *, reviewer: User, recommendation: str, comment: str) -> Claim:
    """Recommend approve or reject, or return the claim to the bank for information."""
    if recommendation == "return":
        transition(session, claim, allowed_from=["submitted"], to="returned", action="return", actor=reviewer.name,
                   comment=comment, values={"return_reason": comment, "reviewer_id": reviewer.id,
                                            "reviewed_at": utcnow()})
        events.claim_event(session, claim, "claim.returned", reason=comment)
        return claim
    if recommendation == "approve":
        dossiers.check_complete(session, claim)
    transition(session, claim, allowed_from=["submitted"], to="reviewed", action="review", actor=reviewer.name,
               comment=comment, data={"recommendation": recommendation},
               values={"review_recommendation": recommendation, "review_comment": comment,
                       "reviewer_id": reviewer.id, "reviewed_at": utcnow()})
    events.claim_event(session, claim, "claim.reviewed")
    return claim


def check_four_eyes(claim: Claim, user: User) -> None:
    if claim.reviewer_id is not None and claim.reviewer_id == user.id:
        raise FourEyesViolation(
            f"{user.name} reviewed claim {claim.id}; another approver must decide it (four eyes).")


# -- the queue -----------------------------------------------------------------------------


#: Claims waiting for the bureau: the SLA clock runs (a returned claim is with the bank;
#: its resubmission restarts the clock).
AWAITING_DECISION = ("submitted", "reviewed")


def is_overdue(claim: Claim, today: date) -> bool:
    """Undecided after its ``decide_by`` (SPEC §4a SLA clock)."""
    return claim.decide_by is not None and claim.status in AWAITING_DECISION and today > claim.decide_by


#: Queue orders: by submission (oldest first, or newest with ``-``) or by the SLA clock
#: (earliest ``decide_by`` first; claims without a clock last).
QUEUE_SORTS = ("submitted_at", "-submitted_at", "decide_by", "-decide_by")


def queue_query(*, today: date, bank_id: int | None = None, status: str | None = None, bank: str | None = None,
                scheme: str | None = None, region: str | None = None, min_age_days: int | None = None,
                max_age_days: int | None = None, newest_first: bool = False, overdue: bool | None = None,
                decide_by_before: date | None = None, sort: str | None = None) -> Select[tuple[Claim]]:
    """Claims filtered as the bureau's queue filters them, in submission order.

    ``bank_id`` restricts to one bank's claims (a bank's own view); ``region`` is a code
    or a prefix (``44`` province, ``4407`` city); ages count days since (re)submission.
    ``overdue`` keeps claims awaiting a decision past their ``decide_by`` (True) or the
    others (False); ``decide_by_before`` those due on or before that date.
    """
    stmt = select(Claim)
    if bank_id is not None:
        stmt = stmt.where(Claim.bank_id == bank_id)
    if status:
        stmt = stmt.where(Claim.status == status)
    if bank:
        stmt = stmt.join(Bank, Bank.id == Claim.bank_id).where(Bank.code == bank)
    if scheme:
        stmt = stmt.join(Scheme, Scheme.id == Claim.scheme_id).where(Scheme.code == scheme)
    if region:
        stmt = stmt.where(Claim.region.startswith(region))
    if min_age_days is not None:
        stmt = stmt.where(Claim.claimed_on <= today - timedelta(days=min_age_days))
    if max_age_days is not None:
        stmt = stmt.where(Claim.claimed_on >= today - timedelta(days=max_age_days))
    late = (Claim.status.in_(AWAITING_DECISION)) & (Claim.decide_by < today)
    if overdue is True:
        stmt = stmt.where(late)
    elif overdue is False:
        stmt = stmt.where(~late | Claim.decide_by.is_(None))
    if decide_by_before is not None:
        stmt = stmt.where(Claim.decide_by <= decide_by_before)
    sort = sort or ("-submitted_at" if newest_first else "submitted_at")
    if sort.endswith("decide_by"):
        column = Claim.decide_by.desc() if sort.startswith("-") else Claim.decide_by.asc()
        # NULLs (no clock) last on both databases, whatever their default NULL order.
        return stmt.order_by(Claim.decide_by.is_(None), column, Claim.submitted_at, Claim.id)
    return stmt.order_by(Claim.submitted_at.desc() if sort.startswith("-") else Claim.submitted_at, Claim.id)
