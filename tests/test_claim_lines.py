"""Correctness found on the way (issue 10): payer-line labels when two lines fall back to
the same sub-fund, the claim.reserve audit entry with every line, and a claim that
reports the default itself."""

from __future__ import annotations

from sqlalchemy import select, update

from ledger.models import AuditEntry, Claim, ClaimPayerLine, Loan, LoanEvent

from .test_claims_api import submit, world  # noqa: F401 - the claims world fixture


def _example_1(client, world, make_loan):  # type: ignore[no-untyped-def]
    """SPEC §3.3 example 1: Guangzhou has no CITY-440100, so GD-PROV also pays the city's share."""
    loan = make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=2_000_000_00)
    r = submit(client, world, loan.id, "1500000.00")
    assert r.status_code == 201, r.json
    return loan, r.json


def test_each_payer_line_keeps_its_own_label(client, world, make_loan):
    _loan, claim = _example_1(client, world, make_loan)
    lines = [(p["subfund"], p["amount"], p["template"], p["fallback_used"]) for p in claim["payers"]]
    assert lines == [("GD-PROV", "375000.00", "GD-PROV", False),
                     ("GD-PROV", "225000.00", "CITY-{city}", True),
                     ("INS-PICC", "150000.00", "INS-PICC", False)]
    again = client.get(f"/api/v1/claims/{claim['id']}", headers=world["auditor"]).json
    assert [(p["template"], p["fallback_used"]) for p in again["payers"]] == [
        ("GD-PROV", False), ("CITY-{city}", True), ("INS-PICC", False)]


def test_the_reserve_audit_entry_records_every_line(client, world, make_loan, session):
    _loan, claim = _example_1(client, world, make_loan)
    cid = claim["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    assert client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"]).status_code == 200
    session.rollback()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "claim.reserve",
                                                     AuditEntry.entity_id == str(cid))).one()
    assert [(line["subfund"], line["amount"]) for line in entry.after["lines"]] == [
        ("GD-PROV", "375000.00"), ("GD-PROV", "225000.00"), ("INS-PICC", "150000.00")]
    assert sum(float(line["amount"]) for line in entry.after["lines"]) == 750000.00


def test_a_claim_reporting_the_default_records_it_on_the_loan(client, world, make_loan, session):
    # The bank never sent a default event: the claim (outstanding 750,000.00 on a loan
    # at 800,000.00) is its report of the default.
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=800_000_00)
    r = submit(client, world, loan.id, "750000.00", default_on="2026-03-01")
    assert r.status_code == 201, r.json
    session.rollback()
    stored = session.scalar(select(Loan).where(Loan.id == loan.id).execution_options(populate_existing=True))
    assert (stored.status, stored.outstanding, str(stored.default_on)) == ("claimed", 750_000_00, "2026-03-01")
    events = session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan.id)).all()
    assert [(e.type, e.on.isoformat(), e.amount, e.outstanding_after) for e in events] == [
        ("default", "2026-03-01", 750_000_00, 750_000_00)]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "loan.default",
                                                     AuditEntry.entity_id == str(loan.id))).one()
    assert audit.before["outstanding"] == "800000.00" and audit.after["outstanding"] == "750000.00"
    listed = client.get(f"/api/v1/loans/{loan.id}/events", headers=world["bank"]).json
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [e["type"] for e in items] == ["default"]


def test_the_console_marks_only_the_fallback_line(client, world, make_loan, session):
    _loan, claim = _example_1(client, world, make_loan)
    from ledger import passwords

    from .console.conftest import FAST_HASH, login

    passwords.HASH_METHOD, saved = FAST_HASH, passwords.HASH_METHOD
    try:
        passwords.set_password(session, "auditor", "correct horse battery", actor="test")
        session.commit()
    finally:
        passwords.HASH_METHOD = saved
    assert login(client, "auditor", "correct horse battery").status_code == 302
    html = client.get(f"/console/claims/{claim['id']}").get_data(as_text=True)
    rows = [row for row in html.split("<tr>") if "GD-PROV" in row and "</td>" in row]
    marked = [row for row in rows if "替补出资" in row]
    assert len(marked) == 1 and ("225,000.00" in marked[0] or "225000.00" in marked[0]), marked


def test_the_pdf_marks_only_the_fallback_line(client, world, make_loan):
    from .test_statements_pdf import text_of

    _loan, claim = _example_1(client, world, make_loan)
    cid = claim["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-06-30"},
                headers=world["admin"])
    r = client.get(f"/api/v1/claims/{cid}/statement.pdf", headers=world["admin"])
    assert r.status_code == 200
    text = text_of(r.data)
    assert text.count("替补出资") == 1
    # The marked row is the 225,000.00 line (cells extract one per line, in row order).
    row = text.split("替补出资", 1)[1].split("INS-PICC", 1)[0]
    assert "225,000.00" in row and "375,000.00" not in row, row


def test_an_approval_whose_payer_subfund_has_no_accounts_reserves_nothing(client, world, make_loan, session):
    # A line (and its decision entry) naming a sub-fund without accounts: its accounts,
    # loaded with the claim, are missing, and the approval names it instead of failing.
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    cid = submit(client, world, loan.id, "1000000.00").json["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    claim = session.get(Claim, cid)
    payers = [{**p, "subfund": "CITY-GONE"} if p["subfund"] == "CITY-440700" else p for p in claim.decision["payers"]]
    session.execute(update(Claim).where(Claim.id == cid).values(decision={**claim.decision, "payers": payers}))
    session.execute(update(ClaimPayerLine).where(ClaimPayerLine.claim_id == cid,
                                                 ClaimPayerLine.subfund_code == "CITY-440700")
                    .values(subfund_code="CITY-GONE"))
    session.commit()
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"])
    assert (r.status_code, r.json["code"], r.json["subfund"]) == (409, "payer_subfund_missing", "CITY-GONE")
    again = client.get(f"/api/v1/claims/{cid}", headers=world["auditor"]).json
    assert again["status"] == "reviewed" and not any(p["reserved"] for p in again["payers"])
