"""Statements: the register, and issuing a sub-fund, bank or claim statement for download.

The API's download URLs want a bearer token, which a browser at the console does not
hold, so the console issues through the same service (``ledger.statements``): the
first download of a ledger state registers a number and an audit entry, a later one
of the unchanged state gets the same number and the same bytes. Issuing writes, so it
is a POST form (with its CSRF token), answered with the PDF itself.
"""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from api import context, db
from ledger.statements import copies
from ledger import statements as service
from ledger.errors import DomainError
from ledger.models import Bank, Statement, SubFund
from pdf.fonts import load_font

from .auth import PAGE_ROLES, current_user, roles_required, safe_next
from .blueprint import bp
from .forms import load_form
from .i18n import current_lang, error_message, field_errors, t
from .paging import paginate


class IssueIn(Schema):
    #: ``subfund:CODE``, ``bank:CODE`` or ``claim:ID``.
    target = fields.String(required=True, validate=validate.Regexp(r"^(subfund|bank|claim):[A-Za-z0-9_-]{1,60}\Z"))
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    lang = fields.String(load_default=None, validate=validate.OneOf(service.LANGS))


class RegisterQuery(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(service.KINDS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


@bp.get("/statements")
@roles_required(PAGE_ROLES["statements"])
def statements_page():  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        query = RegisterQuery().load({k: v for k, v in request.args.items() if k in ("kind", "page") and v})
    except ValidationError:
        query = RegisterQuery().load({})
    stmt = select(Statement)
    if query["kind"]:
        stmt = stmt.where(Statement.kind == query["kind"])
    page = paginate(session, stmt.order_by(Statement.id.desc()), query["page"])
    today = context.today()
    return render_template(
        "console/statements.html", page=page, kind=query["kind"], kinds=service.KINDS,
        subfunds=list(session.scalars(select(SubFund.code).order_by(SubFund.code))),
        banks=list(session.scalars(select(Bank.code).order_by(Bank.code))),
        default_from=today.replace(day=1), default_to=today,
    )


def _content_disposition(ascii_name: str, local_name: str) -> str:
    """RFC 6266: an ASCII name for old clients and the real one as RFC 5987."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(local_name, safe='')}"


@bp.post("/statements/issue")
@roles_required(PAGE_ROLES["statements"])
def issue_statement():  # type: ignore[no-untyped-def]
    session = db.session()
    back = safe_next(request.form.get("next")) or url_for(".statements_page")
    try:
        data = load_form(IssueIn())
        kind, _, scope = data["target"].partition(":")
        today = context.today()
        period = None if kind == "claim" else service.parse_period(data["from_"], data["to"], today=today)
        lang = data["lang"] or current_lang()
        buffer = io.BytesIO()
        font = load_font(current_app.config.get("PDF_FONT_PATH") or None)
        if copies.issues_nothing(current_user().roles):
            # An auditor downloads what was issued; it never issues (ledger.statements.copies).
            issued = copies.copy_of_issued(session, kind, scope, period, lang, current_app.config["FUND_NAME"],
                                           buffer, today=today, font=font)
        else:
            issued = service.issue_statement_to(
                session, kind, scope, period, lang, current_user().name, current_app.config["FUND_NAME"], buffer,
                today=today, font=font)
    except ValidationError as err:
        session.rollback()
        flash(t("form.invalid", fields=field_errors(err.messages)), "error")  # type: ignore[arg-type]
        return redirect(back)
    except DomainError as exc:
        session.rollback()
        flash(error_message(exc), "error")
        return redirect(back)
    row = issued.statement
    ascii_name, local_name = service.filenames(row.kind, row.scope, period, row.language, row.number)
    buffer.seek(0)
    response = send_file(buffer, mimetype="application/pdf", as_attachment=True, download_name=ascii_name,
                         max_age=0)
    response.headers["Content-Disposition"] = _content_disposition(ascii_name, local_name)
    response.headers["X-Statement-Number"] = row.number
    response.headers["X-Statement-SHA256"] = issued.sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response

