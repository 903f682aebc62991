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


def commit() -> None:
    """Commit now, before the answer is rendered, when the answer needs nothing more
    from the database: the locks the change took (the sub-funds' accounts, the audit
    chain's head, which every approval and payment queues on) are released without
    waiting for the rendering. A failure is answered as the request boundary would
    answer it (after the rollback, the boundary has nothing left to commit)."""
    db = session()
    try:
        db.commit()
    except Exception as exc:
        db.rollback()
        raise _commit_error(exc) from None


def session() -> Session:
    """This request's session: read-only (never takes SQLite's write lock) for GET/HEAD."""
    if "db" not in g:
        kind = "ledger_readonly_sessions" if request.method in ("GET", "HEAD") else "ledger_sessions"
        g.db = current_app.extensions[kind]()
    return g.db


def has_session() -> bool:
    return "db" in g


def _commit_error(exc: Exception) -> Exception:
    """What a failed commit answers: a domain error as itself, a conflict 409, a busy
    database 503; anything else is a bug and stays what it is."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from .errors import ApiError

    if isinstance(exc, IntegrityError):
        return ApiError(409, "conflict", "The change conflicts with data recorded meanwhile; read and retry.")
    if isinstance(exc, OperationalError):
        return ApiError(503, "retry", "The database is busy; retry the request.", headers={"Retry-After": "1"})
    return exc


def _commit_failure(exc: Exception):  # type: ignore[no-untyped-def]
    from ledger.errors import DomainError

    from . import errors

    answer = _commit_error(exc)
    if isinstance(answer, DomainError):
        return errors.domain_problem(answer)
    if isinstance(answer, errors.ApiError):
        return errors.problem(answer.status, answer.code, answer.detail, headers=answer.headers)
    raise exc
