"""Property-based tests of every API operation against its own OpenAPI document.

Schemathesis generates requests from ``/api/v1/openapi.json`` (explicit examples,
then fuzzed ones) and sends each one as every role (bank, reviewer, approver,
fund_admin, auditor) to the Flask app over WSGI: no server process. Every answer must
not be a server error and must match the documented schema for its status and
content type (problem+json errors with their documented codes included).

Bounded for CI: ``FUZZ_EXAMPLES`` generated requests per operation (× 5 roles), a
fixed seed (``derandomize``) so a failure reproduces. Each operation gets a fresh
database with a small world (a funded scheme, a loan, a submitted claim), so generated
ids and codes sometimes hit real records. Run with ``TEST_DATABASE_URL`` set for
PostgreSQL.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from web import create_app

from .helpers import bearer

#: Generated requests per operation, each sent once per role.
FUZZ_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
ROLES = ("bank", "reviewer", "approver", "fund_admin", "auditor")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def tokens(make_bank, make_user, make_loan, session):
    from datetime import date

    from ledger import claims
    from ledger.claims import ClaimInput

    tokens = {"bank": make_bank("BANK-A")}
    for role in ROLES[1:]:
        tokens[role] = make_user(role, name=role)
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00,
                     disbursed_on=date(2025, 12, 1))
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    claims.submit_claim(session, ClaimInput(loan_id=loan.id, default_on=date(2026, 3, 1),
                                            outstanding_principal=800_000_00),
                        bank_id=loan.bank_id, actor="test", today=date(2026, 6, 30))
    session.commit()
    return tokens


def _document() -> dict:
    """The OpenAPI document, from an app that touches no database (it depends on none)."""
    app = create_app({"DATABASE_URL": "sqlite://", "AUTO_MIGRATE": False, "TESTING": True})
    try:
        return app.test_client().get("/api/v1/openapi.json").json
    finally:
        app.extensions["ledger_engine"].dispose()


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_as_every_role(case, app, tokens):
    for role in ROLES:
        response = case.call(app=app, headers=bearer(tokens[role]))
        case.validate_response(response, checks=CHECKS, transport_kwargs={"app": app})
