"""A claim's dossier (SPEC §4a): the documents its bank uploaded, bytes included."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

#: The formats a dossier accepts, recognised by content, never by name or header.
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "application/ofd")
#: 20 MB per document (SPEC §4a).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class ClaimDocument(Base):
    """One uploaded document. Append-only: a new upload of the same kind supersedes the
    older one, which stays readable (the latest of a kind is the current one)."""

    __tablename__ = "claim_documents"
    __table_args__ = (
        CheckConstraint(f"size > 0 AND size <= {MAX_DOCUMENT_BYTES}", name="size_range"),
        CheckConstraint(
            "content_type IN ('application/pdf', 'image/jpeg', 'image/png', 'application/ofd')",
            name="content_type",
        ),
        Index("ix_claim_documents_claim_id_kind", "claim_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    #: ``loan_contract``, ``iou``, ``collection_evidence`` or a kind the scheme names.
    kind: Mapped[str] = mapped_column(String(40))
    #: The name the bank gave the file (shown, and offered on download).
    filename: Mapped[str] = mapped_column(String(255))
    #: As sniffed from the bytes.
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    #: Hex SHA-256 of the bytes; also in the audit entry of the upload.
    sha256: Mapped[str] = mapped_column(String(64))
    #: The bytes themselves: one database backup holds the whole dossier. Deferred, so
    #: that listing a dossier never loads megabytes.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
