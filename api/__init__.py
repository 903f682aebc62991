"""The JSON API (``/api/v1``) and the HTTP plumbing the console shares with it.

Blueprints (one module per resource) on flask-smorest, validating with marshmallow
schemas that also generate the OpenAPI document. The plumbing — the request's
session and commit boundary (``api.db``), bearer-token auth (``api.auth``),
problem+json errors (``api.errors``), the business date (``api.context``) and the
request schemas — is imported by ``console`` too; ``api`` never imports ``console``.
The application itself is composed in ``web`` (``web.create_app``); ``api.create_app``
is the name SPEC §6 promises clients, and hands over to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The whole application (API and console) on ``config["DATABASE_URL"]``.

    SPEC §6's contract is ``from api import create_app``. The factory lives in ``web``,
    above the console, so this is the one import against the packages' direction:
    lazy, so importing ``api`` never loads the console (tests/test_architecture.py
    names it as the only allowed exception).
    """
    from web import create_app as compose

    return compose(config)


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Register the API's blueprints, its OpenAPI document and browsable docs, and its
    request guards. Imports happen here so that importing ``api.db`` stays cheap."""
    from flask import request

    from . import docs, routing
    from .errors import ApiError
    from .parsing import MAX_JSON_BYTES

    api = docs.LedgerApi(app)
    routing.document(api)
    _register_blueprints(api, csrf)
    docs.init_app(app)

    @app.before_request
    def _require_json_body() -> None:
        if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
            return
        if request.endpoint in app.config["RAW_BODY_ENDPOINTS"] or not request.path.startswith("/api/"):
            return
        if (request.content_length or 0) > MAX_JSON_BYTES:
            raise _too_large(MAX_JSON_BYTES)
        body = request.get_data(cache=True)
        if not body:
            return  # bodiless actions; the schema reports missing fields
        if len(body) > MAX_JSON_BYTES:
            raise _too_large(MAX_JSON_BYTES)  # chunked, no Content-Length
        if request.mimetype != "application/json":
            raise ApiError(415, "unsupported_media_type", "Send the request body as application/json.",
                           errors={"Content-Type": [f"expected application/json, got {request.mimetype or 'nothing'}"]})
        charset = request.mimetype_params.get("charset")
        if charset is not None and charset.strip().lower() not in ("utf-8", "utf8"):
            # JSON is UTF-8 (RFC 8259 §8.1): decoding latin-1 as UTF-8 would store other text.
            raise ApiError(415, "unsupported_media_type", "Send JSON encoded as UTF-8.",
                           errors={"Content-Type": [f"charset {charset} is not supported; use utf-8"]})


def _too_large(limit: int):  # type: ignore[no-untyped-def]
    from .errors import ApiError

    return ApiError(413, "payload_too_large", f"A JSON body is at most {limit} bytes.",
                    errors={"body": [f"larger than {limit} bytes"]})


def _register_blueprints(api, csrf: CSRFProtect) -> None:  # type: ignore[no-untyped-def]
    from . import (auditor, claims, debts, documents, enterprises, events, exposure, fund, health, loan_reports, loans,
                   schemes, simulations, statements, subfunds, tokens, webhooks)

    # The API authenticates each request with a bearer token (no ambient cookie
    # credentials), so its blueprints are exempt from the console's CSRF tokens.
    for module in (claims, documents, fund, loan_reports, debts, exposure, health, schemes, subfunds, enterprises, loans,
                   statements, auditor, events, webhooks, tokens, simulations):
        api.register_blueprint(module.blp)
        csrf.exempt(module.blp)
