"""Request parsing: the one place a request's JSON, query string and form are read.

SPEC §1's strict text holds here for every endpoint, before any schema runs:

- a JSON body is UTF-8 (no other charset, no UTF-16/32 sniffing), numbers become
  ``Decimal`` (never float), ``NaN``/``Infinity`` are refused;
- a repeated key in an object is refused (422 ``duplicate_key`` naming it), not "last
  value wins";
- nesting deeper than :data:`MAX_DEPTH` is refused (400 ``json_too_deep``, ``body``);
- no string, key or value, holds a NUL, a lone surrogate or a control character other
  than tab and line breaks (422 ``invalid_text`` naming the field).

The fields in :mod:`api.fields` then hold each value to its own shape (money, dates,
codes, bounded integers and lists).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from . import contract
from .errors import ApiError
from .fields import text_problem

#: SPEC §1: nesting deeper than this is refused. Our deepest document (a rule file)
#: needs five levels.
MAX_DEPTH = 32
#: Largest JSON body read (rule documents are the largest, a few KiB); bulk uploads
#: (CSV/XLSX) are not JSON and are bounded by MAX_CONTENT_LENGTH instead.
MAX_JSON_BYTES = 1024 * 1024


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _malformed(message: str) -> ApiError:
    return ApiError(400, "malformed_json", "The request body is not valid JSON.", errors={"body": [message]})


def loads_strict(data: bytes | str) -> Any:
    """Parse a JSON body under the rules above; raises :class:`ApiError`."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(f"not UTF-8 (byte {exc.start})") from None
    try:
        document = json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant,
                              object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        name = exc.key if not text_problem(exc.key) else repr(exc.key)
        raise ApiError(422, "duplicate_key", f"The key {name!r} appears more than once in one object.",
                       errors={name or "body": ["repeated key"]}) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError, NaN, an integer of more than 4300 digits
        raise _malformed(str(exc).splitlines()[0]) from None
    check_document(document)
    return document


def _too_deep() -> ApiError:
    return ApiError(400, "json_too_deep", f"The JSON body is nested deeper than {MAX_DEPTH} levels.",
                    errors={"body": [f"nested deeper than {MAX_DEPTH} levels"]})


def check_document(document: Any) -> None:
    """Depth and text checks over a parsed document, iteratively (no recursion to exhaust)."""
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_text(path or "body", value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(f"{path}.{key!r}" if path else "body", key)
                name = f"{path}.{key}" if path else str(key)
                if isinstance(item, (str, dict, list)):
                    stack.append((item, name, depth + 1))


def _check_text(name: str, value: str) -> None:
    problem = text_problem(value)
    if problem is not None:
        if text_problem(name):
            name = "body"
        raise ApiError(422, "invalid_text", f"{name}: {problem}.", errors={name: [problem]})


def check_pairs(pairs: Iterable[tuple[str, str]]) -> None:
    """Text checks over query-string or form items (names and values)."""
    for key, value in pairs:
        _check_text(key, key)
        _check_text(key, value)


class StrictParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing  # the schema names the required fields
        return loads_strict(data)

    def load_querystring(self, req: flask.Request, schema: Any) -> Any:
        check_pairs(req.args.items(multi=True))
        return super().load_querystring(req, schema)

    def load_form(self, req: flask.Request, schema: Any) -> Any:
        check_pairs(req.form.items(multi=True))
        return super().load_form(req, schema)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the strict parser, and the facts the OpenAPI
    contract derives each operation's error answers from (see :mod:`api.contract`)."""

    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(contract.prepare_doc)

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Any = None, *args: Any,
                     **kwargs: Any) -> None:
        self._rule_being_added = rule
        super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)

    def _store_endpoint_docs(self, endpoint: str, obj: Any, parameters: Any, tags: Any, **options: Any) -> None:
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        rule = getattr(self, "_rule_being_added", "")
        for method, doc in self._docs[endpoint].items():
            if method == "parameters":
                continue
            view = getattr(obj, method, None) if isinstance(obj, type) else obj
            doc["ledger"] = {
                "roles": getattr(view, "required_roles", ()),
                "idempotency": getattr(view, "idempotency", None),
                "path_parameters": "<" in rule or "<" in (self.url_prefix or ""),
                "issues_statement": endpoint.endswith("_statement"),
                "endpoint": f"{self.name}.{endpoint}",
            }
