"""Enterprises (borrowers) by unified social credit code (SPEC §2, issue 4).

Banks register the enterprises they lend to and see only those; the bureau and
auditors see all. A repeated identical registration is a no-op (200); different data
is 409 ``enterprise_differs`` and changes go through ``PUT``, which is audited.
A bank's answers never tell whether another bank knows the enterprise or what it
recorded (SPEC §4; the rules are in ``ledger.enterprises``).
"""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ledger import enterprises as service
from ledger.models import Enterprise

from . import db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, require_roles
from .fields import MAX_CATEGORIES, BoundedList, Code, DateTime, Pattern, Region, Text, category_doc
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("enterprises", __name__, url_prefix="/api/v1/enterprises",
                description="Enterprises (borrowers) by unified social credit code")

READERS = ("bank", *BUREAU_READ)


class EnterpriseIn(Schema):
    credit_code = Code(required=True, validate=validate.Length(max=40),
                                metadata={"example": "91440300708461136T",
                                          "description": "统一社会信用代码, 18 characters with its check digits"})
    name = Text(required=True, validate=validate.Length(max=400), metadata={"example": "江门某某科技有限公司"})
    region = Code(required=True, validate=validate.Length(max=12), metadata={"example": "440703"})
    categories = BoundedList(Code(validate=validate.Length(max=60), metadata=category_doc()), max_items=MAX_CATEGORIES,
                            required=True,
                             metadata={"example": ["tech_sme", "agri_tech"]})


class EnterpriseChangeIn(Schema):
    name = Text(required=True, validate=validate.Length(max=400))
    region = Code(required=True, validate=validate.Length(max=12))
    categories = BoundedList(Code(validate=validate.Length(max=60), metadata=category_doc()), max_items=MAX_CATEGORIES,
                            required=True)
    reason = Text(load_default=None, validate=validate.Length(max=500),
                           metadata={"description": "Why the data changes (kept in the audit log)"})


class EnterpriseOut(Schema):
    credit_code = fields.String()
    name = fields.String()
    region = fields.String()
    categories = fields.List(fields.String(metadata=category_doc()))
    created_at = DateTime()
    updated_at = DateTime()
    outcome = fields.String(metadata={"description": "On registration: created (this bank's first registration "
                                                     "of the code, whether or not another bank knows it) or "
                                                     "unchanged", "enum": ["created", "unchanged"]})
    banks = fields.List(fields.String(), metadata={"description": "Banks that registered it (bureau and auditors only)"})


class EnterpriseQuery(PageQuery):
    region = Region()
    category = Code(validate=Pattern(r"^[a-z_]{2,40}$"))


class ChangeRequestOut(Schema):
    credit_code = fields.String()
    bank = fields.String()
    requested = fields.Dict(metadata={"description": "The bank's record: name, region, categories"})
    current = fields.Dict(metadata={"description": "The master data now"})
    requested_at = DateTime()


class ChangeRequestList(Schema):
    items = fields.List(fields.Nested(ChangeRequestOut))


class DecisionIn(Schema):
    decision = Code(required=True, validate=validate.OneOf(["apply", "reject"]))
    reason = Text(load_default=None, validate=validate.Length(max=500))


def _out(enterprise: Enterprise, outcome: str | None = None, view: service.EnterpriseData | None = None) -> dict:
    # A bank reads its own view (its pending record, or the master data); the bureau the master data.
    data = view or service.view_for(db.session(), enterprise, bank_id_of_caller())
    body = {
        "credit_code": enterprise.credit_code,
        "name": data.name,
        "region": data.region,
        "categories": list(data.categories),
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
        views = service.views_for(db.session(), items, bank_id_of_caller())
        return envelope([_out(e, view=views[e.id]) for e in items], query, total)

    @require_roles("bank")
    @blp.arguments(EnterpriseIn)
    @blp.response(201, EnterpriseOut)
    @blp.alt_response(200, schema=EnterpriseOut, description="This bank registered it before with the same data")
    def post(self, data):  # type: ignore[no-untyped-def]
        """Register an enterprise (bank): 201 the first time this bank registers the code.

        Whether another bank knows the code never shows: the answer is the same 201.
        The same data again from this bank: 200 ``unchanged``; other data from this
        bank: 409 ``enterprise_differs`` naming its fields (change with PUT). A wrong
        check digit in the credit code is 422 with ``details[].code``
        ``credit_code_check_digit`` (or ``credit_code_organisation_check_digit``).
        """
        enterprise, outcome, view = service.register_enterprise(
            db.session(), bank_id=_bank_id(), actor=actor_name(), **data)
        return _out(enterprise, outcome, view), 201 if outcome == "created" else 200


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

        A bank changes the shared master data only while no other bank has registered a
        loan to the enterprise; otherwise its change goes to the bureau as a request —
        409 ``enterprise_shared`` once the bank lends to the enterprise itself (SPEC §4).
        Loans already registered keep the region and categories they were registered with.
        """
        enterprise, outcome, view = service.change_enterprise(
            db.session(), credit_code, bank_id=bank_id_of_caller(), actor=actor_name(), **data)
        if outcome == "referred":
            from .errors import ApiError

            g.commit_despite_error = True  # the request for the bureau is kept
            raise ApiError(409, "enterprise_shared",
                           "Another bank lends to this enterprise: its data is shared and changes go to the bureau. "
                           "Your change is recorded as a request for the bureau.")
        return _out(enterprise, view=view)


@blp.route("/change-requests")
class ChangeRequests(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.response(200, ChangeRequestList)
    def get(self):  # type: ignore[no-untyped-def]
        """Banks' enterprise data waiting for the bureau (bureau roles, auditor)."""
        return {"items": service.pending_requests(db.session())}


@blp.route("/<credit_code>/change-requests/<bank>")
class ChangeRequestDecision(MethodView):
    @require_roles("fund_admin")
    @blp.arguments(DecisionIn)
    @blp.response(200, EnterpriseOut)
    def post(self, data, credit_code: str, bank: str):  # type: ignore[no-untyped-def]
        """Apply a bank's pending enterprise data to the master data, or reject it (fund_admin); audited."""
        enterprise = service.decide_request(db.session(), credit_code, bank, apply=data["decision"] == "apply",
                                            actor=actor_name(), reason=data["reason"])
        return _out(enterprise)


def _bank_id() -> int:
    from .auth import current_user
    from .errors import ApiError

    bank_id = current_user().bank_id
    if bank_id is None:
        raise ApiError(403, "forbidden", "This user acts for no bank.")
    return bank_id
