"""Every API operation × every role: allowed or refused as designed (issues 2, 4, 5, 6).

The table must name every operation of the OpenAPI document, so a new endpoint
cannot be added without deciding who may call it. Authorisation is checked before
anything else, so refused roles get 403 whatever the body or the id; allowed roles
get anything but 401/403 (often 404 or 422 here, which is fine).
"""

from __future__ import annotations

import pytest

from .helpers import bearer

ROLES = ("bank", "reviewer", "approver", "fund_admin", "auditor")
ANY = set(ROLES)
BUREAU = {"reviewer", "approver", "fund_admin", "auditor"}
OWNER_OR_BUREAU = {"bank"} | BUREAU
AUDIT_TOOLS = {"auditor", "approver", "fund_admin"}

MATRIX = {
    ("GET", "/api/v1/claims"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/claims"): {"bank"},
    ("GET", "/api/v1/claims/{claim_id}"): OWNER_OR_BUREAU,
    ("PUT", "/api/v1/claims/{claim_id}"): {"bank"},
    ("POST", "/api/v1/claims/{claim_id}/withdraw"): {"bank"},
    ("POST", "/api/v1/claims/{claim_id}/review"): {"reviewer"},
    ("POST", "/api/v1/claims/{claim_id}/approve"): {"approver"},
    ("POST", "/api/v1/claims/{claim_id}/reject"): {"approver"},
    ("POST", "/api/v1/claims/{claim_id}/pay"): {"approver", "fund_admin"},
    ("GET", "/api/v1/claims/{claim_id}/recoveries"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/claims/{claim_id}/recoveries"): {"bank"},
    ("POST", "/api/v1/claims/{claim_id}/clawback"): {"approver"},
    ("GET", "/api/v1/claims/{claim_id}/statement.pdf"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/claims/{claim_id}/documents"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/claims/{claim_id}/documents"): {"bank"},
    ("GET", "/api/v1/claims/{claim_id}/documents/{document_id}"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/banks/{code}/debts"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/banks/{code}/debt-repayments"): {"fund_admin"},
    ("GET", "/api/v1/banks/{code}/npl"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/banks/{code}/portfolio-cap"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/early-warning"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/loan-reports"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/loan-reports"): {"bank"},
    ("GET", "/api/v1/loan-reports/status"): BUREAU,
    ("GET", "/api/v1/loan-reports/{report_id}"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/banks/{code}/statement.pdf"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/exposure"): BUREAU,
    ("POST", "/api/v1/simulations"): BUREAU,
    ("GET", "/api/v1/health"): ANY,
    ("GET", "/api/v1/schemes"): ANY,
    ("GET", "/api/v1/schemes/{code}/rules"): ANY,
    ("POST", "/api/v1/schemes/{code}/rules"): {"fund_admin"},
    ("GET", "/api/v1/schemes/{code}/rules/{version}"): ANY,
    ("POST", "/api/v1/schemes/{code}/quote"): ANY,
    ("GET", "/api/v1/subfunds"): BUREAU,
    ("POST", "/api/v1/subfunds"): {"fund_admin"},
    ("GET", "/api/v1/subfunds/{code}"): BUREAU,
    ("POST", "/api/v1/subfunds/{code}/contributions"): {"fund_admin"},
    ("GET", "/api/v1/subfunds/{code}/movements"): BUREAU,
    ("GET", "/api/v1/subfunds/{code}/statement.pdf"): BUREAU,
    ("GET", "/api/v1/enterprises"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/enterprises"): {"bank"},
    ("GET", "/api/v1/enterprises/{credit_code}"): OWNER_OR_BUREAU,
    ("PUT", "/api/v1/enterprises/{credit_code}"): {"bank", "fund_admin"},
    ("GET", "/api/v1/enterprises/change-requests"): BUREAU,
    ("POST", "/api/v1/enterprises/{credit_code}/change-requests/{bank}"): {"fund_admin"},
    ("GET", "/api/v1/loans"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/loans"): {"bank"},
    ("POST", "/api/v1/loans/bulk"): {"bank"},
    ("GET", "/api/v1/loans/{loan_id}"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/loans/{loan_id}/events"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/loans/{loan_id}/events"): {"bank"},
    ("GET", "/api/v1/statements"): ANY,
    ("GET", "/api/v1/statements/{number}"): ANY,
    ("POST", "/api/v1/statements/verify"): ANY,
    ("GET", "/api/v1/audit"): AUDIT_TOOLS,
    ("POST", "/api/v1/audit/verify"): AUDIT_TOOLS,
    ("POST", "/api/v1/audit/checkpoints"): AUDIT_TOOLS,
    ("GET", "/api/v1/audit/checkpoints/latest"): AUDIT_TOOLS,
    ("POST", "/api/v1/journal/check"): AUDIT_TOOLS,
    ("GET", "/api/v1/exports/journal.{fmt}"): AUDIT_TOOLS,
    ("GET", "/api/v1/exports/audit.{fmt}"): AUDIT_TOOLS,
    ("GET", "/api/v1/events"): ANY,
    ("GET", "/api/v1/webhooks"): OWNER_OR_BUREAU,
    ("POST", "/api/v1/webhooks"): {"bank"},
    ("GET", "/api/v1/webhooks/{webhook_id}"): OWNER_OR_BUREAU,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): {"bank"},
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): {"bank"},
    ("POST", "/api/v1/webhooks/{webhook_id}/ping"): {"bank"},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): OWNER_OR_BUREAU,
    ("GET", "/api/v1/tokens"): ANY,
    ("POST", "/api/v1/tokens/rotate"): ANY,
    ("DELETE", "/api/v1/tokens/{token_id}"): ANY,
}
PATH_VALUES = {"{claim_id}": "1", "{code}": "BANK-A", "{version}": "1", "{credit_code}": "91440703MA00000001",
               "{loan_id}": "1", "{number}": "BCJ-2026-000001", "{fmt}": "csv",
               "{webhook_id}": "1", "{document_id}": "1", "{bank}": "BANK-A", "{token_id}": "999", "{report_id}": "1"}


def test_the_matrix_names_every_operation(client):
    spec = client.get("/api/v1/openapi.json").json
    operations = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    assert operations == set(MATRIX)


@pytest.fixture
def tokens(make_bank, make_user):
    return {"bank": make_bank("BANK-A"), **{role: make_user(role) for role in ROLES if role != "bank"}}


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_each_role_is_allowed_or_refused(client, tokens, method, path):
    url = path
    for placeholder, value in PATH_VALUES.items():
        url = url.replace(placeholder, value)
    for role in ROLES:
        with client.open(url, method=method, json={}, headers=bearer(tokens[role])) as r:
            if role in MATRIX[(method, path)]:
                assert r.status_code not in (401, 403), (role, r.status_code, r.get_json())
            else:
                assert (r.status_code, r.get_json()["code"]) == (403, "forbidden"), role
    if path != "/api/v1/health":
        with client.open(url, method=method, json={}) as anonymous:
            assert anonymous.status_code == 401
