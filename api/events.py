"""The event feed: ``GET /api/v1/events?after=CURSOR`` (SPEC §4a)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ledger import events

from . import db
from .auth import ANY_ROLE, bank_id_of_caller, require_roles
from .fields import BoundedList, Code, Int
from .parsing import Blueprint

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="The caller's events, in commit order")

EVENT_TYPE_NAMES = (*events.EVENT_TYPES, events.PING)


class FeedQuery(Schema):
    after = Code(load_default=None, validate=validate.Length(max=64),
                          metadata={"description": "The `next` (or an item's `cursor`) of an earlier page; "
                                                   "omit to start at the first event"})
    limit = Int(load_default=100, validate=validate.Range(min=1, max=500))
    type = BoundedList(Code(validate=validate.OneOf(EVENT_TYPE_NAMES)), max_items=len(EVENT_TYPE_NAMES),
                       load_default=None, metadata={"description": "Only these types (repeat the parameter)"})


class FeedEventOut(Schema):
    cursor = fields.String(metadata={"description": "Resume after this event with ?after=<cursor>"})
    id = fields.String(metadata={"description": "evt_…; the same in webhook deliveries (their Idempotency-Key)"})
    type = fields.String(metadata={"description": "entity.verb, e.g. claim.approved"})
    occurred_at = fields.String(metadata={"description": "UTC, ISO 8601"})
    data = fields.Dict(metadata={"description": "What happened; amounts are decimal strings"})


class FeedPageOut(Schema):
    items = fields.List(fields.Nested(FeedEventOut))
    next = fields.String(metadata={"description": "Pass as ?after= for the following page (also when this one is "
                                                  "empty: store it and poll again later)"})


@blp.route("")
class EventFeed(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.arguments(FeedQuery, location="query", as_kwargs=True)
    @blp.response(200, FeedPageOut)
    def get(self, after: str | None, limit: int, type: list[str] | None):  # type: ignore[no-untyped-def]
        """Page through the caller's events in commit order (a bank: its own; bureau and auditors: all)."""
        position = events.decode_cursor(after) if after else 0
        rows = events.feed(db.session(), bank_id=bank_id_of_caller(), after=position, limit=limit, types=type)
        if rows:
            position = rows[-1].position  # type: ignore[assignment]
        return {"items": [{"cursor": events.encode_cursor(row.position), **events.body(row)} for row in rows],  # type: ignore[arg-type]
                "next": events.encode_cursor(position)}
