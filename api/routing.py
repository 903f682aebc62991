"""URL rules: converters for path parameters, strict like the fields in :mod:`api.fields`,
and a rule class that compiles its URL builder on first use.

A path segment that cannot name anything is a 404 at routing, before any view or
database sees it: an id above 2^63-1 (no BIGINT holds it), an id written with other
than ASCII digits (``int("١٢")`` is 12 in Python), a code with a NUL or a control
character (PostgreSQL refuses NUL in text).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import IntegerConverter, Rule, UnicodeConverter, ValidationError

from .fields import MAX_INT64, code_problem


class IdConverter(IntegerConverter):
    """``<int:id>``: a positive 64-bit integer in ASCII digits."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_INT64)
        super().__init__(map, *args, **kwargs)


class CodeConverter(UnicodeConverter):
    """``<code>``: one path segment that could be a code (no control characters,
    no surrounding whitespace)."""

    def to_python(self, value: str) -> str:
        if code_problem(value) is not None:
            raise ValidationError()
        return value


def _id_schema(converter: IdConverter) -> dict[str, Any]:
    return {"type": "integer", "format": "int64", "minimum": converter.min, "maximum": converter.max}


def _code_schema(_converter: CodeConverter) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^\S(.*\S)?$"}


class LazyBuilderRule(Rule):
    """werkzeug's Rule, compiling its URL builders when a URL is first built.

    werkzeug writes and compiles two Python functions per rule (``ast``, ``compile``)
    as the rule is added: for our ~110 routes about two thirds of building the app,
    which every worker start and every test pays, while a process builds URLs
    (``url_for``) for a few of them. Matching requests does not use the builders.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        compile_builder = super()._compile_builder
        builder = None

        def build(rule: Rule, *args: Any, **kwargs: Any) -> Any:
            nonlocal builder
            if builder is None:
                builder = compile_builder(append_unknown)
            return builder(rule, *args, **kwargs)

        return build


def init_app(app: Flask) -> None:
    """Install the converters and the rule class; call before any route is added."""
    app.url_map.converters.update({"int": IdConverter, "default": CodeConverter, "string": CodeConverter})
    app.url_rule_class = LazyBuilderRule


def document(api: Api) -> None:
    api.register_converter(IdConverter, _id_schema)
    api.register_converter(CodeConverter, _code_schema)
