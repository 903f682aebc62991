"""Every console page for every role: 200 where the role may see it, 403 for a logged-in
user without the role, the login page for everyone else (issue 7)."""

from __future__ import annotations

import pytest

from console.auth import PAGE_ROLES

from .conftest import login

#: page -> roles that may see it (mirrors the API: the audit log is the auditor
#: tools', which reviewers may not use).
BUREAU = {"reviewer", "approver", "fund_admin", "auditor"}
ALLOWED = {
    "/console/claims": BUREAU,
    "/console/claims/{claim}": BUREAU,
    "/console/claims?status=submitted&region=4407": BUREAU,
    "/console/subfunds": BUREAU,
    "/console/statements": BUREAU,
    "/console/simulations": BUREAU,
    "/console/audit": {"approver", "fund_admin", "auditor"},
    # Administration (issue 17): everyone reads, the fund administrator writes.
    "/console/rules": BUREAU,
    "/console/rules/GD-KJD/1": BUREAU,
    "/console/rules/draft": {"fund_admin"},
    "/console/subfunds/GD-PROV": BUREAU,
    "/console/subfunds/new": {"fund_admin"},
    "/console/users": {"fund_admin", "auditor"},
    "/console/loans?region=4407&status=active": BUREAU,
    "/console/loans.xlsx": BUREAU,
    "/console/banks": BUREAU,
    "/console/banks/BANK-A": BUREAU,
    "/console/tokens": {"fund_admin", "auditor"},
}
#: role -> the user who holds it in the ``world`` fixture (None: nobody logged in).
USERS = {"reviewer": "reviewer", "approver": "approver", "fund_admin": "admin", "auditor": "auditor",
         "bank": "bank-BANK-A", "anonymous": None}


def _expected(role: str, page: str) -> int:
    if role in ("bank", "anonymous"):
        return 302  # to the login page: a bank user cannot log in to the console
    return 200 if role in ALLOWED[page] else 403


@pytest.mark.parametrize("role", list(USERS))
def test_every_page_for_every_role(client, world, role):
    name = USERS[role]
    if name is not None:
        answer = login(client, name)
        assert answer.status_code == (403 if role == "bank" else 302)
    got, want = {}, {}
    for page in ALLOWED:
        response = client.get(page.format(claim=world.claim_id))
        got[page], want[page] = response.status_code, _expected(role, page)
        if response.status_code == 302:
            assert response.location.startswith("/console/login")
        if response.status_code == 403:
            assert "text/html" in response.content_type  # the console's page, not problem+json
    assert got == want


def test_page_table_matches_the_console(world):
    """The table above is the console's own: a page added without a role rule fails here."""
    assert {k: set(v) for k, v in PAGE_ROLES.items()} == {
        "claims": BUREAU, "subfunds": BUREAU, "statements": BUREAU, "simulations": BUREAU,
        "audit": {"approver", "fund_admin", "auditor"}, "rules": BUREAU, "rules_edit": {"fund_admin"},
        "subfunds_edit": {"fund_admin"}, "users": {"fund_admin", "auditor"}, "users_edit": {"fund_admin"},
        "loans": BUREAU}


def test_a_forged_session_of_a_bank_user_is_refused(client, world, session):
    """Even holding a session (say, from before a role change), a bank user sees nothing."""
    from sqlalchemy import select

    from ledger.models import User
    from ledger.passwords import session_fingerprint

    user = session.scalar(select(User).where(User.name == "bank-BANK-A"))
    with client.session_transaction() as s:
        s["uid"], s["pw"] = user.id, session_fingerprint(user)
    for page in ALLOWED:
        assert client.get(page.format(claim=world.claim_id)).status_code == 403


@pytest.mark.parametrize("action", ["review", "approve", "reject", "pay", "clawback"])
def test_actions_are_refused_without_the_role(client, world, action):
    """An auditor reads everything and changes nothing, whatever it posts."""
    from .conftest import post_form

    login(client, "auditor")
    page = f"/console/claims/{world.claim_id}"
    r = post_form(client, page, f"{page}/{action}", {"reason": "x", "comment": "x", "recommendation": "approve"},
                  follow=False)
    assert r.status_code == 403 and "text/html" in r.content_type


def test_anonymous_posts_go_to_the_login_page(client, world):
    from .conftest import csrf_from

    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    r = client.post(f"/console/claims/{world.claim_id}/approve", data={"csrf_token": token})
    assert r.status_code == 302 and r.location.startswith("/console/login")
