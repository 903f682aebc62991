"""Errors on console pages are HTML pages in the session's language, never problem+json
and never a traceback. (The API keeps its problem+json handlers: these are registered
on the console's blueprint only.)"""

from __future__ import annotations

import logging

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from api.errors import STATUS_BY_CATEGORY
from ledger.errors import DomainError

from .blueprint import bp
from .i18n import error_message, t

log = logging.getLogger(__name__)


def _page(status: int, message: str):  # type: ignore[no-untyped-def]
    return render_template("console/error.html", status=status, message=message), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    status = exc.code or 500
    if isinstance(exc, CSRFError):
        return _page(400, t("error.csrf"))
    key = f"error.{status}"
    return _page(status, t(key) if t(key) != key else (exc.description or t("error.400")))


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):  # type: ignore[no-untyped-def]
    return _page(STATUS_BY_CATEGORY.get(exc.category, 422), error_message(exc))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
    log.exception("Unhandled exception on a console page")
    return _page(500, t("error.500"))


@bp.get("/<path:_unknown>")
def _not_found(_unknown: str):  # type: ignore[no-untyped-def]
    """Unknown console URLs get the console's 404 page, not the API's problem+json."""
    return _page(404, t("error.404"))
