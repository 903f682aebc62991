"""SPEC §4: an enterprise's master data is shared by the banks that lend to it; a bank
changes it only while no other bank has registered a loan to it (else 409, to the
bureau); and a bank never learns from an answer whether another bank knows an
enterprise or what it recorded (issue 10)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.models import AuditEntry, Enterprise

from .factories import (
    credit_code,
    enterprise_body,
    fund_spec_subfunds,
    loan_body,
    publish_example_rules,
)
from .helpers import bearer

CODE = credit_code(1)
A_DATA = enterprise_body(1)  # what bank A recorded: 江门测试科技有限公司1, 440703, tech_sme
B_DATA = enterprise_body(1, name="别的科技有限公司", region="440511", categories=["agri_tech", "high_tech"])
FRESH = enterprise_body(7, name="别的科技有限公司", region="440511", categories=["agri_tech", "high_tech"])


@pytest.fixture
def banks(session, make_bank, make_subfund):
    publish_example_rules(session)
    fund_spec_subfunds(make_subfund)
    return {code: bearer(make_bank(code)) for code in ("BANK-A", "BANK-B")}


def _master(session) -> tuple[str, str, list[str]]:  # type: ignore[no-untyped-def]
    session.rollback()  # end the test session's snapshot: see what the app committed since
    e = session.scalar(select(Enterprise).where(Enterprise.credit_code == CODE))
    return e.name, e.region, list(e.categories)


def _lend(client, token, n=1):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/loans", json=loan_body(n, credit_code=CODE), headers=token)
    assert r.status_code == 201, r.json
    return r.json


def _answer(r) -> tuple:  # type: ignore[no-untyped-def]
    """Everything in an answer a bank could tell two cases apart by (but the code itself)."""
    body = {k: v for k, v in r.json.items() if k not in ("credit_code", "created_at", "updated_at")}
    return r.status_code, r.headers.get("Content-Type"), body


def _without_code(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "credit_code"}


def test_registering_a_code_another_bank_lends_to_answers_as_for_an_unknown_code(client, session, banks):
    a, b = banks["BANK-A"], banks["BANK-B"]
    assert client.post("/api/v1/enterprises", json=A_DATA, headers=a).status_code == 201
    _lend(client, a)

    known = client.post("/api/v1/enterprises", json=B_DATA, headers=b)
    unknown = client.post("/api/v1/enterprises", json=FRESH, headers=b)

    # Same status, same shape, B's own data echoed: no 409 vs 201, no differing_fields.
    assert _answer(known) == _answer(unknown)
    assert known.status_code == 201 and "differing_fields" not in known.json
    # A's record is untouched: B may not change it while A lends to the firm.
    assert _master(session) == ("江门测试科技有限公司1", "440703", ["tech_sme"])
    # Reading it back tells B nothing either: its own record, as for the fresh code.
    got_known = client.get(f"/api/v1/enterprises/{CODE}", headers=b).json
    got_unknown = client.get(f"/api/v1/enterprises/{credit_code(7)}", headers=b).json
    assert (got_known["name"], got_known["region"], got_known["categories"]) == (
        B_DATA["name"], B_DATA["region"], sorted(B_DATA["categories"]))
    assert {k: got_known[k] for k in ("name", "region", "categories")} == \
        {k: got_unknown[k] for k in ("name", "region", "categories")}
    listed = client.get("/api/v1/enterprises?region=440511", headers=b).json
    assert listed["total"] == 2
    assert client.get("/api/v1/enterprises?region=440703", headers=b).json["total"] == 0
    # A still reads what it recorded.
    assert client.get(f"/api/v1/enterprises/{CODE}", headers=a).json["name"] == "江门测试科技有限公司1"


def test_a_bank_may_change_the_data_while_no_other_bank_lends(client, session, banks):
    a, b = banks["BANK-A"], banks["BANK-B"]
    client.post("/api/v1/enterprises", json=A_DATA, headers=a)  # A registered it, but lends nothing
    r = client.post("/api/v1/enterprises", json=B_DATA, headers=b)
    assert (r.status_code, r.json["outcome"]) == (201, "created")
    assert _master(session) == (B_DATA["name"], "440511", ["agri_tech", "high_tech"])
    change = session.scalars(select(AuditEntry).where(AuditEntry.action == "enterprise.change")).one()
    assert change.after["bank"] == "BANK-B"
    # And by PUT, too: B lends now, A does not.
    _lend(client, b)
    r = client.put(f"/api/v1/enterprises/{CODE}", headers=b, json={**_without_code(B_DATA), "name": "更正后的名字"})
    assert r.status_code == 200 and r.json["name"] == "更正后的名字"
    assert _master(session)[0] == "更正后的名字"


def test_a_change_by_a_bank_when_another_bank_lends_is_409_and_goes_to_the_bureau(client, session, banks, make_user):
    a, b = banks["BANK-A"], banks["BANK-B"]
    client.post("/api/v1/enterprises", json=A_DATA, headers=a)
    client.post("/api/v1/enterprises", json=A_DATA, headers=b)
    _lend(client, a)
    _lend(client, b)

    r = client.put(f"/api/v1/enterprises/{CODE}", headers=b,
                   json={**_without_code(A_DATA), "region": "440511", "reason": "搬迁"})
    assert (r.status_code, r.json["code"]) == (409, "enterprise_shared")
    assert r.headers["Content-Type"] == "application/problem+json"
    assert _master(session) == ("江门测试科技有限公司1", "440703", ["tech_sme"])  # nothing changed
    # ... the request is with the bureau, which applies it.
    auditor, admin = bearer(make_user("auditor")), bearer(make_user("fund_admin"))
    pending = client.get("/api/v1/enterprises/change-requests", headers=auditor).json["items"]
    assert [(p["credit_code"], p["bank"], p["requested"]["region"], p["current"]["region"]) for p in pending] == [
        (CODE, "BANK-B", "440511", "440703")]
    assert client.get("/api/v1/enterprises/change-requests", headers=b).status_code == 403
    decided = client.post(f"/api/v1/enterprises/{CODE}/change-requests/BANK-B", headers=admin,
                          json={"decision": "apply", "reason": "营业执照已核"})
    assert decided.status_code == 200 and decided.json["region"] == "440511"
    assert _master(session)[1] == "440511"
    assert client.get("/api/v1/enterprises/change-requests", headers=auditor).json["items"] == []
    # The bureau may also change the master data directly.
    r = client.put(f"/api/v1/enterprises/{CODE}", headers=admin, json={**_without_code(A_DATA), "reason": "核对"})
    assert r.status_code == 200 and _master(session)[1] == "440703"


def test_the_bureau_may_reject_a_request(client, session, banks, make_user):
    a, b = banks["BANK-A"], banks["BANK-B"]
    client.post("/api/v1/enterprises", json=A_DATA, headers=a)
    _lend(client, a)
    client.post("/api/v1/enterprises", json=B_DATA, headers=b)
    admin = bearer(make_user("fund_admin"))
    r = client.post(f"/api/v1/enterprises/{CODE}/change-requests/BANK-B", headers=admin, json={"decision": "reject"})
    assert r.status_code == 200
    assert _master(session) == ("江门测试科技有限公司1", "440703", ["tech_sme"])
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == CODE)))
    assert {"enterprise.change_requested", "enterprise.request_rejected"} <= actions
    again = client.post(f"/api/v1/enterprises/{CODE}/change-requests/BANK-B", headers=admin, json={"decision": "apply"})
    assert again.status_code == 404


def test_a_bank_that_lends_is_registered_on_the_master_data(client, session, banks):
    # Money follows the master data: B's own record does not change its loan's region.
    a, b = banks["BANK-A"], banks["BANK-B"]
    client.post("/api/v1/enterprises", json=A_DATA, headers=a)
    _lend(client, a)
    client.post("/api/v1/enterprises", json=B_DATA, headers=b)
    loan = _lend(client, b)
    assert (loan["region"], loan["categories"]) == ("440703", ["tech_sme"])
