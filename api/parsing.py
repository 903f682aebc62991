"""Request parsing: JSON numbers become Decimal, never float (SPEC §1)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


class StrictParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            return loads_strict(req.get_data(cache=True))
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN
            return self._handle_invalid_json_error(exc, req)  # type: ignore[arg-type]


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()
