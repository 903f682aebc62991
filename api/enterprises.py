"""Enterprises (borrowers) by unified social credit code (SPEC §2, issue 4).

Banks register the enterprises they lend to and see only those; the bureau and
auditors see all. A repeated identical registration is a no-op (200); different data
is 409 ``enterprise_differs`` and changes go through ``PUT``, which is audited.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ledger import enterprises as service
from ledger.models import Enterprise

from . import db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, require_roles
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("enterprises", __name__, url_prefix="/api/v1/enterprises",
                description="Enterprises (borrowers) by unified social credit code")

READERS = ("bank", *BUREAU_READ)


class EnterpriseIn(Schema):
    credit_code = fields.String(required=True, validate=validate.Length(max=40),
                                metadata={"example": "91440300708461136T",
                                          "description": "统一社会信用代码, 18 characters with its check digits"})
    name = fields.String(required=True, validate=validate.Length(max=400), metadata={"example": "江门某某科技有限公司"})
    region = fields.String(required=True, validate=validate.Length(max=12), metadata={"example": "440703"})
    categories = fields.List(fields.String(validate=validate.Length(max=60)), required=True,
                             metadata={"example": ["tech_sme", "agri_tech"]})


class EnterpriseChangeIn(Schema):
    name = fields.String(required=True, validate=validate.Length(max=400))
    region = fields.String(required=True, validate=validate.Length(max=12))
    categories = fields.List(fields.String(validate=validate.Length(max=60)), required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=500),
                           metadata={"description": "Why the data changes (kept in the audit log)"})


class EnterpriseOut(Schema):
    credit_code = fields.String()
    name = fields.String()
    region = fields.String()
    categories = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    outcome = fields.String(metadata={"description": "On registration: created, linked (already known, now "
                                                     "registered by this bank too) or unchanged"})
    banks = fields.List(fields.String(), metadata={"description": "Banks that registered it (bureau and auditors only)"})


class EnterpriseQuery(PageQuery):
    region = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    category = fields.String(validate=validate.Regexp(r"^[a-z_]{2,40}$"))


def _out(enterprise: Enterprise, outcome: str | None = None) -> dict:
    body = {
        "credit_code": enterprise.credit_code,
        "name": enterprise.name,
        "region": enterprise.region,
        "categories": list(enterprise.categories),
        "created_at": enterprise.created_at,
        "updated_at": enterprise.updated_at,
    }
    if outcome is not None:
        body["outcome"] = outcome
    if bank_id_of_caller() is None:
        body["banks"] = service.banks_of(db.session(), enterprise)
    return body


@blp.route("")
class Enterprises(MethodView):
    @require_roles(*READERS)
    @blp.arguments(EnterpriseQuery, location="query")
    @blp.response(200, page_schema(EnterpriseOut, "EnterprisePage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """List enterprises (a bank: those it registered), by credit code."""
        items, total = service.list_enterprises(
            db.session(), bank_id=bank_id_of_caller(), page=query["page"], per_page=query["per_page"],
            region=query.get("region"), category=query.get("category"))
        return envelope([_out(e) for e in items], query, total)

    @require_roles("bank")
    @blp.arguments(EnterpriseIn)
    @blp.response(201, EnterpriseOut)
    @blp.alt_response(200, schema=EnterpriseOut, description="Already registered with the same data (linked to "
                                                             "this bank if another bank registered it)")
    def post(self, data):  # type: ignore[no-untyped-def]
        """Register an enterprise (bank). The same data again: 200; other data: 409 ``enterprise_differs``.

        A wrong check digit in the credit code is 422 with ``details[].code``
        ``credit_code_check_digit`` (or ``credit_code_organisation_check_digit``).
        """
        enterprise, outcome = service.register_enterprise(
            db.session(), bank_id=_bank_id(), actor=actor_name(), **data)
        return _out(enterprise, outcome), 201 if outcome == "created" else 200


@blp.route("/<credit_code>")
class EnterpriseResource(MethodView):
    @require_roles(*READERS)
    @blp.response(200, EnterpriseOut)
    def get(self, credit_code: str):  # type: ignore[no-untyped-def]
        """One enterprise (a bank: only one it registered; others are 404)."""
        return _out(service.get_enterprise_for(db.session(), credit_code, bank_id_of_caller()))

    @require_roles("bank", "fund_admin")
    @blp.arguments(EnterpriseChangeIn)
    @blp.response(200, EnterpriseOut)
    def put(self, data, credit_code: str):  # type: ignore[no-untyped-def]
        """Change name, region and categories (a bank that registered it, or fund_admin); audited.

        Loans already registered keep the region and categories they were registered with.
        """
        enterprise, _changed = service.change_enterprise(
            db.session(), credit_code, bank_id=bank_id_of_caller(), actor=actor_name(), **data)
        return _out(enterprise)


def _bank_id() -> int:
    from .auth import current_user
    from .errors import ApiError

    bank_id = current_user().bank_id
    if bank_id is None:
        raise ApiError(403, "forbidden", "This user acts for no bank.")
    return bank_id
