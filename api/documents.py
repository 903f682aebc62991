"""A claim's dossier over the API: the owner bank uploads, the bureau and auditors read
(SPEC §4a, §6 ``POST /api/v1/claims/{id}/documents``)."""

from __future__ import annotations

import io

from flask import request, send_file
from flask.views import MethodView
from marshmallow import Schema, fields

from ledger import claims, dossiers
from ledger.models import MAX_DOCUMENT_BYTES, ClaimDocument

from . import db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, require_roles
from .errors import ApiError
from .fields import DateTime
from .parsing import Blueprint

blp = Blueprint("documents", __name__, url_prefix="/api/v1/claims",
                description="Claim dossiers: documents uploaded by the bank, checked against required_documents")
UPLOAD_ENDPOINT = "documents.Documents"
OWNER_OR_BUREAU = ("bank", *BUREAU_READ)


@blp.record_once
def _register_raw_body(state) -> None:  # type: ignore[no-untyped-def]
    # Multipart, not JSON: exempt from the JSON body guard (api/__init__.py).
    state.app.config["RAW_BODY_ENDPOINTS"].add(UPLOAD_ENDPOINT)


class DocumentOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String(metadata={"description": "As recognised from the content"})
    size = fields.Integer(metadata={"description": "Bytes"})
    sha256 = fields.String(metadata={"description": "Hex SHA-256 of the bytes, also in the audit chain"})
    uploaded_by = fields.String()
    uploaded_at = DateTime()
    current = fields.Boolean(metadata={"description": "False once a later upload of the same kind supersedes it"})


class ChecklistItemOut(Schema):
    kind = fields.String()
    required = fields.Boolean(metadata={"description": "Named in the scheme's required_documents"})
    document_id = fields.Integer(allow_none=True, metadata={"description": "The current document of the kind"})


class DossierOut(Schema):
    items = fields.List(fields.Nested(DocumentOut), metadata={"description": "Every upload, oldest first"})
    checklist = fields.List(fields.Nested(ChecklistItemOut))
    missing = fields.List(fields.String(), metadata={"description": "Required kinds without a document"})


def document_dict(document: ClaimDocument, current: bool = True) -> dict:  # type: ignore[type-arg]
    return {"id": document.id, "kind": document.kind, "filename": document.filename,
            "content_type": document.content_type, "size": document.size, "sha256": document.sha256,
            "uploaded_by": document.uploaded_by, "uploaded_at": document.uploaded_at, "current": current}


def _claim(claim_id: int, *, lock: bool = False):  # type: ignore[no-untyped-def]
    return claims.get_claim(db.session(), claim_id, bank_id=bank_id_of_caller(), lock=lock)


@blp.route("/<int:claim_id>/documents")
class Documents(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.response(200, DossierOut)
    def get(self, claim_id: int):  # type: ignore[no-untyped-def]
        """The claim's dossier: every upload, the checklist against required_documents, what is missing."""
        session = db.session()
        claim = _claim(claim_id)
        everything = dossiers.documents_of(session, claim)
        current_ids = {d.id for d in dossiers.current_documents(session, claim).values()}
        checklist = dossiers.checklist(session, claim)
        return {"items": [document_dict(d, d.id in current_ids) for d in everything],
                "checklist": [{"kind": i.kind, "required": i.required,
                               "document_id": i.document.id if i.document else None} for i in checklist],
                "missing": [i.kind for i in checklist if i.required and i.document is None]}

    @require_roles("bank")
    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["kind", "file"], "properties": {
            "kind": {"type": "string", "example": "loan_contract"},
            "file": {"type": "string", "format": "binary"}}}}}})
    @blp.response(201, DocumentOut)
    def post(self, claim_id: int):  # type: ignore[no-untyped-def]
        """Upload a document (owner bank): PDF, JPEG, PNG or OFD by content, at most 20 MB.

        A new upload of a kind supersedes the previous one, which stays readable.
        413 ``document_too_large`` above 20 MB; 422 ``unsupported_document`` for other formats.
        """
        if request.mimetype != "multipart/form-data":
            raise ApiError(415, "unsupported_media_type", "Send the document as multipart/form-data.",
                           errors={"Content-Type": [f"expected multipart/form-data, got {request.mimetype or 'nothing'}"]})
        upload = request.files.get("file")
        kind = request.form.get("kind")
        problems = {}
        if upload is None:
            problems["file"] = ["required"]
        if not kind:
            problems["kind"] = ["required"]
        if problems:
            raise ApiError(422, "validation_failed", "Some fields are invalid.", errors=problems)
        # Read one byte past the limit: enough to know it is too large without holding more.
        # Large parts are spooled to a temporary file: close it whatever happens next.
        try:
            data = upload.stream.read(MAX_DOCUMENT_BYTES + 1)  # type: ignore[union-attr]
        finally:
            upload.close()  # type: ignore[union-attr]
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "document_too_large", "A document is at most 20 MB.",
                           errors={"file": [f"more than {MAX_DOCUMENT_BYTES} bytes"]})
        document = dossiers.upload_document(db.session(), _claim(claim_id, lock=True), kind=kind,  # type: ignore[arg-type]
                                            filename=upload.filename or "", data=data,  # type: ignore[union-attr]
                                            actor=actor_name())
        return document_dict(document)


@blp.route("/<int:claim_id>/documents/<int:document_id>")
class DocumentContent(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.doc(responses={"200": {"description": "The document's bytes", "content": {
        "application/pdf": {}, "image/jpeg": {}, "image/png": {}, "application/ofd": {}}}})
    def get(self, claim_id: int, document_id: int):  # type: ignore[no-untyped-def]
        """Download a document as uploaded (superseded ones too); ``ETag`` is its SHA-256."""
        document = dossiers.get_document(db.session(), _claim(claim_id), document_id)
        response = send_file(io.BytesIO(document.content), mimetype=document.content_type, as_attachment=True,
                             download_name=document.filename, etag=document.sha256, conditional=True)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
