"""The audit log: browse it, verify the hash chain, export it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import Response, current_app, g, redirect, render_template, request, session, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from api import context, db
from api.auditor import bureau_public_key
from ledger import audit, exports, verification
from ledger.clock import BUSINESS_TZ
from ledger.models import AuditEntry

from . import audit_view
from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .forms import load_args
from .paging import paginate


class AuditQuery(Schema):
    entity_type = fields.String(load_default=None, validate=validate.Length(max=40))
    entity_id = fields.String(load_default=None, validate=validate.Length(max=80))
    actor = fields.String(load_default=None, validate=validate.Length(max=120))
    action = fields.String(load_default=None, validate=validate.Length(max=60))
    #: Beijing business days, inclusive.
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


def _day_start(day: date) -> datetime:
    """Midnight Beijing time of ``day``, in UTC."""
    return datetime.combine(day, time.min, BUSINESS_TZ).astimezone(timezone.utc)


def _page(query):  # type: ignore[no-untyped-def]
    stmt = select(AuditEntry)
    for name in ("entity_type", "entity_id", "actor", "action"):
        if query.get(name):
            stmt = stmt.where(getattr(AuditEntry, name) == query[name])
    if query.get("date_from"):
        stmt = stmt.where(AuditEntry.occurred_at >= _day_start(query["date_from"]))
    if query.get("date_to"):
        stmt = stmt.where(AuditEntry.occurred_at < _day_start(query["date_to"] + timedelta(days=1)))
    # Newest first: the console is for looking at what just happened.
    return paginate(db.session(), stmt.order_by(AuditEntry.seq.desc()), query["page"])


def _query():  # type: ignore[no-untyped-def]
    try:
        return load_args(AuditQuery())
    except ValidationError:
        return AuditQuery().load({})


@bp.get("/audit")
@roles_required(PAGE_ROLES["audit"])
def audit_log():  # type: ignore[no-untyped-def]
    query = _query()
    report = session.pop("chain_report", None)
    return render_template("console/audit.html", page=_page(query), query=query, report=report,
                           view=audit_view, actions=sorted(audit_view.ACTION_WORDS),
                           entities=sorted(audit_view.ENTITY_WORDS))


@bp.post("/audit/verify")
@roles_required(PAGE_ROLES["audit"])
def audit_verify():  # type: ignore[no-untyped-def]
    """Re-hash the whole chain and show the verdict above the log."""
    # Reading only: swap the POST's writer for a read-only session, so that a long
    # verification never holds SQLite's write lock (as the API's check does).
    writer = g.pop("db", None)
    if writer is not None:
        writer.close()
    g.db = current_app.extensions["ledger_readonly_sessions"]()
    # The same checks, in the same order, as `ledger-admin verify` and the auditor API.
    report = verification.run(g.db, public_key=bureau_public_key())
    # POST-redirect-GET: the verdict rides in the session to the log page, so a reload
    # neither re-posts nor leaves the officer on the POST URL.
    session["chain_report"] = _report_summary(report)
    return redirect(url_for("console.audit_log", **request.args) + "#chain-report", code=303)


def _clip(text: str | None, limit: int = 240) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def _report_summary(report: verification.Report) -> dict:  # type: ignore[type-arg]
    """What the page shows of a verification, small enough for the session cookie."""
    return {
        "ok": report.ok, "chain_ok": report.intact, "checked": report.chain.checked,
        "head_hash": report.head_hash, "first_broken": report.first_broken,
        "chain_problem": _clip(report.reason or None),
        "checks": [{"name": c.name, "title": _clip(c.title, 120), "ok": c.ok, "checked": c.checked,
                    "problem": _clip(c.problem), "problems": c.problems} for c in report.checks],
    }


@bp.get("/audit/export.csv")
@roles_required(PAGE_ROLES["audit"])
def audit_export():  # type: ignore[no-untyped-def]
    """The whole log as CSV, with what is needed to re-hash the chain offline."""
    # The rows are read while the response streams, after the request's own session
    # has been closed by the app-context teardown: the stream opens a read-only session
    # of its own and closes it when it ends (or is cut off).
    factory = current_app.extensions["ledger_readonly_sessions"]

    def chunks():  # type: ignore[no-untyped-def]
        with factory() as session:
            for chunk in exports.as_csv(exports.audit_rows(session, after_seq=0), exports.AUDIT_COLUMNS):
                yield chunk.encode("utf-8")

    response = Response(chunks(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{context.today().isoformat()}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
