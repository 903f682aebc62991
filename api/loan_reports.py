"""Monthly loan-level reports over the API (SPEC §4a, §6 ``/api/v1/loan-reports``)."""

from __future__ import annotations


from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from ledger import bulk, loan_reports
from ledger.errors import ValidationFailed
from ledger.models import Bank, LoanReport

from . import context, db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, current_user, require_roles
from .errors import ApiError
from .idempotency import idempotent
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint, loads_strict

blp = Blueprint("loan_reports", __name__, url_prefix="/api/v1/loan-reports",
                description="Monthly loan-level reports (贷款月度报送): applied as events, reconciled")
POST_ENDPOINT = "loan_reports.LoanReports"
READERS = ("bank", *BUREAU_READ)
_PERIOD = validate.Regexp(r"^\d{4}-\d{2}\Z", error="a month YYYY-MM")


@blp.record_once
def _register_raw_body(state) -> None:  # type: ignore[no-untyped-def]
    # JSON, CSV, XLSX or multipart: the view reads the body itself.
    state.app.config["RAW_BODY_ENDPOINTS"].add(POST_ENDPOINT)


class ReportLineIn(Schema):
    external_id = fields.String(required=True)
    outstanding_principal = fields.String(required=True, metadata={"example": "850000.00"})
    status = fields.String(required=True, validate=validate.OneOf(["current", "overdue", "default", "repaid"]))
    days_past_due = fields.Integer(load_default=0)
    default_on = fields.Date(metadata={"description": "Required with status default"})


class LoanReportIn(Schema):
    period = fields.String(required=True, validate=_PERIOD, metadata={"example": "2026-05"})
    loans = fields.List(fields.Nested(ReportLineIn), required=True)


class LoanReportQuery(Schema):
    period = fields.String(validate=_PERIOD, metadata={"description": "For a CSV/XLSX body: the month reported"})


class ReportEventOut(Schema):
    external_id = fields.String()
    loan_id = fields.Integer()
    event_id = fields.Integer()
    type = fields.String(metadata={"description": "repayment, default or repaid"})
    on = fields.String(metadata={"format": "date"})
    amount = fields.String(allow_none=True)


class ReportMismatchOut(Schema):
    external_id = fields.String()
    code = fields.String(metadata={"description": "outstanding_above_ledger, reported_live_but_closed, …"})
    message = fields.String()


class LoanReportOut(Schema):
    id = fields.Integer()
    bank = fields.String()
    period = fields.String()
    sequence = fields.Integer(metadata={"description": "1, then 2, 3… for corrections of the month"})
    correction = fields.Boolean()
    received_on = fields.String(metadata={"format": "date"})
    due_on = fields.String(allow_none=True, metadata={"format": "date"})
    late = fields.Boolean()
    lines = fields.Integer()
    unchanged = fields.Integer(metadata={"description": "Lines equal to the month's previous report (skipped)"})
    applied = fields.List(fields.Nested(ReportEventOut))
    missing = fields.List(fields.String(), metadata={"description": "Live loans the report left out"})
    unknown = fields.List(fields.String(), metadata={"description": "External ids the ledger does not know"})
    mismatches = fields.List(fields.Nested(ReportMismatchOut))


class ReportListQuery(PageQuery):
    period = fields.String(validate=_PERIOD)
    bank = fields.String()


class StatusQuery(Schema):
    period = fields.String(required=True, validate=_PERIOD)


class BankStatusOut(Schema):
    bank = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "on_time, late, missing, pending (not yet due) or no_duty"})
    due_on = fields.Date(allow_none=True)
    received_on = fields.Date(allow_none=True)
    reports = fields.Integer(metadata={"description": "Reports received for the month, corrections included"})


class StatusOut(Schema):
    period = fields.String()
    on = fields.Date()
    banks = fields.List(fields.Nested(BankStatusOut))


def report_dict(report: LoanReport) -> dict:  # type: ignore[type-arg]
    bank = db.session().get_one(Bank, report.bank_id)
    return {"id": report.id, "bank": bank.code, **report.result}


def _body_lines(period_query: str | None) -> tuple[str, list[loan_reports.ReportLine], bytes, str, str | None]:
    """(period, lines, raw body, source, filename) from a JSON, CSV, XLSX or multipart body."""
    upload = request.files.get("file")
    if upload is not None:
        try:
            data, filename, content_type = upload.stream.read(), upload.filename, upload.mimetype
        finally:
            upload.close()
        period = request.form.get("period") or period_query
    elif request.mimetype == "application/json":
        data = request.get_data(cache=True)
        try:
            document = loads_strict(data)
        except ValueError:
            raise ApiError(400, "malformed_json", "The request body is not valid JSON.",
                           errors={"body": ["Invalid JSON."]}) from None
        errors = {}
        if not isinstance(document, dict):
            errors["body"] = ["a JSON object {period, loans}"]
        else:
            if not isinstance(document.get("period"), str):
                errors["period"] = ["required: a month YYYY-MM"]
            if not isinstance(document.get("loans"), list):
                errors["loans"] = ["required: a list of loan lines"]
            errors.update({key: ["unknown field"] for key in document if key not in ("period", "loans")})
        if errors:
            raise ApiError(422, "validation_failed", "Some fields are invalid.", errors=errors)
        _start, end = loan_reports.parse_period(document["period"])
        lines = loan_reports.read_lines(document["loans"], period_end=end)
        return document["period"], lines, data, "json", None
    else:
        data, filename, content_type = request.get_data(cache=False), None, request.mimetype
        period = period_query
    if not data:
        raise ValidationFailed("Send the report as JSON, or a CSV/XLSX file with ?period=YYYY-MM.",
                               code="invalid_file", errors={"file": ["empty"]})
    if not period:
        raise ValidationFailed("A CSV or XLSX report needs its month.", code="invalid_period",
                               errors={"period": ["required: ?period=YYYY-MM"]})
    _start, end = loan_reports.parse_period(period)
    lines = loan_reports.read_file(data, period_end=end, filename=filename, content_type=content_type)
    source = "xlsx" if bulk.is_xlsx(data, filename=filename, content_type=content_type) else "csv"
    return period, lines, data, source, filename


@blp.route("")
class LoanReports(MethodView):
    @require_roles(*READERS)
    @blp.arguments(ReportListQuery, location="query")
    @blp.response(200, page_schema(LoanReportOut, "LoanReportPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """Reports received, newest first (a bank: its own)."""
        session = db.session()
        stmt = select(LoanReport)
        if (bank_id := bank_id_of_caller()) is not None:
            stmt = stmt.where(LoanReport.bank_id == bank_id)
        if query.get("bank"):
            stmt = stmt.join(Bank, Bank.id == LoanReport.bank_id).where(Bank.code == query["bank"])
        if query.get("period"):
            stmt = stmt.where(LoanReport.period == query["period"])
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.order_by(LoanReport.id.desc()).limit(query["per_page"])
                               .offset((query["page"] - 1) * query["per_page"])).all()
        return envelope([report_dict(r) for r in rows], query, total)

    @require_roles("bank")
    @idempotent
    @blp.arguments(LoanReportQuery, location="query")
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": LoanReportIn},
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        bulk.XLSX_MIME: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "period": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}},
    }}, parameters=[{"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"}}])
    @blp.response(201, LoanReportOut)
    def post(self, query):  # type: ignore[no-untyped-def]
        """Send the month's loan-level report (bank): applied as the events it implies, reconciled.

        JSON ``{period, loans: [{external_id, outstanding_principal, status, days_past_due,
        default_on?}]}``, or a CSV/XLSX file (headers 贷款编号, 未偿本金, 状态, 逾期天数, 违约日期
        or their English names) with ``?period=YYYY-MM``. A second report for a month is a
        correction: only lines that differ from the previous one are applied.
        """
        period, lines, data, source, filename = _body_lines(query.get("period"))
        report = loan_reports.apply_report(db.session(), bank_id=current_user().bank_id, period=period, lines=lines,
                                           today=context.today(), actor=actor_name(), source=source, body=data,
                                           filename=filename)
        return report_dict(report)


@blp.route("/status")
class ReportStatus(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.arguments(StatusQuery, location="query")
    @blp.response(200, StatusOut)
    def get(self, query):  # type: ignore[no-untyped-def]
        """Per bank: reported on time, late, not at all (missing), or not yet due, for a month."""
        rows = loan_reports.reporting_status(db.session(), query["period"], today=context.today())
        return {"period": query["period"], "on": context.today(),
                "banks": [{"bank": r.bank, "name": r.name, "status": r.status, "due_on": r.due_on,
                           "received_on": r.received_on, "reports": r.reports} for r in rows]}


@blp.route("/<int:report_id>")
class LoanReportResource(MethodView):
    @require_roles(*READERS)
    @blp.response(200, LoanReportOut)
    def get(self, report_id: int):  # type: ignore[no-untyped-def]
        """One report and its reconciliation (a bank: its own)."""
        return report_dict(loan_reports.get_report(db.session(), report_id, bank_id=bank_id_of_caller()))
