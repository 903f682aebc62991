"""Pagination for list endpoints: page numbers (``?page=2&per_page=50``) for bounded
lists, opaque cursors (``?cursor=…``) for the journal's unbounded ones."""

from __future__ import annotations

import base64
from typing import Any

from marshmallow import Schema, ValidationError, fields

from .fields import MAX_INT64, Int

#: Bounds that keep ``OFFSET (page - 1) * per_page`` far inside 64 bits.
MAX_PAGE = 10_000_000
MAX_PER_PAGE = 500


class PageQuery(Schema):
    page = Int(load_default=1, minimum=1, maximum=MAX_PAGE)
    per_page = Int(load_default=50, minimum=1, maximum=MAX_PER_PAGE)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A ``{items, page, per_page, total}`` envelope schema around ``item_schema``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
        },
        name=name,
    )


def envelope(items: list[Any], query: dict[str, int], total: int) -> dict[str, Any]:
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}


# -- keyset (cursor) pagination ------------------------------------------------------
#
# For lists that grow without bound (journal movements): a page continues after the
# last item of the previous one instead of skipping ``(page - 1) * per_page`` rows, so
# every page costs the same however long the list is. The cursor is opaque to clients.

_CURSOR_PREFIX = "k1:"


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


class Cursor(fields.Field):
    """An opaque ``next_cursor`` from an earlier page; decodes to a position."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not value or len(value) > 64:
            raise ValidationError("Not a cursor from this list.")
        try:
            text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("Not a cursor from this list.") from None
        digits = text.removeprefix(_CURSOR_PREFIX)
        if not text.startswith(_CURSOR_PREFIX) or not digits.isascii() or not digits.isdigit() or int(digits or "0") > MAX_INT64:
            raise ValidationError("Not a cursor from this list.")
        return int(digits)


class CursorQuery(Schema):
    cursor = Cursor(load_default=0, metadata={
        "description": "The `next_cursor` of the previous page; omit for the first page.",
        "type": "string"})
    per_page = Int(load_default=50, minimum=1, maximum=MAX_PER_PAGE)


def cursor_page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A ``{items, per_page, next_cursor}`` envelope; ``next_cursor`` is null on the last page."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "per_page": fields.Integer(),
            "next_cursor": fields.String(allow_none=True, metadata={
                "description": "Pass as `cursor` for the next page; null when there is none. "
                               "A page may hold fewer than `per_page` items and still have a next one."}),
        },
        name=name,
    )
