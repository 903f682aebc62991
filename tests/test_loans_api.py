"""Loan registration, events, NPL ratio, isolation and roles (SPEC §3, §4; issue 4).

The world: GD-KJD's example rules (rules/examples/gd-kjd.toml), SPEC §3.3's five
sub-funds holding 1,000,000.00 each (pool capacity 10 × 5,000,000.00 = 50,000,000.00),
business date 2026-06-30.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select, update

import rules
from ledger.loans import npl_ratio, pool_subfunds
from ledger.models import AuditEntry, Loan, LoanEvent

from .factories import (
    EXAMPLES,
    credit_code,
    enterprise_body,
    fund_spec_subfunds,
    lending_counts,
    loan_body,
    loan_event,
    publish_example_rules,
    publish_rules,
    register_enterprise,
)
from .helpers import bearer


@pytest.fixture
def world(session, make_subfund):
    publish_example_rules(session)
    fund_spec_subfunds(make_subfund)


@pytest.fixture
def bank_a(make_bank, client, world):
    token = make_bank("BANK-A")
    register_enterprise(client, token, 1)
    return token


@pytest.fixture
def bank_b(make_bank, client, world):
    token = make_bank("BANK-B")
    register_enterprise(client, token, 2)
    return token


def post_loan(client, token, n=1, **overrides):
    return client.post("/api/v1/loans", json=loan_body(n, **overrides), headers=bearer(token))


def refusal_codes(response) -> set[str]:
    assert (response.status_code, response.json["code"]) == (422, "registration_refused"), response.json
    return {d["code"] for d in response.json["details"]}


# -- registration -------------------------------------------------------------------------


def test_register_freezes_version_region_and_categories(client, bank_a, session):
    r = post_loan(client, bank_a)
    assert r.status_code == 201, r.json
    loan = r.json
    assert {k: loan[k] for k in ("external_id", "bank", "scheme", "rule_version", "status", "credit_code", "region",
                                 "categories", "principal", "outstanding", "disbursed_on", "maturity_on",
                                 "interest_rate", "collateral_type", "default_on", "registered_on")} == {
        "external_id": "L-00001", "bank": "BANK-A", "scheme": "GD-KJD", "rule_version": 1, "status": "active",
        "credit_code": credit_code(1), "region": "440703", "categories": ["tech_sme"], "principal": "1000000.00",
        "outstanding": "1000000.00", "disbursed_on": "2026-06-15", "maturity_on": "2027-06-15",
        "interest_rate": "0.0435", "collateral_type": "信用", "default_on": None, "registered_on": "2026-06-30"}
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=bearer(bank_a)).json == loan
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "loan.register")).one()
    assert entry.entity_id == str(loan["id"]) and entry.after["principal"] == "1000000.00"
    # Changing the enterprise later does not change the loan.
    client.put(f"/api/v1/enterprises/{credit_code(1)}", headers=bearer(bank_a),
               json={"name": "江门测试科技有限公司1", "region": "440511", "categories": ["high_tech"]})
    again = client.get(f"/api/v1/loans/{loan['id']}", headers=bearer(bank_a)).json
    assert (again["region"], again["categories"]) == ("440703", ["tech_sme"])


def test_the_version_in_force_on_disbursement_is_frozen(client, bank_a, session):
    publish_rules(session, effective_from="2026-06-20", eligibility={"max_loan_principal": "2000000.00"})
    early = post_loan(client, bank_a, 1, disbursed_on="2026-06-19", principal="5000000.00")
    assert (early.status_code, early.json["rule_version"]) == (201, 1)
    late = post_loan(client, bank_a, 2, disbursed_on="2026-06-20", principal="5000000.00")
    assert refusal_codes(late) == {"principal_above_maximum"}
    assert post_loan(client, bank_a, 2, disbursed_on="2026-06-20", principal="2000000.00").json["rule_version"] == 2


def test_a_repeat_is_the_same_loan_and_other_content_conflicts(client, bank_a, session):
    first = post_loan(client, bank_a, interest_rate="0.04350")
    assert first.status_code == 201
    before = lending_counts(session)
    again = post_loan(client, bank_a, interest_rate="0.0435")  # the same rate, written differently
    assert again.status_code == 200 and again.json == first.json
    assert lending_counts(session) == before
    other = post_loan(client, bank_a, principal="1000000.01", maturity_on="2027-06-14")
    assert (other.status_code, other.json["code"]) == (409, "external_id_conflict")
    assert other.json["differing_fields"] == ["principal", "maturity_on"]
    assert other.json["loan_id"] == first.json["id"]
    assert lending_counts(session) == before


def test_a_repeat_is_answered_even_after_the_window_closed(app, client, bank_a):
    first = post_loan(client, bank_a)
    app.config["BUSINESS_DATE"] = "2026-09-30"
    again = post_loan(client, bank_a)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]


def test_external_ids_are_per_bank(client, bank_a, bank_b):
    a = post_loan(client, bank_a, 1)
    b = post_loan(client, bank_b, 1, credit_code=credit_code(2))
    assert a.status_code == b.status_code == 201 and a.json["id"] != b.json["id"]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"credit_code": credit_code(1)[:17] + "0" if credit_code(1)[17] != "0" else credit_code(1)[:17] + "1"},
         "credit_code_check_digit", "credit_code"),
        ({"credit_code": credit_code(99)}, "enterprise_not_registered", "credit_code"),
        ({"scheme": "XX-NONE"}, "scheme_not_found", "scheme"),
        ({"principal": "10000000.01"}, "principal_above_maximum", "principal"),
        ({"maturity_on": "2029-06-16"}, "term_too_long", "maturity_on"),
        ({"maturity_on": "2026-06-15"}, "maturity_before_disbursement", "maturity_on"),
        ({"disbursed_on": "2026-05-30"}, "registration_window_expired", "disbursed_on"),
        ({"disbursed_on": "2026-07-01", "maturity_on": "2027-07-01"}, "disbursement_in_future", "disbursed_on"),
    ],
)
def test_each_refusal_has_its_code(client, bank_a, session, overrides, code, field):
    before = lending_counts(session)
    r = post_loan(client, bank_a, **overrides)
    assert refusal_codes(r) == {code}
    assert r.json["details"][0]["field"] == field and field in r.json["errors"]
    assert lending_counts(session) == before


def test_the_term_may_end_on_the_same_day_36_months_later(client, bank_a):
    assert post_loan(client, bank_a, maturity_on="2029-06-15").status_code == 201


def test_no_rule_version_before_the_first(client, bank_a):
    assert "no_rule_version_in_force" in refusal_codes(post_loan(client, bank_a, disbursed_on="2025-12-31"))


def test_ineligible_categories(client, bank_a):
    register_enterprise(client, bank_a, 3, categories=["agri_tech"])
    assert refusal_codes(post_loan(client, bank_a, credit_code=credit_code(3))) == {"category_not_eligible"}


def test_another_banks_enterprise_is_not_registered_for_this_bank(client, bank_a, bank_b):
    assert refusal_codes(post_loan(client, bank_b, credit_code=credit_code(1))) == {"enterprise_not_registered"}


def test_every_failed_check_at_once(client, bank_a):
    r = post_loan(client, bank_a, principal="10000000.01", disbursed_on="2026-05-01", maturity_on="2030-01-01",
                  scheme="GD-KJD")
    assert refusal_codes(r) == {"principal_above_maximum", "term_too_long", "registration_window_expired"}
    assert set(r.json["errors"]) == {"principal", "maturity_on", "disbursed_on"}
    r = post_loan(client, bank_a, credit_code=credit_code(77), scheme="NOPE", interest_rate="0.5")
    assert refusal_codes(r) == {"enterprise_not_registered", "scheme_not_found"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"principal": "0.00"}, "principal"),
        ({"principal": "1.005"}, "principal"),
        ({"principal": 1000000.001}, "principal"),
        ({"interest_rate": "4.35"}, "interest_rate"),
        ({"interest_rate": "0.12345678"}, "interest_rate"),
        ({"disbursed_on": "2026-02-30"}, "disbursed_on"),
        ({"external_id": ""}, "external_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_malformed_requests_are_422_naming_the_field(client, bank_a, body, field):
    r = post_loan(client, bank_a, **body)
    assert r.status_code == 422 and field in r.json["errors"], r.json


def test_external_id_with_surrounding_space_is_refused(client, bank_a):
    r = post_loan(client, bank_a, external_id=" L-1")
    assert refusal_codes(r) == {"invalid_external_id"}


# -- pool capacity -------------------------------------------------------------------------


def test_pool_capacity_exactly_at_the_limit_and_one_fen_over(client, bank_a, bank_b):
    # Capacity 50,000,000.00 over all banks; max principal per loan is 10,000,000.00.
    for n in range(1, 5):
        assert post_loan(client, bank_a, n, principal="10000000.00").status_code == 201
    assert post_loan(client, bank_b, 5, credit_code=credit_code(2), principal="9999999.99").status_code == 201
    over = post_loan(client, bank_a, 6, principal="0.02")
    assert refusal_codes(over) == {"pool_capacity_exceeded"}
    assert "0.01 more" in over.json["details"][0]["message"]
    assert post_loan(client, bank_a, 6, principal="0.01").status_code == 201
    assert refusal_codes(post_loan(client, bank_b, 7, credit_code=credit_code(2), principal="0.01")) == {
        "pool_capacity_exceeded"}


def test_repaid_and_cancelled_loans_free_capacity_defaulted_do_not(client, bank_a):
    ids = [post_loan(client, bank_a, n, principal="10000000.00").json["id"] for n in range(1, 6)]
    assert refusal_codes(post_loan(client, bank_a, 6, principal="1.00")) == {"pool_capacity_exceeded"}
    assert loan_event(client, bank_a, ids[0], "default", on="2026-06-25").status_code == 201
    assert refusal_codes(post_loan(client, bank_a, 6, principal="1.00")) >= {"pool_capacity_exceeded"}
    assert loan_event(client, bank_a, ids[1], "repayment", amount="1.00").status_code == 201
    assert loan_event(client, bank_a, ids[2], "cancel").status_code == 201
    assert "pool_capacity_exceeded" not in refusal_codes(post_loan(client, bank_a, 6, principal="10000001.00"))


def test_more_money_in_the_pool_is_more_capacity(client, bank_a, make_user):
    for n in range(1, 6):
        post_loan(client, bank_a, n, principal="10000000.00")
    assert refusal_codes(post_loan(client, bank_a, 6, principal="100.00")) == {"pool_capacity_exceeded"}
    admin = bearer(make_user("fund_admin"))
    r = client.post("/api/v1/subfunds/CITY-441900/contributions", headers=admin,
                    json={"amount": "10.00", "received_on": "2026-06-01", "reference": "TOP-UP"})
    assert r.status_code == 201
    assert post_loan(client, bank_a, 6, principal="100.00").status_code == 201


def test_the_pool_is_every_subfund_the_payers_can_reach():
    ruleset = rules.load_file(EXAMPLES / "gd-kjd.toml")
    existing = ["GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900", "CITY-440000", "CITY-44070",
                "COUNTY-440703", "DG-OTHER"]
    assert pool_subfunds(ruleset, existing) == ["GD-PROV", "CITY-440500", "CITY-440700", "CITY-441900", "INS-PICC"]
    jm = rules.load_file(EXAMPLES / "jm-ykd.toml")
    assert pool_subfunds(jm, existing) == ["CITY-440700", "COUNTY-440703"]


# -- NPL ------------------------------------------------------------------------------------


def test_a_bank_above_the_npl_threshold_cannot_register(client, bank_a, bank_b, make_user):
    # 30 loans of 1,000,000.00: one default is 1/30 = 3.33 % > 3 %.
    ids = [post_loan(client, bank_a, n).json["id"] for n in range(1, 31)]
    r = client.get("/api/v1/banks/BANK-A/npl?scheme=GD-KJD", headers=bearer(bank_a))
    assert (r.json["npl_ratio"], r.json["suspended_registrations"]) == ("0.0000", False)
    assert loan_event(client, bank_a, ids[0], "default", on="2026-06-25").status_code == 201
    r = client.get("/api/v1/banks/BANK-A/npl?scheme=GD-KJD", headers=bearer(bank_a))
    assert r.json == {
        "bank": "BANK-A", "scheme": "GD-KJD", "npl_ratio": "0.0333", "npl_ratio_exact": "1/30",
        "non_performing": "1000000.00", "outstanding": "30000000.00", "rule_version": 1,
        "npl_suspend_registrations": "0.03", "npl_suspend_compensation": "0.05", "suspended_registrations": True,
        "suspended_compensation": False, "on": "2026-06-30", "registered": "30000000.00",
        "approved_year_to_date": "0.00", "per_bank_annual_cap": "50000000.00"}
    assert refusal_codes(post_loan(client, bank_a, 31)) == {"bank_suspended"}
    # Another bank is not affected.
    assert post_loan(client, bank_b, 31, credit_code=credit_code(2)).status_code == 201
    # Repaying performing loans lowers the denominator: still suspended, as it should be.
    assert loan_event(client, bank_a, ids[1], "repaid").status_code == 201
    assert refusal_codes(post_loan(client, bank_a, 31)) == {"bank_suspended"}


def test_npl_at_exactly_the_threshold_is_not_suspended(client, bank_a, session):
    # 100 loans: 3 defaults = 3 % exactly, not above.
    ids = [post_loan(client, bank_a, n, principal="100000.00").json["id"] for n in range(1, 101)]
    for loan_id in ids[:3]:
        loan_event(client, bank_a, loan_id, "default", on="2026-06-25")
    bank_id = session.scalar(select(Loan.bank_id).where(Loan.id == ids[0]))
    scheme_id = session.scalar(select(Loan.scheme_id).where(Loan.id == ids[0]))
    assert str(npl_ratio(session, bank_id, scheme_id)) == "3/100"
    assert post_loan(client, bank_a, 101, principal="100000.00").status_code == 201


def test_npl_isolation(client, bank_a, bank_b, make_user):
    assert client.get("/api/v1/banks/BANK-B/npl?scheme=GD-KJD", headers=bearer(bank_a)).json["code"] == "bank_not_found"
    auditor = bearer(make_user("auditor"))
    assert client.get("/api/v1/banks/BANK-B/npl?scheme=GD-KJD", headers=auditor).status_code == 200
    assert client.get("/api/v1/banks/NOPE/npl?scheme=GD-KJD", headers=auditor).status_code == 404
    assert client.get("/api/v1/banks/BANK-B/npl?scheme=NOPE", headers=auditor).json["code"] == "scheme_not_found"
    assert client.get("/api/v1/banks/BANK-B/npl", headers=auditor).status_code == 422


# -- reading and isolation --------------------------------------------------------------------


def test_banks_see_only_their_own_loans(client, bank_a, bank_b, make_user):
    mine = post_loan(client, bank_a, 1).json
    post_loan(client, bank_a, 2, principal="2000000.00")
    theirs = post_loan(client, bank_b, 1, credit_code=credit_code(2)).json
    assert client.get(f"/api/v1/loans/{theirs['id']}", headers=bearer(bank_a)).json["code"] == "loan_not_found"
    assert client.get(f"/api/v1/loans/{theirs['id']}/events", headers=bearer(bank_a)).status_code == 404
    assert loan_event(client, bank_a, theirs["id"], "default").status_code == 404
    assert client.get("/api/v1/loans/999999", headers=bearer(bank_a)).status_code == 404
    listing = client.get("/api/v1/loans", headers=bearer(bank_a)).json
    assert listing["total"] == 2 and {x["bank"] for x in listing["items"]} == {"BANK-A"}
    auditor = bearer(make_user("auditor"))
    assert client.get("/api/v1/loans", headers=auditor).json["total"] == 3
    assert client.get(f"/api/v1/loans/{theirs['id']}", headers=auditor).status_code == 200
    one = client.get(f"/api/v1/loans?external_id=L-00001&credit_code={credit_code(1)}", headers=auditor).json
    assert [x["id"] for x in one["items"]] == [mine["id"]]


def test_list_filters_and_pages(client, bank_a):
    ids = [post_loan(client, bank_a, n).json["id"] for n in range(1, 6)]
    loan_event(client, bank_a, ids[0], "default")
    token = bearer(bank_a)
    assert [x["id"] for x in client.get("/api/v1/loans?status=defaulted", headers=token).json["items"]] == [ids[0]]
    page = client.get("/api/v1/loans?status=active&scheme=GD-KJD&per_page=3&page=2", headers=token).json
    assert (page["total"], [x["id"] for x in page["items"]]) == (4, ids[4:])
    assert client.get("/api/v1/loans?scheme=NOPE", headers=token).json["total"] == 0
    assert client.get("/api/v1/loans?status=nonsense", headers=token).status_code == 422


# -- events --------------------------------------------------------------------------------

#: status the loan is put in -> event -> expected answer (201 or the 409 naming the status).
TRANSITIONS = {
    "active": {"repayment": 201, "default": 201, "repaid": 201, "cancel": 201},
    "defaulted": {"repayment": 409, "default": 409, "repaid": 409, "cancel": 409},
    "repaid": {"repayment": 409, "default": 409, "repaid": 409, "cancel": 409},
    "cancelled": {"repayment": 409, "default": 409, "repaid": 409, "cancel": 409},
    "claimed": {"repayment": 409, "default": 409, "repaid": 409, "cancel": 409},
    "compensated": {"repayment": 409, "default": 409, "repaid": 409, "cancel": 409},
    "closed": {"repayment": 409, "default": 409, "repaid": 409, "cancel": 409},
}
REACH = {"defaulted": "default", "repaid": "repaid", "cancelled": "cancel"}


@pytest.mark.parametrize("status", sorted(TRANSITIONS))
@pytest.mark.parametrize("event", ["repayment", "default", "repaid", "cancel"])
def test_event_transitions(client, bank_a, session, status, event):
    loan = post_loan(client, bank_a).json
    if status in REACH:
        assert loan_event(client, bank_a, loan["id"], REACH[status], on="2026-06-20").status_code == 201
    elif status != "active":
        # States the claims workflow reaches; put the loan there directly.
        session.execute(update(Loan).where(Loan.id == loan["id"]).values(status=status, default_on=date(2026, 6, 20)))
        session.commit()
    before = lending_counts(session)
    r = loan_event(client, bank_a, loan["id"], event, on="2026-06-25",
                   **({"amount": "100.00"} if event == "repayment" else {}))
    expected = TRANSITIONS[status][event]
    assert r.status_code == expected, r.json
    if expected == 409:
        assert r.json["code"] == "invalid_transition" and r.json["current_status"] == status
        assert status in r.json["detail"]
        assert lending_counts(session) == before


def test_repayments_lower_the_outstanding_but_do_not_close_the_loan(client, bank_a, session):
    loan = post_loan(client, bank_a, principal="1000.00").json
    r = loan_event(client, bank_a, loan["id"], "repayment", amount="400.00", on="2026-06-20")
    assert (r.status_code, r.json["outstanding"], r.json["status"]) == (201, "600.00", "active")
    too_much = loan_event(client, bank_a, loan["id"], "repayment", amount="600.01")
    assert (too_much.status_code, too_much.json["code"]) == (422, "invalid_event") and "amount" in too_much.json["errors"]
    r = loan_event(client, bank_a, loan["id"], "repayment", amount="600.00")
    assert (r.json["outstanding"], r.json["status"]) == ("0.00", "active")
    r = loan_event(client, bank_a, loan["id"], "repaid", on="2026-06-29")
    assert (r.json["outstanding"], r.json["status"]) == ("0.00", "repaid")
    page = client.get(f"/api/v1/loans/{loan['id']}/events", headers=bearer(bank_a)).json
    assert (page["total"], page["page"]) == (3, 1)
    events = page["items"]
    assert [(e["type"], e["amount"], e["outstanding_after"], e["status_after"]) for e in events] == [
        ("repayment", "400.00", "600.00", "active"), ("repayment", "600.00", "0.00", "active"),
        ("repaid", None, "0.00", "repaid")]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "loan")
                              .order_by(AuditEntry.seq)).all()
    assert actions == ["loan.register", "loan.repayment", "loan.repayment", "loan.repaid"]


def test_default_records_its_date(client, bank_a):
    loan = post_loan(client, bank_a).json
    r = loan_event(client, bank_a, loan["id"], "default", on="2026-06-28")
    assert (r.status_code, r.json["status"], r.json["default_on"], r.json["outstanding"]) == (
        201, "defaulted", "2026-06-28", "1000000.00")


def test_a_default_may_state_a_lower_outstanding_and_repaid_its_final_repayment(client, bank_a):
    # SPEC §3.3 example 1: 2,000,000.00 lent, 1,500,000.00 outstanding at default.
    loan = post_loan(client, bank_a, principal="2000000.00").json
    other = post_loan(client, bank_a, 2, principal="300.00").json
    r = loan_event(client, bank_a, loan["id"], "default", on="2026-06-28", amount="1500000.00")
    assert (r.status_code, r.json["status"], r.json["outstanding"]) == (201, "defaulted", "1500000.00")
    loan_event(client, bank_a, other["id"], "repayment", amount="100.00")
    r = loan_event(client, bank_a, other["id"], "repaid", on="2026-06-29", amount="200.00")
    assert (r.status_code, r.json["status"], r.json["outstanding"]) == (201, "repaid", "0.00")


@pytest.mark.parametrize(
    ("event", "extra", "field"),
    [
        ("default", {"on": "2026-07-01"}, "on"),
        ("default", {"on": "2026-06-14"}, "on"),
        ("default", {"on": "2026-06-20", "amount": "1000000.01"}, "amount"),
        ("repaid", {"on": "2026-06-20", "amount": "999999.99"}, "amount"),
        ("cancel", {"on": "2026-06-20", "amount": "1.00"}, "amount"),
        ("repayment", {"on": "2026-06-20"}, "amount"),
        ("repayment", {"on": "2026-06-20", "amount": "0.00"}, "amount"),
        ("repayment", {"on": "2026-06-20", "amount": "-1.00"}, "amount"),
        ("nonsense", {"on": "2026-06-20"}, "type"),
        ("default", {}, "on"),
    ],
)
def test_invalid_events_are_422(client, bank_a, session, event, extra, field):
    loan = post_loan(client, bank_a).json
    before = lending_counts(session)
    r = client.post(f"/api/v1/loans/{loan['id']}/events", json={"type": event, **extra}, headers=bearer(bank_a))
    assert r.status_code == 422 and field in r.json["errors"], r.json
    assert lending_counts(session) == before


def test_loan_events_are_append_only(client, bank_a, session):
    loan = post_loan(client, bank_a).json
    loan_event(client, bank_a, loan["id"], "default")
    with pytest.raises(Exception, match="append-only"):
        session.execute(update(LoanEvent).values(on=date(2026, 6, 1)))
    session.rollback()


def test_a_retried_repayment_with_an_idempotency_key_counts_once(client, bank_a):
    loan = post_loan(client, bank_a).json
    headers = {**bearer(bank_a), "Idempotency-Key": "rep-1"}
    body = {"type": "repayment", "on": "2026-06-20", "amount": "100.00"}
    first = client.post(f"/api/v1/loans/{loan['id']}/events", json=body, headers=headers)
    second = client.post(f"/api/v1/loans/{loan['id']}/events", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.data == second.data
    assert client.get(f"/api/v1/loans/{loan['id']}", headers=bearer(bank_a)).json["outstanding"] == "999900.00"


# -- roles -----------------------------------------------------------------------------------

ROLES = ("bank", "reviewer", "approver", "fund_admin", "auditor")
READERS = {"bank", "reviewer", "approver", "fund_admin", "auditor"}
ENDPOINTS = [
    ("post", "/api/v1/enterprises", {"bank"}),
    ("get", "/api/v1/enterprises", READERS),
    ("get", "/api/v1/enterprises/{code}", READERS),
    ("put", "/api/v1/enterprises/{code}", {"bank", "fund_admin"}),
    ("post", "/api/v1/loans", {"bank"}),
    ("get", "/api/v1/loans", READERS),
    ("get", "/api/v1/loans/{loan}", READERS),
    ("get", "/api/v1/loans/{loan}/events", READERS),
    ("post", "/api/v1/loans/{loan}/events", {"bank"}),
    ("post", "/api/v1/loans/bulk", {"bank"}),
    ("get", "/api/v1/banks/BANK-A/npl?scheme=GD-KJD", READERS),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ENDPOINTS)
def test_roles(client, bank_a, make_user, method, path, allowed):
    loan = post_loan(client, bank_a).json
    tokens = {role: make_user(role) for role in ROLES if role != "bank"}
    tokens["bank"] = bank_a
    url = path.format(code=credit_code(1), loan=loan["id"])
    for role, token in tokens.items():
        kwargs = {"headers": bearer(token)}
        if method != "get":
            kwargs["json"] = {}
        r = getattr(client, method)(url, **kwargs)
        if role in allowed:
            assert r.status_code not in (401, 403), (role, r.status_code, r.json)
        else:
            assert (r.status_code, r.json["code"]) == (403, "forbidden"), (role, r.json)
    assert getattr(client, method)(url).status_code == 401


def test_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/enterprises", "/api/v1/enterprises/{credit_code}", "/api/v1/loans", "/api/v1/loans/bulk",
                 "/api/v1/loans/{loan_id}", "/api/v1/loans/{loan_id}/events", "/api/v1/banks/{code}/npl"):
        assert path in spec["paths"], path
    assert "text/csv" in spec["paths"]["/api/v1/loans/bulk"]["post"]["requestBody"]["content"]


# -- concurrency (PostgreSQL) ----------------------------------------------------------------


def _pg_app(pg_url):
    from web import create_app

    return create_app({"DATABASE_URL": pg_url, "TESTING": True, "BUSINESS_DATE": "2026-06-30"})


def _pg_world(app):
    from ledger import auth, subfunds
    from ledger.db import make_sessionmaker

    from .factories import SPEC_SUBFUNDS

    with make_sessionmaker(app.extensions["ledger_engine"])() as session:
        publish_example_rules(session)
        for code, owner_type, region in SPEC_SUBFUNDS:
            subfunds.create_subfund(session, code=code, name=code, owner_type=owner_type, region=region, actor="t")
            subfunds.contribute(session, code, amount=1_000_000_00, received_on=date(2026, 1, 5),
                                reference=f"OPEN-{code}", actor="t")
        tokens = [auth.create_bank(session, f"BANK-{i}", f"银行{i}", actor="t")[1] for i in range(4)]
        session.commit()
    client = app.test_client()
    for i, token in enumerate(tokens):
        assert client.post("/api/v1/enterprises", json=enterprise_body(i + 1), headers=bearer(token)).status_code == 201
    return tokens


def _in_threads(work, n):
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgresql
def test_concurrent_registrations_never_overshoot_the_pool(pg_url):
    app = _pg_app(pg_url)
    try:
        tokens = _pg_world(app)

        def register(i):
            bank = i % 4
            body = loan_body(i, credit_code=credit_code(bank + 1), principal="9000000.00")
            return app.test_client().post("/api/v1/loans", json=body, headers=bearer(tokens[bank])).status_code

        statuses = _in_threads(register, 12)
        # Capacity 50,000,000.00 holds five loans of 9,000,000.00, never six.
        assert sorted(statuses).count(201) == 5 and statuses.count(422) == 7
    finally:
        app.extensions["ledger_engine"].dispose()


@pytest.mark.postgresql
def test_concurrent_events_move_a_loan_once(pg_url):
    app = _pg_app(pg_url)
    try:
        tokens = _pg_world(app)
        loan = app.test_client().post("/api/v1/loans", json=loan_body(1), headers=bearer(tokens[0])).json

        def act(i):
            body = {"type": ("default", "repaid", "cancel")[i % 3], "on": "2026-06-20"}
            r = app.test_client().post(f"/api/v1/loans/{loan['id']}/events", json=body, headers=bearer(tokens[0]))
            return r.status_code

        statuses = _in_threads(act, 9)
        assert statuses.count(201) == 1 and statuses.count(409) == 8
        repay = _in_threads(lambda i: app.test_client().post(
            f"/api/v1/loans/{loan['id']}/events", json={"type": "repayment", "on": "2026-06-20", "amount": "1.00"},
            headers=bearer(tokens[0])).status_code, 4)
        assert repay == [409] * 4
    finally:
        app.extensions["ledger_engine"].dispose()
