"""Loans: registration (single and bulk CSV/XLSX), events, and banks' NPL ratios
(SPEC §4, issue 4). Banks see only their own loans; another bank's loan is a 404."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from flask import request
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from ledger import asof, bulk, enterprises
from ledger import loans as service
from ledger.errors import ValidationFailed
from ledger.models import LOAN_STATUSES, Bank, Loan, RuleVersion, Scheme
from ledger.schemes import ruleset_of

from . import context, db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, current_user, require_roles
from .errors import ApiError
from .fields import Code, Date, DateTime, Money, Text, category_doc
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import idempotent
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("loans", __name__, url_prefix="/api/v1",
                description="Loan registration (备案), bulk upload, loan events and NPL ratios")

READERS = ("bank", *BUREAU_READ)
#: The bulk endpoint takes the file itself as its body (see api/__init__.py's JSON guard).
BULK_ENDPOINT = "loans.LoanBulk"


@blp.record_once
def _register_raw_body(state) -> None:  # type: ignore[no-untyped-def]
    state.app.config["RAW_BODY_ENDPOINTS"].add(BULK_ENDPOINT)


class Rate(fields.Field):
    """An annual rate as a decimal fraction: "0.0435" (a JSON number is read exactly)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "example": "0.0435"}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        try:
            return service.normalise_rate(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return value


class LoanIn(Schema):
    external_id = Text(required=True,
                                metadata={"description": "The bank's own loan number; registration is idempotent on it",
                                          "example": "JM-2026-000123"})
    scheme = Code(required=True, validate=validate.Length(min=1, max=40), metadata={"example": "GD-KJD"})
    credit_code = Code(required=True, validate=validate.Length(max=40),
                                metadata={"example": "91440300708461136T"})
    principal = Money(required=True, allow_zero=False)
    disbursed_on = Date(required=True)
    maturity_on = Date(required=True)
    interest_rate = Rate(load_default=None, allow_none=True)
    collateral_type = Text(load_default=None, allow_none=True,
                                    validate=validate.Length(max=service.COLLATERAL_MAX),
                                    metadata={"example": "信用"})


class LoanOut(Schema):
    id = fields.Integer()
    external_id = fields.String()
    bank = fields.String()
    scheme = fields.String()
    rule_version = fields.Integer(metadata={"description": "The scheme's rule version frozen on the loan"})
    status = fields.String(metadata={"enum": list(LOAN_STATUSES)})
    credit_code = fields.String()
    enterprise_name = fields.String()
    region = fields.String(metadata={"description": "The borrower's region as registered"})
    categories = fields.List(fields.String(metadata=category_doc()),
                             metadata={"description": "The borrower's categories as registered"})
    principal = Money()
    outstanding = Money()
    disbursed_on = fields.Date()
    maturity_on = fields.Date()
    interest_rate = fields.String(allow_none=True)
    collateral_type = fields.String(allow_none=True)
    default_on = fields.Date(allow_none=True)
    registered_on = fields.Date()
    created_at = DateTime()


class LoanQuery(PageQuery):
    status = Code(validate=validate.OneOf(LOAN_STATUSES))
    scheme = Code()
    credit_code = Code()
    external_id = Code()


class LoanEventIn(Schema):
    type = Code(required=True, validate=validate.OneOf(service.EVENT_TYPES))
    on = Date(required=True, metadata={"description": "When it happened (default: the default date)"})
    amount = Money(load_default=None, allow_none=True, allow_zero=False,
                   metadata={"description": "repayment: the principal repaid (required); default: the outstanding "
                                            "principal at default (optional, may only lower it); repaid: the final "
                                            "repayment, equal to the outstanding (optional)"})


class LoanEventOut(Schema):
    id = fields.Integer()
    type = fields.String()
    on = fields.Date()
    amount = Money(allow_none=True)
    outstanding_after = Money()
    status_after = fields.String()
    created_by = fields.String()
    created_at = DateTime()


class LoanBulkRowError(Schema):
    field = fields.String()
    code = fields.String()
    message = fields.String()


class LoanBulkRowOut(Schema):
    row = fields.Integer(metadata={"description": "Row number as a spreadsheet shows it (header = 1)"})
    external_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["created", "unchanged", "error"]})
    loan_id = fields.Integer(allow_none=True)
    errors = fields.List(fields.Nested(LoanBulkRowError))


class LoanBulkTotals(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    unchanged = fields.Integer()
    failed = fields.Integer()


class LoanBulkOut(Schema):
    totals = fields.Nested(LoanBulkTotals)
    rows = fields.List(fields.Nested(LoanBulkRowOut))


class LoanBulkQuery(Schema):
    rows = Code(load_default="all", validate=validate.OneOf(["all", "errors"]),
                         metadata={"description": "List every row, or only the failed ones"})


class BankNplQuery(Schema):
    scheme = Code(required=True, metadata={"example": "GD-KJD"})
    as_of = Date(metadata={"description": "At the end of this past business day, from the loans' event history"})


class BankNplOut(Schema):
    bank = fields.String()
    scheme = fields.String()
    npl_ratio = fields.String(metadata={"example": "0.0312", "description": "Four decimals, ROUND_HALF_UP"})
    npl_ratio_exact = fields.String(metadata={"example": "39/1250"})
    non_performing = Money(metadata={"description": "Outstanding of defaulted, claimed and compensated loans"})
    outstanding = Money(metadata={"description": "Outstanding of loans not repaid, closed or cancelled"})
    rule_version = fields.Integer(allow_none=True, metadata={"description": "Version in force today (thresholds)"})
    npl_suspend_registrations = fields.String(allow_none=True)
    npl_suspend_compensation = fields.String(allow_none=True)
    suspended_registrations = fields.Boolean()
    suspended_compensation = fields.Boolean()
    on = fields.Date()
    registered = Money(metadata={"description": "Principal registered by that day (cancelled loans left out)"})
    approved_year_to_date = Money(metadata={
        "description": "Compensation approved in that calendar year and standing that day (per_bank_annual_cap)"})
    per_bank_annual_cap = Money(allow_none=True)


def loan_out(loan: Loan) -> dict[str, Any]:
    return {
        "id": loan.id,
        "external_id": loan.external_id,
        "bank": enterprises.bank_code(db.session(), loan.bank_id),
        "scheme": loan.rule_version.scheme.code,
        "rule_version": loan.rule_version.version,
        "status": loan.status,
        "credit_code": loan.enterprise.credit_code,
        "enterprise_name": loan.enterprise.name,
        "region": loan.region,
        "categories": list(loan.categories),
        "principal": loan.principal,
        "outstanding": loan.outstanding,
        "disbursed_on": loan.disbursed_on,
        "maturity_on": loan.maturity_on,
        "interest_rate": loan.interest_rate,
        "collateral_type": loan.collateral_type,
        "default_on": loan.default_on,
        "registered_on": loan.registered_on,
        "created_at": loan.created_at,
    }


def optionally_idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Replay-safe when the client sends an ``Idempotency-Key`` (recommended for
    repayments: a retried one must not lower the outstanding twice); plain otherwise,
    as SPEC §6's contract for loan events has no key."""
    guarded = idempotent(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.headers.get(IDEMPOTENCY_HEADER):
            return guarded(*args, **kwargs)
        return view(*args, **kwargs)

    wrapper.idempotency = "optional"  # type: ignore[attr-defined] # documented by api.contract
    return wrapper


def _caller_bank() -> int:
    bank_id = current_user().bank_id
    if bank_id is None:
        raise ApiError(403, "forbidden", "This user acts for no bank.")
    return bank_id


@blp.route("/loans")
class Loans(MethodView):
    @require_roles(*READERS)
    @blp.arguments(LoanQuery, location="query")
    @blp.response(200, page_schema(LoanOut, "LoanPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """List loans (a bank: its own), oldest first; filter by status, scheme, credit_code, external_id."""
        page, per_page = query.pop("page"), query.pop("per_page")
        items, total = service.list_loans(db.session(), bank_id=bank_id_of_caller(), page=page, per_page=per_page,
                                          **query)
        return envelope([loan_out(x) for x in items], {"page": page, "per_page": per_page}, total)

    @require_roles("bank")
    @blp.arguments(LoanIn)
    @blp.response(201, LoanOut)
    @blp.alt_response(200, schema=LoanOut, description="The same registration was already recorded")
    def post(self, data):  # type: ignore[no-untyped-def]
        """Register a loan (bank) under the rule version in force on its disbursement date.

        Idempotent on the bank's ``external_id``: the same content again answers 200 with the
        existing loan, other content 409 ``external_id_conflict``. Every failed check at once:
        422 ``registration_refused`` with ``details: [{code, field, message}]``.
        """
        loan, created = service.register_loan(db.session(), service.LoanRequest(**data), bank_id=_caller_bank(),
                                              today=context.today(), actor=actor_name())
        return loan_out(loan), 201 if created else 200


@blp.route("/loans/bulk")
class LoanBulk(MethodView):
    @require_roles("bank")
    @blp.arguments(LoanBulkQuery, location="query")
    @blp.doc(requestBody={"required": True, "content": {
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        bulk.XLSX_MIME: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}}},
    }})
    @blp.response(200, LoanBulkOut)
    def post(self, query):  # type: ignore[no-untyped-def]
        """Register loans from a CSV or XLSX file (bank): a row-level report.

        Columns (English or Chinese headers): ``external_id`` 贷款编号, ``scheme`` 方案,
        ``credit_code`` 统一社会信用代码, ``principal`` 贷款本金, ``disbursed_on`` 放款日期,
        ``maturity_on`` 到期日期, optional ``interest_rate`` 利率, ``collateral_type`` 担保方式,
        and ``enterprise_name`` 企业名称, ``region`` 地区代码, ``categories`` 企业类别 to register
        the borrower in the same row. Send the file as the body (``text/csv`` or the XLSX
        type) or as the multipart field ``file``. Re-sending a file changes nothing.
        Rows are committed in batches of 500: a broken upload is completed by sending it again.
        """
        upload = request.files.get("file")
        if upload is not None:
            data, filename, content_type = upload.read(), upload.filename, upload.mimetype
        else:
            data, filename, content_type = request.get_data(cache=False), None, request.mimetype
        if not data:
            raise ValidationFailed("Send the CSV or XLSX file as the body or as the multipart field 'file'.",
                                   code="invalid_file", errors={"file": ["empty"]})
        session = db.session()
        report = bulk.import_loans(session, data, bank_id=_caller_bank(), today=context.today(), actor=actor_name(),
                                   filename=filename, content_type=content_type, commit=session.commit)
        rows = report.rows if query["rows"] == "all" else report.failed
        return {"totals": report.totals, "rows": [r.as_dict() for r in rows]}


@blp.route("/loans/<int:loan_id>")
class LoanResource(MethodView):
    @require_roles(*READERS)
    @blp.response(200, LoanOut)
    def get(self, loan_id: int):  # type: ignore[no-untyped-def]
        """One loan (a bank: only its own; others are 404)."""
        return loan_out(service.get_loan_for(db.session(), loan_id, bank_id_of_caller()))


@blp.route("/loans/<int:loan_id>/events")
class LoanEvents(MethodView):
    @require_roles(*READERS)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_schema(LoanEventOut, "LoanEventPage"))
    def get(self, query, loan_id: int):  # type: ignore[no-untyped-def]
        """The loan's events, oldest first, a page at a time like every list."""
        session = db.session()
        loan = service.get_loan_for(session, loan_id, bank_id_of_caller())
        items, total = service.loan_events(session, loan, page=query["page"], per_page=query["per_page"])
        return envelope(items, query, total)

    @require_roles("bank")
    @optionally_idempotent
    @blp.arguments(LoanEventIn)
    @blp.response(201, LoanOut)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string"},
                          "description": "Optional: a retry with the same key replays the first answer"}])
    def post(self, data, loan_id: int):  # type: ignore[no-untyped-def]
        """Report a repayment, default, repaid or cancel (bank); answers the loan after it.

        ``repayment`` lowers the outstanding principal (``amount`` ≤ outstanding; reaching 0
        does not mark the loan repaid — report ``repaid``). ``default`` sets ``default_on``
        (an optional ``amount`` states the outstanding at default and may only lower it).
        ``cancel`` only while active and never claimed. Any other move is 409
        ``invalid_transition`` with ``current_status``.
        """
        loan, _event = service.record_event(db.session(), loan_id, bank_id=_caller_bank(), today=context.today(),
                                            actor=actor_name(), **data)
        return loan_out(loan)


@blp.route("/banks/<code>/npl")
class BankNpl(MethodView):
    @require_roles(*READERS)
    @blp.arguments(BankNplQuery, location="query")
    @blp.response(200, BankNplOut)
    def get(self, query, code: str):  # type: ignore[no-untyped-def]
        """A bank's NPL ratio in a scheme against the thresholds in force today (a bank: only its own)."""
        session = db.session()
        today = context.today()
        day = query.get("as_of") or today
        if day > today:
            raise ApiError(422, "as_of_in_future", "as_of is a past or today's business day.",
                           errors={"as_of": [f"after today ({today})"]})
        report = service.bank_npl(session, code, query["scheme"], caller_bank_id=bank_id_of_caller(), today=day)
        bank_id = session.scalar(select(Bank.id).where(Bank.code == report.bank))
        scheme_id = session.scalar(select(Scheme.id).where(Scheme.code == report.scheme))
        position = asof.bank_position_as_of(session, bank_id, scheme_id, day)
        if query.get("as_of") is not None:
            # The past day's book from the loan events; the thresholds of the version then in force.
            report = dataclasses.replace(report, ratio=position.npl_ratio, non_performing=position.non_performing,
                                         outstanding=position.outstanding)
        version = session.scalar(select(RuleVersion).where(RuleVersion.scheme_id == scheme_id,
                                                           RuleVersion.effective_from <= day)
                                 .order_by(RuleVersion.effective_from.desc()).limit(1))
        annual_cap = ruleset_of(version).claims.per_bank_annual_cap if version is not None else None
        return {
            "bank": report.bank,
            "scheme": report.scheme,
            "npl_ratio": report.ratio_text,
            "npl_ratio_exact": str(report.ratio),
            "non_performing": report.non_performing,
            "outstanding": report.outstanding,
            "rule_version": report.rule_version,
            "npl_suspend_registrations": _ratio(report.npl_suspend_registrations),
            "npl_suspend_compensation": _ratio(report.npl_suspend_compensation),
            "suspended_registrations": report.suspended_registrations,
            "suspended_compensation": report.suspended_compensation,
            "on": report.on,
            "registered": position.registered,
            "approved_year_to_date": asof.approved_as_of(session, bank_id, scheme_id, day, year=day.year),
            "per_bank_annual_cap": annual_cap,
        }


def _ratio(value: Any) -> str | None:
    return None if value is None else str(value)
