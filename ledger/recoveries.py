"""Recoveries after payment, shared back to the payers (SPEC §3.2)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import rules
from rules import RecoveryExceedsLoss
from rules.money import format_amount

from . import audit, events, journal, movement_dates
from .claims import add_event, keep_loaded
from .errors import InvalidTransition, ValidationFailed
from .models import Bank, Claim, Recovery
from .subfunds import get_subfund, subfund_account


def record_recovery(session: Session, claim: Claim, *, amount: int, recovered_on: date, actor: str,
                    today: date) -> Recovery:
    """The bank reports net money recovered; the pool's share goes back to the payers.

    Computed cumulatively (share of all recoveries so far, minus what was already
    returned), so any batching of the same recoveries returns the same total to each.
    """
    # Lock the claim: two recoveries reported at once must see each other's totals.
    session.execute(select(Claim.id).where(Claim.id == claim.id).with_for_update())
    session.refresh(claim)
    if claim.status != "paid":
        raise InvalidTransition(f"Claim {claim.id} is {claim.status}; recoveries are reported on paid claims.",
                                extra={"current_status": claim.status})
    if recovered_on > today:
        raise ValidationFailed("A recovery cannot be dated in the future.", code="recovery_in_future",
                               errors={"recovered_on": [f"after today {today.isoformat()}"]})
    if claim.paid_on and recovered_on < claim.paid_on:
        raise ValidationFailed("Recoveries are those made after payment.", code="recovery_before_payment",
                               errors={"recovered_on": [f"before the payment on {claim.paid_on.isoformat()}"]})
    movement_dates.check(session, "recovered_on", recovered_on, today=today,
                         subfunds=[line.subfund_code for line in claim.payer_lines],
                         banks=[session.get_one(Bank, claim.bank_id).code])
    before = int(session.scalar(select(func.coalesce(func.sum(Recovery.amount), 0))
                                .where(Recovery.claim_id == claim.id)) or 0)
    paid = [(line.subfund_code, line.amount) for line in claim.payer_lines]
    try:
        result = rules.recovery_returns(eligible_loss=claim.eligible_loss, compensation=claim.approved_amount or 0,
                                        paid=paid, recovered_before=before, recovered_now=amount)
    except RecoveryExceedsLoss:
        left = claim.eligible_loss - before
        raise ValidationFailed(
            f"Cumulative recoveries would exceed the eligible loss {format_amount(claim.eligible_loss)}; "
            f"at most {format_amount(max(left, 0))} more can be reported.",
            code="recovery_exceeds_loss", errors={"amount": [f"at most {format_amount(max(left, 0))}"]},
        ) from None
    lines = [{"subfund": code, "amount": format_amount(value)} for code, value in result.lines]
    txn_id = None
    legs = []
    for code, value in result.lines:
        if value:
            subfund = get_subfund(session, code)
            legs += [journal.debit(subfund_account(session, subfund, "available"), value),
                     journal.credit(subfund_account(session, subfund, "recovered"), value)]
    if legs:
        txn_id = journal.post_transaction(session, kind="recovery", legs=legs, effective_on=recovered_on,
                                          memo=f"Recovery on claim {claim.id}", reference=f"claim:{claim.id}",
                                          actor=actor).id
    by_code = dict(result.lines)
    for line in claim.payer_lines:
        line.recovered_amount += by_code.get(line.subfund_code, 0)
    recovery = Recovery(claim_id=claim.id, amount=amount, recovered_on=recovered_on, cumulative=before + amount,
                        pool_share_cumulative=result.cumulative_share, returned=result.returned_now, lines=lines,
                        transaction_id=txn_id, created_by=actor)
    session.add(recovery)
    keep_loaded(claim, "recoveries", recovery)
    add_event(session, claim, action="recovery", from_status="paid", to_status="paid", actor=actor,
              data={"amount": format_amount(amount), "returned": format_amount(result.returned_now)})
    session.flush()
    audit.record(session, actor=actor, action="claim.recovery", entity_type="claim", entity_id=claim.id,
                 after={"amount": format_amount(amount), "cumulative": format_amount(before + amount),
                        "pool_share_cumulative": format_amount(result.cumulative_share),
                        "returned": format_amount(result.returned_now), "lines": lines})
    events.recovery_event(session, claim, recovery)
    return recovery
