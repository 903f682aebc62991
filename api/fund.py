"""Running the fund: a bank's portfolio cap per vintage (SPEC §3 ``portfolio_cap_rate``) and the
early-warning series and flags (SPEC §4a)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ledger import early_warning
from ledger.errors import NotFound
from ledger.models import Bank, Scheme
from ledger.portfolio import portfolio_use
from rules.money import format_amount, ratio_text

from . import context, db
from .auth import BUREAU_READ, bank_id_of_caller, require_roles
from .fields import Code
from .parsing import Blueprint

blp = Blueprint("fund", __name__, url_prefix="/api/v1", description="Running the fund: portfolio caps, early warning")
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


class EarlyWarningQuery(Schema):
    months = fields.Integer(load_default=12, validate=validate.Range(min=3, max=60))
    scheme = fields.String()


class MonthOut(Schema):
    month = fields.String(metadata={"example": "2026-05"})
    registered = fields.String()
    outstanding = fields.String()
    non_performing = fields.String()
    npl_ratio = fields.String(metadata={"description": "Four decimals"})
    compensation = fields.String(metadata={"description": "Compensation paid in the month"})


class FlagOut(Schema):
    code = fields.String(metadata={"description": "near_threshold or rising"})
    month = fields.String()
    threshold = fields.String()
    message = fields.String()


class BankSeriesOut(Schema):
    bank = fields.String()
    name = fields.String()
    scheme = fields.String()
    npl_suspend_registrations = fields.String(allow_none=True)
    npl_suspend_compensation = fields.String(allow_none=True)
    months = fields.List(fields.Nested(MonthOut))
    flags = fields.List(fields.Nested(FlagOut))


class EarlyWarningOut(Schema):
    on = fields.Date()
    banks = fields.List(fields.Nested(BankSeriesOut))


def series_dict(entry) -> dict:  # type: ignore[no-untyped-def, type-arg]
    last = entry.months[-1] if entry.months else None
    return {
        "bank": entry.bank, "name": entry.name, "scheme": entry.scheme,
        "npl_suspend_registrations": ratio_text(last.suspend_registrations) if last and last.suspend_registrations is not None else None,
        "npl_suspend_compensation": ratio_text(last.suspend_compensation) if last and last.suspend_compensation is not None else None,
        "months": [{"month": m.month, "registered": format_amount(m.registered),
                    "outstanding": format_amount(m.outstanding), "non_performing": format_amount(m.non_performing),
                    "npl_ratio": ratio_text(m.npl_ratio), "compensation": format_amount(m.compensation)}
                   for m in entry.months],
        "flags": entry.flags,
    }


@blp.route("/early-warning")
class EarlyWarning(MethodView):
    @require_roles(*READERS)
    @blp.arguments(EarlyWarningQuery, location="query")
    @blp.response(200, EarlyWarningOut)
    def get(self, query):  # type: ignore[no-untyped-def]
        """Monthly series per bank and scheme (registered, outstanding, NPL ratio, compensation) and flags.

        Flagged: NPL ratio within a fifth of a suspension threshold (``near_threshold``), or
        rising two months running (``rising``). A bank sees only its own.
        """
        entries = early_warning.series(db.session(), today=context.today(), months=query["months"],
                                       bank_id=bank_id_of_caller(), scheme_code=query.get("scheme"))
        return {"on": context.today(), "banks": [series_dict(e) for e in entries]}
