"""What every response carries and what the app refuses to start without (issue 10).

- Security headers on every answer — API, problems, the Swagger page and its assets,
  console pages — so that no response can be framed, sniffed into another type or leak
  its URL to a third party. The console sets its own stricter policy first; these are
  defaults (``setdefault``) for everything else.
- No production start with the development ``SECRET_KEY``: the console's session
  cookies are signed with it, so a known key lets anyone forge a bureau login.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request

log = logging.getLogger(__name__)

#: The value shipped in ``create_app``'s defaults; good for a laptop, fatal in production.
DEVELOPMENT_SECRET_KEY = "dev-only-change-me"

#: JSON, PDFs and problems need nothing from a browser: no scripts, no framing.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: The Swagger page runs its (app-served) bundle and one inline start-up script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in COMMON_HEADERS.items():
            response.headers.setdefault(name, value)
        docs = request.path.startswith("/api/v1/docs")
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
        return response


class InsecureConfiguration(RuntimeError):
    """The configuration is not fit for production; the message says what to set."""


def check_secret_key(app: Flask, *, serving: bool = True) -> None:
    """Refuse a production app (neither DEBUG nor TESTING) signed with a known key.

    ``serving=False`` is the administrative CLI (migrations, users, demo data, the
    Werkzeug development server), which does not hand out sessions to the public; it
    only warns. Production serves through ``wsgi:app`` (gunicorn), which refuses.
    """
    key = app.config.get("SECRET_KEY")
    weak = not key or key == DEVELOPMENT_SECRET_KEY or (isinstance(key, (str, bytes)) and len(key) < 16)
    if not weak or app.debug or app.testing:
        return
    message = ("SECRET_KEY is missing, too short or the development default; console sessions could be forged. "
               "Set SECRET_KEY (environment or instance/config.py) to a long random value, e.g. "
               "python -c 'import secrets; print(secrets.token_hex(32))'.")
    if serving:
        raise InsecureConfiguration(message)
    log.warning(message)
