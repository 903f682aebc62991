"""The claim path's SQL budget (issue 13): approve + pay of one claim (three payer
sub-funds) through the HTTP API, counted at the driver by an engine event.

Every statement is a round trip, many of them while the hot sub-fund rows or the audit
chain's head are locked; a change that reloads objects or looks accounts up one by one
again shows here. Was 102 (SQLite) before issue 13, 59 with the token's last-use stamp,
movement-date checks and day closings added since, 35 on SQLite and 33 on PostgreSQL
after the first round, 30 and 28 after the second; now 30 on SQLite (approve 15, pay 15)
and 26 on PostgreSQL (13 + 13). BEGIN is not counted on either: psycopg sends
PostgreSQL's itself, SQLite's goes on the driver connection (ledger.db).

Per request: the token with its user and roles in one query (on PostgreSQL it also
records the use, at most once a minute; SQLite records a token's first use in a minute
with one UPDATE); on PostgreSQL the claim's row lock (with its bank's and enterprise's
for an approval), then the claim with its lines, reservations, history, the reviewer's
and approver's names, each line's sub-fund accounts and the payers' and the bank's
closed periods in one query; the approval's NPL figures and cap sums (one query), the
transition and its history row; the reservation rows and the lines' links (approve) or
the bank's clawback debts to the payers, the loan's status and the reservations'
resolution (pay); the balances (their id-ordered lock on PostgreSQL, then one UPDATE
whose trigger also sets each account's latest day closing), postings and transaction
header (one statement on PostgreSQL); at commit the audit chain's head (locked), then
its entries, bank event and new head (one statement on PostgreSQL, three on SQLite).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import event
from sqlalchemy.engine.default import CacheStats

from .helpers import bearer

BUDGET = {"sqlite": 30, "postgresql": 26}


class StatementLog:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        self.statements.append(" ".join(statement.split())[:140])

    def __enter__(self) -> StatementLog:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def summary(self) -> str:
        return "\n".join(f"{n:3} x {s}" for s, n in Counter(self.statements).most_common())


@pytest.fixture
def review(client, make_bank, make_user, make_loan):
    """SPEC §3.3 example 2 (three payer sub-funds): ``review()`` submits and reviews one
    more claim of it and returns its id and the bureau's tokens."""
    bank = bearer(make_bank("BANK-A"))
    tokens = {"reviewer": bearer(make_user("reviewer", name="reviewer")),
              "approver": bearer(make_user("approver", name="approver")),
              "admin": bearer(make_user("fund_admin", name="admin"))}
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)

    def review() -> tuple[int, dict[str, dict[str, str]]]:
        loan = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)
        r = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                                "outstanding_principal": "3000000.00"},
                        headers={**bank, "Idempotency-Key": f"k-{loan.id}"})
        assert r.status_code == 201, r.json
        cid = r.json["id"]
        r = client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                        headers=tokens["reviewer"])
        assert r.status_code == 200, r.json
        return cid, tokens

    return review


@pytest.fixture
def reviewed_claim(review):
    """One claim of SPEC §3.3 example 2, submitted and reviewed: its id and the tokens."""
    return review()


def approve_and_pay(client, cid: int, tokens: dict[str, dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=tokens["approver"])
    assert r.status_code == 200, r.json
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": f"PAY-{cid}", "paid_on": "2026-06-30"},
                    headers=tokens["admin"])
    assert (r.status_code, r.json["status"]) == (200, "paid"), r.json


def test_approve_and_pay_stay_within_the_statement_budget(client, engine, review):
    budget = BUDGET[engine.dialect.name]
    cid, tokens = review()
    with StatementLog(engine) as approve:
        r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=tokens["approver"])
    assert r.status_code == 200, r.json
    assert [p["reserved"] for p in r.json["payers"]] == [True, True, True]
    with StatementLog(engine) as pay:
        r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "PAY-1", "paid_on": "2026-06-30"},
                        headers=tokens["admin"])
    assert (r.status_code, r.json["status"]) == (200, "paid"), r.json
    total = len(approve.statements) + len(pay.statements)
    assert total <= budget, (
        f"approve {len(approve.statements)} + pay {len(pay.statements)} = {total} statements > {budget}\n"
        f"approve:\n{approve.summary()}\npay:\n{pay.summary()}"
    )


class ClaimLoads:
    """The rows of each claim load (``ledger.claims.get_claim``), counted by running its
    statement again on the driver's connection (SQLite's cursor tells no row count)."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.statements: list[str] = []
        self.rows: list[int] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("SELECT claims.id, claims.loan_id"):
            again = cursor.connection.cursor()
            again.execute(statement, parameters)
            self.statements.append(statement)
            self.rows.append(len(again.fetchall()))
            again.close()

    def __enter__(self) -> ClaimLoads:
        event.listen(self.engine, "after_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._count)


def test_approve_and_pay_load_the_claim_with_a_row_per_payer_line_and_history_entry(client, engine, reviewed_claim):
    """Not one per line, account and history entry (18 rows for the approval, 27 for
    the payment before issue 13), and without the rule document."""
    cid, tokens = reviewed_claim
    with ClaimLoads(engine) as approve:
        r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=tokens["approver"])
    assert r.status_code == 200, r.json
    with ClaimLoads(engine) as pay:
        r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "PAY-1", "paid_on": "2026-06-30"},
                        headers=tokens["admin"])
    assert r.status_code == 200, r.json
    # Three payer lines; history: submit, review (approve), then approve too (pay).
    assert (approve.rows, pay.rows) == ([3 * 2], [3 * 3])
    assert not any(re.search(r"\bdocument\b", statement) for statement in approve.statements + pay.statements)


def test_a_second_claim_compiles_no_statement(client, engine, review):
    """Every statement of the claim path comes from SQLAlchemy's compiled cache once the
    first claim went through: compiling one costs about as much CPU as a statement's
    round trip (a multi-row ``.values([...])`` or literal-built statement has no cache
    key and is compiled on every call)."""
    first, second = review(), review()
    approve_and_pay(client, *first)
    compiled: list[str] = []

    def check(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if context.cache_hit in (CacheStats.NO_CACHE_KEY, CacheStats.CACHE_MISS):
            compiled.append(f"{context.cache_hit.name}: {' '.join(statement.split())[:140]}")

    event.listen(engine, "after_cursor_execute", check)
    try:
        approve_and_pay(client, *second)
    finally:
        event.remove(engine, "after_cursor_execute", check)
    assert not compiled, "\n".join(compiled)
