"""The data of a sub-fund statement (资金对账单, ZJD): exactly what it prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.money import format_amount
from rules.regions import region_name

from ..errors import NotFound
from ..models import Account, JournalTransaction, Posting, SubFund
from .kinds import LedgerInconsistent, Period, end_of_day


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
                    "region": subfund.region, "region_name": region_name(subfund.region)},
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
