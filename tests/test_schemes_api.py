"""Rule versions and the quote endpoint (SPEC §3, §6; issue 3)."""

from __future__ import annotations

import json

import pytest

import rules

from .conftest import EXAMPLE_RULES, SPEC_SUBFUNDS
from .helpers import bearer, row_counts


@pytest.fixture
def admin(make_user):
    return bearer(make_user("fund_admin", name="admin"))


@pytest.fixture
def gd_document():
    return rules.load_file(EXAMPLE_RULES / "gd-kjd.toml").document


@pytest.fixture
def published(client, admin, gd_document, make_subfund):
    for code, (owner, region) in SPEC_SUBFUNDS.items():
        make_subfund(code, owner_type=owner, region=region)
    r = client.post("/api/v1/schemes/GD-KJD/rules", json=gd_document, headers=admin)
    assert r.status_code == 201, r.json
    return r.json


# SPEC §3.3, copied from the table: region, categories, principal, outstanding -> ratio, compensation, lines.
WORKED = [
    ("440106", ["tech_sme"], "2000000.00", "1500000.00", "0.5000", "750000.00",
     [("GD-PROV", "375000.00"), ("GD-PROV", "225000.00"), ("INS-PICC", "150000.00")]),
    ("440703", ["tech_sme", "agri_tech"], "3000000.00", "3000000.00", "0.7000", "2100000.00",
     [("GD-PROV", "1050000.00"), ("CITY-440700", "630000.00"), ("INS-PICC", "420000.00")]),
    ("440511", ["high_tech", "agri_tech", "specialized_town"], "8000000.00", "7654321.09", "0.8000", "5000000.00",
     [("GD-PROV", "2500000.00"), ("CITY-440500", "1500000.00"), ("INS-PICC", "1000000.00")]),
    ("441900", ["tech_sme"], "1000000.00", "333333.33", "0.5000", "166666.67",
     [("GD-PROV", "83333.34"), ("CITY-441900", "50000.00"), ("INS-PICC", "33333.33")]),
]


@pytest.mark.parametrize("example", WORKED, ids=["ex1", "ex2", "ex3", "ex4"])
def test_quote_gives_the_worked_examples(client, published, make_user, session, example):
    region, categories, principal, outstanding, ratio, compensation, lines = example
    token = bearer(make_user("auditor"))
    before = row_counts(session)
    r = client.post("/api/v1/schemes/GD-KJD/quote", headers=token, json={
        "region": region, "categories": categories, "loan_principal": principal,
        "outstanding_principal": outstanding, "disbursed_on": "2026-03-01"})
    assert r.status_code == 200, r.json
    q = r.json
    assert (q["scheme"], q["rule_version"], q["ratio"], q["compensation"]) == ("GD-KJD", 1, ratio, compensation)
    assert [(p["subfund"], p["amount"]) for p in q["payers"]] == lines
    assert all({"rule", "detail"} <= set(step) for step in q["steps"])
    assert row_counts(session) == before  # a quote records nothing


def test_every_role_may_quote(client, published, make_user, make_bank):
    tokens = [make_bank("BANK-Q")] + [make_user(role) for role in ("reviewer", "approver", "fund_admin", "auditor")]
    body = {"region": "440106", "categories": ["tech_sme"], "loan_principal": "1.00", "outstanding_principal": "1.00",
            "disbursed_on": "2026-03-01"}
    assert [client.post("/api/v1/schemes/GD-KJD/quote", headers=bearer(t), json=body).status_code
            for t in tokens] == [200] * 5
    assert client.post("/api/v1/schemes/GD-KJD/quote", json=body).status_code == 401


def test_quote_explains_the_cap_and_fallback(client, published, admin):
    r = client.post("/api/v1/schemes/GD-KJD/quote", headers=admin, json={
        "region": "440511", "categories": ["high_tech", "agri_tech", "specialized_town"],
        "loan_principal": "8000000.00", "outstanding_principal": "7654321.09", "disbursed_on": "2026-03-01"})
    details = [s["detail"] for s in r.json["steps"]]
    assert "region_ratio: 440500 in YDXB -> 0.70" in details
    assert "max_ratio: 0.85 (limit 0.80) -> 0.80" in details
    assert "per_claim_cap: 6123456.87 -> 5000000.00" in details
    r = client.post("/api/v1/schemes/GD-KJD/quote", headers=admin, json={
        "region": "440106", "categories": ["tech_sme"], "loan_principal": "2000000.00",
        "outstanding_principal": "1500000.00", "disbursed_on": "2026-03-01"})
    assert r.json["payers"][1]["fallback_used"] is True


def test_quote_before_the_first_version_and_bad_input(client, published, admin):
    r = client.post("/api/v1/schemes/GD-KJD/quote", headers=admin, json={
        "region": "440106", "categories": [], "loan_principal": "1.00", "outstanding_principal": "1.00",
        "disbursed_on": "2025-12-31"})
    assert (r.status_code, r.json["code"]) == (422, "no_rule_version_in_force")
    r = client.post("/api/v1/schemes/GD-KJD/quote", headers=admin, json={
        "region": "4401", "categories": "tech_sme", "loan_principal": "1.001", "outstanding_principal": -1,
        "disbursed_on": "soon"})
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"region", "categories", "loan_principal", "outstanding_principal", "disbursed_on"}
    assert client.post("/api/v1/schemes/NOPE/quote", headers=admin, json={
        "region": "440106", "categories": [], "loan_principal": "1.00", "outstanding_principal": "1.00",
        "disbursed_on": "2026-03-01"}).json["code"] == "scheme_not_found"


def test_versions_are_append_only_and_move_forward(client, published, admin, gd_document, make_user):
    same_date = client.post("/api/v1/schemes/GD-KJD/rules", json=gd_document, headers=admin)
    assert (same_date.status_code, same_date.json["code"]) == (422, "effective_from_not_after_latest")
    assert same_date.json["errors"] == {"effective_from": ["must be after 2026-01-01"]}
    v2 = client.post("/api/v1/schemes/GD-KJD/rules", json={**gd_document, "effective_from": "2026-07-01",
                                                            "base_ratio": "0.55"}, headers=admin)
    assert (v2.status_code, v2.json["version"]) == (201, 2)
    auditor = bearer(make_user("auditor"))
    listed = client.get("/api/v1/schemes/GD-KJD/rules", headers=auditor).json
    assert [(v["version"], v["effective_from"]) for v in listed] == [(1, "2026-01-01"), (2, "2026-07-01")]
    assert client.get("/api/v1/schemes/GD-KJD/rules/2", headers=auditor).json["document"]["base_ratio"] == "0.55"
    # The version in force on the disbursement date decides.
    def quote(day):
        return client.post("/api/v1/schemes/GD-KJD/quote", headers=auditor, json={
            "region": "440106", "categories": ["tech_sme"], "loan_principal": "1000000.00",
            "outstanding_principal": "1000000.00", "disbursed_on": day}).json
    assert (quote("2026-06-30")["rule_version"], quote("2026-06-30")["ratio"]) == (1, "0.5000")
    assert (quote("2026-07-01")["rule_version"], quote("2026-07-01")["ratio"]) == (2, "0.5500")


def test_invalid_documents_report_every_problem_by_path(client, admin, gd_document, session):
    before = row_counts(session)
    bad = json.loads(json.dumps(gd_document))
    bad["base_ratio"] = "1.5"
    bad["payers"][0]["share"] = "0.40"
    bad["claims"]["per_claim_cap"] = "abc"
    bad["surprise"] = True
    r = client.post("/api/v1/schemes/GD-KJD/rules", json=bad, headers=admin)
    assert (r.status_code, r.json["code"]) == (422, "invalid_rules")
    assert {"base_ratio", "payers", "claims.per_claim_cap", "surprise"} <= set(r.json["errors"])
    mismatch = client.post("/api/v1/schemes/OTHER/rules", json=gd_document, headers=admin)
    assert (mismatch.status_code, mismatch.json["code"]) == (422, "scheme_mismatch")
    not_json = client.post("/api/v1/schemes/GD-KJD/rules", data="{", content_type="application/json", headers=admin)
    assert (not_json.status_code, not_json.json["code"]) == (400, "malformed_json")
    assert row_counts(session) == before


def test_only_fund_admin_publishes(client, make_user, gd_document):
    for role in ("reviewer", "approver", "auditor"):
        r = client.post("/api/v1/schemes/GD-KJD/rules", json=gd_document, headers=bearer(make_user(role)))
        assert r.status_code == 403, role


def test_quote_for_a_region_missing_from_the_table_is_unknown_region(client, published, admin):
    r = client.post("/api/v1/schemes/GD-KJD/quote", headers=admin, json={
        "region": "440799", "categories": ["tech_sme"], "loan_principal": "1000000.00",
        "outstanding_principal": "500000.00", "disbursed_on": "2026-03-01"})
    assert (r.status_code, r.json["code"], list(r.json["errors"])) == (422, "unknown_region", ["region"])
