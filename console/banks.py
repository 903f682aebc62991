"""The banks page: each bank's NPL ratio per scheme against its thresholds, and its
portfolio cap per vintage with the utilisation (SPEC §3 ``portfolio_cap_rate``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from flask import abort, render_template
from markupsafe import Markup
from sqlalchemy import select

from api import context, db
from ledger import early_warning
from ledger.loans import npl_figures
from ledger.models import Bank, Loan, RuleVersion, Scheme
from ledger.portfolio import VintageUse, portfolio_use
from ledger.schemes import ruleset_of

from . import charts
from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .i18n import t


@dataclass
class SchemeNpl:
    scheme: str
    ratio: Fraction
    non_performing: int
    outstanding: int
    suspend_registrations: Fraction | None
    suspend_compensation: Fraction | None


@dataclass
class BankView:
    bank: Bank
    npl: list[SchemeNpl] = field(default_factory=list)
    vintages: list[VintageUse] = field(default_factory=list)
    chart: Markup | None = None


def bank_views(session, code: str | None = None) -> list[BankView]:  # type: ignore[no-untyped-def]
    """Every bank's view, or only bank ``code``'s (its own page)."""
    today = context.today()
    views = []
    schemes = {s.id: s for s in session.scalars(select(Scheme))}
    banks = select(Bank).order_by(Bank.code)
    if code is not None:
        banks = banks.where(Bank.code == code)
    for bank in session.scalars(banks):
        view = BankView(bank)
        scheme_ids = session.scalars(select(Loan.scheme_id).where(Loan.bank_id == bank.id).distinct()).all()
        for scheme_id in sorted(scheme_ids, key=lambda i: schemes[i].code):
            bad, outstanding = npl_figures(session, bank.id, scheme_id)
            version = session.scalar(
                select(RuleVersion).where(RuleVersion.scheme_id == scheme_id, RuleVersion.effective_from <= today)
                .order_by(RuleVersion.effective_from.desc()).limit(1))
            pool = ruleset_of(version).pool if version is not None else None
            view.npl.append(SchemeNpl(
                schemes[scheme_id].code, Fraction(bad, outstanding) if outstanding else Fraction(0), bad, outstanding,
                Fraction(pool.npl_suspend_registrations) if pool and pool.npl_suspend_registrations is not None else None,
                Fraction(pool.npl_suspend_compensation) if pool and pool.npl_suspend_compensation is not None else None))
        view.vintages = portfolio_use(session, bank.id)
        if view.vintages:
            view.chart = charts.utilisation_chart(
                [charts.Utilisation(f"{u.scheme} {u.vintage}", u.approved, u.cap) for u in view.vintages],
                title=t("banks.portfolio_chart", bank=bank.code), used_label=t("banks.approved"),
                cap_label=t("banks.cap"))
        views.append(view)
    return views


@bp.get("/banks")
@roles_required(PAGE_ROLES["subfunds"])
def banks_page():  # type: ignore[no-untyped-def]
    return render_template("console/banks.html", views=bank_views(db.session()))


@bp.get("/banks/<code>")
@roles_required(PAGE_ROLES["subfunds"])
def bank_page(code: str):  # type: ignore[no-untyped-def]
    """One bank: its NPL per scheme, its cap utilisation per vintage, a link to its loans."""
    session = db.session()
    views = bank_views(session, code)
    if not views:
        abort(404)
    # The NPL trend per scheme: the early-warning page's series and chart, for this bank.
    trends = []
    for entry in early_warning.series(session, today=context.today(), months=12, bank_id=views[0].bank.id):
        last = entry.months[-1]
        limits = [(name, value) for name, value in (("npl_suspend_registrations", last.suspend_registrations),
                                                    ("npl_suspend_compensation", last.suspend_compensation))
                  if value is not None]
        trends.append(charts.npl_chart([charts.RatioPoint(m.month, m.npl_ratio) for m in entry.months],
                                       limits=limits, title=t("ew.chart", bank=entry.bank, scheme=entry.scheme)))
    return render_template("console/banks.html", views=views, single=True, trends=trends)
