"""Tokens and the user-management CLI (issue 2, SPEC §6)."""

from __future__ import annotations

from sqlalchemy import select, text

from ledger.auth import hash_token
from ledger.models import ApiToken

from .helpers import bearer


def test_create_bank_prints_a_working_token_on_the_last_line(runner, client, session):
    result = runner.invoke(args=["create-bank", "ICBC-GD", "中国工商银行广东省分行"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("rcl_") and len(token) > 40
    # Stored only as a hash.
    stored = session.scalars(select(ApiToken)).all()
    assert [t.token_hash for t in stored] == [hash_token(token)]
    assert token not in {t.prefix for t in stored}
    # A bank token is a bank token: bureau endpoints refuse it.
    assert client.get("/api/v1/subfunds", headers=bearer(token)).status_code == 403


def test_create_user_with_repeated_roles(runner, client):
    result = runner.invoke(args=["create-user", "zhang.san", "--role", "reviewer", "--role", "auditor"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/subfunds", headers=bearer(token)).status_code == 200
    again = runner.invoke(args=["create-user", "zhang.san", "--role", "auditor"])
    assert again.exit_code == 1 and "already_exists" in again.output


def test_bank_user_needs_an_existing_bank(runner):
    result = runner.invoke(args=["create-user", "teller", "--role", "bank", "--bank", "NOPE"])
    assert result.exit_code == 1 and "No bank NOPE" in result.output


def test_unknown_role_is_refused(runner):
    result = runner.invoke(args=["create-user", "x", "--role", "root"])
    assert result.exit_code == 2


def test_demo_loads_once(runner, client, session):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if "rcl_" in line]
    tokens = {parts[0]: parts[-1] for parts in lines}
    assert set(tokens) >= {"bank-ICBC-GD", "reviewer1", "approver1", "admin1", "auditor1"}
    r = client.get("/api/v1/subfunds/GD-PROV", headers=bearer(tokens["auditor1"]))
    assert r.json["available"] == "200000000.00"
    logins = result.output.split("Console logins")[1].split()
    password = logins[logins.index("reviewer1") + 1]
    from ledger.passwords import check_login

    assert check_login(session, "reviewer1", password).ok
    assert not check_login(session, "reviewer1", password + "x").ok
    session.rollback()
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already has data" in second.output


def test_load_rules_publishes_once(runner, client, make_user, tmp_path):
    result = runner.invoke(args=["load-rules", "--examples"])
    assert result.exit_code == 0, result.output
    assert "gd-kjd.toml: published GD-KJD v1 from 2026-01-01" in result.output
    assert "jm-ykd.toml: published JM-YKD v1" in result.output
    again = runner.invoke(args=["load-rules", "--examples"])
    assert "already published as GD-KJD v1" in again.output and "DIFFERENT" not in again.output
    token = make_user("auditor")
    schemes = client.get("/api/v1/schemes", headers=bearer(token)).json
    assert [s["code"] for s in schemes] == ["DG-KBD", "GD-KJD", "JM-YKD"]
    (tmp_path / "bad.toml").write_text('scheme = "X-1"\neffective_from = "2026-01-01"\nbase_ratio = "1.5"\n')
    bad = runner.invoke(args=["load-rules", str(tmp_path)])
    assert bad.exit_code == 1 and "base_ratio" in bad.output


# -- SPEC §4: bank roles are exclusive (issue 10) --------------------------------------


def test_a_bank_user_can_hold_no_other_role(runner, session, make_bank):
    make_bank("ICBC-GD")
    result = runner.invoke(args=["create-user", "X", "--role", "bank", "--role", "reviewer", "--bank", "ICBC-GD"])
    assert result.exit_code == 1
    assert "exclusive_bank_role" in result.output and "rcl_" not in result.output
    from ledger.models import User

    session.expire_all()
    assert session.scalar(select(User).where(User.name == "X")) is None


def test_a_bureau_user_acts_for_no_bank(runner, make_bank):
    make_bank("ICBC-GD")
    result = runner.invoke(args=["create-user", "Y", "--role", "reviewer", "--bank", "ICBC-GD"])
    assert result.exit_code == 1 and "exclusive_bank_role" in result.output


def test_a_stored_user_breaking_the_rule_is_refused_by_api_and_console(client, session, make_bank, make_user):
    # Rows written before the rule (or by hand): neither a bank nor a reviewer view.
    from ledger import passwords
    from ledger.models import Bank, User, UserRole

    make_bank("ICBC-GD")
    token = make_user("reviewer", name="mixed")
    # Written around the database's own check, as a row from before it would be.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("DROP TRIGGER user_roles_exclusive_bank_insert"))
    user = session.scalar(select(User).where(User.name == "mixed"))
    user.bank_id = session.scalar(select(Bank.id).where(Bank.code == "ICBC-GD"))
    user.role_rows.append(UserRole(role="bank"))
    session.commit()
    passwords.set_password(session, "mixed", "correct horse battery", actor="test")
    session.commit()

    for path in ("/api/v1/claims", "/api/v1/loans", "/api/v1/subfunds"):
        r = client.get(path, headers=bearer(token))
        assert (r.status_code, r.json["code"]) == (403, "conflicting_roles"), path
    assert passwords.check_login(session, "mixed", "correct horse battery").outcome == passwords.NOT_ALLOWED
    session.rollback()


def test_the_database_refuses_a_second_role_for_a_bank_user(session, make_bank):
    import pytest
    from sqlalchemy.exc import DBAPIError

    from ledger.models import User, UserRole

    make_bank("ICBC-GD")
    user = session.scalar(select(User).where(User.name == "bank-ICBC-GD"))
    user.role_rows.append(UserRole(role="reviewer"))
    with pytest.raises(DBAPIError, match="exclusive"):
        session.commit()
    session.rollback()
