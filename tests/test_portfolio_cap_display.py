"""The portfolio cap shown with its utilisation: API and console (issue 14 item 3)."""

from __future__ import annotations

from datetime import date

import pytest

from .console.conftest import FAST_HASH, login
from .helpers import bearer


@pytest.fixture
def rule_overrides():
    return {"claims": {"portfolio_cap_rate": "0.08"}}


def test_vintage_cap_and_utilisation(client, make_bank, make_user, make_loan, session, monkeypatch):
    bank = bearer(make_bank("BANK-A"))
    other = bearer(make_bank("BANK-B"))
    reviewer, approver = bearer(make_user("reviewer")), bearer(make_user("approver"))
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=100_000_000_00, disbursed_on=date(2025, 6, 1))
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=5_000_000_00)
    cid = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                              "outstanding_principal": "1000000.00"},
                      headers={**bank, "Idempotency-Key": "k"}).json["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"}, headers=reviewer)
    assert client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=approver).json["approved_amount"] == "400000.00"

    r = client.get("/api/v1/banks/BANK-A/portfolio-cap", headers=bank)
    assert r.status_code == 200, r.json
    # 2025: 0.08 x 100,000,000.00 = 8,000,000.00, unused; 2026: 0.08 x 5,000,000.00 = 400,000.00, all used.
    assert [(v["vintage"], v["registered"], v["cap"], v["approved"], v["left"], v["utilisation"])
            for v in r.json["vintages"]] == [
        (2025, "100000000.00", "8000000.00", "0.00", "8000000.00", "0.0000"),
        (2026, "5000000.00", "400000.00", "400000.00", "0.00", "1.0000"),
    ]
    assert client.get("/api/v1/banks/BANK-A/portfolio-cap", headers=other).status_code == 404

    from ledger import passwords

    monkeypatch.setattr(passwords, "HASH_METHOD", FAST_HASH)
    make_user("auditor", name="auditor")
    passwords.set_password(session, "auditor", "correct horse battery", actor="test")
    session.commit()
    login(client, "auditor", "correct horse battery")
    html = client.get("/console/banks").get_data(as_text=True)
    assert 'data-bank="BANK-A"' in html and 'data-vintage="2026"' in html
    assert "400,000.00" in html and "1.0000" in html and "<svg" in html


def test_the_bank_statement_shows_the_portfolio_cap(client, make_bank, make_user, make_loan):
    import io

    from pypdf import PdfReader

    bank = bearer(make_bank("BANK-A"))
    admin = bearer(make_user("fund_admin"))
    make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=5_000_000_00)
    r = client.get("/api/v1/banks/BANK-A/statement.pdf?from=2026-06-01&to=2026-06-30", headers=admin)
    assert r.status_code == 200, r.data[:300]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    assert "组合补偿上限" in text and "400,000.00" in text and "5,000,000.00" in text
