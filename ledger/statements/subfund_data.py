"""The data of a sub-fund statement (资金对账单, ZJD): exactly what it prints."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, Select, String, literal, null, select, true, union_all
from sqlalchemy.orm import Session

from rules.money import format_amount
from rules.regions import region_name

from ..asof import closing_probe
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

    Reads no history before the period (issue 13): the opening and the closing are
    the day closings the journal keeps (``account_days``: the latest day before the
    period, the latest day in it), and the movements are the transactions dated in the
    period, read through their date index in the order printed (date, journal order).
    The statement is only issued when opening + movements is the journal's closing,
    and when the account's latest closing is its cached balance (SPEC §5); all of it
    in one snapshot of the journal, so the figures describe one state even while
    others write.
    """
    subfund = get_subfund(session, code)
    purposes = ("available", "reserved")
    accounts = {acc.code: acc for acc in session.scalars(
        select(Account).where(Account.code.in_([subfund.account_code(p) for p in purposes])))}
    by_id = {accounts[subfund.account_code(p)].id: p for p in purposes}
    sign = {account.id: (1 if account.normal_side == "debit" else -1) for account in accounts.values()}

    opening, at_end, latest, cached, movements = _read_snapshot(session, by_id, sign, period)

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
        raise LedgerInconsistent(f"Sub-fund {code}: opening + movements {closing} differs from the journal's closing "
                                 f"{journal_end}.")
    for purpose in purposes:
        if cached[purpose] != latest[purpose]:
            raise LedgerInconsistent(
                f"Account {subfund.account_code(purpose)}: cached balance {format_amount(cached[purpose])} differs "
                f"from its journal {format_amount(latest[purpose])}; run the journal check."
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


#: What each row of the snapshot statement is: a day closing (before the period, at its
#: end, the latest), an account's cached balance, or one posting of the period.
_OPENING, _AT_END, _LATEST, _CACHED, _POSTING = range(5)


def _period_postings(session: Session, period: Period) -> Select[Any]:
    """Every posting of the transactions dated in the period: the transactions by their
    ``(effective_on, seq)`` index, each one's postings by its ``transaction_id``.

    The accounts are picked by the caller, not in SQL: with an account condition a
    planner may read those accounts' postings from their first (their whole history)
    and keep the period's. On PostgreSQL the postings are a LATERAL subquery fenced by
    OFFSET 0, so they are always probed transaction by transaction: given a plain join, the planner,
    misjudging how few transactions a month of a long journal holds, hashed the
    period's transactions and scanned every posting (100 ms at 300k postings, growing).
    SQLite has no LATERAL, and always joins by nested loops over the index.
    """
    columns = (literal(_POSTING), JournalTransaction.seq, JournalTransaction.kind, JournalTransaction.effective_on,
               JournalTransaction.memo, JournalTransaction.reference)
    in_period = (JournalTransaction.effective_on >= period.start, JournalTransaction.effective_on <= period.end)
    if session.get_bind().dialect.name == "postgresql":
        # OFFSET 0 keeps the planner from flattening the subquery back into a join.
        legs = (select(Posting.account_id, Posting.amount, Posting.id)
                .where(Posting.transaction_id == JournalTransaction.id).offset(0).lateral())
        return (select(columns[0], legs.c.account_id, legs.c.amount, *columns[1:], legs.c.id)
                .select_from(JournalTransaction).join(legs, true()).where(*in_period))
    return (select(columns[0], Posting.account_id, Posting.amount, *columns[1:], Posting.id)
            .join(Posting, Posting.transaction_id == JournalTransaction.id).where(*in_period))


def _read_snapshot(session: Session, by_id: dict[int, str], sign: dict[int, int], period: Period) -> tuple[
        dict[str, int], dict[str, int], dict[str, int], dict[str, int], list[dict[str, Any]]]:
    """Opening, closing at the period end, latest closing and cached balance of each
    account (by purpose), and the period's movements: one statement, so one snapshot of
    the journal even under READ COMMITTED while others post.

    Day closings are one probe each of the ``(account_id, day)`` key; the movements are
    the transactions dated in the period, read through their ``(effective_on, seq)``
    index with their postings by transaction: no account's earlier postings are read.
    """
    no_text, no_int, no_date = null().cast(String), null().cast(BigInteger), null().cast(Date)
    parts = []
    for part, day in ((_OPENING, period.start - timedelta(days=1)), (_AT_END, period.end), (_LATEST, date.max)):
        for account_id in by_id:
            probe = closing_probe(account_id, day)
            parts.append(select(literal(part).label("part"), probe.c.account_id, probe.c.closing.label("amount"),
                                no_int.label("seq"), no_text.label("kind"), no_date.label("effective_on"),
                                no_text.label("memo"), no_text.label("reference"), no_int.label("posting_id")))
    parts.append(select(literal(_CACHED), Account.id, Account.balance, no_int, no_text, no_date, no_text, no_text,
                        no_int).where(Account.id.in_(list(by_id))))
    parts.append(_period_postings(session, period))
    snapshot = union_all(*parts).subquery()
    rows = session.execute(select(snapshot).order_by(snapshot.c.part, snapshot.c.effective_on, snapshot.c.seq,
                                                    snapshot.c.posting_id))
    figures: list[dict[str, int]] = [dict.fromkeys(by_id.values(), 0) for _ in range(4)]
    movements: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for part, account_id, amount, seq, kind, effective_on, memo, reference, _posting_id in rows:
        purpose = by_id.get(account_id)
        if purpose is None:
            continue
        if part != _POSTING:
            figures[part][purpose] = int(amount)
            continue
        if current is None or current["seq"] != seq:
            current = {"seq": seq, "date": effective_on.isoformat(), "kind": kind, "memo": memo or "",
                       "reference": reference, "available": 0, "reserved": 0}
            movements.append(current)
        current[purpose] += sign[account_id] * int(amount)
    opening, at_end, latest, cached = figures
    return opening, at_end, latest, cached, movements
