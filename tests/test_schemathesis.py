"""Property-based tests of every API operation against its own OpenAPI document.

Schemathesis generates requests from ``/api/v1/openapi.json`` (explicit examples,
then fuzzed ones) and sends each one as every role (bank, reviewer, approver,
fund_admin, auditor) to the Flask app over WSGI: no server process. Every answer must
not be a server error, must have a status the operation documents (the contract has no
catch-all ``default`` response) and must match the documented schema for its status and
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
from schemathesis.config import SchemathesisConfig
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from web import create_app

from .helpers import bearer

#: Generated requests per operation, each sent once per role.
FUZZ_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
ROLES = ("bank", "reviewer", "approver", "fund_admin", "auditor")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def world(database, tmp_path_factory):
    """One app and database for every operation: a funded GD-KJD scheme, two loans of
    BANK-A and a submitted claim, and a token per role. Operations change it as they go
    (as a real client would), which lets later ones meet approved or paid claims."""
    from datetime import date

    import rules
    from ledger import auth, claims, schemes, subfunds
    from ledger.claims import ClaimInput
    from ledger.db import make_sessionmaker
    from ledger.loans import book
    from ledger.models import Bank, Enterprise, Loan

    from .conftest import BUSINESS_DATE, EXAMPLE_RULES, SPEC_SUBFUNDS

    app = create_app({"DATABASE_URL": database.fresh(), "TESTING": True, "BUSINESS_DATE": BUSINESS_DATE})
    with make_sessionmaker(app.extensions["ledger_engine"])() as session:
        tokens = {"bank": auth.create_bank(session, "BANK-A", "测试银行", actor="test")[1]}
        for role in ROLES[1:]:
            tokens[role] = auth.create_user(session, role, [role], actor="test")[1]
        for code, (owner, region) in SPEC_SUBFUNDS.items():
            subfunds.create_subfund(session, code=code, name=f"{code} fund", owner_type=owner, region=region,
                                    actor="test")
            subfunds.contribute(session, code, amount=100_000_000_00, received_on=date(2026, 1, 5),
                                reference=f"OPEN-{code}", actor="test")
        version = schemes.publish(session, "GD-KJD", rules.load_file(EXAMPLE_RULES / "gd-kjd.toml").document,
                                  actor="test")
        bank = session.query(Bank).filter_by(code="BANK-A").one()
        loans = []
        for n, (region, principal) in enumerate([("440703", 1_000_000_00), ("440106", 500_000_000_00)], 1):
            enterprise = Enterprise(credit_code=f"91440000TEST{n:05d}X"[:18], name=f"测试科技有限公司{n}",
                                    region=region, categories=["tech_sme"])
            session.add(enterprise)
            session.flush()
            loan = Loan(bank_id=bank.id, external_id=f"L-{n}", scheme_id=version.scheme_id, rule_version_id=version.id,
                        enterprise_id=enterprise.id, region=region, categories=["tech_sme"], principal=principal,
                        outstanding=principal, disbursed_on=date(2025, 12, 1), maturity_on=date(2027, 1, 15),
                        status="active", registered_on=date(2025, 12, 1), registration={})
            session.add(loan)
            session.flush()
            book.recount(session, loan.scheme_id, loan.bank_id)  # as registration would have counted it
            loans.append(loan)
        claims.submit_claim(session, ClaimInput(loan_id=loans[0].id, default_on=date(2026, 3, 1),
                                                outstanding_principal=800_000_00),
                            bank_id=bank.id, actor="test", today=date(2026, 6, 30))
        session.commit()
    yield app, tokens
    app.extensions["ledger_engine"].dispose()


def _document() -> dict:
    """The OpenAPI document, from an app that touches no database (it depends on none)."""
    app = create_app({"DATABASE_URL": "sqlite://", "AUTO_MIGRATE": False, "TESTING": True})
    try:
        return app.test_client().get("/api/v1/openapi.json").json
    finally:
        app.extensions["ledger_engine"].dispose()


#: Examples and fuzzing, bounded by FUZZ_EXAMPLES; the coverage phase (hundreds of
#: boundary cases per operation whatever the bound) is left to manual runs.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_as_every_role(case, world):
    app, tokens = world
    for role in ROLES:
        response = case.call(app=app, headers=bearer(tokens[role]))
        case.validate_response(response, checks=CHECKS, transport_kwargs={"app": app})
