"""Form posts read with the API's own schemas, so a figure typed into the console is
validated exactly like the same figure sent as JSON (strict money, dates, lengths).

Browsers send every field as a string and an empty input as ``""``: empty inputs are
dropped (an optional amount left blank means "as computed"), and so is anything the
schema does not name (the CSRF token, the submit button).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from flask import request
from marshmallow import Schema


def form_data(schema: Schema) -> dict[str, Any]:
    names = {field.data_key or name for name, field in schema.fields.items()}
    return {key: value for key, value in request.form.items() if key in names and value.strip() != ""}


def load_form(schema: Schema) -> dict[str, Any]:
    """The posted form loaded by ``schema``; raises marshmallow's ``ValidationError``."""
    return schema.load(form_data(schema))


def load_args(schema: Schema) -> dict[str, Any]:
    """Query-string filters loaded by ``schema`` (blank filters ignored)."""
    names = {field.data_key or name for name, field in schema.fields.items()}
    return schema.load({key: value for key, value in request.args.items() if key in names and value.strip() != ""})


def read_document(text: str) -> dict[str, Any]:
    """A pasted or uploaded rule document: JSON when it starts with ``{``, else TOML; raises ValueError / TOMLDecodeError."""
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("a rule document is an object")
        return document
    return tomllib.loads(text)
