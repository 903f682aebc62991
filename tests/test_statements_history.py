"""Period statements that cost the same however long the journal's history is (issue 13).

A sub-fund statement starts from the day closings the journal keeps (``account_days``)
and reads only the transactions dated in its period; a bank statement reads no posting
at all. Proven two ways: the figures are exactly those the whole history gives (the
way statements were computed before, so issued statements keep their hashes), also with
movements recorded out of date order; and every statement the gathering issues is
planned as an index range — never a scan of the postings or a read of an account's
postings from its first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from ledger import journal, statements, subfunds
from ledger.models import Account, JournalTransaction, Posting
from ledger.statements.subfund_data import subfund_statement_data

from .test_movements_pages import _plans

FUND = "广东省科技信贷风险补偿资金池"
TODAY = date(2026, 9, 30)


def _history(session) -> None:  # type: ignore[no-untyped-def]
    """GD-PROV with a year of movements on both of its accounts, some recorded after
    later-dated ones (a back-dated contribution moves every later day's closing), and a
    neighbour sub-fund's postings interleaved on the same days."""
    subfunds.create_subfund(session, code="GD-PROV", name="省", owner_type="province", region="440000", actor="t")
    subfunds.create_subfund(session, code="OTHER", name="另", owner_type="city", region="440700", actor="t")
    prov = subfunds.get_subfund(session, "GD-PROV")
    available = subfunds.subfund_account(session, prov, "available")
    reserved = subfunds.subfund_account(session, prov, "reserved")
    paid = subfunds.subfund_account(session, prov, "paid")
    contributions = subfunds.subfund_account(session, prov, "contributions")
    other = subfunds.get_subfund(session, "OTHER")
    o_available = subfunds.subfund_account(session, other, "available")
    o_contributions = subfunds.subfund_account(session, other, "contributions")

    def contribute(amount: int, on: date, memo: str = "") -> None:
        journal.post_transaction(session, kind="contribution", legs=[journal.debit(available, amount),
                                 journal.credit(contributions, amount)], effective_on=on, memo=memo)
        journal.post_transaction(session, kind="contribution", legs=[journal.debit(o_available, 7_00),
                                 journal.credit(o_contributions, 7_00)], effective_on=on)

    for month in range(1, 10):
        for day in (3, 15, 28):
            contribute(1_000_00 * month + day, date(2026, month, day), f"{month}/{day}")
        held = journal.reserve(session, source=available, hold=reserved, amount=300_00 + month,
                               effective_on=date(2026, month, 10))
        if month % 2:
            journal.post_reservation(session, held, to=paid, effective_on=date(2026, month, 20), memo="payout",
                                     reference=f"PAY-{month}")
        else:
            journal.release_reservation(session, held, effective_on=date(2026, month, 12))
    # Recorded now, dated in the past: inside June, before it, and on June's first day.
    contribute(55_55, date(2026, 6, 11), "late June")
    contribute(44_44, date(2026, 3, 2), "late March")
    contribute(33_33, date(2026, 6, 1), "late 1 June")
    session.commit()


def whole_history_figures(session, code: str, period: statements.Period) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The statement's figures as they were computed before issue 13: every posting of
    the two accounts, from the first, in (date, journal order)."""
    subfund = subfunds.get_subfund(session, code)
    accounts = {a.id: a for a in session.scalars(select(Account).where(
        Account.code.in_([subfund.account_code("available"), subfund.account_code("reserved")])))}
    purpose = {account_id: a.code.rsplit(":", 1)[1] for account_id, a in accounts.items()}
    opening = {"available": 0, "reserved": 0}
    at_end = dict(opening)
    movements: list[dict[str, Any]] = []
    for seq, kind, on, memo, reference, account_id, amount in session.execute(
        select(JournalTransaction.seq, JournalTransaction.kind, JournalTransaction.effective_on,
               JournalTransaction.memo, JournalTransaction.reference, Posting.account_id, Posting.amount)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .where(Posting.account_id.in_(list(accounts)))
        .order_by(JournalTransaction.effective_on, JournalTransaction.seq, Posting.id)
    ):
        change = amount if accounts[account_id].normal_side == "debit" else -amount
        if on > period.end:
            continue
        at_end[purpose[account_id]] += change
        if on < period.start:
            opening[purpose[account_id]] += change
            continue
        if not movements or movements[-1]["seq"] != seq:
            movements.append({"seq": seq, "date": on.isoformat(), "kind": kind, "memo": memo or "",
                              "reference": reference, "available": 0, "reserved": 0})
        movements[-1][purpose[account_id]] += change
    balance = opening["available"] + opening["reserved"]
    for m in movements:
        m["net"] = m["available"] + m["reserved"]
        balance += m["net"]
        m["balance"] = balance
    return {"opening": {**opening, "total": sum(opening.values())}, "movements": movements,
            "journal": {**at_end, "total": sum(at_end.values())}}


PERIODS = [
    statements.Period(date(2026, 6, 1), date(2026, 6, 30)),   # back-dated movements inside it
    statements.Period(date(2026, 3, 1), date(2026, 3, 31)),   # one on its first business days
    statements.Period(date(2026, 1, 1), date(2026, 6, 30)),   # half a year
    statements.Period(date(2026, 7, 1), date(2026, 7, 9)),    # part of a month: the reservation of the 10th is after it
    statements.Period(date(2025, 11, 1), date(2025, 11, 30)),  # before any movement
]


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: f"{p.start}..{p.end}")
def test_statement_figures_are_those_of_the_whole_history(session, period):
    _history(session)
    data, _as_of = subfund_statement_data(session, "GD-PROV", period)
    before = whole_history_figures(session, "GD-PROV", period)
    assert data["opening"] == before["opening"]
    assert data["journal"] == before["journal"]
    printed = ("seq", "date", "kind", "memo", "reference", "available", "reserved", "net", "balance")
    assert [{k: m[k] for k in printed} for m in data["movements"]] == before["movements"]
    assert data["closing"] == data["journal"]


def test_june_statement_starts_from_the_history_before_it(session):
    """The figures a reader checks by hand: June opens with everything dated before it
    (also what was recorded later), and lists the late entries in date order."""
    _history(session)
    data, _ = subfund_statement_data(session, "GD-PROV", PERIODS[0])
    assert data["opening"]["total"] > 0
    memos = [m["memo"] for m in data["movements"] if m["kind"] == "contribution"]
    assert memos == ["late 1 June", "6/3", "late June", "6/15", "6/28"]
    assert [m["date"] for m in data["movements"]] == sorted(m["date"] for m in data["movements"])


def test_a_cached_balance_that_left_its_journal_stops_the_statement(session):
    from sqlalchemy import update

    _history(session)
    session.execute(update(Account).where(Account.code == "subfund:GD-PROV:available")
                    .values(balance=Account.balance + 1))
    session.commit()
    with pytest.raises(statements.LedgerInconsistent, match="cached balance"):
        subfund_statement_data(session, "GD-PROV", PERIODS[0])


#: What bounds each journal table's reads: the period's transactions by date, each
#: transaction's postings by its key (probed one transaction at a time), an account's
#: day closing by ``(account_id, day)``.
_BOUNDS = {
    "sqlite": {"journal_postings": ("transaction_id=?",), "journal_transactions": ("effective_on>", "id=?"),
               "account_days": ("day<",)},
    "postgresql": {"journal_postings": ("(transaction_id = journal_transactions.id)",),
                   "journal_transactions": ("(effective_on >= ",), "account_days": ("(day <= ",)},
}


def _bounded(plan: str, dialect: str) -> bool:
    """True when every read of a journal table in the plan is a bounded index range
    (``_BOUNDS``). A scan of a journal table, postings read by ``account_id`` (an
    account's whole history), or postings hashed against the period's transactions
    (every posting read once) is refused."""
    bounds = _BOUNDS[dialect]
    if dialect == "sqlite":
        for line in plan.replace("), (", "\n").splitlines():
            for table, conditions in bounds.items():
                if f" {table} " in f"{line} " and not ("SEARCH" in line and any(c in line for c in conditions)):
                    return False
        return True
    lines = plan.splitlines()
    for i, line in enumerate(lines):
        for table, conditions in bounds.items():
            if f" on {table} " not in f"{line} " and f" on {table})" not in line:
                continue
            if "Seq Scan" in line:
                return False
            # The node's own lines, up to the next node: its Index / Recheck Cond.
            node = []
            for following in lines[i + 1:]:
                if "->" in following:
                    break
                node.append(following)
            if not any("Cond:" in n and any(c in n for c in conditions) for n in node):
                return False
    return True


def test_the_plan_check_refuses_what_reads_the_history():
    """The shapes seen before issue 13 and while making it (a PostgreSQL planner hashing
    June's transactions against every posting of a 300k journal) are refused."""
    account_scan = "(7, 2, 0, 'SEARCH journal_postings USING INDEX ix_journal_postings_account_id_id (account_id=?)')"
    assert not _bounded(account_scan, "sqlite")
    assert _bounded("(9, 5, 0, 'SEARCH journal_postings USING INDEX ix_journal_postings_transaction_id "
                    "(transaction_id=?)')", "sqlite")
    hashed = ("->  Hash Join  (cost=1834.81..10608.26 rows=920 width=60)\n"
              "      Hash Cond: (journal_postings.transaction_id = journal_transactions.id)\n"
              "      ->  {postings}\n"
              "      ->  Hash  (cost=1821.01..1821.01 rows=1104 width=48)\n"
              "            ->  Index Scan using ix_journal_transactions_effective_on_seq on journal_transactions  (c)\n"
              "                  Index Cond: ((effective_on >= '2026-06-01'::date) AND (effective_on <= '2026-06-30'))")
    for postings in ("Parallel Seq Scan on journal_postings  (cost=0.00..8116.52 rows=250252 width=40)",
                     "Index Scan using ix_journal_postings_transaction_id on journal_postings  (cost=0.42..9.1)"):
        assert not _bounded(hashed.format(postings=postings), "postgresql")
    probed = ("->  Nested Loop  (cost=0.85..15888.22 rows=2248 width=60)\n"
              "      ->  Index Scan using ix_journal_transactions_effective_on_seq on journal_transactions  (c)\n"
              "            Index Cond: ((effective_on >= '2026-06-01'::date) AND (effective_on <= '2026-06-30'))\n"
              "      ->  Index Scan using ix_journal_postings_transaction_id on journal_postings  (cost=0.42..12.46)\n"
              "            Index Cond: (transaction_id = journal_transactions.id)")
    assert _bounded(probed, "postgresql")


def test_the_plan_check_refuses_the_whole_history_query(session, engine):
    """The check below can fail: the pre-issue-13 query (an account's postings from its
    first) is refused by it on this database."""
    _history(session)
    plans = _plans(engine, lambda: whole_history_figures(session, "GD-PROV", PERIODS[0]))
    reads = [plan for statement, plan in plans if "journal_postings" in statement]
    assert reads and not any(_bounded(plan, engine.dialect.name) for plan in reads)


@pytest.mark.parametrize("kind,scope", [("subfund", "GD-PROV"), ("bank", "BANK-A")])
def test_a_period_statement_reads_no_history_before_it(session, engine, make_bank, kind, scope):
    """Every statement gathering a month's sub-fund or bank statement issues is an index
    range bounded by the period (or a key), and their number is fixed."""
    _history(session)
    make_bank("BANK-A")
    plans = _plans(engine, lambda: statements.prepare(session, kind, scope, PERIODS[0], "zh", FUND, today=TODAY))
    journal_reads = [(s, p) for s, p in plans if any(t in s for t in ("journal_postings", "account_days"))]
    if kind == "subfund":
        assert len(journal_reads) == 1, [s for s, _ in plans]  # one snapshot of the journal
    else:
        assert journal_reads == []  # a bank statement reads claims and loans, no money movement
    assert len(plans) <= 12, [s for s, _ in plans]
    for _statement, plan in journal_reads:
        assert _bounded(plan, engine.dialect.name), plan


@pytest.mark.postgresql
def test_a_statement_read_while_others_post_is_one_state_of_the_journal(pg_url):
    """Under READ COMMITTED each SQL statement sees the journal as of its own start: the
    statement's closings, cached balances and movements are read by one, so a writer
    committing movements dated before and inside June (moving June's opening, its
    movements and every later closing) never makes a statement mix two states."""
    import threading

    from ledger.db import make_engine, make_sessionmaker

    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session:
            _history(session)
        stop = threading.Event()
        posted: list[int] = []

        def write() -> None:
            with sessions() as session:
                available = journal.get_account(session, "subfund:GD-PROV:available")
                contributions = journal.get_account(session, "subfund:GD-PROV:contributions")
                for i in range(400):
                    if stop.is_set():
                        break
                    on = date(2026, 5, 20) if i % 2 else date(2026, 6, 15)
                    journal.post_transaction(session, kind="contribution", legs=[journal.debit(available, 1_00 + i),
                                             journal.credit(contributions, 1_00 + i)], effective_on=on)
                    session.commit()
                    posted.append(i)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            seen = set()
            for _ in range(40):
                with make_sessionmaker(engine, readonly=True)() as session:
                    data, _ = subfund_statement_data(session, "GD-PROV", PERIODS[0])  # raises when mixed
                seen.add((data["opening"]["total"], len(data["movements"])))
        finally:
            stop.set()
            writer.join(timeout=60)
        assert posted and len(seen) > 1  # the statements did run while the journal moved
    finally:
        engine.dispose()
