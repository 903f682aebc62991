"""Per-address throttling of console logins (Flask-Limiter), in front of the lock-out.

The per-account lock-out (``ledger.passwords``) stops a guesser working on one account
but lets any client lock a named bureau account, and lets one address try password
after password across many accounts. Failed logins are therefore also counted per
client address (``CONSOLE_LOGIN_RATE_LIMIT``, default 10 a minute and 60 an hour);
past the limit the address gets 429 before its guess reaches the account — nor its
lock-out counter. Successful logins are not counted, so an office behind one address
is not slowed down by its own users.

Counts live in ``RATELIMIT_STORAGE_URI`` (in-memory by default, i.e. per worker
process; a shared store such as ``redis://…`` for several workers). The address is
``request.remote_addr``: behind a reverse proxy, wrap the app in werkzeug's ``ProxyFix``
so that it is the client's, not the proxy's.
"""

from __future__ import annotations

from flask import Flask, Response, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _login_limit() -> str:
    return current_app.config["CONSOLE_LOGIN_RATE_LIMIT"]


def _failed(response: Response) -> bool:
    return response.status_code in (401, 403)


def init_app(app: Flask) -> None:
    """Throttle the login form's POST on this app (its own limiter and storage)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    endpoint = "console.login"
    app.view_functions[endpoint] = limiter.limit(
        _login_limit, methods=["POST"], deduct_when=_failed, scope="console-login",
    )(app.view_functions[endpoint])
