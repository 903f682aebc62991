"""Page-number pagination for list endpoints (``?page=2&per_page=50``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


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
