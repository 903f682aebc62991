"""Append-only, hash-chained audit log (SPEC §5)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    #: 1, 2, 3, … without gaps: a missing number is a removed entry.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    #: Who: a user name, ``cli:<os user>`` or ``system``.
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str] = mapped_column(String(80), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The journal transactions this entry covers, with their journal numbers and the
    #: SHA-256 of their canonical postings (``verifier.canonical``); hashed with the rest.
    journal: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 hex of prev_hash + canonical JSON of the entry's other fields.
    hash: Mapped[str] = mapped_column(String(64))
    #: That canonical JSON itself, exactly the text hashed after prev_hash: verification
    #: hashes it as stored instead of re-serialising the columns above, which must say
    #: what it says (check ``entries``: before, after and journal are stored as the same
    #: canonical text, so the comparison is textual).
    canonical: Mapped[str] = mapped_column(Text)


class AuditHead(Base):
    """One row holding the chain's last seq and hash.

    Appending locks this row, which serialises writers on PostgreSQL (two writers
    must not chain onto the same predecessor) and lets verification notice entries
    cut from the end of the log.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    #: Journal transactions covered so far: the next one gets number journal_seq + 1,
    #: so journal numbers run 1, 2, 3, … in chain order without gaps.
    journal_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Feed position of the last event written (ledger.events): events are written
    #: in this critical section, so positions follow commit order.
    event_seq: Mapped[int] = mapped_column(default=0, server_default="0")


class AuditCheckpoint(Base):
    """A signed statement of the chain's head, as issued (SPEC §5.1).

    Kept so the ledger can show what it has handed out; the evidence is the copy an
    auditor or a bank keeps outside, which nobody inside can re-sign.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True)
    head: Mapped[str] = mapped_column(String(64))
    #: UTC text exactly as signed.
    issued_at: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(16))
    #: Ed25519 signature, base64.
    signature: Mapped[str] = mapped_column(String(100))
    #: Raw public key (base64) that signed it, so a stored checkpoint names its key.
    public_key: Mapped[str] = mapped_column(String(60))
