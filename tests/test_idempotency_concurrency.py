"""One Idempotency-Key, many concurrent submissions: one claim, identical answers (issue 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from web import create_app
from ledger.db import make_sessionmaker
from ledger.models import Claim, IdempotencyRecord

from .conftest import BUSINESS_DATE
from .helpers import bearer
from .test_approval_concurrency import run_together

SUBMISSIONS = 50


@pytest.fixture(params=["default", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def app(request):
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "database_url")
    app = create_app({"DATABASE_URL": url, "TESTING": True, "BUSINESS_DATE": BUSINESS_DATE})
    yield app
    app.extensions["ledger_engine"].dispose()


def test_fifty_concurrent_submissions_with_one_key(app, make_bank, make_loan):
    bank = bearer(make_bank("BANK-A"))
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    body = {"loan_id": loan.id, "default_on": "2026-03-01", "outstanding_principal": "1000000.00"}
    headers = {**bank, "Idempotency-Key": "claim-L1-2026-06-30"}

    def submit():
        with app.test_client() as client:
            r = client.post("/api/v1/claims", json=body, headers=headers)
            return r.status_code, r.data

    results = run_together([submit] * SUBMISSIONS)
    assert all(isinstance(r, tuple) for r in results), [r for r in results if not isinstance(r, tuple)]
    assert {status for status, _ in results} == {201}
    assert len({data for _, data in results}) == 1  # byte for byte the same answer
    session = make_sessionmaker(app.extensions["ledger_engine"], readonly=True)()
    try:
        assert session.scalar(select(func.count()).select_from(Claim)) == 1
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
    finally:
        session.close()
    with app.test_client() as client:
        other = client.post("/api/v1/claims", json={**body, "outstanding_principal": "999999.99"}, headers=headers)
    assert (other.status_code, other.json["code"]) == (422, "idempotency_key_reused")
