"""The bureau revokes a bank's API token from the console; it is refused on its next request."""

from __future__ import annotations

from .conftest import login, post_form


def test_the_fund_admin_revokes_a_bank_token(client, world):
    bank = world.tokens["bank"]
    assert client.get("/api/v1/events", headers=bank).status_code == 200
    [mine] = client.get("/api/v1/tokens", headers=bank).json
    login(client, "admin")
    page = client.get("/console/tokens").get_data(as_text=True)
    assert mine["prefix"] in page and "bank-BANK-A" in page
    done = post_form(client, "/console/tokens", f"/console/tokens/{mine['id']}/revoke")
    assert done.status_code == 200 and mine["prefix"] in done.get_data(as_text=True)
    r = client.get("/api/v1/events", headers=bank)
    assert (r.status_code, r.json["code"]) == (401, "invalid_token")
    assert f'data-token="{mine["id"]}"' not in client.get("/console/tokens").get_data(as_text=True)


def test_auditors_see_the_tokens_and_revoke_none_and_reviewers_see_nothing(client, world):
    [mine] = client.get("/api/v1/tokens", headers=world.tokens["bank"]).json
    login(client, "auditor")
    page = client.get("/console/tokens")
    assert page.status_code == 200 and mine["prefix"] in page.get_data(as_text=True)
    assert "/revoke" not in page.get_data(as_text=True)
    token = client.get("/console/claims").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(f"/console/tokens/{mine['id']}/revoke", data={"csrf_token": token})
    assert refused.status_code == 403
    assert client.get("/api/v1/events", headers=world.tokens["bank"]).status_code == 200
    login(client, "reviewer")
    assert client.get("/console/tokens").status_code == 403
