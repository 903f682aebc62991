"""The OpenAPI document describes what the API really sends (issue 10).

A generated client must be able to parse every error (problem+json, its real shape),
know each operation's statuses and stable codes, and read datetimes the same way
whichever database the ledger runs on.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from api.contract import CODES

from .helpers import bearer

ROOT = Path(__file__).resolve().parent.parent
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_errors_are_documented_as_problem_json(spec):
    assert "Error" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "detail", "errors", "details"} <= set(problem["properties"])
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        # Exhaustive: no catch-all, so schemathesis' status-code check means something.
        assert "default" not in responses, (path, method)
        if operation.get("security") != []:
            assert {"401", "403"} <= set(responses), (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            assert {"400", "413", "415", "422"} <= set(responses), (path, method)
    for status, codes in CODES.items():
        response = spec["components"]["responses"][f"Problem{status}"]
        schema = response["content"]["application/problem+json"]["schema"]
        assert schema["allOf"][1]["properties"]["code"]["enum"] == list(codes)


def test_idempotent_operations_document_the_key_and_the_replay_header(spec):
    claims = spec["paths"]["/api/v1/claims"]["post"]
    assert "428" in claims["responses"]
    assert "Idempotent-Replayed" in claims["responses"]["201"]["headers"]
    events = spec["paths"]["/api/v1/loans/{loan_id}/events"]["post"]
    assert "Idempotent-Replayed" in events["responses"]["201"]["headers"] and "428" not in events["responses"]


def test_summaries_money_enums_servers_and_examples(spec):
    for path, method, operation in operations(spec):
        assert "``" not in operation.get("summary", "") + operation.get("description", ""), (path, method)
        assert "`" not in operation.get("summary", ""), (path, method)
    schemas = spec["components"]["schemas"]
    assert schemas["ContributionIn"]["properties"]["amount"]["pattern"] == r"^[0-9]+(\.[0-9]{1,2})?$"
    assert "paid" in schemas["ClaimOut"]["properties"]["status"]["enum"]
    assert "active" in schemas["LoanOut"]["properties"]["status"]["enum"]
    assert set(schemas["EnterpriseIn"]["properties"]["categories"]["items"]["enum"]) == {
        "tech_sme", "high_tech", "agri_tech", "specialized_town"}
    assert spec["servers"] and spec["servers"][0]["url"] == "/"
    claim = spec["paths"]["/api/v1/claims"]["post"]
    assert claim["requestBody"]["content"]["application/json"]["example"]["outstanding_principal"] == "2500000.00"
    assert spec["paths"]["/api/v1/claims/{claim_id}"]["parameters"][0]["schema"]["maximum"] == 2**63 - 1


def test_every_code_the_source_raises_is_documented():
    """Domain errors (by category) and the API's own refusals, found in the source."""
    import ledger.errors as errors

    classes = {name: cls for name, cls in vars(errors).items()
               if isinstance(cls, type) and issubclass(cls, errors.DomainError)}
    status_of = {"invalid": 422, "not_found": 404, "conflict": 409, "forbidden": 403}
    found: set[tuple[int, str]] = set()
    for path in [*ROOT.joinpath("ledger").rglob("*.py"), *ROOT.joinpath("api").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in classes:
                given = [k.value.value for k in node.keywords if k.arg == "code" and isinstance(k.value, ast.Constant)]
                found.add((status_of[classes[name].category], given[0] if given else classes[name].code))
            elif name == "ApiError" and len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2]):
                found.add((node.args[0].value, node.args[1].value))
            elif name == "_refuse" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                found.add((422, node.args[1].value))  # ledger.movement_dates' refusals
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # code = "a" if ... else "b", then raise ValidationFailed(..., code=code)
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["code"] \
                    and isinstance(node.value, ast.IfExp):
                found |= {(422, c.value) for c in (node.value.body, node.value.orelse) if isinstance(c, ast.Constant)}
    missing = sorted((status, code) for status, code in found if code not in CODES.get(status, ()))
    assert not missing, f"add these to api.contract.CODES: {missing}"


def test_datetimes_carry_an_offset_on_every_database(client, make_user, make_subfund):
    make_subfund("GD-PROV", 1_000_00)
    admin = bearer(make_user("fund_admin"))
    body = client.get("/api/v1/subfunds/GD-PROV", headers=admin).json
    assert RFC3339.match(body["created_at"]) and body["created_at"].endswith("+00:00"), body["created_at"]


def test_loan_events_paginate_like_every_list(client, make_bank, make_loan):
    bank = bearer(make_bank("BANK-A"))
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    page = client.get(f"/api/v1/loans/{loan.id}/events?per_page=1", headers=bank).json
    assert (page["items"], page["page"], page["per_page"], page["total"]) == ([], 1, 1, 0)


def test_the_document_is_whole_for_concurrent_first_readers_and_the_cli(app):
    """The document is generated on first demand (api.docs.LedgerApi): threads asking
    at once all get the whole document, and `flask openapi print` prints the same."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    def fetch(_: int) -> bytes:
        response = app.test_client().get("/api/v1/openapi.json")
        assert response.status_code == 200
        return response.data

    with ThreadPoolExecutor(4) as pool:
        bodies = set(pool.map(fetch, range(4)))
    assert len(bodies) == 1
    document = json.loads(bodies.pop())
    assert len(document["paths"]) > 50 and "Problem422" in document["components"]["responses"]
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == document
