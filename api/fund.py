"""Running the fund: a bank's portfolio cap per vintage (SPEC §3 ``portfolio_cap_rate``)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from ledger.errors import NotFound
from ledger.models import Bank, Scheme
from ledger.portfolio import portfolio_use
from rules.money import format_amount, ratio_text

from . import context, db
from .auth import BUREAU_READ, bank_id_of_caller, require_roles
from .fields import Code
from .parsing import Blueprint

blp = Blueprint("fund", __name__, url_prefix="/api/v1", description="Running the fund: portfolio caps")
READERS = ("bank", *BUREAU_READ)


class PortfolioQuery(Schema):
    scheme = Code(metadata={"description": "Only this scheme"})


class VintageOut(Schema):
    scheme = fields.String()
    vintage = fields.Integer(metadata={"description": "Disbursement year"})
    rate = fields.String(metadata={"description": "portfolio_cap_rate of the version in force at the vintage's end"})
    registered = fields.String(metadata={"description": "Principal registered with disbursement in that year"})
    cap = fields.String(metadata={"description": "ROUND_HALF_UP(rate x registered)"})
    approved = fields.String(metadata={"description": "Compensation approved on the vintage (approved or paid)"})
    left = fields.String()
    utilisation = fields.String(metadata={"description": "approved / cap, four decimals"})


class PortfolioOut(Schema):
    bank = fields.String()
    on = fields.Date()
    vintages = fields.List(fields.Nested(VintageOut))


def find_bank(code: str) -> Bank:
    """The bank named in the path; another bank's code is a 404 for a bank caller."""
    bank = db.session().scalar(select(Bank).where(Bank.code == code))
    caller = bank_id_of_caller()
    if bank is None or (caller is not None and bank.id != caller):
        raise NotFound(f"No bank {code}.", code="bank_not_found")
    return bank


def vintage_dict(use) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {"scheme": use.scheme, "vintage": use.vintage, "rate": format(use.rate, "f"),
            "registered": format_amount(use.registered), "cap": format_amount(use.cap),
            "approved": format_amount(use.approved), "left": format_amount(use.left),
            "utilisation": ratio_text(use.utilisation)}


@blp.route("/banks/<code>/portfolio-cap")
class BankPortfolioCap(MethodView):
    @require_roles(*READERS)
    @blp.arguments(PortfolioQuery, location="query")
    @blp.response(200, PortfolioOut)
    def get(self, query, code: str):  # type: ignore[no-untyped-def]
        """A bank's portfolio cap per scheme and vintage, with its utilisation (a bank: only its own)."""
        session = db.session()
        bank = find_bank(code)
        scheme_id = None
        if query.get("scheme"):
            scheme_id = session.scalar(select(Scheme.id).where(Scheme.code == query["scheme"]))
            if scheme_id is None:
                raise NotFound(f"No scheme {query['scheme']}.", code="scheme_not_found")
        uses = portfolio_use(session, bank.id, scheme_id=scheme_id)
        return {"bank": bank.code, "on": context.today(), "vintages": [vintage_dict(u) for u in uses]}
