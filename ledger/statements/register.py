"""The register of issued statements: verifying a file against it, and a row as the API shows it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session


from .. import audit
from ..models import AuditEntry, AuditHead, Statement
from . import signing
from .kinds import NUMBER_RE, _NUMBER_BYTES_RE, Period, as_utc, local_text
from .issuance import filenames


@dataclass(frozen=True)
class Verification:
    #: The bytes are exactly a statement this ledger issued.
    issued: bool
    #: The bytes claim to be one of our statements (its number is in them) but differ.
    altered: bool
    statement: Statement | None
    #: "authentic" | "altered" | "not_in_chain" | "signature_invalid" | "not_issued_here"
    verdict: str
    reason: str


def claimed_numbers(data: bytes) -> list[str]:
    """Statement numbers a PDF carries: in its metadata (plain bytes in our files), else
    in its metadata or first page's text as a PDF reader sees them."""
    found = [m.group(0).decode("ascii") for m in _NUMBER_BYTES_RE.finditer(data)]
    if not found and data.lstrip()[:5] == b"%PDF-":
        found = _numbers_via_reader(data)
    return list(dict.fromkeys(found))


def _numbers_via_reader(data: bytes) -> list[str]:
    try:
        from pypdf import PdfReader
    except ImportError:  # pypdf is a dev dependency; raw bytes cover our own files
        return []
    import warnings

    texts: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            texts += [str(v) for v in (reader.metadata or {}).values()]
            if reader.pages:
                texts.append(reader.pages[0].extract_text() or "")
    except Exception:  # noqa: BLE001 - a damaged or foreign file simply yields nothing
        return []
    return [m.group(0) for text in texts for m in NUMBER_RE.finditer(text)]


def verify_pdf(session: Session, data: bytes) -> Verification:
    """Is ``data`` a statement this ledger issued, unaltered, and which one?"""
    digest = hashlib.sha256(data).hexdigest()
    row = session.scalar(select(Statement).where(Statement.sha256 == digest))
    if row is not None:
        # The register alone is not evidence (an insider can add a row): its issue
        # entry must be in the chain, and a signed statement's signature must hold.
        entry = issue_entry(session, row.number)
        if entry is None or (entry.after or {}).get("sha256") != digest:
            return Verification(False, True, row, "not_in_chain",
                                f"The file matches register entry {row.number}, but the audit chain holds no intact "
                                "issue entry for it: the register entry was not written by this ledger.")
        signed_by = (entry.after or {}).get("signed_by")
        if signed_by is not None:
            check = signing.check_signature(data)
            if not check.valid or check.fingerprint != signed_by:
                reason = check.reason or "it was signed with another certificate than the one recorded at issue"
                return Verification(False, True, row, "signature_invalid",
                                    f"The file matches register entry {row.number}, but its signature does not hold: "
                                    f"{reason}.")
        return Verification(True, False, row, "authentic",
                            f"The file is statement {row.number} exactly as issued on {local_text(row.issued_at)}"
                            f"{', signed by the bureau' if signed_by else ''}, and its issue entry is "
                            f"entry {entry.seq} of the audit chain.")
    numbers = claimed_numbers(data)
    for number in numbers:
        row = session.scalar(select(Statement).where(Statement.number == number))
        if row is not None:
            return Verification(False, True, row, "altered",
                                f"The file carries number {number}, but its bytes differ from the statement issued "
                                f"under that number (SHA-256 {digest}, issued {row.sha256}).")
    if numbers:
        return Verification(False, False, None, "not_issued_here",
                            f"The file carries number {numbers[0]}, which this ledger never issued.")
    return Verification(False, False, None, "not_issued_here", "The file is not a statement issued by this ledger.")


def issue_entry(session: Session, number: str) -> AuditEntry | None:
    """The ``statement.issue`` entry of ``number``, if it is intact and linked into the chain
    (its content re-hashes to its hash, and the next entry, or the head, follows it)."""
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "statement.issue",
                                                    AuditEntry.entity_id == number).order_by(AuditEntry.seq).limit(1))
    if entry is None or entry.hash != audit.rehash(entry):
        return None
    follower = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.seq == entry.seq + 1))
    if follower is None:
        follower = session.scalar(select(AuditHead.hash).where(AuditHead.id == 1))
    return entry if follower == entry.hash else None


def statement_dict(row: Statement) -> dict[str, Any]:
    period = Period(row.period_from, row.period_to) if row.period_from and row.period_to else None
    ascii_name, local_name = filenames(row.kind, row.scope, period, row.language, row.number)
    return {
        "number": row.number,
        "kind": row.kind,
        "scope": row.scope,
        "period_from": row.period_from,
        "period_to": row.period_to,
        "language": row.language,
        "sha256": row.sha256,
        "state_sha256": row.state_sha256,
        "audit_seq": row.audit_seq,
        "audit_hash": row.audit_hash,
        "filename": row.filename,
        "display_filename": local_name,
        "size": row.size,
        "issued_by": row.issued_by,
        "issued_at": as_utc(row.issued_at),
    }
