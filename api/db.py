"""One database session per request; the request boundary commits once or rolls back."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker


def init_app(app: Flask, factory: sessionmaker[Session], readonly_factory: sessionmaker[Session]) -> None:
    app.extensions["ledger_sessions"] = factory
    app.extensions["ledger_readonly_sessions"] = readonly_factory

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.rollback()  # a no-op after a commit
            session.close()


def session() -> Session:
    """This request's session: read-only (never takes SQLite's write lock) for GET/HEAD."""
    if "db" not in g:
        kind = "ledger_readonly_sessions" if request.method in ("GET", "HEAD") else "ledger_sessions"
        g.db = current_app.extensions[kind]()
    return g.db


def has_session() -> bool:
    return "db" in g
