"""Schemes, rule versions and quotes (SPEC §3, §6)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ledger import schemes as service
from ledger.errors import ValidationFailed
from ledger.models import Scheme

from . import db
from .auth import ANY_ROLE, actor_name, require_roles
from .decision import PayerOut, StepOut, decision_dict
from .fields import MAX_CATEGORIES, BoundedList, Code, Date, DateTime, Money, Region, category_doc
from .parsing import Blueprint, loads_strict

blp = Blueprint("schemes", __name__, url_prefix="/api/v1/schemes", description="Schemes, rule versions and quotes")


class RuleVersionOut(Schema):
    scheme = fields.String()
    version = fields.Integer()
    effective_from = fields.Date()
    document_sha256 = fields.String()
    published_by = fields.String()
    published_at = DateTime()


class RuleVersionDocumentOut(RuleVersionOut):
    document = fields.Dict(metadata={"description": "The rule document, normalised (SPEC §3)"})


class SchemeOut(Schema):
    code = fields.String()
    versions = fields.List(fields.Nested(RuleVersionOut))


class QuoteIn(Schema):
    region = Region(required=True, metadata={"example": "440511"})
    categories = BoundedList(Code(validate=validate.Length(min=1, max=40), metadata=category_doc()),
                             max_items=MAX_CATEGORIES, required=True,
                             metadata={"example": ["high_tech", "agri_tech"]})
    loan_principal = Money(required=True, allow_zero=False)
    outstanding_principal = Money(required=True)
    disbursed_on = Date(required=True)


class QuoteOut(Schema):
    scheme = fields.String()
    rule_version = fields.Integer()
    ratio = fields.String(metadata={"example": "0.8000"})
    eligible_loss = fields.String(metadata={"example": "7654321.09"})
    compensation = fields.String(metadata={"example": "5000000.00"})
    payers = fields.List(fields.Nested(PayerOut))
    steps = fields.List(fields.Nested(StepOut))


def _version_out(version) -> dict:  # type: ignore[no-untyped-def]
    return {
        "scheme": version.scheme.code,
        "version": version.version,
        "effective_from": version.effective_from,
        "document_sha256": version.document_sha256,
        "published_by": version.published_by,
        "published_at": version.published_at,
        "document": version.document,
    }


@blp.route("")
class Schemes(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.response(200, SchemeOut(many=True))
    def get(self):  # type: ignore[no-untyped-def]
        """Every scheme with its rule versions."""
        from sqlalchemy import select

        rows = db.session().scalars(select(Scheme).order_by(Scheme.code)).all()
        return [{"code": s.code, "versions": [_version_out(v) for v in s.versions]} for s in rows]


@blp.route("/<code>/rules")
class RuleVersions(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.response(200, RuleVersionOut(many=True))
    def get(self, code: str):  # type: ignore[no-untyped-def]
        """The scheme's rule versions, oldest first."""
        return [_version_out(v) for v in service.get_scheme(db.session(), code).versions]

    @require_roles("fund_admin")
    @blp.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": {"type": "object", "description": "A rule document (SPEC §3), as JSON"}}}})
    @blp.response(201, RuleVersionOut)
    def post(self, code: str):  # type: ignore[no-untyped-def]
        """Publish a rule version (fund_admin); the first one creates the scheme.

        Invalid documents answer 422 ``invalid_rules`` with every problem keyed by its
        path (``region_ratios[1].ratio``). A new version must take effect after the latest.
        """
        document = loads_strict(request.get_data(cache=True))
        if not isinstance(document, dict):
            raise ValidationFailed("A rule document is a JSON object.", code="invalid_rules",
                                   errors={"_document": ["must be an object"]})
        return _version_out(service.publish(db.session(), code, document, actor=actor_name()))


@blp.route("/<code>/rules/<int:version>")
class RuleVersionResource(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.response(200, RuleVersionDocumentOut)
    def get(self, code: str, version: int):  # type: ignore[no-untyped-def]
        """One rule version with its document."""
        return _version_out(service.get_version(db.session(), code, version))


@blp.route("/<code>/quote")
class Quote(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.arguments(QuoteIn)
    @blp.response(200, QuoteOut)
    def post(self, data, code: str):  # type: ignore[no-untyped-def]
        """What the rules in force on ``disbursed_on`` would pay for this loan; records nothing.

        Caps that depend on history (per enterprise, per bank and year) are not applied.
        """
        version, decision = service.quote(db.session(), code, **data)
        return {"scheme": code, "rule_version": version.version, **decision_dict(decision)}
