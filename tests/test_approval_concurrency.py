"""Approvals under real concurrency: money is reserved at most once and never overdrawn (issue 5).

Each thread has its own test client, so every request runs the full request boundary
(its own session and database transaction) against a shared database.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from web import create_app
from ledger import journal
from ledger.db import make_sessionmaker
from ledger.models import Claim

from .conftest import BUSINESS_DATE
from .helpers import bearer

THREADS = 20


def run_together(functions):
    """Start every function at the same moment; return their results in order."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def worker(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture(params=["default", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend_url(request):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("database_url")


@pytest.fixture
def app(backend_url):
    app = create_app({"DATABASE_URL": backend_url, "TESTING": True, "BUSINESS_DATE": BUSINESS_DATE})
    yield app
    app.extensions["ledger_engine"].dispose()


@pytest.fixture
def subfund_funding():
    # The insurer's sub-fund covers 8 of the 20 claims' 120,000.00 lines.
    from .conftest import SPEC_SUBFUNDS

    return {**{code: 100_000_000_00 for code in SPEC_SUBFUNDS}, "INS-PICC": 1_000_000_00}


@pytest.fixture
def reviewed_claims(app, make_bank, make_user, make_loan):
    """``reviewed_claims(n)`` -> ids of n reviewed claims of 600,000.00 each (0.60 x 1,000,000.00 in 440703)."""
    bank = bearer(make_bank("BANK-A"))
    reviewer = bearer(make_user("reviewer", name="reviewer"))
    client = app.test_client()
    # A mostly performing book keeps the bank's NPL ratio under the suspension threshold.
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)

    def _make(n):
        ids = []
        for i in range(n):
            loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
            r = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                                    "outstanding_principal": "1000000.00"},
                            headers={**bank, "Idempotency-Key": f"c{i}"})
            assert r.status_code == 201, r.json
            cid = r.json["id"]
            client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                        headers=reviewer)
            ids.append(cid)
        return ids, bank

    return _make


def _post(app, path, body, headers):
    def call():
        with app.test_client() as client:
            r = client.post(path, json=body, headers=headers)
            return r.status_code, r.get_json()
    return call


def _fund(app, code):
    session = make_sessionmaker(app.extensions["ledger_engine"], readonly=True)()
    try:
        from ledger.subfunds import balances, get_subfund

        return balances(session, get_subfund(session, code))
    finally:
        session.close()


def _journal_ok(app):
    session = make_sessionmaker(app.extensions["ledger_engine"], readonly=True)()
    try:
        assert journal.check_balances(session) == []
        assert journal.unbalanced_transactions(session) == []
        return {c.id: (c.status, c.approved_amount) for c in session.scalars(select(Claim))}
    finally:
        session.close()


def test_concurrent_approvers_never_overdraw_a_subfund(app, reviewed_claims, make_user):
    ids, _bank = reviewed_claims(THREADS)
    approvers = [bearer(make_user("approver", name=f"approver{i}")) for i in range(THREADS)]
    results = run_together([_post(app, f"/api/v1/claims/{cid}/approve", {}, approvers[i])
                            for i, cid in enumerate(ids)])
    outcomes = Counter(r[0] if isinstance(r, tuple) else repr(r) for r in results)
    assert outcomes == {200: 8, 409: 12}, results
    assert all(r[1]["code"] == "insufficient_funds" for r in results if r[0] == 409)
    insurer = _fund(app, "INS-PICC")
    assert (insurer["available"], insurer["reserved"]) == (40_000_00, 960_000_00)
    claims = _journal_ok(app)
    assert Counter(status for status, _ in claims.values()) == {"approved": 8, "reviewed": 12}
    # The other payers reserved exactly for the approved claims, nothing for the refused ones.
    assert _fund(app, "GD-PROV")["reserved"] == 8 * 300_000_00


def test_approve_racing_withdraw_leaves_money_and_status_in_step(app, reviewed_claims, make_user):
    """Whichever lands first wins: withdraw first -> the approval is refused (409);
    approve first -> the withdrawal then releases what was reserved. Never both
    reserved and withdrawn, never released and approved."""
    ids, bank = reviewed_claims(6)
    approver = bearer(make_user("approver", name="approver"))
    for cid in ids:
        approve, withdraw = run_together([
            _post(app, f"/api/v1/claims/{cid}/approve", {}, approver),
            _post(app, f"/api/v1/claims/{cid}/withdraw", {"reason": "race"}, bank),
        ])
        assert withdraw[0] == 200, withdraw  # a bank may withdraw a reviewed or approved claim
        assert approve[0] in (200, 409), approve
        if approve[0] == 409:
            assert approve[1]["current_status"] == "withdrawn"
    claims = _journal_ok(app)
    assert {claims[cid][0] for cid in ids} == {"withdrawn"}
    insurer = _fund(app, "INS-PICC")
    assert (insurer["reserved"], insurer["available"]) == (0, 1_000_000_00)


class TestAnnualBankCap:
    @pytest.fixture
    def rule_overrides(self):
        return {"claims": {"per_bank_annual_cap": "1000000.00"}}

    def test_two_approvals_cannot_both_take_the_rest_of_the_cap(self, app, reviewed_claims, make_user):
        _annual_cap_race(app, reviewed_claims, make_user)


def _annual_cap_race(app, reviewed_claims, make_user):
    ids, _bank = reviewed_claims(4)
    approvers = [bearer(make_user("approver", name=f"approver{i}")) for i in range(4)]
    results = run_together([_post(app, f"/api/v1/claims/{cid}/approve", {}, approvers[i])
                            for i, cid in enumerate(ids)])
    assert sorted(r[0] for r in results) == [200, 200, 409, 409], results
    assert all(r[1]["code"] == "cap_exhausted" for r in results if r[0] == 409)
    claims = _journal_ok(app)
    assert sorted(amount for status, amount in claims.values() if status == "approved") == [400_000_00, 600_000_00]
    limited = next(r[1] for r in results if r[0] == 200 and r[1]["approved_amount"] == "400000.00")
    assert any(s["rule"] == "per_bank_annual_cap" for s in limited["steps"])
