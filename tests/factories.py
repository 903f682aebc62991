"""Plain functions that build the world of enterprise and loan tests: the example
rules published, the spec's sub-funds funded, valid credit codes, request bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import rules
from ledger import creditcode, schemes
from ledger.models import AuditEntry, Enterprise, EnterpriseBank, Loan, LoanEvent, RuleVersion

from .helpers import bearer

EXAMPLES = Path(__file__).resolve().parent.parent / "rules" / "examples"
#: SPEC §3.3's sub-funds: (code, owner type, region).
SPEC_SUBFUNDS = (
    ("GD-PROV", "province", "440000"),
    ("INS-PICC", "insurer", "440000"),
    ("CITY-440700", "city", "440700"),
    ("CITY-440500", "city", "440500"),
    ("CITY-441900", "city", "441900"),
)
#: Dates inside GD-KJD's 30-day registration window for the suite's business date 2026-06-30.
DISBURSED = "2026-06-15"
MATURITY = "2027-06-15"


def publish_example_rules(session: Session, name: str = "gd-kjd") -> RuleVersion:
    ruleset = rules.load_file(EXAMPLES / f"{name}.toml")
    version = schemes.publish(session, ruleset.scheme, ruleset.document, actor="test")
    session.commit()
    return version


def publish_rules(session: Session, name: str = "gd-kjd", **changes: Any) -> RuleVersion:
    """A version of an example with top-level tables or keys replaced (``eligibility={...}``)."""
    document = rules.load_file(EXAMPLES / f"{name}.toml").document
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    version = schemes.publish(session, document["scheme"], document, actor="test")
    session.commit()
    return version


def fund_spec_subfunds(make_subfund, fen_each: int = 1_000_000_00) -> None:  # type: ignore[no-untyped-def]
    """The five sub-funds of SPEC §3.3, each holding ``fen_each`` (default 1,000,000.00)."""
    for code, owner_type, region in SPEC_SUBFUNDS:
        make_subfund(code, fen_each, owner_type=owner_type, region=region)


def credit_code(n: int, region: str = "440703") -> str:
    """The n-th valid (both check characters) credit code of a firm registered in ``region``."""
    digits, body = creditcode.CHARSET, ""
    for _ in range(6):
        n, r = divmod(n, len(digits))
        body = digits[r] + body
    return creditcode.complete(f"91{region}MA{body}")


def enterprise_body(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body = {"credit_code": credit_code(n), "name": f"江门测试科技有限公司{n}", "region": "440703",
            "categories": ["tech_sme"]}
    return {**body, **overrides}


def loan_body(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body = {"external_id": f"L-{n:05d}", "scheme": "GD-KJD", "credit_code": credit_code(1), "principal": "1000000.00",
            "disbursed_on": DISBURSED, "maturity_on": MATURITY, "interest_rate": "0.0435", "collateral_type": "信用"}
    return {**body, **overrides}


def register_enterprise(client, token: str, n: int = 1, **overrides: Any):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/enterprises", json=enterprise_body(n, **overrides), headers=bearer(token))
    assert r.status_code in (200, 201), r.json
    return r.json


def register_loan(client, token: str, n: int = 1, **overrides: Any):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/loans", json=loan_body(n, **overrides), headers=bearer(token))
    assert r.status_code in (200, 201), r.json
    return r.json


def loan_event(client, token: str, loan_id: int, type: str, on: str = "2026-06-20", **extra: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/loans/{loan_id}/events", json={"type": type, "on": on, **extra}, headers=bearer(token))


def lending_counts(session: Session) -> dict[str, int]:
    """Rows in the tables registration writes: proof that nothing (more) was written."""
    session.expire_all()
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Enterprise, EnterpriseBank, Loan, LoanEvent, AuditEntry)}
