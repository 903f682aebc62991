"""The whole journey over HTTP, with SPEC §3.3 example 2's figures (issues 4, 5, 6).

A bank registers the borrower and the loan, reports the default, files too early and
then in the window; the bureau reviews, approves, pays; the bank reports a recovery;
the auditor downloads the compensation statement and verifies it. Runs on whichever
database the suite runs on (SQLite and PostgreSQL in CI).
"""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from ledger import audit, journal

from .factories import credit_code
from .helpers import bearer


@pytest.fixture
def people(make_bank, make_user):
    return {
        "bank": bearer(make_bank("BANK-A", "江门农商银行")),
        "reviewer": bearer(make_user("reviewer", name="li.reviewer")),
        "approver": bearer(make_user("approver", name="wang.approver")),
        "admin": bearer(make_user("fund_admin", name="zhao.admin")),
        "auditor": bearer(make_user("auditor", name="chen.auditor")),
    }


def on(app, day: str) -> None:
    """Move the ledger's business date (what it treats as today)."""
    app.config["BUSINESS_DATE"] = day


def fund(client, people, code):
    return client.get(f"/api/v1/subfunds/{code}", headers=people["auditor"]).json


def test_bank_to_auditor_journey(app, client, people, gd_scheme, session):
    bank = people["bank"]
    on(app, "2026-01-20")
    # The borrower of SPEC §3.3 example 2, and a performing book that keeps the bank's
    # NPL ratio under npl_suspend_compensation (0.05): 3M defaulted of 73M outstanding.
    r = client.post("/api/v1/enterprises", headers=bank, json={
        "credit_code": credit_code(2), "name": "江门市农业科技有限公司", "region": "440703",
        "categories": ["tech_sme", "agri_tech"]})
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/enterprises", headers=bank, json={
        "credit_code": credit_code(3), "name": "广州市某软件有限公司", "region": "440106", "categories": ["high_tech"]})
    assert r.status_code == 201, r.json
    loan_body = {"external_id": "JM-2026-0001", "scheme": "GD-KJD", "credit_code": credit_code(2),
                 "principal": "3000000.00", "disbursed_on": "2026-01-15", "maturity_on": "2027-01-15"}
    r = client.post("/api/v1/loans", headers=bank, json=loan_body)
    assert r.status_code == 201, r.json
    loan = r.json
    assert (loan["status"], loan["rule_version"]) == ("active", 1)
    assert client.post("/api/v1/loans", headers=bank, json=loan_body).status_code == 200  # idempotent
    for i in range(7):
        r = client.post("/api/v1/loans", headers=bank, json={
            "external_id": f"GZ-2026-{i:04d}", "scheme": "GD-KJD", "credit_code": credit_code(3),
            "principal": "10000000.00", "disbursed_on": "2026-01-15", "maturity_on": "2028-01-15"})
        assert r.status_code == 201, r.json

    on(app, "2026-03-05")
    r = client.post(f"/api/v1/loans/{loan['id']}/events", headers=bank, json={"type": "default", "on": "2026-03-01"})
    assert r.status_code == 201, r.json

    claim_body = {"loan_id": loan["id"], "default_on": "2026-03-01", "outstanding_principal": "3000000.00"}
    on(app, "2026-04-15")  # 45 days after the default: min_overdue_days is 90
    r = client.post("/api/v1/claims", headers={**bank, "Idempotency-Key": "JM-0001-a"}, json=claim_body)
    assert (r.status_code, r.json["code"]) == (422, "claim_refused")
    assert [d["code"] for d in r.json["details"]] == ["claim_too_early"]

    on(app, "2026-06-30")
    r = client.post("/api/v1/claims", headers={**bank, "Idempotency-Key": "JM-0001-b"}, json=claim_body)
    assert r.status_code == 201, r.json
    claim = r.json
    assert (claim["ratio"], claim["eligible_loss"], claim["compensation"]) == ("0.7000", "3000000.00", "2100000.00")
    assert [(p["subfund"], p["amount"]) for p in claim["payers"]] == [
        ("GD-PROV", "1050000.00"), ("CITY-440700", "630000.00"), ("INS-PICC", "420000.00")]
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=bank).json["compensation"] == "2100000.00"
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=bank).json["status"] == "claimed"

    cid = claim["id"]
    r = client.post(f"/api/v1/claims/{cid}/review", headers=people["reviewer"],
                    json={"recommendation": "approve", "comment": "逾期证明齐全"})
    assert r.status_code == 200, r.json
    r = client.post(f"/api/v1/claims/{cid}/approve", headers=people["approver"], json={})
    assert r.status_code == 200, r.json
    assert fund(client, people, "CITY-440700")["reserved"] == "630000.00"
    r = client.post(f"/api/v1/claims/{cid}/pay", headers=people["admin"],
                    json={"payment_reference": "GDCZ-2026-0630-01", "paid_on": "2026-06-30"})
    assert r.status_code == 200, r.json
    r = client.post(f"/api/v1/claims/{cid}/recoveries", headers={**bank, "Idempotency-Key": "JM-0001-rec1"},
                    json={"amount": "1000000.00", "recovered_on": "2026-06-30"})
    assert r.status_code == 201, r.json
    assert [line["amount"] for line in r.json["lines"]] == ["350000.00", "210000.00", "140000.00"]

    # Sub-funds by hand: 100,000,000.00 each, paid their line, got their recovery share back.
    for code, paid, recovered in (("GD-PROV", "1050000.00", "350000.00"), ("CITY-440700", "630000.00", "210000.00"),
                                  ("INS-PICC", "420000.00", "140000.00")):
        f = fund(client, people, code)
        assert (f["paid"], f["recovered"], f["reserved"]) == (paid, recovered, "0.00"), code
    assert fund(client, people, "GD-PROV")["available"] == "99300000.00"
    assert fund(client, people, "CITY-440700")["available"] == "99580000.00"
    assert fund(client, people, "INS-PICC")["available"] == "99720000.00"
    session.expire_all()
    assert journal.check_balances(session) == [] and journal.unbalanced_transactions(session) == []
    assert audit.verify_chain(session).ok

    # An auditor reads without writing: before the bank downloads it, nothing is issued.
    r = client.get(f"/api/v1/claims/{cid}/statement.pdf", headers=people["auditor"])
    assert (r.status_code, r.json["code"]) == (409, "statement_not_issued")
    issued = client.get(f"/api/v1/claims/{cid}/statement.pdf", headers=bank)
    assert issued.status_code == 200

    # The auditor fetches the issued compensation statement and checks it was issued here.
    pdf = client.get(f"/api/v1/claims/{cid}/statement.pdf", headers=people["auditor"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == issued.data
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    for expected in ("补偿结算单", "江门市农业科技有限公司", "2,100,000.00", "1,050,000.00", "630,000.00",
                     "420,000.00", "GDCZ-2026-0630-01"):
        assert expected in text, expected
    r = client.post("/api/v1/statements/verify", data=pdf.data, content_type="application/pdf",
                    headers=people["auditor"])
    assert (r.status_code, r.json["issued"], r.json["altered"]) == (200, True, False)
    assert client.get(f"/api/v1/claims/{cid}/statement.pdf", headers=bank).data == pdf.data
