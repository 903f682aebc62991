"""The auditor's tools (SPEC §5, §6): read and verify the audit chain, recompute every
balance from the journal, export the journal and the audit log for offline checks.

Who: the ``auditor`` role, and the bureau's ``fund_admin`` and ``approver``, who answer
for the money and need the same evidence. Reviewers (they work the claim queue) and
banks (the log holds every bank's data) may not. Everything here only reads; the two
checks are POSTs because they are actions someone runs, not resources.
"""

from __future__ import annotations

from flask import Response, current_app, g, stream_with_context
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from ledger import audit, checkpoints, exports, journal, verification
from ledger.errors import InvalidTransition, NotFound
from ledger.models import Account, AuditEntry
from rules.money import format_amount

from . import context, db
from .auth import require_roles
from .fields import Code, Date, Int
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("auditor", __name__, url_prefix="/api/v1", description="Audit log, checks and exports")

AUDIT_ROLES = ("auditor", "fund_admin", "approver")


class AuditQuery(PageQuery):
    entity_type = Code(validate=validate.Length(max=40), metadata={"example": "subfund"})
    entity_id = Code(validate=validate.Length(max=80), metadata={"example": "GD-PROV"})
    action = Code(validate=validate.Length(max=80), metadata={"example": "subfund.contribute"})
    actor = Code(validate=validate.Length(max=120))
    order = Code(load_default="asc", validate=validate.OneOf(("asc", "desc")),
                          metadata={"description": "By sequence number; asc (chain order) keeps pages stable"})


class AuditEntryOut(Schema):
    seq = fields.Integer()
    occurred_at = fields.String(metadata={"description": "UTC, exactly as hashed"})
    actor = fields.String()
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class CheckOut(Schema):
    name = fields.String(metadata={"example": "journal"})
    title = fields.String(metadata={"description": "What the check proves"})
    ok = fields.Boolean()
    checked = fields.Integer(metadata={"description": "Things looked at (entries, transactions, claims …)"})
    problem = fields.String(allow_none=True, metadata={"description": "The first problem found, naming what changed"})
    problems = fields.Integer(metadata={"description": "How many problems this check found"})


class CheckpointOut(Schema):
    seq = fields.Integer(metadata={"description": "The audit entry the checkpoint vouches for"})
    head = fields.String(metadata={"description": "That entry's hash"})
    issued_at = fields.String(metadata={"description": "UTC, exactly as signed"})
    key_id = fields.String(metadata={"description": "First 16 hex digits of SHA-256 over the raw Ed25519 public key"})
    signature = fields.String(metadata={"description": "Ed25519 over canonical JSON of {seq, head, issued_at, key_id}, base64"})


class VerifyIn(Schema):
    checkpoints = fields.List(fields.Dict(), load_default=list,
                              metadata={"description": "Checkpoints kept outside the ledger, as issued"})


class ChainReportOut(Schema):
    ok = fields.Boolean(metadata={"description": "Every check passed"})
    checked = fields.Integer(metadata={"description": "Entries re-hashed"})
    first_broken = fields.Integer(allow_none=True, metadata={"description": "First entry that no longer matches"})
    reason = fields.String(metadata={"description": "Why the chain is broken (empty when it holds)"})
    head_seq = fields.Integer()
    head_hash = fields.String()
    checks = fields.List(fields.Nested(CheckOut), metadata={
        "description": "Every check of `ledger-admin verify`, in order: chain, entries, checkpoints, journal, balances, running_balances, day_closings, claims, register, rules, loan_book"})


class MismatchOut(Schema):
    account = fields.String()
    cached = fields.String(metadata={"example": "1200000.00"})
    recomputed = fields.String()
    difference = fields.String(metadata={"description": "cached - recomputed"})


class JournalCheckOut(Schema):
    ok = fields.Boolean()
    accounts = fields.Integer(metadata={"description": "Accounts recomputed"})
    mismatches = fields.List(fields.Nested(MismatchOut))
    unbalanced = fields.List(fields.String(), metadata={"description": "Transactions whose postings do not sum to zero"})


class JournalExportQuery(Schema):
    from_ = Date(data_key="from", load_default=None, metadata={"description": "Effective on or after"})
    to = Date(load_default=None, metadata={"description": "Effective on or before"})


class AuditExportQuery(Schema):
    after_seq = Int(load_default=0,
                               metadata={"description": "Only entries after this one (incremental exports)"})


def _reader_session():  # type: ignore[no-untyped-def]
    """The checks read a lot: on a read-only session they never hold SQLite's write lock."""
    writer = g.pop("db", None)
    if writer is not None:
        writer.close()  # not rollback(): that would expire the authenticated user
    g.db = current_app.extensions["ledger_readonly_sessions"]()
    return g.db


@blp.route("/audit", endpoint="audit_log")
class AuditLog(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, page_schema(AuditEntryOut, "AuditEntryPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """The audit log, paginated, optionally for one entity (entity_type, entity_id), action or actor."""
        session = db.session()
        base = select(AuditEntry)
        for name in ("entity_type", "entity_id", "action", "actor"):
            if query.get(name):
                base = base.where(getattr(AuditEntry, name) == query[name])
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        order = AuditEntry.seq.asc() if query["order"] == "asc" else AuditEntry.seq.desc()
        rows = session.scalars(base.order_by(order).limit(query["per_page"])
                               .offset((query["page"] - 1) * query["per_page"])).all()
        return envelope([audit.entry_dict(r) for r in rows], query, total)


@blp.route("/audit/verify", endpoint="audit_verify")
class AuditVerify(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.arguments(VerifyIn, required=False)
    @blp.response(200, ChainReportOut)
    def post(self, body=None):  # type: ignore[no-untyped-def]
        """Run every check of `ledger-admin verify` (SPEC §5.1); name the first problem of each.

        Optionally send checkpoints kept outside (`{"checkpoints": [...]}`): each must
        still match the chain. Signatures are checked with the bureau's public key.
        """
        given = [(f"checkpoint {n + 1}", cp) for n, cp in enumerate((body or {}).get("checkpoints", []))]
        report = verification.run(_reader_session(), checkpoints=given, public_key=bureau_public_key())
        return report.as_dict()


def bureau_public_key():  # type: ignore[no-untyped-def]
    path = checkpoints.key_path(current_app.instance_path, current_app.config.get("SIGNING_KEY_PATH"))
    return checkpoints.load_key(path).public_key() if path.exists() else None


@blp.route("/audit/checkpoints", endpoint="audit_checkpoints")
class AuditCheckpoints(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.response(201, CheckpointOut)
    @blp.alt_response(409, description="No signing key: run `ledger-admin keys`")
    def post(self):  # type: ignore[no-untyped-def]
        """Issue a signed checkpoint of the audit chain's head, and keep it (SPEC §5.1)."""
        path = checkpoints.key_path(current_app.instance_path, current_app.config.get("SIGNING_KEY_PATH"))
        if not path.exists():
            raise InvalidTransition("The ledger has no checkpoint signing key yet; run `ledger-admin keys`.",
                           code="no_signing_key")
        return checkpoints.issue(db.session(), checkpoints.load_key(path))


@blp.route("/audit/checkpoints/latest", endpoint="audit_checkpoint_latest")
class AuditCheckpointLatest(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.response(200, CheckpointOut)
    @blp.alt_response(404, description="No checkpoint issued yet")
    def get(self):  # type: ignore[no-untyped-def]
        """The latest checkpoint the ledger issued: keep it, and verify against it later."""
        row = checkpoints.latest(db.session())
        if row is None:
            raise NotFound("No checkpoint has been issued yet.")
        return checkpoints.as_dict(row)


@blp.route("/journal/check", endpoint="journal_check")
class JournalCheck(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.response(200, JournalCheckOut)
    def post(self):  # type: ignore[no-untyped-def]
        """Recompute every balance from the journal and compare with the cached balances."""
        session = _reader_session()
        mismatches = journal.check_balances(session)
        unbalanced = journal.unbalanced_transactions(session)
        accounts = session.scalar(select(func.count()).select_from(Account)) or 0
        return {
            "ok": not mismatches and not unbalanced,
            "accounts": accounts,
            "mismatches": [{"account": m.account, "cached": format_amount(m.cached),
                            "recomputed": format_amount(m.recomputed),
                            "difference": format_amount(m.cached - m.recomputed)} for m in mismatches],
            "unbalanced": [str(t) for t in unbalanced],
        }


def _stream(chunks, mimetype: str, filename: str) -> Response:  # type: ignore[no-untyped-def]
    """Stream ``chunks`` (the export's generator) in this request's context.

    Closing the response closes the generator explicitly: a client that disconnects
    half way must not leave the export's database transaction (and its server-side
    cursor) open until the garbage collector happens to find the generator.
    """
    body = stream_with_context(chunk.encode("utf-8") for chunk in chunks)
    response = Response(body, mimetype=mimetype)
    response.call_on_close(body.close)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _owned_rows(produce, **options):  # type: ignore[no-untyped-def]
    """Rows from ``produce(session, **options)`` on a read-only session of their own,
    opened when streaming starts and closed when it ends (the request's own session is
    closed when the view returns, before the body is streamed)."""
    session = current_app.extensions["ledger_readonly_sessions"]()
    try:
        yield from produce(session, **options)
    finally:
        session.close()


EXPORT_DOC = {"200": {"description": "Streamed export", "content": {
    "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}}


@blp.route("/exports/journal.<any(csv, jsonl):fmt>", endpoint="journal_export")
class JournalExport(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.arguments(JournalExportQuery, location="query")
    @blp.doc(responses=EXPORT_DOC)
    def get(self, query, fmt: str):  # type: ignore[no-untyped-def]
        """Every posting with its transaction, as CSV or JSON Lines; amounts as decimal strings."""
        rows = _owned_rows(exports.journal_rows, start=query["from_"], end=query["to"])
        name = f"journal-{context.today().isoformat()}.{fmt}"
        if fmt == "csv":
            return _stream(exports.as_csv(rows, exports.JOURNAL_COLUMNS), "text/csv", name)
        return _stream(exports.as_jsonl(rows), "application/x-ndjson", name)


@blp.route("/exports/audit.<any(csv, jsonl):fmt>", endpoint="audit_export")
class AuditExport(MethodView):
    @require_roles(*AUDIT_ROLES)
    @blp.arguments(AuditExportQuery, location="query")
    @blp.doc(responses=EXPORT_DOC)
    def get(self, query, fmt: str):  # type: ignore[no-untyped-def]
        """The audit log as CSV or JSON Lines, with what is needed to re-hash the chain offline."""
        rows = _owned_rows(exports.audit_rows, after_seq=query["after_seq"])
        name = f"audit-{context.today().isoformat()}.{fmt}"
        if fmt == "csv":
            return _stream(exports.as_csv(rows, exports.AUDIT_COLUMNS), "text/csv", name)
        return _stream(exports.as_jsonl(rows), "application/x-ndjson", name)
