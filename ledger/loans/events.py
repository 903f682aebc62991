"""Loan events reported by the bank: repayment, default, repaid, cancel — each a conditional UPDATE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rules.money import format_amount

from .. import audit, movement_dates
from ..errors import InvalidTransition, ValidationFailed
from ..models import Bank, Claim, Loan, LoanEvent
from .listing import get_loan_for
from .statuses import EVENT_TYPES, TRANSITIONS

_loans = Loan.__table__


def invalid_transition(loan_id: int, status: str, action: str, allowed_from: Sequence[str]) -> InvalidTransition:
    return InvalidTransition(
        f"Loan {loan_id} is {status}: {action} needs a loan that is {' or '.join(allowed_from)}.",
        extra={"current_status": status},
    )


def transition_loan(
    session: Session, loan: Loan, *, allowed_from: Sequence[str], to: str, action: str, guard: Any = None,
    **values: Any,
) -> bool:
    """Move ``loan`` to ``to`` if it is still in one of ``allowed_from`` — a conditional
    UPDATE, so two concurrent requests can never both move it (the loser gets
    ``invalid_transition`` naming the status the winner left). An extra ``guard``
    condition that fails while the status still allows the move returns False."""
    query = update(_loans).where(_loans.c.id == loan.id, _loans.c.status.in_(allowed_from))
    if guard is not None:
        query = query.where(guard)
    result = session.execute(query.values(status=to, **values))
    session.refresh(loan)
    if result.rowcount == 1:
        return True
    if loan.status not in allowed_from:
        raise invalid_transition(loan.id, loan.status, action, allowed_from)
    return False


def _amount_problem(type: str, amount: int, outstanding: int) -> str | None:
    shown = format_amount(outstanding)
    if type == "repayment" and amount > outstanding:
        return f"more than the outstanding principal {shown}"
    if type == "default" and not 0 < amount <= outstanding:
        return f"the outstanding principal at default must be above 0 and at most the recorded {shown}"
    if type == "repaid" and amount != outstanding:
        return f"the final repayment must be the outstanding principal {shown}"
    return None


def _amount_changed(type: str, amount: int | None, outstanding: int) -> ValidationFailed:
    """A guard failed because the outstanding changed under us (a concurrent repayment)."""
    problem = _amount_problem(type, amount or 0, outstanding) or "the outstanding principal changed meanwhile"
    return ValidationFailed("The event is invalid.", code="invalid_event", errors={"amount": [problem]})


def record_event(
    session: Session, loan_id: int, *, bank_id: int | None, type: str, on: date, amount: int | None = None,
    today: date, actor: str,
) -> tuple[Loan, LoanEvent]:
    """Apply a repayment, default, repaid or cancel event reported by the bank.

    * ``repayment`` lowers the outstanding principal (``amount`` required, at most the
      outstanding). Reaching zero does not mark the loan repaid: interest may still be
      due, and closing a loan is the bank's explicit ``repaid`` report.
    * ``default`` records ``default_on`` and makes the loan ``defaulted`` (claims start
      here). An ``amount`` states the outstanding principal at default, for banks that
      did not report every repayment: it may only lower the recorded outstanding.
    * ``repaid`` sets the outstanding to zero and the loan ``repaid`` (an ``amount``, if
      given, must be that outstanding: the final repayment).
    * ``cancel`` withdraws a registration made in error, only while the loan is active
      and has never been claimed.

    The event date is between disbursement and today.
    """
    if type not in TRANSITIONS:
        raise ValidationFailed(f"Unknown event type {type}.", errors={"type": [f"one of {', '.join(EVENT_TYPES)}"]})
    loan = get_loan_for(session, loan_id, bank_id)
    allowed_from, to = TRANSITIONS[type]
    if loan.status not in allowed_from:
        raise invalid_transition(loan.id, loan.status, f"a {type} event", allowed_from)
    errors: dict[str, list[str]] = {}
    if on > today:
        errors["on"] = [f"{on} is after today ({today})"]
    elif on < loan.disbursed_on:
        errors["on"] = [f"{on} is before the disbursement on {loan.disbursed_on}"]
    if type == "repayment" and (amount is None or amount <= 0):
        errors["amount"] = ["a repayment needs an amount greater than zero"]
    elif type == "cancel" and amount is not None:
        errors["amount"] = ["a cancellation carries no amount"]
    elif amount is not None and (problem := _amount_problem(type, amount, loan.outstanding)):
        errors["amount"] = [problem]
    if errors:
        raise ValidationFailed("The event is invalid.", code="invalid_event", errors=errors)
    # SPEC §1: not inside a period closed by an issued statement of the bank (its
    # statement shows outstanding principal and defaults up to the period's end).
    movement_dates.check(session, "on", on, today=today, not_before=[(loan.disbursed_on, "the disbursement")],
                         banks=[session.scalar(select(Bank.code).where(Bank.id == loan.bank_id))])

    before = {"status": loan.status, "outstanding": format_amount(loan.outstanding)}
    if type == "repayment":
        assert amount is not None
        result = session.execute(
            update(_loans)
            .where(_loans.c.id == loan.id, _loans.c.status.in_(allowed_from), _loans.c.outstanding >= amount)
            .values(outstanding=_loans.c.outstanding - amount)
        )
        session.refresh(loan)
        if result.rowcount != 1:
            if loan.status not in allowed_from:
                raise invalid_transition(loan.id, loan.status, "a repayment event", allowed_from)
            raise _amount_changed(type, amount, loan.outstanding)
    elif type == "default":
        values: dict[str, Any] = {"default_on": on}
        guard = None
        if amount is not None:
            values["outstanding"], guard = amount, _loans.c.outstanding >= amount
        if not transition_loan(session, loan, allowed_from=allowed_from, to=to, action="a default event",
                               guard=guard, **values):
            raise _amount_changed(type, amount, loan.outstanding)
    elif type == "repaid":
        guard = None if amount is None else _loans.c.outstanding == amount
        if not transition_loan(session, loan, allowed_from=allowed_from, to=to, action="a repaid event",
                               guard=guard, outstanding=0):
            raise _amount_changed(type, amount, loan.outstanding)
    else:  # cancel: only before any claim
        if session.scalar(select(Claim.id).where(Claim.loan_id == loan.id).limit(1)) is not None:
            raise InvalidTransition(f"Loan {loan.id} has a claim: it can no longer be cancelled.",
                                    extra={"current_status": loan.status})
        transition_loan(session, loan, allowed_from=allowed_from, to=to, action="a cancel event")
    event = LoanEvent(loan_id=loan.id, type=type, on=on, amount=amount, outstanding_after=loan.outstanding,
                      status_after=loan.status, created_by=actor)
    session.add(event)
    session.flush()
    audit.record(session, actor=actor, action=f"loan.{type}", entity_type="loan", entity_id=loan.id,
                 before=before,
                 after={"status": loan.status, "outstanding": format_amount(loan.outstanding), "on": on,
                        "amount": format_amount(amount) if amount is not None else None, "event_id": event.id})
    return loan, event
