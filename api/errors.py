"""Every failure as ``application/problem+json`` (RFC 9457) with a stable ``code``.

Shape: ``{type, title, status, code, detail, errors: {field: [messages]}, ...}``;
``errors`` names the offending fields, flattened to dotted paths (``payers.0.share``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from ledger.errors import DomainError

PROBLEM_JSON = "application/problem+json"
STATUS_BY_CATEGORY = {"invalid": 422, "not_found": 404, "conflict": 409, "forbidden": 403}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
TITLE_BY_STATUS = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    428: "Precondition required",
    500: "Internal error",
    503: "Service unavailable",
}

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised by views for failures that are not domain errors (auth, content type)."""

    def __init__(self, status: int, code: str, detail: str, *, errors: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})
        self.extra = extra


def problem(status: int, code: str, detail: str | None = None, *, errors: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLE_BY_STATUS.get(status, "Error"),
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body["errors"] = dict(errors or {})
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"payers": {0: {"share": ["bad"]}}}`` -> ``{"payers.0.share": ["bad"]}``."""
    if isinstance(messages, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten(value, name))
        return out
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    if isinstance(messages, (list, tuple)):
        out = {}
        for item in messages:
            for key, value in flatten(item, prefix).items():
                out.setdefault(key, []).extend(value)
        return out
    return {prefix or "_schema": [str(messages)]}


def domain_problem(exc: DomainError) -> Response:
    extra: dict[str, Any] = dict(exc.extra)
    if exc.details:
        extra["details"] = exc.details
    return problem(STATUS_BY_CATEGORY[exc.category], exc.code, exc.message, errors=exc.errors, **extra)


def http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if status == 400 and messages and "json" in messages and messages["json"] == ["Invalid JSON body."]:
        return problem(400, "malformed_json", "The request body is not valid JSON.", errors={"body": ["Invalid JSON."]})
    if status == 422 and messages:
        # webargs nests by location ({"json": {...}, "query": {...}}); clients care
        # about the field, and field names do not collide across locations here.
        errors: dict[str, list[str]] = {}
        for location_messages in messages.values():
            errors.update(flatten(location_messages))
        return problem(422, "validation_failed", "Some fields are invalid.", errors=errors, headers=headers)
    detail = data.get("message") or exc.description
    named = {"body": [detail]} if status == 413 else None
    return problem(status, CODE_BY_STATUS.get(status, "http_error"), detail, errors=named, headers=headers)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return problem(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return domain_problem(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return http_problem(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A bug: logged with its traceback, answered in the same shape as any error.
        log.exception("Unhandled exception")
        return problem(500, "internal_error", "An unexpected error occurred; it has been logged.")
