"""Monthly loan-level reports: per month, which banks reported on time, late, or not at all."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, render_template, request
from sqlalchemy import select

from api import context, db
from ledger import loan_reports
from ledger.errors import DomainError
from ledger.models import Bank, LoanReport

from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .i18n import error_message


@bp.get("/reports")
@roles_required(PAGE_ROLES["subfunds"])
def reports_page():  # type: ignore[no-untyped-def]
    session = db.session()
    today = context.today()
    last_month = today.replace(day=1) - timedelta(days=1)
    period = request.args.get("period") or f"{last_month.year:04d}-{last_month.month:02d}"
    try:
        rows = loan_reports.reporting_status(session, period, today=today)
    except DomainError as exc:
        flash(error_message(exc), "error")
        period = f"{last_month.year:04d}-{last_month.month:02d}"
        rows = loan_reports.reporting_status(session, period, today=today)
    banks = dict(session.execute(select(Bank.id, Bank.code)).all())
    received = session.scalars(select(LoanReport).where(LoanReport.period == period)
                               .order_by(LoanReport.bank_id, LoanReport.sequence)).all()
    return render_template("console/reports.html", period=period, rows=rows, received=received, banks=banks)
