"""The web application: ``create_app`` builds it from the instance folder, the
environment and an optional mapping (tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from ledger.db import make_engine, make_sessionmaker
from ledger.migrate import upgrade

from . import db, docs, errors, routing, security
from .errors import ApiError
from .parsing import MAX_JSON_BYTES

#: Settings read from the environment when set (SPEC §6, issue 2).
ENV_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "BUSINESS_DATE", "FUND_NAME", "RATELIMIT_STORAGE_URI",
                "CONSOLE_LOGIN_RATE_LIMIT", "WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_REQUIRE_HTTPS", "WEBHOOK_LEASE_SECONDS",
                "WEBHOOK_TIMEOUT_SECONDS", "SIGNING_KEY_PATH")


class LedgerApi(Api):
    """flask-smorest's Api with our problem+json handlers instead of its own."""

    def _register_error_handlers(self) -> None:
        errors.init_app(self._app)


def create_app(config: Mapping[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """The app; ``serving=False`` is the administrative CLI (see ``security.check_secret_key``)."""
    app = Flask(__name__, instance_relative_config=True, instance_path=_instance_path())
    routing.init_app(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SECRET_KEY=security.DEVELOPMENT_SECRET_KEY,
        DATABASE_URL=f"sqlite:///{Path(app.instance_path) / 'ledger.sqlite3'}",
        BUSINESS_DATE=None,
        FUND_NAME="科技信贷风险补偿资金池",
        # Apply pending migrations at start-up; production may run `ledger-admin migrate`
        # in its deploy step instead and set this to False.
        AUTO_MIGRATE=True,
        # Bulk uploads are the largest bodies we take.
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        API_TITLE="Risk Compensation Ledger",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/static/",
        API_SPEC_OPTIONS={
            "info": {"description": docs.DESCRIPTION},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
        # Webhooks (SPEC §4a): refuse private, loopback and link-local targets, and
        # plain http, unless these say otherwise (tests, a receiver on one network).
        WEBHOOK_ALLOW_PRIVATE=False,
        WEBHOOK_REQUIRE_HTTPS=True,
        #: Seconds a worker holds a delivery it claimed (a killed worker's run out).
        WEBHOOK_LEASE_SECONDS=60,
        #: Seconds a receiver has to answer a delivery.
        WEBHOOK_TIMEOUT_SECONDS=10,
        #: The Ed25519 key that signs audit checkpoints; None: instance/signing/checkpoint-ed25519.pem.
        SIGNING_KEY_PATH=None,
        #: Endpoints whose request body is not JSON (uploads, PDFs).
        RAW_BODY_ENDPOINTS=set(),
        # Per-address throttling of console logins (Flask-Limiter), in front of the
        # per-account lock-out. In-memory counts are per process: with several workers
        # set a shared storage, e.g. "redis://host:6379" (see README).
        RATELIMIT_STORAGE_URI="memory://",
        CONSOLE_LOGIN_RATE_LIMIT="10 per minute;60 per hour",
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping({k: os.environ[k] for k in ENV_SETTINGS if os.environ.get(k)})
    if config:
        app.config.from_mapping(config)
    security.check_secret_key(app, serving=serving)

    engine = make_engine(app.config["DATABASE_URL"])
    if app.config["AUTO_MIGRATE"]:
        upgrade(engine)
    app.extensions["ledger_engine"] = engine
    db.init_app(app, make_sessionmaker(engine), make_sessionmaker(engine, readonly=True))

    # CSRF tokens on every console form; the API authenticates each request with a
    # bearer token (no ambient cookie credentials), so its blueprints are exempt.
    csrf = CSRFProtect(app)
    api = LedgerApi(app)
    routing.document(api)
    _register_blueprints(api, csrf)
    docs.init_app(app)
    security.init_app(app)
    _register_request_guards(app)

    import console

    console.init_app(app)

    from .cli import register_commands

    register_commands(app)
    return app


def _instance_path() -> str:
    # The project's own instance/ folder (next to wsgi.py), also when installed
    # editable; INSTANCE_PATH overrides for deployments.
    return os.environ.get("INSTANCE_PATH") or str(Path(__file__).resolve().parent.parent / "instance")


def _register_blueprints(api: Api, csrf: CSRFProtect) -> None:
    from . import (auditor, claims, debts, documents, enterprises, events, exposure, fund, health, loan_reports, loans,
                   schemes, simulations, statements, subfunds, tokens, webhooks)

    for module in (claims, documents, fund, loan_reports, debts, exposure, health, schemes, subfunds, enterprises, loans,
                   statements, auditor, events, webhooks, tokens, simulations):
        api.register_blueprint(module.blp)
        csrf.exempt(module.blp)


def _register_request_guards(app: Flask) -> None:
    @app.before_request
    def _require_json_body() -> None:
        if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
            return
        if request.endpoint in app.config["RAW_BODY_ENDPOINTS"] or not request.path.startswith("/api/"):
            return
        if (request.content_length or 0) > MAX_JSON_BYTES:
            raise _too_large()
        body = request.get_data(cache=True)
        if not body:
            return  # bodiless actions; the schema reports missing fields
        if len(body) > MAX_JSON_BYTES:
            raise _too_large()  # chunked, no Content-Length
        if request.mimetype != "application/json":
            raise ApiError(415, "unsupported_media_type", "Send the request body as application/json.",
                           errors={"Content-Type": [f"expected application/json, got {request.mimetype or 'nothing'}"]})
        charset = request.mimetype_params.get("charset")
        if charset is not None and charset.strip().lower() not in ("utf-8", "utf8"):
            # JSON is UTF-8 (RFC 8259 §8.1): decoding latin-1 as UTF-8 would store other text.
            raise ApiError(415, "unsupported_media_type", "Send JSON encoded as UTF-8.",
                           errors={"Content-Type": [f"charset {charset} is not supported; use utf-8"]})

    @app.after_request
    def _commit(response):  # type: ignore[no-untyped-def]
        """The request boundary: commit once if the answer is a success."""
        if not db.has_session():
            return response
        session = db.session()
        if response.status_code >= 400 and not g.get("commit_despite_error"):
            session.rollback()
            return response
        try:
            session.commit()
        except Exception as exc:  # noqa: BLE001 - mapped to a problem answer below
            session.rollback()
            return _commit_failure(exc)
        return response


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"A JSON body is at most {MAX_JSON_BYTES} bytes.",
                    errors={"body": [f"larger than {MAX_JSON_BYTES} bytes"]})


def _commit_failure(exc: Exception):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError, OperationalError

    from ledger.errors import DomainError

    if isinstance(exc, DomainError):
        return errors.domain_problem(exc)
    if isinstance(exc, IntegrityError):
        return errors.problem(409, "conflict", "The change conflicts with data recorded meanwhile; read and retry.")
    if isinstance(exc, OperationalError):
        return errors.problem(503, "retry", "The database is busy; retry the request.", headers={"Retry-After": "1"})
    raise exc
