"""Clawback of a paid claim found ineligible, and repayment of the bank's debt (SPEC §4).

The clawed-back amount becomes the bank's debt to each payer (an account per bank and
sub-fund). It is settled either by the bank paying it back (``repay_debt``) or,
automatically, by keeping it back from the bank's next payouts (``approvals.pay_claim``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.money import format_amount, split_largest_remainder

from . import audit, events, journal
from .accounts import bank_debt, clawback_income
from .claims import add_event, check_four_eyes, keep_loaded
from .errors import InvalidTransition, NotFound, ValidationFailed
from .models import Bank, Claim, Clawback, User
from .subfunds import get_subfund, subfund_account


def clawable(session: Session, claim: Claim) -> int:
    """What can still be clawed back: paid, less recoveries returned, less earlier clawbacks."""
    returned = sum(line.recovered_amount for line in claim.payer_lines)
    clawed = int(session.scalar(select(func.coalesce(func.sum(Clawback.amount), 0))
                                .where(Clawback.claim_id == claim.id)) or 0)
    return (claim.approved_amount or 0) - returned - clawed


def claw_back(session: Session, claim: Claim, *, approver: User, reason: str, today: date,
              amount: int | None = None) -> Clawback:
    check_four_eyes(claim, approver)
    session.execute(select(Claim.id).where(Claim.id == claim.id).with_for_update())
    session.refresh(claim)
    if claim.status != "paid":
        raise InvalidTransition(f"Claim {claim.id} is {claim.status}; only a paid claim can be clawed back.",
                                extra={"current_status": claim.status})
    if not reason.strip():
        raise ValidationFailed("A clawback needs a reason.", code="reason_required", errors={"reason": ["required"]})
    left = clawable(session, claim)
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise ValidationFailed(f"At most {format_amount(left)} can be clawed back from claim {claim.id}.",
                               code="clawback_too_large", errors={"amount": [f"between 0.01 and {format_amount(left)}"]})
    # Split over the payers in proportion to what each still carries.
    weights = [line.amount - line.recovered_amount for line in claim.payer_lines]
    parts = split_largest_remainder(amount, weights)
    bank = session.get_one(Bank, claim.bank_id)
    legs = []
    lines = []
    for line, part in zip(claim.payer_lines, parts, strict=True):
        if part:
            subfund = get_subfund(session, line.subfund_code)
            legs += [journal.debit(bank_debt(session, bank, subfund.code), part),
                     journal.credit(clawback_income(session, subfund), part)]
            lines.append({"subfund": subfund.code, "amount": format_amount(part)})
    journal.post_transaction(session, kind="clawback", legs=legs, effective_on=today,
                             memo=f"Clawback of claim {claim.id}: {reason}", reference=f"claim:{claim.id}",
                             actor=approver.name)
    clawback = Clawback(claim_id=claim.id, amount=amount, reason=reason.strip(), lines=lines, created_by=approver.name)
    session.add(clawback)
    keep_loaded(claim, "clawbacks", clawback)
    add_event(session, claim, action="clawback", from_status="paid", to_status="paid", actor=approver.name,
              comment=reason, data={"amount": format_amount(amount), "lines": lines})
    session.flush()
    audit.record(session, actor=approver.name, action="claim.clawback", entity_type="claim", entity_id=claim.id,
                 after={"amount": format_amount(amount), "reason": reason, "lines": lines})
    events.clawback_event(session, claim, clawback)
    return clawback


def debts(session: Session, bank: Bank) -> dict[str, int]:
    """What ``bank`` owes each sub-fund (fen), from its debt accounts."""
    from .models import Account

    prefix = f"bank:{bank.code}:owes:"
    rows = session.execute(select(Account.code, Account.balance).where(Account.code.like(prefix + "%")))
    return {code.removeprefix(prefix): int(balance) for code, balance in rows if balance}


def repay_debt(session: Session, bank_code: str, *, subfund_code: str, amount: int, received_on: date,
               reference: str, actor: str) -> None:
    """The bank pays back (part of) what it owes a sub-fund after a clawback."""
    bank = session.scalar(select(Bank).where(Bank.code == bank_code))
    if bank is None:
        raise NotFound(f"No bank {bank_code}.", code="bank_not_found")
    subfund = get_subfund(session, subfund_code)
    owed = debts(session, bank).get(subfund.code, 0)
    if amount <= 0 or amount > owed:
        raise ValidationFailed(f"{bank.code} owes {subfund.code} {format_amount(owed)}.",
                               code="repayment_exceeds_debt", errors={"amount": [f"at most {format_amount(owed)}"]})
    journal.post_transaction(
        session, kind="debt_repayment",
        legs=[journal.debit(subfund_account(session, subfund, "available"), amount),
              journal.credit(bank_debt(session, bank, subfund.code), amount)],
        effective_on=received_on, memo=f"{bank.code} repays clawback debt", reference=reference, actor=actor,
        dedupe_key=f"debt_repayment:{bank.code}:{subfund.code}:{reference}",
    )
    audit.record(session, actor=actor, action="bank.debt_repayment", entity_type="bank", entity_id=bank.code,
                 after={"subfund": subfund.code, "amount": format_amount(amount), "reference": reference})
