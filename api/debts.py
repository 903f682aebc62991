"""Banks' clawback debts to sub-funds, and their repayment (SPEC §4)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ledger import clawbacks
from ledger.errors import NotFound
from ledger.models import Bank
from rules.money import format_amount

from . import db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, require_roles
from .fields import Code, Date, Money
from .parsing import Blueprint

blp = Blueprint("debts", __name__, url_prefix="/api/v1/banks", description="Clawback debts of banks")


class DebtRepaymentIn(Schema):
    subfund = Code(required=True, validate=validate.Length(min=1, max=40))
    amount = Money(required=True, allow_zero=False)
    received_on = Date(required=True)
    reference = Code(required=True, validate=validate.Length(min=1, max=120))


class DebtsOut(Schema):
    bank = fields.String()
    debts = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "What the bank owes each sub-fund after clawbacks"})


def _bank(code: str) -> Bank:
    bank = db.session().scalar(select(Bank).where(Bank.code == code))
    own = bank_id_of_caller()
    if bank is None or (own is not None and bank.id != own):
        raise NotFound(f"No bank {code}.", code="bank_not_found")
    return bank


def _out(bank: Bank) -> dict:  # type: ignore[type-arg]
    owed = clawbacks.debts(db.session(), bank)
    return {"bank": bank.code, "debts": {code: format_amount(fen) for code, fen in sorted(owed.items())}}


@blp.route("/<code>/debts")
class Debts(MethodView):
    @require_roles("bank", *BUREAU_READ)
    @blp.response(200, DebtsOut)
    def get(self, code: str):  # type: ignore[no-untyped-def]
        """What a bank owes each sub-fund after clawbacks (a bank: only its own)."""
        return _out(_bank(code))


@blp.route("/<code>/debt-repayments")
class DebtRepayments(MethodView):
    @require_roles("fund_admin")
    @blp.arguments(DebtRepaymentIn)
    @blp.response(201, DebtsOut)
    def post(self, data, code: str):  # type: ignore[no-untyped-def]
        """Record a bank's repayment of clawback debt to a sub-fund (fund_admin); answers what is still owed."""
        bank = _bank(code)
        clawbacks.repay_debt(db.session(), bank.code, subfund_code=data["subfund"], amount=data["amount"],
                             received_on=data["received_on"], reference=data["reference"], actor=actor_name())
        return _out(bank)
