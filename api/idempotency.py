"""``Idempotency-Key`` for banks' POSTs that create money-relevant records (SPEC §6).

The first answer to a key — success or refusal — is stored in the same database
transaction as the work it describes and replayed byte for byte; the same key with
another request is 422. Concurrent requests with one key queue on the record's unique
index (PostgreSQL) or on SQLite's write lock: the first does the work, the others
replay its answer.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, g, make_response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import UnprocessableEntity

from ledger.errors import DomainError
from ledger.models import IdempotencyRecord

from . import db
from .auth import current_user
from .errors import ApiError, domain_problem, http_problem

HEADER = "Idempotency-Key"


def _fingerprint() -> str:
    body = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    return f"{request.method} {request.path} {body}"


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        raise ApiError(422, "idempotency_key_reused",
                       f"{HEADER} {record.key!r} was used for a different request; use a new key.",
                       errors={HEADER: ["already used with another request"]})
    response = Response(record.response_body, status=record.status_code, content_type=record.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (request.headers.get(HEADER) or "").strip()
        if not key:
            raise ApiError(428, "idempotency_key_required", f"Send an {HEADER} header with this request.",
                           errors={HEADER: ["required"]})
        if len(key) > 200:
            raise ApiError(422, "validation_failed", f"{HEADER} is at most 200 characters.",
                           errors={HEADER: ["at most 200 characters"]})
        session, user, fingerprint = db.session(), current_user(), _fingerprint()
        lookup = select(IdempotencyRecord).where(IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == key)
        existing = session.scalar(lookup)
        if existing is not None:
            return _replay(existing, fingerprint)
        record = IdempotencyRecord(user_id=user.id, key=key, request_fingerprint=fingerprint, status_code=0,
                                   response_body=b"", content_type="")
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            # Another request with this key committed first: answer as it did.
            return _replay(session.scalars(lookup).one(), fingerprint)
        try:
            with session.begin_nested():
                response = make_response(view(*args, **kwargs))
        except DomainError as exc:
            response = domain_problem(exc)
        except UnprocessableEntity as exc:
            response = http_problem(exc)
        if response.status_code >= 500:
            return response  # not an outcome: the whole request rolls back, the key stays free
        record.status_code = response.status_code
        record.response_body = response.get_data()
        record.content_type = response.content_type or "application/json"
        session.flush()
        # A refusal is an outcome too: keep the record although the answer is 4xx.
        g.commit_despite_error = True
        return response

    wrapper.idempotency = "required"  # type: ignore[attr-defined] # documented by api.contract
    return wrapper
