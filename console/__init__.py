"""The web console for the finance bureau and auditors (issue 7).

Server-rendered pages (Flask + Jinja) on top of the same ledger services the API
calls; no business logic of its own. Logged in with a password (``ledger.passwords``)
into a signed session cookie; every form carries a CSRF token (flask-wtf's
``CSRFProtect``, switched on in ``web.create_app``). Chinese first, English from a
switch. Everything it needs (CSS, JS, charts) is served by the app: bureau machines
are often offline.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, redirect, url_for

from .blueprint import bp

log = logging.getLogger(__name__)

#: A console session lasts a working day.
SESSION_HOURS = 8


def init_app(app: Flask) -> None:
    """Register the console (after ``CSRFProtect`` is set up) and its cookie policy."""
    # Importing the view modules registers their routes on the blueprint (once per process).
    from . import (  # noqa: F401
        audit, banks, claims, early_warning, errors, layout, loan_book, login, reports, scheme_rules, simulations, statements,
        subfund_admin, subfunds, tokens, users,
    )
    from .formatting import init_app as init_formatting
    from .i18n import init_app as init_i18n
    from .throttle import init_app as init_throttle

    secure = app.config.get("CONSOLE_SECURE_COOKIES")
    if secure is None:
        # Secure cookies need HTTPS; tests and the debug server speak plain HTTP.
        secure = not (app.testing or app.debug)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config.get("CONSOLE_SESSION_HOURS", SESSION_HOURS)),
    )
    # A form's token lives as long as the session, not flask-wtf's default hour: an
    # officer reading a long claim must not lose the approval they then type.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)

    app.register_blueprint(bp)
    init_i18n(app)
    init_formatting(app)
    init_throttle(app)

    @app.get("/")
    def _root():  # type: ignore[no-untyped-def]
        return redirect(url_for("console.index"))
