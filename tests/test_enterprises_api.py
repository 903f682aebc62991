"""Enterprises: register, no-op, conflict, explicit audited change, isolation (SPEC §2, issue 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.models import AuditEntry

from .factories import credit_code, enterprise_body, lending_counts, publish_rules
from .helpers import bearer


@pytest.fixture
def bank_a(make_bank):
    return bearer(make_bank("BANK-A"))


@pytest.fixture
def bank_b(make_bank):
    return bearer(make_bank("BANK-B"))


def test_register_then_read(client, bank_a):
    r = client.post("/api/v1/enterprises", headers=bank_a, json=enterprise_body(
        1, credit_code=credit_code(1).lower(), name="  江门测试科技有限公司1 ",
        categories=["tech_sme", "agri_tech", "tech_sme"]))
    assert r.status_code == 201, r.json
    assert r.json["outcome"] == "created"
    assert (r.json["credit_code"], r.json["name"], r.json["region"], r.json["categories"]) == (
        credit_code(1), "江门测试科技有限公司1", "440703", ["agri_tech", "tech_sme"])
    assert "banks" not in r.json  # banks never learn who else lends to the firm
    got = client.get(f"/api/v1/enterprises/{credit_code(1)}", headers=bank_a)
    assert got.status_code == 200 and got.json["categories"] == ["agri_tech", "tech_sme"]


def test_identical_registration_is_a_no_op(client, bank_a, session):
    assert client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_a).status_code == 201
    before = lending_counts(session)
    again = client.post("/api/v1/enterprises", json=enterprise_body(1, categories=["tech_sme", "tech_sme"]),
                        headers=bank_a)
    assert (again.status_code, again.json["outcome"]) == (200, "unchanged")
    assert lending_counts(session) == before


def test_different_data_is_a_conflict_naming_the_fields(client, bank_a, session):
    client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_a)
    before = lending_counts(session)
    r = client.post("/api/v1/enterprises", json=enterprise_body(1, name="别的名字", categories=["high_tech"]),
                    headers=bank_a)
    assert (r.status_code, r.json["code"]) == (409, "enterprise_differs")
    assert r.json["differing_fields"] == ["name", "categories"]
    assert set(r.json["errors"]) == {"name", "categories"}
    assert lending_counts(session) == before


def test_wrong_check_digit_is_422_that_says_so(client, bank_a, session):
    good = credit_code(1)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    before = lending_counts(session)
    r = client.post("/api/v1/enterprises", json=enterprise_body(1, credit_code=wrong), headers=bank_a)
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert r.json["errors"] == {"credit_code": ["check digit does not match (character 18)"]}
    assert [d["code"] for d in r.json["details"]] == ["credit_code_check_digit"]
    assert lending_counts(session) == before


def test_every_field_problem_at_once(client, bank_a):
    r = client.post("/api/v1/enterprises", headers=bank_a, json={
        "credit_code": "91350100M000100Y4", "name": " ", "region": "990100", "categories": ["tech_sme", "Tech-SME",
                                                                                            "rocket_science"]})
    assert r.status_code == 422
    assert {(d["field"], d["code"]) for d in r.json["details"]} == {
        ("credit_code", "credit_code_length"), ("name", "required"), ("region", "invalid_region"),
        ("categories", "invalid_category"), ("categories", "unknown_category")}


def test_schema_errors_are_422_naming_the_field(client, bank_a):
    r = client.post("/api/v1/enterprises", json={"credit_code": credit_code(1), "name": "x"}, headers=bank_a)
    assert r.status_code == 422 and set(r.json["errors"]) == {"region", "categories"}


def test_categories_named_by_published_rules_are_accepted(client, bank_a, session):
    r = client.post("/api/v1/enterprises", json=enterprise_body(1, categories=["green_tech"]), headers=bank_a)
    assert r.status_code == 422 and r.json["details"][0]["code"] == "unknown_category"
    publish_rules(session, uplifts={"agri_tech": "0.10", "green_tech": "0.05"})
    r = client.post("/api/v1/enterprises", json=enterprise_body(1, categories=["green_tech"]), headers=bank_a)
    assert r.status_code == 201, r.json


def test_another_bank_is_linked_and_only_then_sees_it(client, bank_a, bank_b, make_user):
    client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_a)
    code = credit_code(1)
    assert client.get(f"/api/v1/enterprises/{code}", headers=bank_b).status_code == 404
    assert client.get("/api/v1/enterprises", headers=bank_b).json["total"] == 0
    r = client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_b)
    # The same answer as for a code nobody knew: B does not learn that A knows it.
    assert (r.status_code, r.json["outcome"]) == (201, "created")
    assert client.get(f"/api/v1/enterprises/{code}", headers=bank_b).status_code == 200
    again = client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_b)
    assert again.json["outcome"] == "unchanged"
    auditor = bearer(make_user("auditor"))
    seen = client.get(f"/api/v1/enterprises/{code}", headers=auditor)
    assert seen.status_code == 200 and seen.json["banks"] == ["BANK-A", "BANK-B"]


def test_explicit_change_is_audited_with_before_and_after(client, bank_a, session):
    client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_a)
    code = credit_code(1)
    r = client.put(f"/api/v1/enterprises/{code}", headers=bank_a, json={
        "name": "江门测试科技有限公司1", "region": "440704", "categories": ["tech_sme", "specialized_town"],
        "reason": "moved to 江海区"})
    assert r.status_code == 200, r.json
    assert (r.json["region"], r.json["categories"]) == ("440704", ["specialized_town", "tech_sme"])
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "enterprise.change")).one()
    assert entry.entity_id == code
    assert entry.before == {"region": "440703", "categories": ["tech_sme"]}
    assert entry.after == {"region": "440704", "categories": ["specialized_town", "tech_sme"],
                           "reason": "moved to 江海区", "bank": "BANK-A"}
    # The new data is now what "identical" means.
    again = client.post("/api/v1/enterprises", headers=bank_a, json=enterprise_body(
        1, region="440704", categories=["specialized_town", "tech_sme"]))
    assert again.status_code == 200
    # A change to the same data records nothing.
    before = lending_counts(session)
    same = client.put(f"/api/v1/enterprises/{code}", headers=bank_a, json={
        "name": "江门测试科技有限公司1", "region": "440704", "categories": ["tech_sme", "specialized_town"]})
    assert same.status_code == 200 and lending_counts(session) == before


def test_change_is_validated(client, bank_a):
    client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_a)
    r = client.put(f"/api/v1/enterprises/{credit_code(1)}", headers=bank_a,
                   json={"name": "", "region": "44070", "categories": []})
    assert r.status_code == 422 and set(r.json["errors"]) == {"name", "region"}


def test_only_a_registering_bank_or_fund_admin_may_change(client, bank_a, bank_b, make_user):
    client.post("/api/v1/enterprises", json=enterprise_body(1), headers=bank_a)
    code = credit_code(1)
    change = {"name": "新名字", "region": "440703", "categories": ["tech_sme"]}
    assert client.put(f"/api/v1/enterprises/{code}", json=change, headers=bank_b).status_code == 404
    admin = bearer(make_user("fund_admin"))
    r = client.put(f"/api/v1/enterprises/{code}", json=change, headers=admin)
    assert r.status_code == 200 and r.json["name"] == "新名字"
    assert client.put(f"/api/v1/enterprises/{credit_code(2)}", json=change, headers=admin).status_code == 404


def test_list_filters_and_paginates(client, bank_a, make_user):
    for n in range(1, 6):
        client.post("/api/v1/enterprises", headers=bank_a, json=enterprise_body(
            n, categories=["tech_sme", "agri_tech"] if n % 2 else ["high_tech"], region="440703" if n < 4 else "440511"))
    page = client.get("/api/v1/enterprises?per_page=2&page=2", headers=bank_a).json
    assert page["total"] == 5 and len(page["items"]) == 2
    agri = client.get("/api/v1/enterprises?category=agri_tech", headers=bank_a).json
    assert agri["total"] == 3 and all("agri_tech" in e["categories"] for e in agri["items"])
    # "tech_sme" must not match "techXsme"-like names: '_' is no wildcard.
    assert client.get("/api/v1/enterprises?category=tech_sm_", headers=bank_a).json["total"] == 0
    shantou = client.get("/api/v1/enterprises?region=440511", headers=bank_a).json
    assert shantou["total"] == 2
    reviewer = bearer(make_user("reviewer"))
    assert client.get("/api/v1/enterprises", headers=reviewer).json["total"] == 5


@pytest.mark.postgresql
def test_concurrent_registrations_of_one_enterprise_make_one_row(pg_url):
    import threading

    from sqlalchemy import func

    from web import create_app
    from ledger import auth
    from ledger.db import make_sessionmaker
    from ledger.models import Enterprise, EnterpriseBank

    app = create_app({"DATABASE_URL": pg_url, "TESTING": True, "BUSINESS_DATE": "2026-06-30"})
    try:
        sessions = make_sessionmaker(app.extensions["ledger_engine"])
        with sessions() as session:
            tokens = [auth.create_bank(session, f"BANK-{i}", f"银行{i}", actor="t")[1] for i in range(8)]
            session.commit()
        barrier, outcomes = threading.Barrier(8), []

        def register(token):
            barrier.wait()
            r = app.test_client().post("/api/v1/enterprises", json=enterprise_body(1), headers=bearer(token))
            outcomes.append((r.status_code, r.json.get("outcome")))

        threads = [threading.Thread(target=register, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Each bank's first registration, whoever won the race: the same answer.
        assert sorted(outcomes) == [(201, "created")] * 8
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Enterprise)) == 1
            assert session.scalar(select(func.count()).select_from(EnterpriseBank)) == 8
    finally:
        app.extensions["ledger_engine"].dispose()


def test_a_well_formed_code_missing_from_the_region_table_is_unknown_region(client, bank_a, session):
    before = lending_counts(session)
    r = client.post("/api/v1/enterprises", json=enterprise_body(1, region="440799"), headers=bank_a)
    assert (r.status_code, r.json["code"]) == (422, "unknown_region")
    assert "440799" in r.json["errors"]["region"][0]
    assert lending_counts(session) == before
