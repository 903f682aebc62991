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

    @app.after_request
    def _commit(response):  # type: ignore[no-untyped-def]
        """The request boundary: commit once if the answer is a success."""
        if not has_session():
            return response
        db = session()
        if response.status_code >= 400 and not g.get("commit_despite_error"):
            db.rollback()
            return response
        try:
            db.commit()
        except Exception as exc:  # noqa: BLE001 - mapped to a problem answer below
            db.rollback()
            return _commit_failure(exc)
        return response


def session() -> Session:
    """This request's session: read-only (never takes SQLite's write lock) for GET/HEAD."""
    if "db" not in g:
        kind = "ledger_readonly_sessions" if request.method in ("GET", "HEAD") else "ledger_sessions"
        g.db = current_app.extensions[kind]()
    return g.db


def has_session() -> bool:
    return "db" in g


def _commit_failure(exc: Exception):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError, OperationalError

    from ledger.errors import DomainError

    from . import errors

    if isinstance(exc, DomainError):
        return errors.domain_problem(exc)
    if isinstance(exc, IntegrityError):
        return errors.problem(409, "conflict", "The change conflicts with data recorded meanwhile; read and retry.")
    if isinstance(exc, OperationalError):
        return errors.problem(503, "retry", "The database is busy; retry the request.", headers={"Retry-After": "1"})
    raise exc
