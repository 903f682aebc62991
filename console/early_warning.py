"""Early warning: each bank's NPL ratio month by month against the suspension thresholds,
with the flags of SPEC §4a (within a fifth of a threshold, or rising two months running)."""

from __future__ import annotations

from flask import render_template

from api import context, db
from ledger import early_warning

from . import charts
from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .i18n import t


@bp.get("/early-warning")
@roles_required(PAGE_ROLES["subfunds"])
def early_warning_page():  # type: ignore[no-untyped-def]
    entries = early_warning.series(db.session(), today=context.today(), months=12)
    views = []
    for entry in entries:
        last = entry.months[-1]
        limits = [(name, value) for name, value in (("npl_suspend_registrations", last.suspend_registrations),
                                                    ("npl_suspend_compensation", last.suspend_compensation))
                  if value is not None]
        chart = charts.npl_chart([charts.RatioPoint(m.month, m.npl_ratio) for m in entry.months], limits=limits,
                                 title=t("ew.chart", bank=entry.bank, scheme=entry.scheme))
        views.append((entry, chart))
    # Flagged banks first: the page is read for them.
    views.sort(key=lambda v: (not v[0].flagged, v[0].bank, v[0].scheme))
    return render_template("console/early_warning.html", views=views)
