"""The loan book (issue 17): every bank's registered loans, filtered by bank, scheme,
region (a prefix: ``4407`` is Jiangmen and its counties), status and vintage (the year
of disbursement, as ``ledger.portfolio`` counts it), with totals over the whole
selection and an XLSX export of it (openpyxl, write-only, money as exact decimals)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from flask import Response, render_template, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, func, select

from api import db
from api.fields import Code, Pattern
from ledger.models import LOAN_STATUSES, Bank, Enterprise, Loan, Scheme

from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .forms import load_args
from .i18n import Words, field_errors
from .paging import paginate

#: This page's words, in the catalogs under ``page.loan_book.``.
WORDS = Words("page.loan_book.")


def w(key: str, **params: object) -> str:
    text = WORDS[key]
    return text.format(**params) if params else text


class LoanBookQuery(Schema):
    bank = Code()
    scheme = Code()
    region = Code(validate=Pattern(r"^[0-9]{2,6}$"))
    status = Code(validate=validate.OneOf(LOAN_STATUSES))
    vintage = fields.Integer(strict=False, validate=validate.Range(min=1990, max=2100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


def selection(query: dict) -> Select:  # type: ignore[type-arg]
    stmt = select(Loan).join(Bank, Bank.id == Loan.bank_id).join(Scheme, Scheme.id == Loan.scheme_id)
    if query.get("bank"):
        stmt = stmt.where(Bank.code == query["bank"])
    if query.get("scheme"):
        stmt = stmt.where(Scheme.code == query["scheme"])
    if query.get("region"):
        stmt = stmt.where(Loan.region.startswith(query["region"]))
    if query.get("status"):
        stmt = stmt.where(Loan.status == query["status"])
    if query.get("vintage"):
        year = query["vintage"]
        stmt = stmt.where(Loan.disbursed_on >= date(year, 1, 1), Loan.disbursed_on < date(year + 1, 1, 1))
    return stmt


def _query() -> tuple[dict, str | None]:  # type: ignore[type-arg]
    try:
        return load_args(LoanBookQuery()), None
    except ValidationError as err:
        return {"page": 1}, w("invalid", fields=field_errors(err.messages))  # type: ignore[arg-type]


def _choices(session):  # type: ignore[no-untyped-def]
    return {"banks": session.scalars(select(Bank.code).order_by(Bank.code)).all(),
            "bank_codes": dict(session.execute(select(Bank.id, Bank.code)).all()),
            "schemes": session.scalars(select(Scheme.code).order_by(Scheme.code)).all(),
            "statuses": LOAN_STATUSES}


@bp.get("/loans")
@roles_required(PAGE_ROLES["loans"])
def loan_book():  # type: ignore[no-untyped-def]
    session = db.session()
    query, error = _query()
    stmt = selection(query)
    count, principal, outstanding = 0, 0, 0
    if error is None:
        # Totals over the whole selection, not the page shown.
        sub = stmt.order_by(None).subquery()
        count, principal, outstanding = session.execute(select(
            func.count(), func.coalesce(func.sum(sub.c.principal), 0), func.coalesce(func.sum(sub.c.outstanding), 0))).one()
    page = paginate(session, stmt.order_by(Loan.id), query["page"]) if error is None else None
    return render_template("console/loans.html", page=page, error=error, w=w, args=request.args,
                           totals={"count": count, "principal": int(principal), "outstanding": int(outstanding)},
                           **_choices(session)), 422 if error else 200


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


@bp.get("/loans.xlsx")
@roles_required(PAGE_ROLES["loans"])
def loan_book_xlsx():  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    session = db.session()
    query, error = _query()
    if error is not None:
        return Response(error, status=422, mimetype="text/plain")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(w("title"))
    sheet.append([w(k) for k in ("id", "bank", "external_id", "scheme", "enterprise", "region", "status",
                                 "principal", "outstanding", "disbursed_on", "maturity_on", "default_on")])
    stmt = selection(query).add_columns(Bank.code, Scheme.code, Enterprise.name).join(
        Enterprise, Enterprise.id == Loan.enterprise_id).order_by(Loan.id)
    for loan, bank, scheme, enterprise in session.execute(stmt.execution_options(yield_per=1000)):
        sheet.append([loan.id, bank, loan.external_id, scheme, enterprise, loan.region, loan.status,
                      _yuan(loan.principal), _yuan(loan.outstanding), loan.disbursed_on, loan.maturity_on,
                      loan.default_on])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=loan-book.xlsx"})
