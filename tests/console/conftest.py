"""The console's world: bureau users with passwords, a bank with a performing book,
a claim submitted through the API, and helpers to log in and post forms with their
CSRF token the way a browser does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from ledger import passwords
from ledger.models import Claim

from ..helpers import bearer

PASSWORD = "correct horse battery"
#: SPEC §3.3 example 2: Jiangmen, tech_sme + agri_tech, 3,000,000.00 -> 0.70 -> 2,100,000.00.
EXAMPLE_2 = {"region": "440703", "categories": ["tech_sme", "agri_tech"], "principal": 3_000_000_00}
EXAMPLE_2_PAYERS = {"GD-PROV": 1_050_000_00, "CITY-440700": 630_000_00, "INS-PICC": 420_000_00}
#: Each of the SPEC's sub-funds starts with 100,000,000.00 (tests/conftest.py, gd_scheme).
FUNDED = 100_000_000_00

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the login form (as someone else, if a user is logged in already)."""
    token = csrf_from(client.get("/console/login", follow_redirects=True).get_data(as_text=True))
    return client.post("/console/login", data={"username": name, "password": password, "csrf_token": token})


def post_form(client, page: str, action: str, data: dict | None = None, *, follow: bool = True):  # type: ignore[no-untyped-def]
    """Post ``data`` to ``action`` with the CSRF token of ``page``, as its form would."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**(data or {}), "csrf_token": token}, follow_redirects=follow)


@dataclass
class World:
    tokens: dict[str, dict[str, str]]
    claim_id: int
    users: dict[str, str] = field(default_factory=dict)


#: Still scrypt, with a smaller work factor than production's so that the suite's many
#: logins stay fast (test_passwords.py checks the production default separately).
FAST_HASH = "scrypt:1024:8:1"


@pytest.fixture
def set_password(session, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(passwords, "HASH_METHOD", FAST_HASH)

    def _set(name: str, password: str = PASSWORD) -> None:
        passwords.set_password(session, name, password, actor="test")
        session.commit()

    return _set


def submit_claim(client, world_tokens, loan_id: int, outstanding: str = "3000000.00", key: str = "k-1") -> int:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/claims", json={"loan_id": loan_id, "default_on": "2026-03-01",
                                            "outstanding_principal": outstanding},
                    headers={**world_tokens["bank"], "Idempotency-Key": key})
    assert r.status_code == 201, r.json
    return r.json["id"]


@pytest.fixture
def world(client, make_bank, make_user, make_loan, set_password) -> World:  # type: ignore[no-untyped-def]
    """Users named for their roles (all with console passwords), and claim 1 submitted."""
    tokens = {"bank": bearer(make_bank("BANK-A"))}
    for name, roles in {"reviewer": ("reviewer",), "approver": ("approver",), "admin": ("fund_admin",),
                        "auditor": ("auditor",), "both": ("reviewer", "approver")}.items():
        tokens[name] = bearer(make_user(*roles, name=name))
    for name in ("reviewer", "approver", "admin", "auditor", "both", "bank-BANK-A"):
        set_password(name)
    # A mostly performing book keeps the bank's NPL ratio under npl_suspend_compensation.
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    loan = make_loan("BANK-A", **EXAMPLE_2)
    claim_id = submit_claim(client, tokens, loan.id)
    return World(tokens, claim_id, {"bank": "bank-BANK-A"})


def claim_status(session, claim_id: int) -> str:  # type: ignore[no-untyped-def]
    session.rollback()  # end the test session's snapshot: see what the app committed since
    return session.scalar(select(Claim.status).where(Claim.id == claim_id))


def api_review(client, world: World, recommendation: str = "approve", who: str = "reviewer") -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/claims/{world.claim_id}/review", json={"recommendation": recommendation,
                                                                      "comment": "材料齐全"},
                    headers=world.tokens[who])
    assert r.status_code == 200, r.json


def api_approve(client, world: World) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/claims/{world.claim_id}/approve", json={}, headers=world.tokens["approver"])
    assert r.status_code == 200, r.json


def api_pay(client, world: World) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/claims/{world.claim_id}/pay",
                    json={"payment_reference": "PAY-001", "paid_on": "2026-06-30"}, headers=world.tokens["admin"])
    assert r.status_code == 200, r.json
