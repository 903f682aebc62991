"""The sub-funds dashboard: balances and the exposure charts."""

from __future__ import annotations

from fractions import Fraction

from flask import render_template
from sqlalchemy import select

from api import context, db
from ledger.exposure import portfolio_exposure
from ledger.models import Account

from . import charts
from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .i18n import t


def _contributed(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """What each sub-fund's owner paid in (its contributions account), by code."""
    rows = session.execute(select(Account.code, Account.balance).where(Account.code.like("subfund:%:contributions")))
    return {code.split(":")[1]: int(balance) for code, balance in rows}


@bp.get("/subfunds")
@roles_required(PAGE_ROLES["subfunds"])
def subfunds_dashboard():  # type: ignore[no-untyped-def]
    session = db.session()
    funds, schemes = portfolio_exposure(session, context.today())
    contributed = _contributed(session)
    totals = {key: sum(getattr(f, key) for f in funds)
              for key in ("available", "reserved", "paid", "recovered", "contingent")}
    totals["contributed"] = sum(contributed.get(f.code, 0) for f in funds)
    exposure = charts.exposure_chart(
        [charts.Pair(f.code, f.contingent, f.available) for f in funds],
        title=t("chart.exposure"), contingent_label=t("s.contingent"), available_label=t("s.available"))
    leverage = charts.leverage_chart(
        [charts.Leverage(s.code, s.leverage_used,
                         None if s.leverage_limit is None else Fraction(s.leverage_limit)) for s in schemes],
        title=t("chart.leverage"), used_label=t("chart.used"), limit_label=t("chart.limit"))
    return render_template("console/subfunds.html", funds=funds, schemes=schemes, contributed=contributed,
                           totals=totals, exposure_chart=exposure, leverage_chart=leverage)
