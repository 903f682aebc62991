"""Issue 10's reproductions and SPEC §1's strict text, replayed through the HTTP API.

Each bad request must be a 4xx ``application/problem+json`` naming the field (or
``body``) with a stable ``code``, and change nothing. Run with and without
``TEST_DATABASE_URL`` to cover SQLite and PostgreSQL (NUL bytes and overflowing
integers failed differently on each).
"""

from __future__ import annotations

import json

import pytest

from .helpers import bearer, row_counts

HUGE = "99999999999999999999"  # above 2^63 - 1


@pytest.fixture
def world(make_bank, make_user, make_loan):
    tokens = {
        "bank": bearer(make_bank("BANK-A")),
        "reviewer": bearer(make_user("reviewer", name="reviewer")),
        "approver": bearer(make_user("approver", name="approver")),
        "admin": bearer(make_user("fund_admin", name="admin")),
        "auditor": bearer(make_user("auditor", name="auditor")),
    }
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    return {**tokens, "loan_id": loan.id}


def assert_problem(response, status: int | tuple[int, ...], field: str, code: str | None = None) -> None:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.json
    assert body["status"] == response.status_code and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    if field:
        assert any(name == field or name.startswith(f"{field}.") for name in body["errors"]), body


def post_json(client, url, payload, headers, **extra):
    data = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(url, data=data, content_type=extra.pop("content_type", "application/json"),
                       headers=headers, **extra)


def claim_body(world, **changes):
    return {"loan_id": world["loan_id"], "default_on": "2026-03-01", "outstanding_principal": "500000.00", **changes}


# -- Reproductions -----------------------------------------------------------------------------


def test_age_filters_that_overflow_dates_are_refused(client, world):
    for query in ("min_age_days=1000000", "max_age_days=999999999999", f"min_age_days={HUGE}"):
        name = query.split("=")[0]
        assert_problem(client.get(f"/api/v1/claims?{query}", headers=world["reviewer"]), 422, name,
                       "validation_failed")


@pytest.mark.parametrize("path", ["/api/v1/claims", "/api/v1/loans", "/api/v1/enterprises", "/api/v1/statements",
                                  "/api/v1/subfunds", "/api/v1/audit"])
def test_page_numbers_that_overflow_offset_are_refused(client, world, path):
    token = world["admin"]
    assert_problem(client.get(f"{path}?page={HUGE}", headers=token), 422, "page", "validation_failed")
    assert_problem(client.get(f"{path}?per_page=100000", headers=token), 422, "per_page", "validation_failed")
    assert client.get(f"{path}?page=10000000", headers=token).status_code == 200  # the largest page: empty


def test_ids_above_64_bits_are_not_found(client, world):
    bank, approver = world["bank"], world["approver"]
    for method, path, token in [
        ("get", f"/api/v1/claims/{HUGE}", bank),
        ("put", f"/api/v1/claims/{HUGE}", bank),
        ("post", f"/api/v1/claims/{HUGE}/approve", approver),
        ("post", f"/api/v1/claims/{HUGE}/pay", approver),
        ("post", f"/api/v1/claims/{HUGE}/recoveries", bank),
        ("get", f"/api/v1/claims/{HUGE}/statement.pdf", bank),
        ("get", f"/api/v1/loans/{HUGE}", bank),
        ("get", f"/api/v1/loans/{HUGE}/events", bank),
        ("post", f"/api/v1/loans/{HUGE}/events", bank),
        ("get", f"/api/v1/schemes/GD-KJD/rules/{HUGE}", bank),
        ("get", "/api/v1/claims/١٢", bank),  # Arabic-Indic digits are not an id
    ]:
        response = getattr(client, method)(path, headers={**token, "Idempotency-Key": "k"}, json={})
        assert_problem(response, 404, "", "not_found")


def test_body_ids_above_64_bits_are_refused(client, world):
    for loan_id in (10**29, 2**63, -1, 0, "1", 1.5, True):
        r = post_json(client, "/api/v1/claims", claim_body(world, loan_id=loan_id),
                      {**world["bank"], "Idempotency-Key": f"k-{loan_id}"})
        assert_problem(r, 422, "loan_id", "validation_failed")


def test_quote_for_a_region_without_a_province_is_refused(client, world):
    quote = {"region": "800042", "categories": ["tech_sme"], "loan_principal": "1000000.00",
             "outstanding_principal": "800000.00", "disbursed_on": "2026-01-15"}
    for region in ("800042", "４４０１００", "440703\n", " 440703", "4407"):
        r = post_json(client, "/api/v1/schemes/GD-KJD/quote", {**quote, "region": region}, world["bank"])
        assert_problem(r, 422, "region")
    assert post_json(client, "/api/v1/schemes/GD-KJD/quote", {**quote, "region": "440703"},
                     world["bank"]).status_code == 200


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\x07y"])
def test_nul_lone_surrogates_and_control_characters_are_refused_everywhere(client, world, session, bad):
    before = row_counts(session)
    # json.dumps escapes a lone surrogate as \ud800: exactly what a client sends.
    cases = [
        ("/api/v1/enterprises", {"credit_code": "91440300708461136T", "name": f"公司{bad}", "region": "440703",
                                 "categories": ["tech_sme"]}, world["bank"], "name"),
        ("/api/v1/subfunds", {"code": "CITY-440300", "name": f"深圳{bad}", "owner_type": "city", "region": "440300"},
         world["admin"], "name"),
        ("/api/v1/subfunds/GD-PROV/contributions", {"amount": "1.00", "received_on": "2026-06-01",
                                                    "reference": f"R{bad}1"}, world["admin"], "reference"),
        ("/api/v1/claims", claim_body(world, note={"deep": bad}), {**world["bank"], "Idempotency-Key": "nul"},
         "note.deep"),
        ("/api/v1/claims", {**claim_body(world), f"k{bad}": 1}, {**world["bank"], "Idempotency-Key": "nul-key"},
         "body"),
    ]
    for url, payload, headers, field in cases:
        assert_problem(post_json(client, url, payload, headers), 422, field, "invalid_text")
    if bad != "\ud800":  # a URL is bytes: percent-decoding cannot produce a lone surrogate
        assert_problem(client.get(f"/api/v1/loans?external_id=L{bad}", headers=world["bank"]), 422, "external_id",
                       "invalid_text")
        assert_problem(client.get(f"/api/v1/subfunds/GD{bad}", headers=world["admin"]), 404, "", "not_found")
    assert row_counts(session) == before


def test_json_nested_too_deep_is_refused(client, world):
    for depth in (33, 1000, 100_000):
        r = post_json(client, "/api/v1/claims", "[" * depth + "]" * depth, {**world["bank"], "Idempotency-Key": "d"})
        assert_problem(r, 400, "body", "json_too_deep")
    inside = claim_body(world, extra=json.loads("[" * 30 + "]" * 30))
    r = post_json(client, "/api/v1/claims", inside, {**world["bank"], "Idempotency-Key": "d2"})
    assert_problem(r, 422, "extra", "validation_failed")  # 32 deep is parsed; the schema refuses the field


def test_long_arrays_and_large_bodies_are_refused(client, world):
    enterprise = {"credit_code": "91440300708461136T", "name": "公司", "region": "440703",
                  "categories": ["tech_sme"] * 1_000_000}
    r = post_json(client, "/api/v1/enterprises", enterprise, world["bank"])
    assert_problem(r, 413, "body", "payload_too_large")  # 11 MB: refused before parsing
    enterprise["categories"] = ["tech_sme"] * 21
    assert_problem(post_json(client, "/api/v1/enterprises", enterprise, world["bank"]), 422, "categories")
    huge = b"{" + b" " * (33 * 1024 * 1024) + b"}"
    r = client.post("/api/v1/loans/bulk", data=huge, content_type="text/csv", headers=world["bank"])
    assert_problem(r, 413, "body", "payload_too_large")


def test_enterprise_region_with_a_newline_is_refused(client, world, session):
    before = row_counts(session)
    body = {"credit_code": "91440300708461136T", "name": "江门某某科技有限公司", "region": "440703\n",
            "categories": ["tech_sme"]}
    r = post_json(client, "/api/v1/enterprises", body, world["bank"])
    assert r.status_code == 422 and "region" in json.dumps(r.json), r.json
    assert row_counts(session) == before


# -- Accepted before, refused now --------------------------------------------------------------

BAD_MONEY = ["１２３", "١٢٣", " 1.00", "1.00 ", "1.00\n", "+1.00", "-1.00", "1e2", "1,000.00", "1.005", "1.000",
             "1_000", ".5", "5.", "", "NaN", 1.005, -1, True, None, [], {}]


def test_strict_money_strings(client, world, session):
    before = row_counts(session)
    for amount in BAD_MONEY:
        r = post_json(client, "/api/v1/subfunds/GD-PROV/contributions",
                      {"amount": amount, "received_on": "2026-06-01", "reference": f"R-{amount!r}"}, world["admin"])
        assert_problem(r, 422, "amount")
    assert row_counts(session) == before
    ok = post_json(client, "/api/v1/subfunds/GD-PROV/contributions",
                   {"amount": 12.5, "received_on": "2026-06-01", "reference": "R-number"}, world["admin"])
    assert ok.status_code == 201 and ok.json["amount"] == "12.50"  # an exact JSON number


BAD_DATES = ["20260101", "2026-W27-2", "2026-001", "2026-6-1", " 2026-06-01", "2026-06-01\n", "２０２６-06-01",
             "2026-06-01T00:00:00", "2026-02-30", 20260101]


def test_strict_dates(client, world):
    for value in BAD_DATES:
        r = post_json(client, "/api/v1/subfunds/GD-PROV/contributions",
                      {"amount": "1.00", "received_on": value, "reference": "R-1"}, world["admin"])
        assert_problem(r, 422, "received_on")
        r = post_json(client, "/api/v1/claims", claim_body(world, default_on=value),
                      {**world["bank"], "Idempotency-Key": f"date-{BAD_DATES.index(value)}"})
        assert_problem(r, 422, "default_on")
        assert_problem(client.get("/api/v1/exports/journal.csv", query_string={"from": value}, headers=world["auditor"]),
                       (400, 422), "from")


def test_repeated_json_keys_are_refused(client, world, session):
    before = row_counts(session)
    raw = '{"amount": "1.00", "received_on": "2026-06-01", "reference": "R-dup", "amount": "100000.00"}'
    r = post_json(client, "/api/v1/subfunds/GD-PROV/contributions", raw, world["admin"])
    assert_problem(r, 422, "amount", "duplicate_key")
    nested = '{"region": "440703", "x": {"a": 1, "a": 2}}'
    assert_problem(post_json(client, "/api/v1/schemes/GD-KJD/quote", nested, world["bank"]), 422, "a",
                   "duplicate_key")
    assert row_counts(session) == before


def test_codes_and_references_are_exact(client, world, session):
    before = row_counts(session)
    for code in ("GD-PROV\n", " GD-PROV", "GD-PROV ", "ＧＤ-PROV"):
        r = post_json(client, "/api/v1/subfunds", {"code": code, "name": "x", "owner_type": "province",
                                                   "region": "440000"}, world["admin"])
        assert_problem(r, 422, "code")
    for region in ("４４０１００", "440100\n", " 440100"):
        r = post_json(client, "/api/v1/subfunds", {"code": "CITY-440100", "name": "x", "owner_type": "city",
                                                   "region": region}, world["admin"])
        assert_problem(r, 422, "region")
    for reference in (" ", "\t", "R-1 ", "\nR-1"):
        r = post_json(client, "/api/v1/subfunds/GD-PROV/contributions",
                      {"amount": "1.00", "received_on": "2026-06-01", "reference": reference}, world["admin"])
        assert_problem(r, 422, "reference")
    assert row_counts(session) == before


def test_only_utf8_json_is_read(client, world, session):
    before = row_counts(session)
    body = {"amount": "1.00", "received_on": "2026-06-01", "reference": "R-é"}
    url = "/api/v1/subfunds/GD-PROV/contributions"
    r = client.post(url, data=json.dumps(body, ensure_ascii=False).encode("latin-1"),
                    content_type="application/json; charset=latin-1", headers=world["admin"])
    assert_problem(r, 415, "Content-Type", "unsupported_media_type")
    for encoding in ("utf-16", "utf-16-le", "utf-32"):
        r = client.post(url, data=json.dumps(body).encode(encoding), content_type="application/json",
                        headers=world["admin"])
        assert_problem(r, 400, "body", "malformed_json")
    assert row_counts(session) == before
    ok = client.post(url, data=json.dumps(body).encode(), content_type="application/json; charset=utf-8",
                     headers=world["admin"])
    assert ok.status_code == 201


def test_console_forms_read_with_the_same_strictness(app, client, world):
    from flask import request

    from api.claims import ApproveIn, PayIn
    from console.forms import load_form
    from marshmallow import ValidationError

    for form, schema, field in [({"amount": "１２３"}, ApproveIn(), "amount"),
                                ({"payment_reference": " P-1", "paid_on": "2026-06-01"}, PayIn(), "payment_reference"),
                                ({"payment_reference": "P-1", "paid_on": "20260601"}, PayIn(), "paid_on"),
                                ({"payment_reference": "P\x00", "paid_on": "2026-06-01"}, PayIn(), "payment_reference")]:
        with app.test_request_context("/console/x", method="POST", data=form):
            assert request.form
            with pytest.raises(ValidationError) as caught:
                load_form(schema)
            assert field in caught.value.messages


def test_a_trailing_newline_is_not_a_match(client, world, session):
    """``$`` in a regex also matches before a final newline; every pattern that guards
    input must anchor at the true end (``\\Z`` or ``fullmatch``)."""
    from console.statements import IssueIn
    from console.users import BankIn, UserIn
    from marshmallow import ValidationError
    from rules.simulation.scenario import ScenarioError, parse_scenario

    r = client.get("/api/v1/loan-reports/status?period=2026-05%0A", headers=world["auditor"])
    assert_problem(r, 422, "period")
    for schema, data, field in [(IssueIn(), {"target": "subfund:GD-PROV\n"}, "target"),
                                (BankIn(), {"code": "BANK-Z\n", "name": "Z"}, "code"),
                                (UserIn(), {"name": "zhang\n"}, "name")]:
        with pytest.raises(ValidationError) as caught:
            schema.load(data)
        assert field in caught.value.messages
    scenario = {"as_of": "2026-06-30", "horizon_months": 12, "default_rate": "0.3", "recovery_rate": "0.2",
                "runs": 10, "seed": 1}
    parse_scenario(scenario)
    for key, bad in [("default_rate", "0.3\n"), ("recovery_rate", "0.2\n"), ("as_of", "2026-06-30\n"),
                     ("default_rate", {"default": "0.1", "regions": {"4407\n": "0.2"}})]:
        with pytest.raises(ScenarioError) as caught:
            parse_scenario({**scenario, key: bad})
        assert any(path.startswith(key) for path in caught.value.errors), caught.value.errors
