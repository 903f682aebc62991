"""Every money-moving POST refuses bad values before anything moves (SPEC §1, issue 10).

One table: for each endpoint a valid body, and for each of its fields the bad values of
that field's kind. Every bad request must answer 4xx problem+json naming the field, and
leave the journal, the audit log and every sub-fund balance exactly as they were.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ledger import subfunds
from ledger.models import Loan, SubFund

from .helpers import bearer, row_counts

BAD = {
    "money": ["１２３", "١٢٣", " 1.00", "1.00 ", "1.00\n", "-1.00", "+1.00", "1e3", "1,000.00", "1.005", "abc", "",
              1.005, -5, True, [], {"yuan": 1}, "1" * 40, 1e300],  # null: "as computed" where optional
    "date": ["20260101", "2026-W27-2", "2026-02-30", "2026-6-1", " 2026-06-01", "2026-06-01\n", "", 20260101, None,
             "２０２６-06-01"],
    "code": [" R-1", "R-1 ", "R-1\n", "", "   ", "R\x00-1", "R\ud800", 12, None, ["R-1"]],
    "id": [10**29, 2**63, -1, 0, "1", 1.5, None, True],
    "text": ["a\x00b", "\ud800", "x\x07y", 12],
}


@pytest.fixture
def world(client, make_bank, make_user, make_loan):
    tokens = {"bank": bearer(make_bank("BANK-A")), "reviewer": bearer(make_user("reviewer")),
              "approver": bearer(make_user("approver")), "admin": bearer(make_user("fund_admin"))}
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)  # a low NPL ratio
    claim = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                                "outstanding_principal": "800000.00"},
                        headers={**tokens["bank"], "Idempotency-Key": "setup"})
    assert claim.status_code == 201, claim.json
    review = client.post(f"/api/v1/claims/{claim.json['id']}/review",
                         json={"recommendation": "approve", "comment": "ok"}, headers=tokens["reviewer"])
    assert review.status_code == 200, review.json
    return {**tokens, "loan_id": loan.id, "claim_id": claim.json["id"]}


def table(world):
    """(url, token, valid body, {field: kind}, idempotent)."""
    claim, loan = world["claim_id"], world["loan_id"]
    return [
        ("/api/v1/subfunds/GD-PROV/contributions", "admin",
         {"amount": "1.00", "received_on": "2026-06-01", "reference": "R-1"},
         {"amount": "money", "received_on": "date", "reference": "code"}, False),
        (f"/api/v1/claims/{claim}/approve", "approver", {"amount": "1.00", "reason": "repair"},
         {"amount": "money", "reason": "text"}, False),
        (f"/api/v1/claims/{claim}/pay", "approver", {"payment_reference": "P-1", "paid_on": "2026-06-30"},
         {"payment_reference": "code", "paid_on": "date"}, False),
        (f"/api/v1/claims/{claim}/recoveries", "bank", {"amount": "1.00", "recovered_on": "2026-06-30"},
         {"amount": "money", "recovered_on": "date"}, True),
        ("/api/v1/banks/BANK-A/debt-repayments", "admin",
         {"subfund": "GD-PROV", "amount": "1.00", "received_on": "2026-06-01", "reference": "D-1"},
         {"subfund": "code", "amount": "money", "received_on": "date", "reference": "code"}, False),
        ("/api/v1/claims", "bank", {"loan_id": loan, "default_on": "2026-03-01", "outstanding_principal": "1.00"},
         {"loan_id": "id", "default_on": "date", "outstanding_principal": "money"}, True),
        ("/api/v1/loans", "bank",
         {"external_id": "L-NEW", "scheme": "GD-KJD", "credit_code": "91440300708461136T", "principal": "1.00",
          "disbursed_on": "2026-06-01", "maturity_on": "2027-06-01"},
         {"external_id": "text", "scheme": "code", "credit_code": "code", "principal": "money",
          "disbursed_on": "date", "maturity_on": "date"}, False),
        (f"/api/v1/loans/{loan}/events", "bank", {"type": "repayment", "on": "2026-06-01", "amount": "1.00"},
         {"type": "code", "on": "date", "amount": "money"}, False),
    ]


def names_field(body, field):
    named = set(body.get("errors", {})) | {d.get("field") for d in body.get("details", []) if isinstance(d, dict)}
    return any(name == field or str(name).startswith(f"{field}.") for name in named)


def balances(session):
    session.expire_all()
    return {s.code: subfunds.balances(session, s) for s in session.scalars(select(SubFund).order_by(SubFund.code))}


def test_every_bad_value_of_every_money_field_is_refused_and_changes_nothing(client, world, session):
    before = (row_counts(session), balances(session), session.scalar(select(Loan.outstanding).where(
        Loan.id == world["loan_id"])))
    failures = []
    for n, (url, role, valid, kinds, idempotent) in enumerate(table(world)):
        for field, kind in kinds.items():
            for i, value in enumerate(BAD[kind]):
                headers = {**world[role], **({"Idempotency-Key": f"bad-{n}-{field}-{i}"} if idempotent else {})}
                r = client.post(url, data=json.dumps({**valid, field: value}), content_type="application/json",
                                headers=headers)
                ok = (400 <= r.status_code < 500 and r.mimetype == "application/problem+json"
                      and names_field(r.json, field))
                if not ok:
                    failures.append((url, field, value, r.status_code, r.get_data(as_text=True)[:200]))
    assert not failures, "\n".join(map(repr, failures))
    after = (row_counts(session), balances(session), session.scalar(select(Loan.outstanding).where(
        Loan.id == world["loan_id"])))
    assert after == before
