"""PDF statements: download (issuing on demand), the register, verification (SPEC §6).

Downloading a statement *issues* it: the first request for a given state registers a
number (a register row and an audit entry), later requests for the same unchanged
state get the same number and the same bytes. So even the GET endpoints write, and
they use a writer session (on SQLite, a GET's read-only session must not be upgraded
to a writer half way through).

Who may download what: a bank its own claims' statements and its own bank statement
(another bank's is a 404, never a 403 that confirms it exists); the bureau roles and
auditors everything. Sub-fund statements are the bureau's and auditors'.
"""

from __future__ import annotations

import io
from tempfile import SpooledTemporaryFile
from typing import IO
from urllib.parse import quote

from flask import Response, current_app, g, request, send_file
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from ledger.statements import copies
from ledger import statements as service
from ledger.errors import NotFound
from ledger.models import Claim, Statement
from pdf.fonts import load_font

from . import context, db
from .auth import ANY_ROLE, BUREAU_READ, actor_name, bank_id_of_caller, current_user, require_roles
from .errors import ApiError
from .fields import Code, Date, DateTime
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("statements", __name__, url_prefix="/api/v1", description="PDF statements: download, register, verify")

#: Statements up to this size are spooled in memory, larger ones on disk.
SPOOL_MEMORY = 2 * 1024 * 1024
VERIFY_ENDPOINT = "statements.verify"

PDF_RESPONSE = {
    "200": {
        "description": "The statement as a PDF (Content-Disposition names it; X-Statement-Number and "
                       "X-Statement-SHA256 identify it in the register).",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@blp.record_once
def _setup(state) -> None:  # type: ignore[no-untyped-def]
    # The verify endpoint takes the PDF itself, not JSON.
    state.app.config["RAW_BODY_ENDPOINTS"].add(VERIFY_ENDPOINT)
    # Find the CJK font now (once per process), so that a machine without one says so
    # in its log at start-up, not first when someone downloads a statement.
    load_font(state.app.config.get("PDF_FONT_PATH") or None)


class LangQuery(Schema):
    lang = Code(load_default="zh", validate=validate.OneOf(service.LANGS),
                         metadata={"description": "zh (default) or en"})


class PeriodQuery(LangQuery):
    from_ = Date(data_key="from", load_default=None,
                        metadata={"description": "First day; default the first day of the month of 'to'"})
    to = Date(load_default=None, metadata={"description": "Last day; default today (not after today)"})


class StatementOut(Schema):
    number = fields.String(metadata={"example": "BCJ-2026-000001"})
    kind = fields.String(metadata={"description": "claim | subfund | bank"})
    scope = fields.String(metadata={"description": "Claim id, sub-fund code or bank code"})
    period_from = fields.Date(allow_none=True)
    period_to = fields.Date(allow_none=True)
    language = fields.String()
    sha256 = fields.String(metadata={"description": "SHA-256 of the PDF as issued"})
    state_sha256 = fields.String(metadata={"description": "SHA-256 of the ledger state it shows (printed on it)"})
    audit_seq = fields.Integer(metadata={"description": "Audit-chain head when issued"})
    audit_hash = fields.String()
    filename = fields.String()
    display_filename = fields.String(metadata={"description": "The file name in the statement's language"})
    size = fields.Integer()
    issued_by = fields.String()
    issued_at = DateTime()


class StatementListQuery(PageQuery):
    kind = Code(validate=validate.OneOf(service.KINDS))
    scope = Code(validate=validate.Length(max=60))


class VerifyOut(Schema):
    issued = fields.Boolean(metadata={"description": "The file is exactly a statement this ledger issued"})
    altered = fields.Boolean(metadata={"description": "It carries one of our statement numbers but its bytes differ"})
    verdict = fields.String(metadata={"description": "authentic | altered | not_in_chain (registered, but no intact "
                                                     "issue entry in the audit chain) | signature_invalid | not_issued_here"})
    reason = fields.String()
    statement = fields.Nested(StatementOut, allow_none=True,
                              metadata={"description": "The register entry it is (or claims to be)"})


def _writer_session() -> Session:
    """Swap the request's read-only session (used to authenticate) for a writer."""
    reader = g.pop("db", None)
    if reader is not None:
        reader.close()  # not rollback(): that would expire the authenticated user
    g.db = current_app.extensions["ledger_sessions"]()
    return g.db


def _reader_session() -> Session:
    """Swap a POST's writer session for a read-only one (verification writes nothing
    and must not hold SQLite's write lock while it reads)."""
    writer = g.pop("db", None)
    if writer is not None:
        writer.close()  # not rollback(): that would expire the authenticated user
    g.db = current_app.extensions["ledger_readonly_sessions"]()
    return g.db


class _ClosingReader(io.RawIOBase):
    """The spooled PDF as send_file streams it, closed (and its temporary file removed)
    as soon as the last byte is read, or when the server closes the response early."""

    def __init__(self, spool: IO[bytes]) -> None:
        super().__init__()
        self._spool = spool

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._spool.read(size)
        if not data:
            self.close()
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._spool.close()
        super().close()


def content_disposition(ascii_name: str, local_name: str) -> str:
    """RFC 6266 with an ASCII ``filename`` for old clients and the real one as RFC 5987."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(local_name, safe='')}"


def _issue(kind: str, scope: str, lang: str, start=None, end=None) -> Response:  # type: ignore[no-untyped-def]
    # An auditor reads: a copy of the statement issued for this state, or 409
    # statement_not_issued — never a new register entry (ledger.statements.copies).
    read_only = copies.issues_nothing(current_user().roles)
    session = _reader_session() if read_only else db.session()
    today = context.today()
    period = None if kind == "claim" else service.parse_period(start, end, today=today)
    font = load_font(current_app.config.get("PDF_FONT_PATH") or None)
    spool = SpooledTemporaryFile(max_size=SPOOL_MEMORY)
    try:
        if read_only:
            issued = copies.copy_of_issued(session, kind, scope, period, lang, current_app.config["FUND_NAME"],
                                           spool, today=today, font=font)
        else:
            issued = service.issue_statement_to(session, kind, scope, period, lang, actor_name(),
                                                current_app.config["FUND_NAME"], spool, today=today, font=font)
    except BaseException:
        spool.close()
        raise
    row = issued.statement
    ascii_name, local_name = service.filenames(row.kind, row.scope, period, row.language, row.number)
    spool.seek(0)
    body = _ClosingReader(spool)
    response = send_file(body, mimetype="application/pdf", as_attachment=True, download_name=ascii_name,
                         conditional=False, etag=issued.sha256, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(ascii_name, local_name)
    response.content_length = issued.size
    response.headers["X-Statement-Number"] = row.number
    response.headers["X-Statement-SHA256"] = issued.sha256
    response.headers["X-Statement-State-SHA256"] = row.state_sha256
    response.headers["X-Statement-Pages"] = str(issued.pages)
    response.headers["Cache-Control"] = "private, no-cache"
    response.call_on_close(body.close)
    return response


@blp.route("/claims/<int:claim_id>/statement.pdf", endpoint="claim_statement")
class ClaimStatement(MethodView):
    @require_roles("bank", *BUREAU_READ)
    @blp.arguments(LangQuery, location="query")
    @blp.doc(responses=PDF_RESPONSE)
    def get(self, query, claim_id: int):  # type: ignore[no-untyped-def]
        """The compensation statement (补偿结算单) of a paid claim; 409 claim_not_paid otherwise."""
        session = _writer_session()
        claim = session.get(Claim, claim_id)
        bank_id = bank_id_of_caller()
        if claim is None or (bank_id is not None and claim.bank_id != bank_id):
            raise NotFound(f"No claim {claim_id}.", code="claim_not_found")
        return _issue("claim", str(claim_id), query["lang"])


@blp.route("/subfunds/<code>/statement.pdf", endpoint="subfund_statement")
class SubFundStatement(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.arguments(PeriodQuery, location="query")
    @blp.doc(responses=PDF_RESPONSE)
    def get(self, query, code: str):  # type: ignore[no-untyped-def]
        """A sub-fund's statement (资金对账单) for a period: opening, movements with running balance, closing."""
        _writer_session()
        return _issue("subfund", code, query["lang"], query["from_"], query["to"])


@blp.route("/banks/<code>/statement.pdf", endpoint="bank_statement")
class BankStatement(MethodView):
    @require_roles("bank", *BUREAU_READ)
    @blp.arguments(PeriodQuery, location="query")
    @blp.doc(responses=PDF_RESPONSE)
    def get(self, query, code: str):  # type: ignore[no-untyped-def]
        """A bank's statement (银行对账单) for a period: claims, money, NPL ratio, caps (the bank itself, bureau, auditor)."""
        if bank_id_of_caller() is not None:
            bank = current_user().bank
            if bank is None or bank.code != code:
                raise NotFound(f"No bank {code}.", code="bank_not_found")
        _writer_session()
        return _issue("bank", code, query["lang"], query["from_"], query["to"])


def _visible(query):  # type: ignore[no-untyped-def]
    """Banks see their own claim and bank statements only."""
    bank_id = bank_id_of_caller()
    if bank_id is None:
        return query
    own_claims = select(cast(Claim.id, String)).where(Claim.bank_id == bank_id)
    bank = current_user().bank
    return query.where(or_(
        (Statement.kind == "claim") & Statement.scope.in_(own_claims),
        (Statement.kind == "bank") & (Statement.scope == (bank.code if bank else "")),
    ))


@blp.route("/statements", endpoint="list")
class Statements(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.arguments(StatementListQuery, location="query")
    @blp.response(200, page_schema(StatementOut, "StatementPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """The register of issued statements, newest first (banks: their own)."""
        session = db.session()
        base = _visible(select(Statement))
        if query.get("kind"):
            base = base.where(Statement.kind == query["kind"])
        if query.get("scope"):
            base = base.where(Statement.scope == query["scope"])
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.scalars(base.order_by(Statement.id.desc()).limit(query["per_page"])
                               .offset((query["page"] - 1) * query["per_page"])).all()
        return envelope([service.statement_dict(r) for r in rows], query, total)


@blp.route("/statements/<number>", endpoint="read")
class StatementResource(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.response(200, StatementOut)
    def get(self, number: str):  # type: ignore[no-untyped-def]
        """One register entry by statement number."""
        row = db.session().scalar(_visible(select(Statement)).where(Statement.number == number))
        if row is None:
            raise NotFound(f"No statement {number}.", code="statement_not_found")
        return service.statement_dict(row)


@blp.route("/statements/verify", endpoint="verify")
class StatementVerify(MethodView):
    @require_roles(*ANY_ROLE)
    @blp.doc(requestBody={
        "required": True,
        "description": "The PDF file: the raw bytes as application/pdf, or multipart/form-data with a 'file' part.",
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}}},
        },
    })
    @blp.response(200, VerifyOut)
    def post(self):  # type: ignore[no-untyped-def]
        """Is this PDF a statement this ledger issued, unaltered, and which?"""
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ApiError(422, "validation_failed", "Send the PDF in a form part named 'file'.",
                               errors={"file": ["Missing data for required field."]})
            data = upload.read()
        elif request.mimetype in ("application/pdf", "application/octet-stream"):
            data = request.get_data(cache=False)
        else:
            raise ApiError(415, "unsupported_media_type",
                           "Send the PDF as application/pdf, or as multipart/form-data with a 'file' part.",
                           errors={"Content-Type": [f"got {request.mimetype or 'nothing'}"]})
        if not data:
            raise ApiError(422, "validation_failed", "The PDF is empty.", errors={"file": ["empty"]})
        session = _reader_session()
        result = service.verify_pdf(session, data)
        row = result.statement
        if row is not None and session.scalar(_visible(select(Statement.id)).where(Statement.id == row.id)) is None:
            # A bank holding another bank's statement learns whether it is authentic,
            # never the register entry (GET /statements/{number} is a 404 for it too).
            return {"issued": result.issued, "altered": result.altered, "verdict": result.verdict,
                    "reason": _BLIND_REASONS[result.verdict], "statement": None}
        return {
            "issued": result.issued,
            "altered": result.altered,
            "verdict": result.verdict,
            "reason": result.reason,
            "statement": service.statement_dict(row) if row is not None else None,
        }


_BLIND_REASONS = {
    "authentic": "The file is a statement issued by this ledger, exactly as issued.",
    "altered": "The file carries the number of a statement issued by this ledger, but its bytes differ from it.",
    "not_in_chain": "The file matches a register entry that the audit chain does not vouch for.",
    "signature_invalid": "The file matches a register entry, but its signature does not hold.",
}
