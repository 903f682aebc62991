"""Logging in and out, the lock-out, cookies and the language switch (issue 7)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from web import create_app
from ledger import passwords
from ledger.models import AuditEntry, User
from ledger.models.base import utcnow

from .conftest import PASSWORD, csrf_from, login, post_form


def _audit_actions(session, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == name,
                                                                AuditEntry.entity_type == "user")
                                .order_by(AuditEntry.seq)))


def test_login_then_pages_then_logout(client, world, session):
    r = login(client, "approver")
    assert (r.status_code, r.location) == (302, "/console/claims")
    assert client.get("/console/claims").status_code == 200
    assert "user.login" in _audit_actions(session, "approver")
    r = post_form(client, "/console/claims", "/console/logout", follow=False)
    assert (r.status_code, r.location) == (302, "/console/login")
    assert client.get("/console/claims").status_code == 302
    assert "您已安全退出" in client.get("/console/login").get_data(as_text=True)


def test_wrong_password_is_401_and_says_nothing_about_the_account(client, world):
    wrong = login(client, "approver", "not the password")
    unknown = login(client, "nobody", "not the password")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "用户名或密码错误" in r.get_data(as_text=True)


def test_five_failures_lock_the_account_for_fifteen_minutes(client, world, session):
    for attempt in range(1, 5):
        r = login(client, "approver", f"guess {attempt}")
        assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    fifth = login(client, "approver", "guess 5")
    assert fifth.status_code == 401 and "账户已锁定" in fifth.get_data(as_text=True)
    # Locked: the right password is refused too, and says so.
    r = login(client, "approver")
    assert r.status_code == 401 and "账户已锁定" in r.get_data(as_text=True)
    session.expire_all()
    user = session.scalar(select(User).where(User.name == "approver"))
    until = passwords._aware(user.locked_until)
    assert timedelta(minutes=14) < until - utcnow() <= timedelta(minutes=15)
    actions = _audit_actions(session, "approver")
    assert actions.count("user.login_failed") == 4 and actions.count("user.locked") == 1
    # Fifteen minutes later (moved back in the database): the right password works again.
    session.execute(update(User).where(User.id == user.id).values(locked_until=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert login(client, "approver").status_code == 302


def test_the_lock_out_message_in_english(client, world):
    post_form(client, "/console/login", "/console/lang", {"lang": "en"})
    for attempt in range(5):
        r = login(client, "auditor", f"guess {attempt}")
    assert "locked until" in r.get_data(as_text=True)


def test_bank_users_are_told_to_use_the_api(client, world):
    r = login(client, "bank-BANK-A")
    assert r.status_code == 403
    assert "请使用 API" in r.get_data(as_text=True)
    assert client.get("/console/claims").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(client, world):
    r = login(client, "approver")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # TESTING: plain HTTP


def test_secure_cookies_outside_testing_and_debug(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x" * 32})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    finally:
        app.extensions["ledger_engine"].dispose()


def test_a_password_change_ends_existing_sessions(client, world, set_password):
    login(client, "approver")
    assert client.get("/console/claims").status_code == 200
    set_password("approver", "another long password")
    assert client.get("/console/claims").status_code == 302


def test_login_keeps_the_page_asked_for_but_never_leaves_the_console(client, world):
    r = client.get("/console/subfunds")
    assert r.location == "/console/login?next=/console/subfunds"
    page = client.get(r.location).get_data(as_text=True)
    assert 'name="next" value="/console/subfunds"' in page
    token = csrf_from(page)
    ok = client.post("/console/login", data={"username": "approver", "password": PASSWORD, "csrf_token": token,
                                             "next": "/console/subfunds"})
    assert ok.location == "/console/subfunds"
    post_form(client, "/console/claims", "/console/logout")
    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    evil = client.post("/console/login", data={"username": "approver", "password": PASSWORD, "csrf_token": token,
                                               "next": "//evil.example/console/"})
    assert evil.location == "/console/claims"


def test_login_and_logout_need_the_csrf_token(client, world):
    r = client.post("/console/login", data={"username": "approver", "password": PASSWORD})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert "text/html" in r.content_type
    login(client, "approver")
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/claims").status_code == 200  # still logged in


def test_the_api_takes_no_csrf_token(client, world):
    """The token-authenticated API blueprints are exempt from CSRF."""
    r = client.post("/api/v1/subfunds", json={"code": "CITY-440300", "name": "深圳", "owner_type": "city",
                                              "region": "440300"}, headers=world.tokens["admin"])
    assert r.status_code == 201, r.json


def test_language_switch_is_kept_in_the_session(client, world):
    login(client, "approver")
    page = client.get("/console/claims").get_data(as_text=True)
    assert "理赔队列" in page and 'lang="zh-CN"' in page
    r = post_form(client, "/console/claims", "/console/lang", {"lang": "en", "next": "/console/claims?status=paid"},
                  follow=False)
    assert r.location == "/console/claims?status=paid"
    page = client.get("/console/claims").get_data(as_text=True)
    assert "Claim queue" in page and 'lang="en"' in page
    # The language survives logging out and in again.
    post_form(client, "/console/claims", "/console/logout")
    login(client, "approver")
    assert "Claim queue" in client.get("/console/claims").get_data(as_text=True)
    post_form(client, "/console/claims", "/console/lang", {"lang": "zh"})
    assert "理赔队列" in client.get("/console/claims").get_data(as_text=True)


def test_root_goes_to_the_console(client):
    assert client.get("/").location == "/console/"
    assert client.get("/console/").location == "/console/login"


def test_failed_logins_are_throttled_per_address_before_the_lock_out(database_url, world, session):
    # A low limit (tests only): the third failure from one address within the minute is
    # refused with 429 before the password is even checked, so it cannot lock anyone.
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "CONSOLE_LOGIN_RATE_LIMIT": "2 per minute"})
    try:
        client = app.test_client()
        assert login(client, "approver", "guess 1").status_code == 401
        assert login(client, "auditor", "guess 2").status_code == 401
        third = login(client, "admin", "guess 3")
        assert third.status_code == 429
        assert "尝试次数过多" in third.get_data(as_text=True)
        assert third.headers["X-Frame-Options"] == "DENY"
        assert "user.login_failed" not in _audit_actions(session, "admin")
        # Another address is not affected, and the page itself is still served.
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        assert login(other, "approver").status_code == 302
        assert client.get("/console/login").status_code == 200
    finally:
        app.extensions["ledger_engine"].dispose()


def test_successful_logins_are_not_counted(database_url, world):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "CONSOLE_LOGIN_RATE_LIMIT": "2 per minute"})
    try:
        client = app.test_client()
        for _ in range(4):
            assert login(client, "approver").status_code == 302
    finally:
        app.extensions["ledger_engine"].dispose()
