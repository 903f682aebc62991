"""Sub-fund movements: cursor pages that cost the same however long the history is.

Issue 13: a page of ``GET /subfunds/{code}/movements`` must not read the account's
earlier history. Proven two ways: walking the pages returns every movement once, in
order, with running balances that follow from the changes; and every statement a page
issues is planned as an index range (no full scan of the postings, no sort of them).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from ledger import journal, subfunds

from .helpers import bearer


@pytest.fixture
def auditor(make_user):
    return bearer(make_user("auditor"))


def _busy(session, contributions: int = 23) -> None:
    """GD-PROV with contributions, reservations (two of its own accounts in one
    movement) and releases; a neighbour sub-fund's postings interleaved."""
    subfunds.create_subfund(session, code="GD-PROV", name="省", owner_type="province", region="440000", actor="t")
    subfunds.create_subfund(session, code="OTHER", name="另", owner_type="city", region="440700", actor="t")
    prov = subfunds.get_subfund(session, "GD-PROV")
    available = subfunds.subfund_account(session, prov, "available")
    reserved = subfunds.subfund_account(session, prov, "reserved")
    for i in range(contributions):
        subfunds.contribute(session, "GD-PROV", amount=100_00 + i, received_on=date(2026, 1, 5), reference=f"R{i}",
                            actor="t")
        subfunds.contribute(session, "OTHER", amount=7_00, received_on=date(2026, 1, 5), reference=f"O{i}", actor="t")
        if i % 3 == 0:
            held = journal.reserve(session, source=available, hold=reserved, amount=50_00, effective_on=date(2026, 2, 1))
            if i % 2 == 0:
                journal.release_reservation(session, held, effective_on=date(2026, 2, 2))
    session.commit()


def _walk(client, headers, per_page: int) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        query = f"?per_page={per_page}" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(f"/api/v1/subfunds/GD-PROV/movements{query}", headers=headers)
        assert r.status_code == 200, r.json
        assert len(r.json["items"]) <= per_page
        items += r.json["items"]
        cursor, pages = r.json["next_cursor"], pages + 1
        if cursor is None:
            return items
        assert pages < 100


def test_cursor_pages_return_every_movement_once_with_running_balances(client, session, auditor):
    _busy(session)
    everything = _walk(client, auditor, per_page=500)
    assert len(everything) == 23 + 8 + 4  # contributions, reservations, releases
    for per_page in (1, 4, 7):
        assert _walk(client, auditor, per_page) == everything
    assert [m["seq"] for m in everything] == sorted(m["seq"] for m in everything)
    # The balance after each movement is the one before it plus its change.
    balance: dict[str, Decimal] = {}
    for m in everything:
        for purpose, change in m["changes"].items():
            balance[purpose] = balance.get(purpose, Decimal(0)) + Decimal(change)
            assert Decimal(m["balances_after"][purpose]) == balance[purpose]
    totals = client.get("/api/v1/subfunds/GD-PROV", headers=auditor).json
    last = {}
    for m in everything:
        last.update(m["balances_after"])
    assert last["available"] == totals["available"] and last["reserved"] == totals["reserved"]
    reservation = next(m for m in everything if m["kind"] == "reservation")
    assert reservation["changes"] == {"available": "-50.00", "reserved": "50.00"}


@pytest.mark.parametrize("cursor", ["nonsense", "azE6LTE", "", "k1:5", "%00"])
def test_a_cursor_that_is_not_one_is_refused_naming_it(client, session, auditor, cursor):
    _busy(session, contributions=2)
    r = client.get(f"/api/v1/subfunds/GD-PROV/movements?cursor={cursor}", headers=auditor)
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "cursor" in str(r.json)


def _plans(engine, run) -> list[tuple[str, str]]:
    """Run ``run()`` and return (statement, plan) for every statement it issued."""
    issued: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            issued.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            # With sequential scans priced out, a plan still showing one has no index to
            # use: on a table this small the planner would otherwise pick it for speed.
            cur.execute("SET enable_seqscan = off")
            prefix = "EXPLAIN "
        else:
            prefix = "EXPLAIN QUERY PLAN "
        for statement, parameters in issued:
            cur.execute(prefix + statement, parameters)
            plans.append((statement, "\n".join(str(row) for row in cur.fetchall())))
        raw.rollback()
    finally:
        raw.close()
    return plans


def _history_bounded(plan: str, dialect: str) -> bool:
    """True when the plan reads postings only through a bounded index range: an
    account's postings *after the cursor* (``account_id = ? AND id > ?``, stopped by
    LIMIT) or one transaction's postings. Reading an account's postings by
    ``account_id`` alone, or scanning the table, costs as much as its history."""
    if dialect == "postgresql":
        if "Seq Scan on journal_postings" in plan or "Seq Scan on journal_transactions" in plan:
            return False
        conds = [line for line in plan.splitlines() if "Index Cond" in line and "account_id" in line]
        return all("(id > " in line for line in conds)
    lines = [line for line in plan.replace("), (", "\n").splitlines() if "journal_postings" in line]
    return all("SEARCH" in line and ("id>?" in line or "transaction_id=?" in line) for line in lines)


def test_the_history_check_refuses_reading_an_account_whole():
    old_sqlite = "(7, 2, 0, 'SEARCH journal_postings USING INDEX ix_journal_postings_account_id_id (account_id=?)')"
    new_sqlite = "(14, 4, 0, 'SEARCH journal_postings USING INDEX ix_journal_postings_account_id_id (account_id=? AND id>?)')"
    assert not _history_bounded(old_sqlite, "sqlite") and _history_bounded(new_sqlite, "sqlite")
    assert not _history_bounded("('->  Bitmap Index Scan on ix_journal_postings_account_id_id',)\n"
                                "('      Index Cond: (account_id = ANY (\\'{1,2}\\'::bigint[]))',)", "postgresql")
    assert _history_bounded("('      Index Cond: ((account_id = 3) AND (id > 0))',)", "postgresql")


def test_a_movements_page_reads_no_history_before_it(client, session, engine, auditor):
    """Every statement of a page (first and later) is an index range, never a scan or
    sort of the postings, and a page issues a fixed number of statements."""
    _busy(session, contributions=12)
    first = client.get("/api/v1/subfunds/GD-PROV/movements?per_page=3", headers=auditor).json

    for cursor in (None, first["next_cursor"]):
        url = "/api/v1/subfunds/GD-PROV/movements?per_page=3" + (f"&cursor={cursor}" if cursor else "")
        plans = _plans(engine, lambda url=url: client.get(url, headers=auditor))
        page_statements = [p for p in plans if "journal_postings" in p[0]]
        assert 1 <= len(page_statements) <= 2, [s for s, _ in plans]
        assert len(plans) <= 6, [s for s, _ in plans]  # auth + sub-fund + accounts + the page
        for _statement, plan in page_statements:
            assert _history_bounded(plan, engine.dialect.name), plan


@pytest.fixture
def pg_client(pg_url):
    from web import create_app

    app = create_app({"DATABASE_URL": pg_url, "TESTING": True, "BUSINESS_DATE": "2026-06-30"})
    yield app
    app.extensions["ledger_engine"].dispose()


@pytest.mark.postgresql
def test_a_movements_page_reads_no_history_before_it_on_postgresql(pg_client):
    from ledger import auth
    from ledger.db import make_sessionmaker

    engine = pg_client.extensions["ledger_engine"]
    with make_sessionmaker(engine)() as session:
        _busy(session, contributions=12)
        _user, token = auth.create_user(session, "aud", ["auditor"], actor="t")
        session.commit()
    client = pg_client.test_client()
    headers = bearer(token)
    first = client.get("/api/v1/subfunds/GD-PROV/movements?per_page=3", headers=headers).json
    assert len(first["items"]) == 3
    for cursor in (None, first["next_cursor"]):
        url = "/api/v1/subfunds/GD-PROV/movements?per_page=3" + (f"&cursor={cursor}" if cursor else "")
        plans = _plans(engine, lambda url=url: client.get(url, headers=headers))
        page_statements = [p for p in plans if "journal_postings" in p[0]]
        assert 1 <= len(page_statements) <= 2
        for _statement, plan in page_statements:
            assert _history_bounded(plan, "postgresql"), plan
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM journal_postings WHERE balance_after IS NULL")) == 0


def test_page_numbers_are_refused_not_ignored(client, session, auditor):
    """Movements have cursors, not page numbers: ``?page=2`` must not quietly answer page 1."""
    _busy(session, contributions=2)
    r = client.get("/api/v1/subfunds/GD-PROV/movements?page=2", headers=auditor)
    assert r.status_code in (400, 422)
    assert "page" in str(r.json)


def test_verify_checks_every_running_balance(session):
    """``ledger-admin verify``'s running_balances check: clean after real movements,
    and it names a posting written with a wrong balance_after."""
    import uuid

    from sqlalchemy import insert

    from ledger import verification
    from ledger.models import JournalTransaction, Posting

    _busy(session, contributions=3)
    assert journal.running_balance_breaks(session) == []
    assert verification.run(session, only={"running_balances"}).ok
    available = journal.get_account(session, "subfund:GD-PROV:available")
    contributions = journal.get_account(session, "subfund:GD-PROV:contributions")
    txn = uuid.uuid4()
    session.execute(insert(Posting.__table__), [
        {"transaction_id": txn, "account_id": available.id, "amount": 1_00, "balance_after": 1},
        {"transaction_id": txn, "account_id": contributions.id, "amount": -1_00,
         "balance_after": contributions.balance + 1_00}])
    session.execute(insert(JournalTransaction.__table__), {"id": txn, "kind": "contribution",
                                                           "effective_on": date(2026, 1, 6), "memo": ""})
    session.commit()
    breaks = journal.running_balance_breaks(session)
    assert [(b.account, b.stored) for b in breaks] == [("subfund:GD-PROV:available", 1)]
    result = verification.run(session, only={"running_balances"}).first("running_balances")
    assert not result.ok and "subfund:GD-PROV:available" in result.problem
