"""A claim's dossier (SPEC §4a): the documents its bank uploads, checked against the
scheme's ``required_documents`` before a reviewer may recommend approval.

Formats are recognised by their content (the first bytes, and for OFD the package
itself), never by the file name or the client's Content-Type: a reviewer opening a
"PDF" must get a PDF. Documents are append-only; a new upload of a kind supersedes
the older one, which stays listed and readable. The SHA-256 of every upload goes into
the audit chain, so a document swapped in the database later no longer matches it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, schemes
from .errors import InvalidTransition, NotFound, ValidationFailed
from .models import MAX_DOCUMENT_BYTES, Claim, ClaimDocument

#: Kinds every scheme accepts (SPEC §4a); a scheme's ``required_documents`` may add more.
STANDARD_KINDS = ("loan_contract", "iou", "collection_evidence")
KIND_NAMES_ZH = {"loan_contract": "借款合同", "iou": "借据", "collection_evidence": "催收证明"}
#: While the bank is still assembling the claim: once a reviewer has recommended, the
#: dossier is what the recommendation was made on.
UPLOAD_STATUSES = ("submitted", "returned")

_PDF = b"%PDF-"
_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_ZIP = b"PK\x03\x04"


def sniff(data: bytes) -> str | None:
    """The document type of ``data`` from its content, or None if it is none of PDF,
    JPEG, PNG or OFD (GB/T 33190: a ZIP package with ``OFD.xml`` at its root)."""
    if data.startswith(_PDF):
        return "application/pdf"
    if data.startswith(_JPEG):
        return "image/jpeg"
    if data.startswith(_PNG):
        return "image/png"
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                # Only the directory is read; nothing is decompressed.
                if "OFD.xml" in package.namelist():
                    return "application/ofd"
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
    return None


def allowed_kinds(claim: Claim) -> tuple[str, ...]:
    required = schemes.ruleset_of(claim.loan.rule_version).claims.required_documents
    return STANDARD_KINDS + tuple(k for k in required if k not in STANDARD_KINDS)


def upload_document(session: Session, claim: Claim, *, kind: str, filename: str, data: bytes,
                    actor: str) -> ClaimDocument:
    """Add a document to the claim's dossier; the latest of a kind is the current one."""
    if claim.status not in UPLOAD_STATUSES:
        raise InvalidTransition(
            f"Claim {claim.id} is {claim.status}: documents are added while it is submitted or returned.",
            code="dossier_closed", extra={"current_status": claim.status})
    kinds = allowed_kinds(claim)
    if kind not in kinds:
        raise ValidationFailed(f"Unknown document kind {kind!r}.", code="unknown_document_kind",
                               errors={"kind": [f"one of: {', '.join(kinds)}"]})
    if not data:
        raise ValidationFailed("The file is empty.", code="invalid_document", errors={"file": ["empty"]})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed("A document is at most 20 MB.", code="document_too_large",
                               errors={"file": [f"{len(data)} bytes; at most {MAX_DOCUMENT_BYTES}"]})
    content_type = sniff(data)
    if content_type is None:
        raise ValidationFailed("The file is not a PDF, JPEG, PNG or OFD document.", code="unsupported_document",
                               errors={"file": ["not PDF, JPEG, PNG or OFD (recognised by content)"]})
    previous = current_documents(session, claim).get(kind)
    digest = hashlib.sha256(data).hexdigest()
    document = ClaimDocument(claim_id=claim.id, kind=kind, filename=_clean_name(filename), content_type=content_type,
                             size=len(data), sha256=digest, content=data, uploaded_by=actor)
    session.add(document)
    session.flush()
    audit.record(session, actor=actor, action="claim.document", entity_type="claim", entity_id=claim.id,
                 after={"document_id": document.id, "kind": kind, "filename": document.filename,
                        "content_type": content_type, "size": len(data), "sha256": digest,
                        "supersedes": previous.id if previous else None})
    return document


def _clean_name(filename: str | None) -> str:
    # Keep the bank's name for display and download, without any path or control characters.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "document"


def documents_of(session: Session, claim: Claim) -> list[ClaimDocument]:
    """Every document of the claim, oldest first (superseded ones included)."""
    return list(session.scalars(
        select(ClaimDocument).where(ClaimDocument.claim_id == claim.id).order_by(ClaimDocument.id)))


def current_documents(session: Session, claim: Claim) -> dict[str, ClaimDocument]:
    """The current document of each kind: the latest upload."""
    current: dict[str, ClaimDocument] = {}
    for document in documents_of(session, claim):
        current[document.kind] = document
    return current


def get_document(session: Session, claim: Claim, document_id: int) -> ClaimDocument:
    document = session.get(ClaimDocument, document_id)
    if document is None or document.claim_id != claim.id:
        raise NotFound(f"No document {document_id} on claim {claim.id}.", code="document_not_found")
    return document


@dataclass(frozen=True)
class ChecklistItem:
    kind: str
    required: bool
    document: ClaimDocument | None


def checklist(session: Session, claim: Claim) -> list[ChecklistItem]:
    """The dossier against ``required_documents``: required kinds first, then the rest."""
    required = schemes.ruleset_of(claim.loan.rule_version).claims.required_documents
    current = current_documents(session, claim)
    kinds = list(required) + [k for k in STANDARD_KINDS if k not in required]
    kinds += [k for k in current if k not in kinds]
    return [ChecklistItem(k, k in required, current.get(k)) for k in kinds]


def missing_kinds(session: Session, claim: Claim) -> list[str]:
    """Required kinds without a document, in the rule file's order."""
    if not schemes.ruleset_of(claim.loan.rule_version).claims.required_documents:
        return []  # nothing required: nothing to read
    return [item.kind for item in checklist(session, claim) if item.required and item.document is None]


def check_complete(session: Session, claim: Claim) -> None:
    """A reviewer cannot recommend approval while a required kind is missing (SPEC §4a)."""
    missing = missing_kinds(session, claim)
    if missing:
        raise InvalidTransition(
            f"Claim {claim.id} lacks required documents: {', '.join(missing)}.",
            code="documents_missing", extra={"missing": missing})


__all__ = [
    "KIND_NAMES_ZH",
    "STANDARD_KINDS",
    "ChecklistItem",
    "allowed_kinds",
    "check_complete",
    "checklist",
    "current_documents",
    "documents_of",
    "get_document",
    "missing_kinds",
    "sniff",
    "upload_document",
]
