"""The event outbox and feed (SPEC §4a "Events for banks").

Services call :func:`record_event` in the transaction that makes the change; the
event is written as that transaction commits, inside the critical section that
serialises the audit chain (the row lock on ``audit_head``, ledger.audit), where it
also gets its feed ``position`` (``audit_head.event_seq`` + 1). So an event exists
exactly when its change was committed (a transactional outbox), and positions follow
commit order: a reader paging with ``position > cursor`` can never see position n+1
committed while n is still to come — which ids from a sequence would allow when two
PostgreSQL transactions commit in the opposite order to the one they wrote in.

Deliveries to webhooks are made from the feed by the worker (ledger.worker), so a
request pays one INSERT for its events and nothing more.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from rules.money import format_amount

# Imported first so that the audit chain's before_commit hook runs before ours: events
# pending at that point are written inside its critical section (write_pending_events).
from . import audit
from .errors import ValidationFailed
from .models import AuditHead, Bank, Claim, Clawback, Event, Recovery, Statement
from .models.base import utcnow
from .outbox import PENDING as _PENDING
from .pending import scope_to_savepoints
from .outbox import write_pending_events

#: Every type the ledger emits (``entity.verb``), as SPEC §4a lists them.
EVENT_TYPES = (
    "claim.submitted",
    "claim.returned",
    "claim.resubmitted",
    "claim.reviewed",
    "claim.approved",
    "claim.rejected",
    "claim.withdrawn",
    "claim.paid",
    "claim.clawed_back",
    "recovery.recorded",
    "report.late",
    "report.missing",
    "statement.issued",
)
#: Sent to one webhook on request (a test ping); in the bank's feed like any event.
PING = "webhook.ping"

_CURSOR_PREFIX = b"rcl-ev:"


@dataclass(frozen=True)
class PendingEvent:
    """An event recorded in this transaction, written when it commits."""

    public_id: str
    type: str
    bank_id: int | None
    occurred_at: datetime
    data: dict[str, Any]


def new_public_id() -> str:
    return "evt_" + secrets.token_hex(12)


def record_event(session: Session, type: str, bank: Bank | int | None, data: dict[str, Any]) -> PendingEvent:
    """Record an event of ``type`` for ``bank`` (None: the bureau's only) with this change.

    ``data`` must be JSON as the client will read it (amounts as decimal strings). The
    event is written when the session commits, and vanishes with a rollback.
    """
    if type not in EVENT_TYPES and type != PING:
        raise ValueError(f"unknown event type {type!r}")
    bank_id = bank.id if isinstance(bank, Bank) else bank
    pending = PendingEvent(new_public_id(), type, bank_id, utcnow(), data)
    session.info.setdefault(_PENDING, []).append(pending)
    return pending


def claim_data(claim: Claim, **extra: Any) -> dict[str, Any]:
    """What every claim event carries: enough to act on without reading the claim back."""
    return {
        "claim_id": claim.id,
        "loan_id": claim.loan_id,
        "loan_external_id": claim.loan.external_id,
        "status": claim.status,
        "compensation": format_amount(claim.compensation),
        "approved_amount": format_amount(claim.approved_amount) if claim.approved_amount is not None else None,
        **({"payment_reference": claim.payment_reference, "paid_on": claim.paid_on.isoformat()} if claim.paid_on else {}),
        **extra,
    }


def claim_event(session: Session, claim: Claim, type: str, **extra: Any) -> PendingEvent:
    """The one-line hook of a claim transition: ``events.claim_event(session, claim, "claim.paid")``."""
    return record_event(session, type, claim.bank_id, claim_data(claim, **extra))


def recovery_event(session: Session, claim: Claim, recovery: Recovery) -> PendingEvent:
    """``recovery.recorded``: what the bank reported and the pool's share returned to each payer."""
    return claim_event(session, claim, "recovery.recorded", amount=format_amount(recovery.amount),
                       recovered_on=recovery.recovered_on.isoformat(), returned=format_amount(recovery.returned),
                       lines=recovery.lines)


def clawback_event(session: Session, claim: Claim, clawback: Clawback) -> PendingEvent:
    """``claim.clawed_back``: the amount now owed to the payers, and why."""
    return claim_event(session, claim, "claim.clawed_back", amount=format_amount(clawback.amount),
                       reason=clawback.reason, lines=clawback.lines)


def statement_event(session: Session, statement: Statement) -> PendingEvent:
    """``statement.issued``: for the bank a claim or bank statement is about; a sub-fund's
    statement concerns the bureau only (no bank)."""
    bank_id = None
    if statement.kind == "bank":
        bank_id = session.scalar(select(Bank.id).where(Bank.code == statement.scope))
    elif statement.kind == "claim" and statement.scope.isdigit():
        bank_id = session.scalar(select(Claim.bank_id).where(Claim.id == int(statement.scope)))
    period = {"period_from": statement.period_from.isoformat() if statement.period_from else None,
              "period_to": statement.period_to.isoformat() if statement.period_to else None}
    return record_event(session, "statement.issued", bank_id, {
        "number": statement.number, "kind": statement.kind, "scope": statement.scope, **period,
        "language": statement.language, "sha256": statement.sha256})


def body(row: Event) -> dict[str, Any]:
    """The event as a client reads it, in the feed and in a webhook delivery."""
    return {"id": row.public_id, "type": row.type, "occurred_at": _utc_text(row.occurred_at), "data": row.data}


def _utc_text(moment: datetime) -> str:
    return audit.utc_text(moment)


# -- written at commit --------------------------------------------------------------


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Events usually go out with the audit chain's entries (ledger.audit's hook, which
    # runs first). A transaction that recorded events but no audit entry takes the
    # same lock itself.
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    head = session.execute(select(AuditHead.event_seq).where(AuditHead.id == 1).with_for_update()).one()
    last = write_pending_events(session, int(head.event_seq))
    session.execute(update(AuditHead.__table__).where(AuditHead.id == 1).values(event_seq=last))


scope_to_savepoints(_PENDING)


# -- the feed ------------------------------------------------------------------------------


def encode_cursor(position: int) -> str:
    """Opaque to clients; stable: the same event always has the same cursor."""
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    text = raw[len(_CURSOR_PREFIX):]
    if not raw.startswith(_CURSOR_PREFIX) or not text.isdigit() or len(text) > 18:
        raise ValidationFailed("This is not a cursor the event feed gave out.", code="invalid_cursor",
                               errors={"after": ["unknown cursor"]})
    return int(text)


def feed(session: Session, *, bank_id: int | None, after: int = 0, limit: int = 100,
         types: Sequence[str] | None = None) -> list[Event]:
    """Events after position ``after`` in commit order; a bank's own only when ``bank_id`` is set."""
    query = select(Event).where(Event.position > after)
    if bank_id is not None:
        query = query.where(Event.bank_id == bank_id)
    if types:
        query = query.where(Event.type.in_(tuple(types)))
    return list(session.scalars(query.order_by(Event.position).limit(limit)))
