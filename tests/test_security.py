"""Every response carries security headers; production refuses the development key (issue 10)."""

from __future__ import annotations

import pytest

from web import create_app
from api.security import InsecureConfiguration

from .helpers import bearer

HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy")


def _assert_protected(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", [
    "/api/v1/openapi.json",            # the contract
    "/api/v1/docs",                    # the Swagger page
    "/api/v1/docs/static/swagger-ui-bundle.js",
    "/api/v1/claims",                  # a problem: no token
    "/api/v1/no-such-thing",           # a 404 problem
    "/console/login",                  # the console keeps its own stricter policy
])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    response.close()  # a static file is streamed from disk
    _assert_protected(response)


def test_an_authenticated_api_answer_carries_them_too(client, make_user):
    response = client.get("/api/v1/subfunds", headers=bearer(make_user("auditor")))
    assert response.status_code == 200
    _assert_protected(response)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_swagger_page_still_loads_its_own_scripts(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "cdn" not in policy


@pytest.mark.parametrize("key", [None, "dev-only-change-me", "short"])
def test_production_refuses_to_start_with_the_development_secret_key(database_url, key):
    config = {"DATABASE_URL": database_url}
    if key is not None:
        config["SECRET_KEY"] = key
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        create_app(config)


def test_production_starts_with_a_real_key_and_development_with_the_default(database_url):
    for config in ({"SECRET_KEY": "k" * 64}, {"TESTING": True}, {"DEBUG": True}):
        app = create_app({"DATABASE_URL": database_url, **config})
        app.extensions["ledger_engine"].dispose()


def test_the_admin_cli_only_warns(database_url, caplog):
    app = create_app({"DATABASE_URL": database_url}, serving=False)
    app.extensions["ledger_engine"].dispose()
    assert "SECRET_KEY" in caplog.text
