"""The event outbox: what banks must react to, written with the change (SPEC §4a)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # A bank pages through its own feed: WHERE bank_id = ? AND position > ? ORDER BY position.
        Index("ix_events_bank_id_position", "bank_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``evt_…``: the body's ``id`` and the deliveries' ``Idempotency-Key``.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Place in the feed: the row is written as its transaction commits, under the
    #: audit chain's lock (ledger.events), so positions follow commit order.
    #: Always set (nullable only as first created).
    position: Mapped[int | None] = mapped_column(unique=True)
    #: ``entity.verb`` (``claim.approved``, ``report.late``, …).
    type: Mapped[str] = mapped_column(String(40))
    #: The bank the event concerns; NULL for bureau-only events (a sub-fund statement).
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
