"""Sub-funds: create, contribute, read balances, list movements (fund_admin; read: bureau, auditor)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from ledger import asof
from ledger import subfunds as service
from ledger.models import OWNER_TYPES

from . import context, db
from .auth import BUREAU_READ, actor_name, require_roles
from .errors import ApiError
from .fields import Code, Date, DateTime, Money, Pattern, Region, Text
from .pagination import CursorQuery, PageQuery, cursor_page_schema, encode_cursor, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("subfunds", __name__, url_prefix="/api/v1/subfunds", description="Sub-funds (子基金) and their money")


class SubFundIn(Schema):
    code = Code(required=True, validate=Pattern(r"^[A-Z][A-Z0-9-]{1,39}$"),
                         metadata={"example": "CITY-440700"})
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    owner_type = Code(required=True, validate=validate.OneOf(OWNER_TYPES))
    region = Region(required=True, metadata={"example": "440700"})


class SubFundOut(Schema):
    code = fields.String()
    name = fields.String()
    owner_type = fields.String()
    region = fields.String()
    available = Money(metadata={"description": "Can still be reserved for claims"})
    reserved = Money(metadata={"description": "Held for approved, unpaid claims"})
    paid = Money(metadata={"description": "Paid out to banks"})
    recovered = Money(metadata={"description": "Returned from banks' recoveries"})
    contributed = Money(metadata={"description": "Paid in by the owner"})
    created_at = DateTime()
    as_of = fields.Date(allow_none=True, metadata={"description": "The day whose closing balances these are (null: now)"})


class AsOfQuery(Schema):
    as_of = Date(metadata={"description": "Balances at the end of this business day, by the journal's effective dates"})


class ContributionIn(Schema):
    amount = Money(required=True, allow_zero=False)
    received_on = Date(required=True)
    reference = Code(required=True, validate=validate.Length(min=1, max=120),
                              metadata={"description": "The payer's payment reference; unique per sub-fund"})


class ContributionOut(Schema):
    transaction_id = fields.UUID()
    subfund = fields.String()
    amount = Money()
    received_on = fields.Date()
    reference = fields.String()
    subfund_after = fields.Nested(SubFundOut)


class MovementOut(Schema):
    seq = fields.Integer()
    transaction_id = fields.UUID()
    kind = fields.String()
    effective_on = fields.Date()
    memo = fields.String()
    reference = fields.String(allow_none=True)
    changes = fields.Dict(keys=fields.String(), values=Money(allow_negative=True),
                          metadata={"description": "Change of each of the sub-fund's balances"})
    balances_after = fields.Dict(keys=fields.String(), values=Money(allow_negative=True),
                                 metadata={"description": "Each changed balance just after this movement, "
                                                          "in journal order"})


def _out(subfund, as_of=None) -> dict:  # type: ignore[no-untyped-def]
    if as_of is None:
        balances = service.balances(db.session(), subfund)
    else:
        balances = asof.subfund_balances_as_of(db.session(), subfund, as_of)
    return {
        "code": subfund.code,
        "name": subfund.name,
        "owner_type": subfund.owner_type,
        "region": subfund.region,
        "available": balances["available"],
        "reserved": balances["reserved"],
        "paid": balances["paid"],
        "recovered": balances["recovered"],
        "contributed": balances["contributions"],
        "created_at": subfund.created_at,
        "as_of": as_of,
    }


@blp.route("")
class SubFunds(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_schema(SubFundOut, "SubFundPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """List sub-funds with their balances."""
        from sqlalchemy import func, select

        from ledger.models import SubFund

        session = db.session()
        total = session.scalar(select(func.count()).select_from(SubFund)) or 0
        rows = session.scalars(
            select(SubFund).order_by(SubFund.code).limit(query["per_page"]).offset((query["page"] - 1) * query["per_page"])
        ).all()
        return envelope([_out(s) for s in rows], query, total)

    @require_roles("fund_admin")
    @blp.arguments(SubFundIn)
    @blp.response(201, SubFundOut)
    def post(self, data):  # type: ignore[no-untyped-def]
        """Create a sub-fund and its journal accounts (fund_admin)."""
        subfund = service.create_subfund(db.session(), actor=actor_name(), **data)
        return _out(subfund)


@blp.route("/<code>")
class SubFundResource(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.arguments(AsOfQuery, location="query")
    @blp.response(200, SubFundOut)
    def get(self, query, code: str):  # type: ignore[no-untyped-def]
        """A sub-fund and its balances (bureau roles, auditor); ``?as_of=`` at the end of a past day."""
        as_of = query.get("as_of")
        if as_of is not None and as_of > context.today():
            raise ApiError(422, "as_of_in_future", "as_of is a past or today's business day.",
                           errors={"as_of": [f"after today ({context.today()})"]})
        return _out(service.get_subfund(db.session(), code), as_of)


@blp.route("/<code>/contributions")
class Contributions(MethodView):
    @require_roles("fund_admin")
    @blp.arguments(ContributionIn)
    @blp.response(201, ContributionOut)
    @blp.alt_response(200, schema=ContributionOut, description="The same contribution was already recorded")
    def post(self, data, code: str):  # type: ignore[no-untyped-def]
        """Record money paid into a sub-fund (fund_admin). Same reference and figures again: 200, nothing new."""
        session = db.session()
        result = service.contribute(session, code, actor=actor_name(), today=context.today(), **data)
        body = {
            "transaction_id": result.transaction_id,
            "subfund": code,
            "amount": result.amount,
            "received_on": result.received_on,
            "reference": result.reference,
            "subfund_after": _out(service.get_subfund(session, code)),
        }
        return body, 201 if result.created else 200


@blp.route("/<code>/movements")
class Movements(MethodView):
    @require_roles(*BUREAU_READ)
    # unknown=RAISE: ``?page=2`` from a page-number client is refused, not answered with page 1.
    @blp.arguments(CursorQuery, location="query", unknown=RAISE)
    @blp.response(200, cursor_page_schema(MovementOut, "MovementPage"))
    def get(self, query, code: str):  # type: ignore[no-untyped-def]
        """Journal movements touching the sub-fund, oldest first, with the balances after each.

        Cursor-paginated: follow `next_cursor` until it is null. Every page costs the same
        however long the sub-fund's history is (no page numbers, no total).
        """
        session = db.session()
        subfund = service.get_subfund(session, code)
        page = service.movements(session, subfund, after=query["cursor"], limit=query["per_page"])
        return {
            "items": [m.__dict__ for m in page.items],
            "per_page": query["per_page"],
            "next_cursor": None if page.next_after is None else encode_cursor(page.next_after),
        }
