"""SPEC §3.1 step 5: the bank's portfolio cap for the loan's disbursement year, applied
at approval after the annual cap, recorded as a step when it bites (issue 14 item 3)."""

from __future__ import annotations

from datetime import date

import pytest

from .helpers import bearer


@pytest.fixture
def rule_overrides():
    return {"claims": {"portfolio_cap_rate": "0.08"}}


@pytest.fixture
def world(make_bank, make_user, make_loan):
    tokens = {
        "bank": bearer(make_bank("BANK-A")),
        "reviewer": bearer(make_user("reviewer", name="reviewer")),
        "approver": bearer(make_user("approver", name="approver")),
        "auditor": bearer(make_user("auditor", name="auditor")),
    }
    # A performing 2025 vintage keeps the NPL ratio low; it is not the claims' vintage.
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00,
              disbursed_on=date(2025, 6, 1))
    return tokens


def _approve(client, world, loan_id, outstanding, key):
    r = client.post("/api/v1/claims", json={"loan_id": loan_id, "default_on": "2026-03-01",
                                            "outstanding_principal": outstanding},
                    headers={**world["bank"], "Idempotency-Key": key})
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    r = client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                    headers=world["reviewer"])
    assert r.status_code == 200, r.json
    return client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])


def test_the_vintage_cap_bites_at_approval_and_is_a_step(client, world, make_loan):
    # 2026 vintage: 3,000,000.00 + 2,000,000.00 registered -> cap 0.08 x 5,000,000.00 = 400,000.00.
    claimed = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)
    other = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=2_000_000_00)
    r = _approve(client, world, claimed.id, "3000000.00", "c-1")
    assert r.status_code == 200, r.json
    # Computed 2,100,000.00 at submission (SPEC §3.3 example 2), limited at approval.
    assert (r.json["compensation"], r.json["approved_amount"]) == ("2100000.00", "400000.00")
    caps = [s for s in r.json["steps"] if s["rule"] == "portfolio_cap"]
    assert len(caps) == 1 and "400000.00" in caps[0]["detail"] and "2026" in caps[0]["detail"]
    assert [p["amount"] for p in r.json["payers"]] == ["200000.00", "120000.00", "80000.00"]
    # Nothing is left of the vintage's cap for the next claim on it.
    again = _approve(client, world, other.id, "2000000.00", "c-2")
    assert (again.status_code, again.json["code"]) == (409, "cap_exhausted")


def test_each_vintage_has_its_own_cap(client, world, make_loan):
    used_up = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    assert _approve(client, world, used_up.id, "1000000.00", "c-4").json["approved_amount"] == "80000.00"
    # The 2025 vintage (500,000,000.00 registered) is untouched by 2026's approvals.
    older = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00,
                      disbursed_on=date(2025, 9, 1))
    r = _approve(client, world, older.id, "1000000.00", "c-5")
    assert (r.status_code, r.json["approved_amount"]) == (200, "600000.00")


def test_a_cap_that_does_not_bite_adds_no_step(client, world, make_loan):
    make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=50_000_000_00)
    claimed = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    # 2026 vintage: 51,000,000.00 x 0.08 = 4,080,000.00, well above Jiangmen's 0.60 x 1,000,000.00.
    r = _approve(client, world, claimed.id, "1000000.00", "c-3")
    assert r.status_code == 200, r.json
    assert r.json["approved_amount"] == "600000.00"
    assert not [s for s in r.json["steps"] if s["rule"] == "portfolio_cap"]
    # These rules set no decision_days: no SLA clock runs.
    assert (r.json["decide_by"], r.json["overdue"]) == (None, False)
