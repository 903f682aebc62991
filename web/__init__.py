"""The web application: ``create_app`` builds it from the instance folder, the
environment and an optional mapping (tests), composing the JSON API (``api``) and the
console (``console``) on one engine, one session factory and one CSRF policy.

``web`` sits on top: it imports ``api`` and ``console``; neither imports ``web``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from ledger.statements.signing import StatementSigner

#: The OpenAPI document's description.
API_DESCRIPTION = """\
JSON API of the science-and-technology credit risk compensation fund
(科技信贷风险补偿资金池). Amounts are decimal strings in yuan with at most two
decimals (`"1200000.00"`); dates are ISO `YYYY-MM-DD`. Authenticate with
`Authorization: Bearer <token>`. Errors are `application/problem+json` with a stable
`code` and per-field `errors`.
"""

#: Settings read from the environment when set (SPEC §6, issue 2).
ENV_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "BUSINESS_DATE", "FUND_NAME", "RATELIMIT_STORAGE_URI",
                "CONSOLE_LOGIN_RATE_LIMIT", "WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_REQUIRE_HTTPS", "WEBHOOK_LEASE_SECONDS",
                "WEBHOOK_TIMEOUT_SECONDS", "SIGNING_KEY_PATH", "STATEMENT_SIGNING_P12", "STATEMENT_SIGNING_PASSPHRASE")


def create_app(config: Mapping[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """The app; ``serving=False`` is the administrative CLI (see ``security.check_secret_key``)."""
    return _build(config, serving=serving, web=True)


def create_command_app(config: Mapping[str, Any] | None = None) -> Flask:
    """What ``ledger-admin``'s own commands run in: the same configuration, engine
    (migrated), sessions and statement signer, without the API, the console and their
    dependencies, so that a command starts in a fraction of the time. Flask's ``run``,
    ``shell`` and ``routes`` get :func:`create_app`."""
    return _build(config, serving=False, web=False)


def _build(config: Mapping[str, Any] | None, *, serving: bool, web: bool) -> Flask:
    # Imported here, not at the top: `ledger-admin --help` imports this package (for
    # web.cli) and must not pay for the app's dependencies.
    from api import db, security
    from ledger.db import make_engine, make_sessionmaker
    from ledger.migrate import upgrade

    app = Flask(__name__, instance_relative_config=True, instance_path=_instance_path())
    if web:
        from api import routing

        routing.init_app(app)  # strict URL converters, before any route is registered
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
            "info": {"description": API_DESCRIPTION},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
            "servers": [{"url": "/", "description": "This ledger (paths start with /api/v1)"}],
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
        #: The bureau's certificate and key (PKCS#12) that sign every issued statement
        #: (PAdES), and its passphrase; unset: the demo's self-signed certificate
        #: (bureau-demo.p12 beside the checkpoint key) if `ledger-admin demo` made one,
        #: else statements are issued unsigned.
        STATEMENT_SIGNING_P12=None,
        STATEMENT_SIGNING_PASSPHRASE=None,
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

    if web:
        from flask_wtf.csrf import CSRFProtect

        import api
        import console

        # CSRF tokens on every console form (the API's blueprints are exempt: bearer tokens).
        csrf = CSRFProtect(app)
        api.init_app(app, csrf)
        security.init_app(app)
        console.init_app(app)
    # One session per request, committed once at the request boundary. Registered last
    # so that its after_request hook runs first: the answer to a failed commit still
    # passes through the others (security headers).
    db.init_app(app, make_sessionmaker(engine), make_sessionmaker(engine, readonly=True))
    _configure_statement_signer(app, deferred=not web)
    if web:
        from .commands import register_commands

        register_commands(app.cli)
    return app


def _configure_statement_signer(app: Flask, *, deferred: bool) -> None:
    """Hand the bureau's PAdES signer (STATEMENT_SIGNING_P12) to the ledger's sessions:
    every statement they issue is then signed (ledger.statements.signing).

    ``deferred`` (the commands' app): read the file when a statement is first signed.
    Importing ``ledger.statements`` (pdf, reportlab) and pyHanko costs about twice
    ``import flask, sqlalchemy``, which a command issuing no statement (most) should not
    pay. The served app reads it now, refusing to start with a wrong passphrase."""
    from ledger.statement_signer import DEMO_PKCS12_FILE, SIGNER_INFO_KEY

    path = app.config.get("STATEMENT_SIGNING_P12")
    passphrase = app.config.get("STATEMENT_SIGNING_PASSPHRASE")
    if not path:
        from ledger.checkpoints import key_path

        # A new user's `ledger-admin demo && ledger-admin run` signs its statements: the
        # demo's certificate (unencrypted, owner-only, like the checkpoint key).
        path = key_path(app.instance_path, app.config.get("SIGNING_KEY_PATH")).parent / DEMO_PKCS12_FILE
        if not path.exists():
            return
        app.logger.info("Statements are signed with the self-signed demo certificate %s", path)
        passphrase = None
    later = DeferredSigner(path, passphrase)
    signer = later if deferred else later.loaded
    for name in ("ledger_sessions", "ledger_readonly_sessions"):
        app.extensions[name].configure(info={SIGNER_INFO_KEY: signer})


class DeferredSigner:
    """A :class:`~ledger.statements.signing.StatementSigner` read from its PKCS#12 file
    when a statement is first signed (a wrong passphrase fails then, not at start-up)."""

    def __init__(self, path: str | Path, passphrase: str | bytes | None) -> None:
        self.path = path
        self.passphrase = passphrase

    @cached_property
    def loaded(self) -> StatementSigner:
        from ledger.statements.signing import StatementSigner

        return StatementSigner.from_pkcs12(self.path, self.passphrase)

    # What ledger.statements.signing.sign and the issue entry read of a signer.
    @property
    def signer(self) -> object:
        return self.loaded.signer

    @property
    def fingerprint(self) -> str:
        return self.loaded.fingerprint

    @property
    def subject(self) -> str:
        return self.loaded.subject


def _instance_path() -> str:
    # The project's own instance/ folder (next to wsgi.py), also when installed
    # editable; INSTANCE_PATH overrides for deployments.
    return os.environ.get("INSTANCE_PATH") or str(Path(__file__).resolve().parent.parent / "instance")
