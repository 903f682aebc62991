"""Sub-fund endpoints, auth and the problem+json contract for bad input (issue 2)."""

from __future__ import annotations

import json

import pytest

from .helpers import bearer, row_counts


@pytest.fixture
def admin(make_user):
    return bearer(make_user("fund_admin", name="admin"))


@pytest.fixture
def funded(client, admin):
    r = client.post("/api/v1/subfunds", json={"code": "GD-PROV", "name": "广东省子基金", "owner_type": "province",
                                              "region": "440000"}, headers=admin)
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/subfunds/GD-PROV/contributions",
                    json={"amount": "1200000.00", "received_on": "2026-01-05", "reference": "GZ-2026-001"}, headers=admin)
    assert r.status_code == 201, r.json
    return r.json


def test_create_contribute_and_read(client, admin, funded, make_user):
    assert funded["amount"] == "1200000.00"
    assert funded["subfund_after"]["available"] == "1200000.00"
    auditor = bearer(make_user("auditor"))
    r = client.get("/api/v1/subfunds/GD-PROV", headers=auditor)
    assert r.status_code == 200
    assert {k: r.json[k] for k in ("code", "available", "reserved", "paid", "recovered", "contributed")} == {
        "code": "GD-PROV", "available": "1200000.00", "reserved": "0.00", "paid": "0.00", "recovered": "0.00",
        "contributed": "1200000.00",
    }
    r = client.get("/api/v1/subfunds/GD-PROV/movements", headers=auditor)
    assert len(r.json["items"]) == 1 and r.json["next_cursor"] is None
    movement = r.json["items"][0]
    assert (movement["kind"], movement["reference"], movement["effective_on"]) == ("contribution", "GZ-2026-001", "2026-01-05")
    assert movement["changes"] == {"available": "1200000.00", "contributions": "1200000.00"}
    assert movement["balances_after"] == {"available": "1200000.00", "contributions": "1200000.00"}
    listing = client.get("/api/v1/subfunds?per_page=10", headers=auditor).json
    assert [s["code"] for s in listing["items"]] == ["GD-PROV"] and listing["total"] == 1


def test_a_repeated_contribution_records_nothing_new(client, admin, funded, session):
    before = row_counts(session)
    body = {"amount": "1200000.00", "received_on": "2026-01-05", "reference": "GZ-2026-001"}
    r = client.post("/api/v1/subfunds/GD-PROV/contributions", json=body, headers=admin)
    assert r.status_code == 200
    assert r.json["transaction_id"] == funded["transaction_id"]
    assert r.json["subfund_after"]["available"] == "1200000.00"
    r = client.post("/api/v1/subfunds/GD-PROV/contributions", json={**body, "amount": "1.00"}, headers=admin)
    assert (r.status_code, r.json["code"]) == (409, "duplicate_reference")
    assert row_counts(session) == before


def test_duplicate_subfund_is_a_conflict(client, admin, funded):
    r = client.post("/api/v1/subfunds", json={"code": "GD-PROV", "name": "again", "owner_type": "province",
                                              "region": "440000"}, headers=admin)
    assert (r.status_code, r.json["code"], r.json["errors"]) == (409, "subfund_exists", {"code": ["already exists"]})


def test_unknown_subfund_is_404_problem(client, admin):
    r = client.get("/api/v1/subfunds/NOPE", headers=admin)
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    assert r.json["code"] == "subfund_not_found"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, 401, "unauthorized"),
        ({"Authorization": "Bearer rcl_not-a-real-token"}, 401, "invalid_token"),
    ],
)
def test_missing_or_wrong_token_is_401(client, headers, status, code):
    r = client.get("/api/v1/subfunds", headers=headers)
    assert (r.status_code, r.json["code"]) == (status, code)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("post", "/api/v1/subfunds", {"fund_admin"}),
        ("post", "/api/v1/subfunds/GD-PROV/contributions", {"fund_admin"}),
        ("get", "/api/v1/subfunds", {"reviewer", "approver", "fund_admin", "auditor"}),
        ("get", "/api/v1/subfunds/GD-PROV", {"reviewer", "approver", "fund_admin", "auditor"}),
        ("get", "/api/v1/subfunds/GD-PROV/movements", {"reviewer", "approver", "fund_admin", "auditor"}),
    ],
)
def test_roles(client, funded, make_user, make_bank, method, path, allowed):
    tokens = {role: make_user(role) for role in ("reviewer", "approver", "fund_admin", "auditor")}
    tokens["bank"] = make_bank("BANK-A")
    for role, token in tokens.items():
        r = getattr(client, method)(path, json={} if method == "post" else None, headers=bearer(token))
        if role in allowed:
            assert r.status_code not in (401, 403), (role, r.json)
        else:
            assert (r.status_code, r.json["code"]) == (403, "forbidden"), role


VALID = {"amount": "10.00", "received_on": "2026-02-01", "reference": "R-1"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VALID, "amount": "1.005"}, "amount"),
        ({**VALID, "amount": "-1"}, "amount"),
        ({**VALID, "amount": "abc"}, "amount"),
        ({**VALID, "amount": "0.00"}, "amount"),
        ({**VALID, "amount": 12.5}, None),  # exact JSON number: accepted
        ({**VALID, "amount": True}, "amount"),
        ({**VALID, "amount": None}, "amount"),
        ({**VALID, "amount": "10000000000000.01"}, "amount"),
        ({**VALID, "received_on": "2026-02-30"}, "received_on"),
        ({**VALID, "received_on": 20260201}, "received_on"),
        ({k: v for k, v in VALID.items() if k != "reference"}, "reference"),
        ({**VALID, "reference": ""}, "reference"),
        ({**VALID, "surprise": 1}, "surprise"),
    ],
)
def test_bad_contributions_are_422_naming_the_field_and_change_nothing(client, admin, funded, session, body, field):
    before = row_counts(session)
    r = client.post("/api/v1/subfunds/GD-PROV/contributions", json=body, headers=admin)
    if field is None:
        assert r.status_code == 201
        return
    assert r.status_code == 422, r.json
    assert r.content_type == "application/problem+json"
    assert r.json["code"] == "validation_failed"
    assert field in r.json["errors"]
    assert row_counts(session) == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ('{"amount": 1e400, "received_on": "2026-02-01", "reference": "R"}', 422, "validation_failed"),
        ('{"amount": 1.005, "received_on": "2026-02-01", "reference": "R"}', 422, "validation_failed"),
        ('{"amount": NaN, "received_on": "2026-02-01", "reference": "R"}', 400, "malformed_json"),
        ('{"amount": "1.00", ', 400, "malformed_json"),
        ("[1, 2]", 422, "validation_failed"),
    ],
)
def test_raw_json_bodies(client, admin, funded, session, raw, status, code):
    before = row_counts(session)
    r = client.post("/api/v1/subfunds/GD-PROV/contributions", data=raw, content_type="application/json", headers=admin)
    assert (r.status_code, r.json["code"]) == (status, code), r.json
    assert row_counts(session) == before


def test_wrong_content_type_is_415(client, admin, funded):
    r = client.post("/api/v1/subfunds/GD-PROV/contributions", data="amount=1", headers=admin,
                    content_type="application/x-www-form-urlencoded")
    assert (r.status_code, r.json["code"]) == (415, "unsupported_media_type")
    assert "Content-Type" in r.json["errors"]


def test_oversized_body_is_413(app, client, admin):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = json.dumps({"code": "X" * 5000})
    r = client.post("/api/v1/subfunds", data=body, content_type="application/json", headers=admin)
    assert (r.status_code, r.json["code"]) == (413, "payload_too_large")


def test_bad_subfund_fields(client, admin, session):
    before = row_counts(session)
    r = client.post("/api/v1/subfunds", json={"code": "gd prov", "name": "", "owner_type": "bank", "region": "44"},
                    headers=admin)
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"code", "name", "owner_type", "region"}
    assert row_counts(session) == before


def test_405_and_404_are_problems(client):
    r = client.delete("/api/v1/health")
    assert (r.status_code, r.json["code"], r.content_type) == (405, "method_not_allowed", "application/problem+json")
    assert "GET" in r.headers["Allow"]
    r = client.get("/api/v1/nowhere")
    assert (r.status_code, r.json["code"]) == (404, "not_found")


def test_pagination_bounds(client, admin):
    r = client.get("/api/v1/subfunds?per_page=501", headers=admin)
    assert r.status_code == 422 and "per_page" in r.json["errors"]


def test_health_openapi_and_offline_docs(client):
    health = client.get("/api/v1/health").json
    assert health["status"] == "ok" and health["schema_up_to_date"] is True
    assert health["business_date"] == "2026-06-30"
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/subfunds/{code}/contributions" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.data.decode()
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
    with client.get("/api/v1/docs/static/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200


def test_a_subfund_in_an_unknown_region_is_unknown_region(client, admin, session):
    before = row_counts(session)
    r = client.post("/api/v1/subfunds", json={"code": "CITY-440799", "name": "无此市", "owner_type": "city",
                                              "region": "440799"}, headers=admin)
    assert (r.status_code, r.json["code"], list(r.json["errors"])) == (422, "unknown_region", ["region"])
    assert row_counts(session) == before
