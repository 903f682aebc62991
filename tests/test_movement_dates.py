"""SPEC §1: dates of money movements are sane — never after today (BUSINESS_DATE
2026-06-30), never before the event they follow, never inside a period closed by an
issued statement; else 422 naming the date field and nothing changed (issue 10)."""

from __future__ import annotations

import pytest

from ledger import journal

from .helpers import row_counts
from .test_claims_api import submit, world  # noqa: F401 - the claims world fixture


def _contribute(client, world, received_on, reference="C-1", code="GD-PROV"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/subfunds/{code}/contributions", headers=world["admin"],
                       json={"amount": "1000.00", "received_on": received_on, "reference": reference})


def _refused(r, field: str, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.json
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json["code"] == code and field in r.json["errors"], r.json


@pytest.mark.parametrize(("received_on", "code"), [("9999-12-31", "date_in_future"), ("2026-07-01", "date_in_future"),
                                                   ("0001-01-01", "date_too_early")])
def test_a_contribution_is_never_dated_in_the_future_nor_absurdly_early(client, world, session, received_on, code):
    before = row_counts(session)
    _refused(_contribute(client, world, received_on), "received_on", code)
    assert row_counts(session) == before


def test_an_opening_balance_from_before_the_ledger_went_live_is_allowed(client, world):
    assert _contribute(client, world, "2019-12-31", "OPENING-2019").status_code == 201
    assert _contribute(client, world, "2026-06-30", "TODAY").status_code == 201


def _approved_claim(client, world, make_loan) -> int:  # type: ignore[no-untyped-def]
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)
    cid = submit(client, world, loan.id, "3000000.00", default_on="2026-03-01").json["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"},
                headers=world["reviewer"])
    assert client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=world["approver"]).status_code == 200
    return cid  # approved on 2026-06-30 (BUSINESS_DATE)


@pytest.mark.parametrize(("paid_on", "code"), [("2020-01-01", "date_before_event"),   # before default and approval
                                               ("2026-06-29", "date_before_event"),   # before the approval
                                               ("2026-07-01", "date_in_future")])
def test_a_payment_is_not_dated_before_its_approval_nor_in_the_future(client, world, make_loan, session, paid_on, code):
    cid = _approved_claim(client, world, make_loan)
    before = row_counts(session)
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": paid_on},
                    headers=world["admin"])
    _refused(r, "paid_on", code)
    assert row_counts(session) == before
    assert client.get(f"/api/v1/claims/{cid}", headers=world["auditor"]).json["status"] == "approved"
    # The reservation is intact: nothing was paid out of it, no balance went negative.
    gd = client.get("/api/v1/subfunds/GD-PROV", headers=world["auditor"]).json
    assert (gd["reserved"], gd["paid"]) == ("1050000.00", "0.00")


def test_the_issue_scenario_leaves_no_negative_balance_on_any_date(client, world, make_loan, session):
    # Issue 10: contributions dated 0001-01-01 / 9999-12-31 and a payment dated 2020-01-01
    # once made a sub-fund statement show reserved -60,000.00. Now all three are refused
    # and the sub-fund's balances as of any day stay at or above zero.
    cid = _approved_claim(client, world, make_loan)
    _refused(_contribute(client, world, "0001-01-01", "ANCIENT"), "received_on", "date_too_early")
    _refused(_contribute(client, world, "9999-12-31", "FUTURE"), "received_on", "date_in_future")
    _refused(client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2020-01-01"},
                         headers=world["admin"]), "paid_on", "date_before_event")
    assert client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-06-30"},
                       headers=world["admin"]).status_code == 200
    for as_of in ("2020-01-01", "2026-01-04", "2026-03-01", "2026-06-29", "2026-06-30"):
        gd = client.get(f"/api/v1/subfunds/GD-PROV?as_of={as_of}", headers=world["auditor"]).json
        for field in ("available", "reserved", "paid", "recovered"):
            assert not gd[field].startswith("-"), (as_of, field, gd[field])
    assert journal.check_balances(session) == []


def test_a_recovery_is_not_dated_before_its_payment(client, world, make_loan):
    cid = _approved_claim(client, world, make_loan)
    client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-06-30"},
                headers=world["admin"])
    r = client.post(f"/api/v1/claims/{cid}/recoveries", json={"amount": "1000.00", "recovered_on": "2026-06-29"},
                    headers={**world["bank"], "Idempotency-Key": "rec-early"})
    assert r.status_code == 422 and "recovered_on" in r.json["errors"]


def test_an_issued_sub_fund_statement_closes_its_period(client, world, make_loan, session):
    cid = _approved_claim(client, world, make_loan)
    # A statement of May-June for GD-PROV closes that period (and what precedes it,
    # its opening balance) for GD-PROV only.
    r = client.get("/api/v1/subfunds/GD-PROV/statement.pdf?from=2026-05-01&to=2026-06-29", headers=world["admin"])
    assert r.status_code == 200
    before = row_counts(session)
    _refused(_contribute(client, world, "2026-06-29", "LATE"), "received_on", "period_closed")
    _refused(_contribute(client, world, "2019-12-31", "OLD"), "received_on", "period_closed")
    assert row_counts(session) == before
    assert _contribute(client, world, "2026-06-30", "OPEN").status_code == 201
    assert _contribute(client, world, "2026-06-29", "OTHER", code="INS-PICC").status_code == 201
    # The open period still takes the payment of a claim GD-PROV pays.
    assert client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-06-30"},
                       headers=world["admin"]).status_code == 200


def test_an_issued_bank_statement_closes_its_period_for_that_bank(app, client, world, make_loan):
    cid = _approved_claim(client, world, make_loan)
    r = client.get("/api/v1/banks/BANK-A/statement.pdf?from=2026-06-01&to=2026-06-30", headers=world["admin"])
    assert r.status_code == 200
    app.config["BUSINESS_DATE"] = "2026-07-02"  # two days later: June is over, and closed for BANK-A
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-06-30"},
                    headers=world["admin"])
    _refused(r, "paid_on", "period_closed")
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-07-01"},
                    headers=world["admin"])
    assert r.status_code == 200, r.json


def test_an_issued_payer_statement_closes_its_period_for_the_payment(app, client, world, make_loan):
    # The payment reads the payers' and the bank's closed periods with the claim.
    cid = _approved_claim(client, world, make_loan)
    r = client.get("/api/v1/subfunds/GD-PROV/statement.pdf?from=2026-06-01&to=2026-06-30", headers=world["admin"])
    assert r.status_code == 200
    app.config["BUSINESS_DATE"] = "2026-07-02"
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-06-30"},
                    headers=world["admin"])
    _refused(r, "paid_on", "period_closed")
    assert "sub-fund GD-PROV" in r.json["detail"]
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "P-1", "paid_on": "2026-07-01"},
                    headers=world["admin"])
    assert r.status_code == 200, r.json


def test_today_stays_open_while_a_statement_reaching_today_is_provisional(client, world):
    assert client.get("/api/v1/subfunds/GD-PROV/statement.pdf?from=2026-06-01&to=2026-06-30",
                      headers=world["admin"]).status_code == 200
    assert _contribute(client, world, "2026-06-30", "TODAY").status_code == 201
    _refused(_contribute(client, world, "2026-06-29", "YESTERDAY"), "received_on", "period_closed")


def test_a_loan_event_is_not_dated_inside_the_banks_closed_period(app, client, world, make_loan):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    assert client.get("/api/v1/banks/BANK-A/statement.pdf?from=2026-06-01&to=2026-06-30",
                      headers=world["admin"]).status_code == 200
    app.config["BUSINESS_DATE"] = "2026-07-02"
    r = client.post(f"/api/v1/loans/{loan.id}/events", json={"type": "repayment", "on": "2026-06-30", "amount": "100.00"},
                    headers=world["bank"])
    _refused(r, "on", "period_closed")
    r = client.post(f"/api/v1/loans/{loan.id}/events", json={"type": "repayment", "on": "2026-07-01", "amount": "100.00"},
                    headers=world["bank"])
    assert r.status_code == 201, r.json
    r = client.post(f"/api/v1/loans/{loan.id}/events", json={"type": "default", "on": "2026-07-03"},
                    headers=world["bank"])
    assert r.status_code == 422 and "on" in r.json["errors"]


def test_a_claim_reporting_a_default_inside_the_banks_closed_period_names_default_on(app, client, world, make_loan,
                                                                                     session):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    assert client.get("/api/v1/banks/BANK-A/statement.pdf?from=2026-03-01&to=2026-06-30",
                      headers=world["admin"]).status_code == 200
    app.config["BUSINESS_DATE"] = "2026-07-02"
    before = row_counts(session)
    r = submit(client, world, loan.id, "900000.00", default_on="2026-03-01", key="late")
    assert (r.status_code, r.json["code"]) == (422, "claim_refused")
    assert [(d["code"], d["field"]) for d in r.json["details"]] == [("period_closed", "default_on")]
    assert row_counts(session)[:2] == before[:2]
