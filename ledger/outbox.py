"""The bank events a transaction recorded, waiting in its session until the commit
writes them at the next feed positions (``ledger.events`` records them; the audit
chain's commit hook, ``ledger.audit``, calls :func:`write_pending_events` inside
its critical section, so positions follow commit order)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import Event

#: ``session.info`` key of the list of ``ledger.events.PendingEvent`` not yet written.
PENDING = "events_pending"


_INSERT_EVENTS = insert(Event.__table__)  # built once: compiled once, not cache-keyed per commit


def write_pending_events(session: Session, event_seq: int) -> int:
    """Insert this transaction's events after position ``event_seq``; the caller holds
    the audit head's lock and stores the returned new last position."""
    rows, event_seq = pending_event_rows(session, event_seq)
    if rows:
        session.execute(_INSERT_EVENTS, rows)
    return event_seq


def pending_event_rows(session: Session, event_seq: int) -> tuple[list[dict[str, Any]], int]:
    """This transaction's events as rows after position ``event_seq`` (taken from the
    session: the caller writes them), and the new last position."""
    pending: list[Any] = session.info.pop(PENDING, None) or []
    rows = [{"public_id": p.public_id, "type": p.type, "bank_id": p.bank_id, "occurred_at": p.occurred_at,
             "data": p.data, "position": event_seq + n} for n, p in enumerate(pending, start=1)]
    return rows, event_seq + len(pending)
