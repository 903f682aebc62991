"""API credentials (issue 15): several named tokens, expiry, rotation with grace, revocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ledger import tokens
from ledger.models import ApiToken
from ledger.models.base import utcnow

from .helpers import bearer


def _last_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_a_bank_holds_several_named_tokens_and_revocation_is_immediate(runner, client, make_bank):
    first = make_bank("BANK-A")
    second = _last_line(runner.invoke(args=["tokens", "create", "bank-BANK-A", "--name", "reporting"]))
    assert second.startswith("rcl_")
    for token in (first, second):
        assert client.get("/api/v1/events", headers=bearer(token)).status_code == 200
    listing = runner.invoke(args=["tokens", "list", "--bank", "BANK-A"])
    assert listing.exit_code == 0 and "reporting" in listing.output and second not in listing.output
    mine = client.get("/api/v1/tokens", headers=bearer(second)).json
    assert [(t["name"], t["current"]) for t in mine] == [("default", False), ("reporting", True)]
    assert mine[0]["last_used_at"]  # the first token was used above

    revoked = runner.invoke(args=["tokens", "revoke", mine[1]["prefix"]])
    assert revoked.exit_code == 0, revoked.output
    r = client.get("/api/v1/events", headers=bearer(second))
    assert (r.status_code, r.json["code"]) == (401, "invalid_token")
    assert client.get("/api/v1/events", headers=bearer(first)).status_code == 200
    assert runner.invoke(args=["tokens", "revoke", "999"]).exit_code == 1


def test_an_expired_token_is_refused(runner, client, make_bank, session):
    make_bank("BANK-A")
    token = _last_line(runner.invoke(args=["tokens", "create", "bank-BANK-A", "--name", "temp",
                                           "--expires", "2099-01-01"]))
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 200
    row = session.scalars(select(ApiToken).where(ApiToken.name == "temp")).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 401
    past = runner.invoke(args=["tokens", "create", "bank-BANK-A", "--name", "x", "--expires", "2000-01-01"])
    assert past.exit_code == 1 and "expiry_in_past" in past.output


def test_rotation_gives_a_new_token_and_the_old_one_a_grace_period(client, make_bank, session):
    old = make_bank("BANK-A")
    r = client.post("/api/v1/tokens/rotate", json={"grace_hours": 2}, headers=bearer(old))
    assert r.status_code == 201, r.json
    new = r.json["token"]
    assert new.startswith("rcl_") and new != old and r.json["name"] == "default"
    ends = r.json["replaces"]["expires_at"]
    assert ends and r.json["replaces"]["current"] is True
    # Both work during the grace period.
    assert client.get("/api/v1/events", headers=bearer(old)).status_code == 200
    assert client.get("/api/v1/events", headers=bearer(new)).status_code == 200
    # After it, the old one is refused.
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(old))).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.get("/api/v1/events", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/events", headers=bearer(new)).status_code == 200


def test_rotation_without_grace_ends_the_old_token_now(client, make_bank):
    old = make_bank("BANK-A")
    r = client.post("/api/v1/tokens/rotate", json={"grace_hours": 0, "name": "core banking 2"}, headers=bearer(old))
    assert r.status_code == 201 and r.json["name"] == "core banking 2"
    assert client.get("/api/v1/events", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/events", headers=bearer(r.json["token"])).status_code == 200
    bad = client.post("/api/v1/tokens/rotate", json={"grace_hours": 1000}, headers=bearer(r.json["token"]))
    assert bad.status_code == 422 and "grace_hours" in bad.json["errors"]


def test_a_user_revokes_only_its_own_tokens(client, make_bank, make_user):
    bank = make_bank("BANK-A")
    other = make_bank("BANK-B")
    theirs = client.get("/api/v1/tokens", headers=bearer(other)).json[0]["id"]
    assert client.delete(f"/api/v1/tokens/{theirs}", headers=bearer(bank)).status_code == 404
    assert client.get("/api/v1/events", headers=bearer(other)).status_code == 200
    mine = client.get("/api/v1/tokens", headers=bearer(bank)).json[0]["id"]
    assert client.delete(f"/api/v1/tokens/{mine}", headers=bearer(bank)).status_code == 204
    assert client.get("/api/v1/events", headers=bearer(bank)).status_code == 401


def test_create_bank_still_prints_the_token_alone_on_the_last_line(runner, client):
    token = _last_line(runner.invoke(args=["create-bank", "BANK-C", "丙银行"]))
    assert token.startswith("rcl_") and " " not in token
    assert client.get("/api/v1/tokens", headers=bearer(token)).json[0]["name"] == "default"
