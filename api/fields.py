"""Marshmallow fields for what the API reads, strict where marshmallow's own are lenient.

SPEC §1 "strict text on the wire": money is ASCII digits with at most two decimals,
dates are exactly ``YYYY-MM-DD``, integers are ASCII digits within 64 bits, codes and
identifiers carry no surrounding whitespace or control characters, and no text holds a
NUL or a lone surrogate (PostgreSQL refuses the first, every UTF-8 encoder the second).
Every input schema uses these fields, and the console loads its forms with the same
schemas, so one definition holds for JSON, query strings and form posts alike.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Any

from marshmallow import ValidationError, fields, validate

from rules.money import AmountError, format_amount, parse_amount
from rules.regions import region_problem

#: Largest id or counter a client may send: ids are 64-bit signed integers (BIGINT).
MAX_INT64 = 2**63 - 1
#: Categories an enterprise or a quote may name (SPEC §2 has four; rules may add a few).
MAX_CATEGORIES = 20
MONEY_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"
SIGNED_MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]{1,2})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE_RE = re.compile(DATE_PATTERN)
_DIGITS_RE = re.compile(r"^[0-9]+$")
#: Control characters other than tab and line breaks, and lone surrogates.
_BAD_TEXT_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` may not be stored as text, or None (free text: newlines allowed)."""
    match = _BAD_TEXT_RE.search(value)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        return "must not contain a NUL character"
    if "\ud800" <= char <= "\udfff":
        return "must not contain a lone surrogate (invalid Unicode)"
    return f"must not contain the control character U+{ord(char):04X}"


def code_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable as a code or identifier, or None."""
    if not value.strip():
        return "must not be empty or only whitespace"
    if value != value.strip():
        return "must not start or end with whitespace"
    problem = text_problem(value)
    if problem is not None:
        return problem
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        return "must not contain control or formatting characters"
    return None


class Text(fields.String):
    """Free text (names, comments, reasons): no NUL, lone surrogate or control character."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text)
        if problem is not None:
            raise ValidationError(problem)
        return text


class Code(fields.String):
    """A code, identifier or reference: as sent, no surrounding whitespace, never blank."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = code_problem(text)
        if problem is not None:
            raise ValidationError(problem)
        return text


class Region(Code):
    """A GB/T 2260 region code: six ASCII digits naming a real province (SPEC §2)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": "^[0-9]{6}$", "example": "440703"}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        problem = region_problem(code)
        if problem is not None:
            raise ValidationError(problem)
        return code


def category_doc() -> dict[str, Any]:
    """OpenAPI for a category name: SPEC §2's four as an enum."""
    from ledger.enterprises import KNOWN_CATEGORIES

    return {"enum": list(KNOWN_CATEGORIES), "description": "; ".join(f"{k} {v}" for k, v in KNOWN_CATEGORIES.items())}


class Pattern(validate.Regexp):
    """``validate.Regexp`` that must match the whole value, ASCII classes only.

    marshmallow's uses ``re.match``: ``^\\d{6}$`` then accepts ``"440703\\n"`` (``$``
    matches before a final newline) and ``"４４０１００"`` (``\\d`` is any digit).
    """

    def __init__(self, regex: str, **kwargs: Any) -> None:
        super().__init__(regex, flags=re.ASCII, **kwargs)

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Int(fields.Integer):
    """An integer within 64 bits; from text (query strings, forms) only ASCII digits.

    ``int("١٢")`` is 12 in Python and ``int("1_000")`` is 1000: neither is an integer
    on the wire. Above 2^63-1 no id exists and no database column can hold it.
    """

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_INT64, **kwargs: Any) -> None:
        given = kwargs.pop("validate", None) or []
        validators = list(given) if isinstance(given, (list, tuple)) else [given]
        validators.insert(0, validate.Range(min=minimum, max=maximum))
        super().__init__(validate=validators, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and not _DIGITS_RE.fullmatch(value.removeprefix("-")):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Date(fields.Date):
    """A calendar date exactly as ``YYYY-MM-DD`` (no ``20260101``, no week dates)."""

    default_error_messages = {"invalid": "Not a valid date: use YYYY-MM-DD, e.g. \"2026-06-30\"."}

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": DATE_PATTERN}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class DateTime(fields.DateTime):
    """An instant as RFC 3339 in UTC with its offset, the same from SQLite and PostgreSQL.

    SQLite hands back naive datetimes (they were stored as UTC); PostgreSQL aware ones
    in the connection's time zone.
    """

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return utc_isoformat(value)


def utc_isoformat(value: datetime) -> str:
    aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return aware.isoformat()


class BoundedList(fields.List):
    """A list whose length is checked before any item is read (a million items must
    not keep a worker busy deserialising them first)."""

    def __init__(self, cls_or_instance: Any, *, max_items: int, min_items: int = 0, **kwargs: Any) -> None:
        super().__init__(cls_or_instance, **kwargs)
        self.min_items, self.max_items = min_items, max_items
        self.metadata = {"minItems": min_items, "maxItems": max_items, **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, (list, tuple)) and not self.min_items <= len(value) <= self.max_items:
            raise ValidationError(f"must have between {self.min_items} and {self.max_items} items")
        return super()._deserialize(value, attr, data, **kwargs)


class Money(fields.Field):
    """Yuan as a decimal string on the wire, integer fen inside.

    Unlike ``fields.Decimal(places=2)`` it never rounds (``"1.005"`` is an error, not
    1.00) and never accepts a float that is not exactly a two-decimal amount.
    """

    def __init__(self, *, allow_negative: bool = False, allow_zero: bool = True, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": SIGNED_MONEY_PATTERN if allow_negative else MONEY_PATTERN,
                    "example": "1200000.00"}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)
        self.allow_negative = allow_negative
        self.allow_zero = allow_zero

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return parse_amount(value, allow_negative=self.allow_negative, allow_zero=self.allow_zero)
        except AmountError as exc:
            raise ValidationError(exc.message) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_amount(int(value))
