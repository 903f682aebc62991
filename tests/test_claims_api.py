"""Claims through the HTTP API: SPEC §3.3's figures, §4's lifecycle and checks (issues 4, 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger import journal
from ledger.models import IdempotencyRecord

from .conftest import SPEC_SUBFUNDS
from .helpers import bearer, row_counts

# SPEC §3.3 worked examples: (region, categories, principal, outstanding) -> ratio, compensation, payers.
EXAMPLES = {
    1: ("440106", ["tech_sme"], 2_000_000_00, 1_500_000_00, "0.5000", "750000.00",
        [("GD-PROV", "375000.00"), ("GD-PROV", "225000.00"), ("INS-PICC", "150000.00")]),
    2: ("440703", ["tech_sme", "agri_tech"], 3_000_000_00, 3_000_000_00, "0.7000", "2100000.00",
        [("GD-PROV", "1050000.00"), ("CITY-440700", "630000.00"), ("INS-PICC", "420000.00")]),
    3: ("440511", ["high_tech", "agri_tech", "specialized_town"], 8_000_000_00, 7_654_321_09, "0.8000", "5000000.00",
        [("GD-PROV", "2500000.00"), ("CITY-440500", "1500000.00"), ("INS-PICC", "1000000.00")]),
    4: ("441900", ["tech_sme"], 1_000_000_00, 333_333_33, "0.5000", "166666.67",
        [("GD-PROV", "83333.34"), ("CITY-441900", "50000.00"), ("INS-PICC", "33333.33")]),
}


@pytest.fixture
def world(make_bank, make_user, make_loan):
    tokens = {
        "bank": bearer(make_bank("BANK-A")),
        "other_bank": bearer(make_bank("BANK-B")),
        "reviewer": bearer(make_user("reviewer", name="reviewer")),
        "approver": bearer(make_user("approver", name="approver")),
        "approver2": bearer(make_user("approver", name="approver2")),
        "admin": bearer(make_user("fund_admin", name="admin")),
        "auditor": bearer(make_user("auditor", name="auditor")),
    }
    # A bank whose book is mostly performing: its NPL ratio stays under
    # npl_suspend_compensation (0.05) however many of these claims are approved.
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    return tokens


def submit(client, world, loan_id, outstanding, *, key="k-1", default_on="2026-03-01", token="bank"):
    return client.post("/api/v1/claims", json={"loan_id": loan_id, "default_on": default_on,
                                               "outstanding_principal": outstanding},
                       headers={**world[token], "Idempotency-Key": key})


@pytest.mark.parametrize("number", sorted(EXAMPLES))
def test_spec_worked_examples_through_submission(client, world, make_loan, number):
    region, categories, principal, outstanding, ratio, compensation, payers = EXAMPLES[number]
    loan = make_loan("BANK-A", region=region, categories=categories, principal=principal)
    r = submit(client, world, loan.id, f"{outstanding // 100}.{outstanding % 100:02d}")
    assert r.status_code == 201, r.json
    claim = r.json
    assert (claim["ratio"], claim["compensation"], claim["status"]) == (ratio, compensation, "submitted")
    assert [(p["subfund"], p["amount"]) for p in claim["payers"]] == payers
    assert claim["steps"] and all(s["detail"] and s["detail_zh"] for s in claim["steps"])


def test_claim_too_early_and_every_failed_check_at_once(client, world, make_loan, session):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00,
                     outstanding=500_000_00)
    before = row_counts(session)
    r = submit(client, world, loan.id, "600000.00", default_on="2026-05-01")  # 60 days before 2026-06-30
    assert r.status_code == 422
    assert r.json["code"] == "claim_refused"
    assert {d["code"] for d in r.json["details"]} == {"claim_too_early", "outstanding_above_loan"}
    assert set(r.json["errors"]) == {"default_on", "outstanding_principal"}
    # The refusal is the key's outcome: replayed identically, and nothing else was written.
    again = submit(client, world, loan.id, "600000.00", default_on="2026-05-01")
    assert again.status_code == 422 and again.data == r.data
    assert row_counts(session)[:2] == before[:2]


def test_filing_window_expired_and_duplicate(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    late = submit(client, world, loan.id, "1000000.00", default_on="2025-12-01", key="late")
    codes = {d["code"] for d in late.json["details"]}
    assert "filing_window_expired" in codes
    assert submit(client, world, loan.id, "1000000.00", key="first").status_code == 201
    dup = submit(client, world, loan.id, "1000000.00", key="second")
    assert dup.status_code == 422 and {d["code"] for d in dup.json["details"]} == {"duplicate_claim"}


def test_loan_not_active(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00, status="repaid")
    r = submit(client, world, loan.id, "1000.00")
    assert {d["code"] for d in r.json["details"]} == {"loan_not_active"}


def test_idempotency_replay_and_reuse(client, world, make_loan, session):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    first = submit(client, world, loan.id, "1000000.00", key="same")
    replay = submit(client, world, loan.id, "1000000.00", key="same")
    assert replay.status_code == 201 and replay.data == first.data
    assert replay.headers["Idempotent-Replayed"] == "true"
    reuse = submit(client, world, loan.id, "999999.00", key="same")
    assert (reuse.status_code, reuse.json["code"]) == (422, "idempotency_key_reused")
    missing = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                                  "outstanding_principal": "1.00"}, headers=world["bank"])
    assert (missing.status_code, missing.json["code"]) == (428, "idempotency_key_required")
    assert len(session.scalars(select(IdempotencyRecord)).all()) == 1


def test_isolation_other_bank_sees_404(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    claim = submit(client, world, loan.id, "1000000.00").json
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=world["other_bank"]).status_code == 404
    assert client.get("/api/v1/claims", headers=world["other_bank"]).json["total"] == 0
    r = submit(client, world, loan.id, "1000000.00", token="other_bank", key="theirs")
    assert (r.status_code, r.json["code"]) == (404, "loan_not_found")
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=world["auditor"]).status_code == 200


def _balances(client, world, code):
    return client.get(f"/api/v1/subfunds/{code}", headers=world["auditor"]).json


def test_full_journey_submit_review_approve_pay_recover(client, world, make_loan, session):
    """SPEC §3.3 example 2 end to end, then its recovery of 1,000,000.00."""
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)
    claim = submit(client, world, loan.id, "3000000.00").json
    cid = claim["id"]
    r = client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "材料齐全"},
                    headers=world["reviewer"])
    assert r.json["status"] == "reviewed"
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    assert r.status_code == 200, r.json
    assert r.json["approved_amount"] == "2100000.00"
    assert [p["reserved"] for p in r.json["payers"]] == [True, True, True]
    assert _balances(client, world, "GD-PROV")["reserved"] == "1050000.00"
    assert _balances(client, world, "GD-PROV")["available"] == "98950000.00"
    assert _balances(client, world, "CITY-440700")["reserved"] == "630000.00"
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "PAY-001", "paid_on": "2026-06-30"},
                    headers=world["admin"])
    assert r.json["status"] == "paid"
    double = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "PAY-001", "paid_on": "2026-06-30"},
                         headers=world["admin"])
    assert double.status_code == 200  # a retried payment moves nothing
    gd = _balances(client, world, "GD-PROV")
    assert (gd["reserved"], gd["paid"], gd["available"]) == ("0.00", "1050000.00", "98950000.00")
    assert _balances(client, world, "INS-PICC")["paid"] == "420000.00"

    r = client.post(f"/api/v1/claims/{cid}/recoveries", json={"amount": "1000000.00", "recovered_on": "2026-06-30"},
                    headers={**world["bank"], "Idempotency-Key": "rec-1"})
    assert r.status_code == 201, r.json
    assert (r.json["returned"], r.json["pool_share_cumulative"]) == ("700000.00", "700000.00")
    assert [line["amount"] for line in r.json["lines"]] == ["350000.00", "210000.00", "140000.00"]
    assert _balances(client, world, "GD-PROV")["recovered"] == "350000.00"
    assert _balances(client, world, "GD-PROV")["available"] == "99300000.00"
    too_much = client.post(f"/api/v1/claims/{cid}/recoveries", json={"amount": "2000000.01", "recovered_on": "2026-06-30"},
                           headers={**world["bank"], "Idempotency-Key": "rec-2"})
    assert (too_much.status_code, too_much.json["code"]) == (422, "recovery_exceeds_loss")
    final = client.get(f"/api/v1/claims/{cid}", headers=world["bank"]).json
    assert [e["action"] for e in final["history"]] == ["submit", "review", "approve", "pay", "recovery"]
    assert journal.check_balances(session) == [] and journal.unbalanced_transactions(session) == []


def test_four_eyes(client, world, make_loan, make_user):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]
    both = bearer(make_user("reviewer", "approver", name="both"))
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"}, headers=both)
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=both)
    assert (r.status_code, r.json["code"]) == (403, "four_eyes")
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["reviewer"])
    assert (r.status_code, r.json["code"]) == (403, "forbidden")
    assert client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"]).status_code == 200


def test_approve_needs_review_first_and_double_approval_is_409(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    assert (r.status_code, r.json["code"], r.json["current_status"]) == (409, "invalid_transition", "submitted")
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    assert client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"]).status_code == 200
    again = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver2"])
    assert (again.status_code, again.json["current_status"]) == (409, "approved")


def test_repair_needs_a_reason_and_is_a_step(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]  # 0.60 -> 600,000.00
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    r = client.post(f"/api/v1/claims/{cid}/approve", json={"amount": "500000.00"}, headers=world["approver"])
    assert (r.status_code, r.json["code"]) == (422, "repair_reason_required")
    r = client.post(f"/api/v1/claims/{cid}/approve", json={"amount": "600000.01", "reason": "x"},
                    headers=world["approver"])
    assert (r.status_code, r.json["code"]) == (422, "amount_above_computed")
    r = client.post(f"/api/v1/claims/{cid}/approve", json={"amount": "500000.00", "reason": "抵押物已处置部分"},
                    headers=world["approver"])
    assert r.json["approved_amount"] == "500000.00"
    assert [p["amount"] for p in r.json["payers"]] == ["250000.00", "150000.00", "100000.00"]
    repair = [s for s in r.json["steps"] if s["rule"] == "repair"]
    assert repair and "抵押物已处置部分" in repair[0]["detail"]


def test_insufficient_funds_reserves_nothing_and_claim_stays(client, world, make_loan, session):
    loan = make_loan("BANK-A", region="440511", categories=["tech_sme"], principal=8_000_000_00)
    cid = submit(client, world, loan.id, "8000000.00").json["id"]  # 0.70 x 8M = 5.6M -> cap 5M; city 1.5M
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    # Drain CITY-440500 to 1,000,000.00 by reserving the rest for something else.
    from datetime import date

    from ledger.subfunds import get_subfund, subfund_account
    city = get_subfund(session, "CITY-440500")
    journal.reserve(session, source=subfund_account(session, city, "available"),
                    hold=subfund_account(session, city, "reserved"), amount=99_000_000_00, effective_on=date(2026, 6, 1))
    session.commit()
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    assert (r.status_code, r.json["code"]) == (409, "insufficient_funds")
    assert r.json["account"] == "subfund:CITY-440500:available" and r.json["shortfall"] == "500000.00"
    assert "CITY-440500" in r.json["detail"]
    assert client.get(f"/api/v1/claims/{cid}", headers=world["auditor"]).json["status"] == "reviewed"
    assert _balances(client, world, "GD-PROV")["reserved"] == "0.00"


def test_return_amend_resubmit(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]
    r = client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "return", "comment": "请补充逾期证明"},
                    headers=world["reviewer"])
    assert r.json["status"] == "returned"
    seen = client.get(f"/api/v1/claims/{cid}", headers=world["bank"]).json
    assert seen["return_reason"] == "请补充逾期证明"
    r = client.put(f"/api/v1/claims/{cid}", json={"default_on": "2026-03-01", "outstanding_principal": "800000.00"},
                   headers=world["bank"])
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["compensation"]) == ("submitted", "480000.00")


def test_withdraw_after_approval_releases(client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    assert _balances(client, world, "GD-PROV")["reserved"] == "300000.00"
    r = client.post(f"/api/v1/claims/{cid}/withdraw", json={"reason": "已与企业和解"}, headers=world["bank"])
    assert r.json["status"] == "withdrawn"
    assert _balances(client, world, "GD-PROV")["reserved"] == "0.00"
    assert _balances(client, world, "GD-PROV")["available"] == "100000000.00"
    # The loan can be claimed again.
    assert submit(client, world, loan.id, "1000000.00", key="k-2").status_code == 201


def test_clawback_offsets_the_next_payout(client, world, make_loan):
    def paid_claim(region, outstanding, key):
        loan = make_loan("BANK-A", region=region, categories=["tech_sme"], principal=1_000_000_00)
        cid = submit(client, world, loan.id, outstanding, key=key).json["id"]
        client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                    headers=world["reviewer"])
        client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
        return cid

    first = paid_claim("440703", "1000000.00", "a")  # 600,000.00: 300k / 180k / 120k
    client.post(f"/api/v1/claims/{first}/pay", json={"payment_reference": "P1", "paid_on": "2026-06-30"},
                headers=world["admin"])
    r = client.post(f"/api/v1/claims/{first}/clawback", json={"reason": "企业不符合科技型中小企业条件"},
                    headers=world["approver"])
    assert r.status_code == 201 and r.json["amount"] == "600000.00"
    owed = client.get("/api/v1/banks/BANK-A/debts", headers=world["bank"]).json["debts"]
    assert owed == {"CITY-440700": "180000.00", "GD-PROV": "300000.00", "INS-PICC": "120000.00"}
    assert client.get("/api/v1/banks/BANK-A/debts", headers=world["other_bank"]).status_code == 404
    # The bank settles its insurer debt directly; the rest is kept back from its next payout.
    r = client.post("/api/v1/banks/BANK-A/debt-repayments", headers=world["admin"],
                    json={"subfund": "INS-PICC", "amount": "120000.00", "received_on": "2026-06-30", "reference": "R1"})
    assert r.status_code == 201 and "INS-PICC" not in r.json["debts"]
    too_much = client.post("/api/v1/banks/BANK-A/debt-repayments", headers=world["admin"],
                           json={"subfund": "GD-PROV", "amount": "300000.01", "received_on": "2026-06-30",
                                 "reference": "R2"})
    assert (too_much.status_code, too_much.json["code"]) == (422, "repayment_exceeds_debt")
    second = paid_claim("440703", "500000.00", "b")  # 300,000.00: 150k / 90k / 60k
    r = client.post(f"/api/v1/claims/{second}/pay", json={"payment_reference": "P2", "paid_on": "2026-06-30"},
                    headers=world["admin"])
    assert [p["offset"] for p in r.json["payers"]] == ["150000.00", "90000.00", "0.00"]
    assert client.get("/api/v1/banks/BANK-A/debts", headers=world["auditor"]).json["debts"] == {
        "CITY-440700": "90000.00", "GD-PROV": "150000.00"}
    gd = _balances(client, world, "GD-PROV")
    # Paid out 300k + 150k, of which 150k kept back: available 100M - 300k - 150k + 150k.
    assert (gd["paid"], gd["available"]) == ("450000.00", "99700000.00")
    first_claim = client.get(f"/api/v1/claims/{first}", headers=world["auditor"]).json
    assert first_claim["clawed_back"] == "600000.00"


def test_exposure_of_active_loans(client, make_user, make_bank, make_loan):
    make_bank("BANK-A")
    auditor = bearer(make_user("auditor"))
    make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)  # ex. 2
    make_loan("BANK-A", region="441900", categories=["tech_sme"], principal=1_000_000_00, outstanding=333_333_33)  # ex. 4
    r = client.get("/api/v1/exposure", headers=auditor)
    assert r.status_code == 200
    funds = {f["code"]: f for f in r.json["subfunds"]}
    assert funds["GD-PROV"]["contingent_liability"] == "1133333.34"  # 1,050,000.00 + 83,333.34
    assert funds["CITY-440700"]["contingent_liability"] == "630000.00"
    assert funds["INS-PICC"]["contingent_liability"] == "453333.33"  # 420,000.00 + 33,333.33
    assert funds["CITY-440500"]["contingent_liability"] == "0.00"
    scheme = r.json["schemes"][0]
    assert (scheme["code"], scheme["active_loans"], scheme["contingent_liability"]) == ("GD-KJD", 2, "2266666.67")
    assert scheme["outstanding_principal"] == "3333333.33" and scheme["leverage_limit"] == "10"
    # The pool, as registration counts it: all five SPEC sub-funds at 100,000,000.00.
    assert sorted(scheme["payers"]) == sorted(SPEC_SUBFUNDS) and scheme["payer_available"] == "500000000.00"
    assert scheme["leverage_used"] == "0.0067"  # 3,333,333.33 / 500,000,000.00
    assert client.get("/api/v1/exposure", headers=bearer(make_user("bank", bank="BANK-A"))).status_code == 403


def test_approval_refused_while_the_banks_npl_ratio_is_above_the_threshold(client, world, make_loan):
    # Two defaulted loans of 20,000,000.00 and the claimed 1,000,000.00 beside the 500,000,000.00
    # performing book: 41 / 541 = 7.58 % > 5 %.
    for i in range(2):
        make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=20_000_000_00, status="defaulted")
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    assert (r.status_code, r.json["code"], r.json["npl_ratio"]) == (409, "bank_compensation_suspended", "0.0758")
    assert client.get(f"/api/v1/claims/{cid}", headers=world["auditor"]).json["status"] == "reviewed"
