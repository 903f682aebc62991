"""One database session per request; the request boundary commits once or rolls back."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker


def init_app(app: Flask, factory: sessionmaker[Session]) -> None:
    app.extensions["ledger_sessions"] = factory

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.rollback()  # a no-op after a commit
            session.close()


def session() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["ledger_sessions"]()
    return g.db


def has_session() -> bool:
    return "db" in g
