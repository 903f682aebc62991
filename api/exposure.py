"""Portfolio exposure per sub-fund and per scheme, ready for the console's chart."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from ledger.exposure import portfolio_exposure
from rules.money import format_amount, ratio_text

from . import context, db
from .auth import BUREAU_READ, require_roles
from .parsing import Blueprint

blp = Blueprint("exposure", __name__, url_prefix="/api/v1/exposure", description="Portfolio exposure")


class SubFundExposureOut(Schema):
    code = fields.String()
    name = fields.String()
    available = fields.String()
    reserved = fields.String()
    paid = fields.String()
    recovered = fields.String()
    contingent_liability = fields.String(metadata={"description": "Owed if every active loan defaulted today"})
    active_loans = fields.Integer()
    coverage = fields.String(allow_none=True, metadata={"description": "available / contingent_liability"})


class SchemeExposureOut(Schema):
    code = fields.String()
    active_loans = fields.Integer()
    outstanding_principal = fields.String()
    contingent_liability = fields.String()
    payer_available = fields.String()
    leverage_limit = fields.String(allow_none=True)
    leverage_used = fields.String(allow_none=True, metadata={"description": "outstanding / payer_available"})
    payers = fields.List(fields.String(), metadata={"description": "The pool: sub-funds that pay this scheme's claims"})


class ExposureOut(Schema):
    subfunds = fields.List(fields.Nested(SubFundExposureOut))
    schemes = fields.List(fields.Nested(SchemeExposureOut))


@blp.route("")
class Exposure(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.response(200, ExposureOut)
    def get(self):  # type: ignore[no-untyped-def]
        """Contingent liability of active loans beside each sub-fund's money, and leverage per scheme."""
        funds, schemes = portfolio_exposure(db.session(), context.today())
        return {
            "subfunds": [{
                "code": f.code, "name": f.name, "available": format_amount(f.available),
                "reserved": format_amount(f.reserved), "paid": format_amount(f.paid),
                "recovered": format_amount(f.recovered), "contingent_liability": format_amount(f.contingent),
                "active_loans": f.loans, "coverage": None if f.coverage is None else ratio_text(f.coverage),
            } for f in funds],
            "schemes": [{
                "code": s.code, "active_loans": s.active_loans, "outstanding_principal": format_amount(s.outstanding),
                "contingent_liability": format_amount(s.contingent), "payer_available": format_amount(s.payer_available),
                "leverage_limit": None if s.leverage_limit is None else str(s.leverage_limit),
                "leverage_used": None if s.leverage_used is None else ratio_text(s.leverage_used),
                "payers": s.payers,
            } for s in schemes],
        }
