"""Console passwords in the ledger: KDF, strength, lock-out, audit; the CLI (issue 7)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ledger import passwords
from ledger.errors import NotFound, ValidationFailed
from ledger.models import AuditEntry, User

from .conftest import FAST_HASH

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def user(session, make_user, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(passwords, "HASH_METHOD", FAST_HASH)
    make_user("approver", name="li")
    passwords.set_password(session, "li", "a long enough secret", actor="test")
    session.commit()
    return session.scalar(select(User).where(User.name == "li"))


def test_stored_as_a_salted_scrypt_hash(session, make_user):
    assert passwords.HASH_METHOD == "scrypt"  # werkzeug's scrypt at its default cost (N=2^15, r=8, p=1)
    make_user("approver", name="li")
    user = passwords.set_password(session, "li", "a long enough secret", actor="test")
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert "a long enough secret" not in user.password_hash
    first = user.password_hash
    passwords.set_password(session, "li", "a long enough secret", actor="test")
    assert user.password_hash != first  # salted: the same password never hashes alike
    session.commit()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.password_set")).first()
    assert entry is not None and entry.after == {"method": "scrypt"}  # the hash never reaches the log


def test_weak_passwords_and_unknown_users_are_refused(session, user):
    with pytest.raises(ValidationFailed) as short:
        passwords.set_password(session, "li", "short", actor="test")
    assert short.value.code == "weak_password"
    with pytest.raises(NotFound):
        passwords.set_password(session, "nobody", "a long enough secret", actor="test")


def test_outcomes(session, user):
    assert passwords.check_login(session, "li", "a long enough secret", now=NOW).ok
    assert passwords.check_login(session, "li", "wrong", now=NOW).outcome == passwords.INVALID
    assert passwords.check_login(session, "nobody", "wrong", now=NOW).outcome == passwords.INVALID
    refused = passwords.check_login(session, "li", "a long enough secret", roles={"auditor"}, now=NOW)
    assert refused.outcome == passwords.NOT_ALLOWED


def test_lock_out_after_five_failures_for_fifteen_minutes(session, user):
    for _ in range(4):
        assert passwords.check_login(session, "li", "wrong", now=NOW).outcome == passwords.INVALID
    locked = passwords.check_login(session, "li", "wrong", now=NOW)
    assert (locked.outcome, locked.locked_until) == (passwords.LOCKED, NOW + timedelta(minutes=15))
    almost = NOW + timedelta(minutes=14, seconds=59)
    assert passwords.check_login(session, "li", "a long enough secret", now=almost).outcome == passwords.LOCKED
    later = NOW + timedelta(minutes=15, seconds=1)
    assert passwords.check_login(session, "li", "a long enough secret", now=later).ok
    assert user.failed_logins == 0 and user.locked_until is None


def test_a_success_resets_the_count(session, user):
    for _ in range(4):
        passwords.check_login(session, "li", "wrong", now=NOW)
    assert passwords.check_login(session, "li", "a long enough secret", now=NOW).ok
    for _ in range(4):
        assert passwords.check_login(session, "li", "wrong", now=NOW).outcome == passwords.INVALID


def test_setting_a_password_lifts_a_lock_out(session, user):
    for _ in range(5):
        passwords.check_login(session, "li", "wrong", now=NOW)
    passwords.set_password(session, "li", "a brand new secret", actor="test")
    assert passwords.check_login(session, "li", "a brand new secret", now=NOW).ok


def test_cli_set_password_prompts_twice(runner, session, make_user):
    make_user("auditor", name="wang")
    result = runner.invoke(args=["set-password", "wang"], input="a long enough secret\na long enough secret\n")
    assert result.exit_code == 0, result.output
    assert "Console password set for wang." in result.output
    session.expire_all()
    assert passwords.check_login(session, "wang", "a long enough secret").ok


def test_cli_set_password_from_stdin_and_its_refusals(runner, session, make_user):
    make_user("auditor", name="zhao")
    ok = runner.invoke(args=["set-password", "zhao", "--password-stdin"], input="from a script 123\n")
    assert ok.exit_code == 0, ok.output
    weak = runner.invoke(args=["set-password", "zhao", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1 and "weak_password" in weak.output
    unknown = runner.invoke(args=["set-password", "nobody", "--password-stdin"], input="from a script 123\n")
    assert unknown.exit_code == 1 and "user_not_found" in unknown.output
    mismatch = runner.invoke(args=["set-password", "zhao"], input="a long enough secret\nanother secret!!\n"
                                                                   "a long enough secret\na long enough secret\n")
    assert mismatch.exit_code == 0 and "match" in mismatch.output.lower()
