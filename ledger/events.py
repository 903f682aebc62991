"""The event outbox and feed (SPEC §4a "Events for banks").

Services call :func:`record_event` in the transaction that makes the change, so an
event exists exactly when its change was committed (a transactional outbox). The row
is inserted at once (deliveries reference it) but gets its feed ``position`` only as
the transaction commits, inside the critical section that serialises the audit chain
(the row lock on ``audit_head``, ledger.audit): positions are therefore handed out in
commit order. A reader paging with ``position > cursor`` can never see position n+1
committed while n is still to come, which an id from a sequence would allow when two
PostgreSQL transactions commit out of id order.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.orm import Session

from rules.money import format_amount

from .errors import ValidationFailed
from .models import AuditHead, Bank, Claim, Clawback, Event, Recovery, Webhook, WebhookDelivery
from .models.base import utcnow

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

_PENDING = "events_pending"
_CURSOR_PREFIX = b"rcl-ev:"


def new_public_id() -> str:
    return "evt_" + secrets.token_hex(12)


def record_event(session: Session, type: str, bank: Bank | int | None, data: dict[str, Any]) -> Event:
    """Write an event of ``type`` for ``bank`` (None: the bureau's only) with this change.

    ``data`` must be JSON as the client will read it (amounts as decimal strings).
    Deliveries to the bank's webhooks that take this type are queued with it.
    """
    if type not in EVENT_TYPES and type != PING:
        raise ValueError(f"unknown event type {type!r}")
    bank_id = bank.id if isinstance(bank, Bank) else bank
    row = Event(public_id=new_public_id(), type=type, bank_id=bank_id, occurred_at=utcnow(), data=data)
    session.add(row)
    session.flush()
    session.info[_PENDING] = session.info.get(_PENDING, 0) + 1
    if bank_id is not None and type != PING:
        hooks = session.scalars(select(Webhook).where(Webhook.bank_id == bank_id, Webhook.deleted_at.is_(None))).all()
        for hook in hooks:
            if "*" in hook.event_types or type in hook.event_types:
                session.add(WebhookDelivery(webhook_id=hook.id, event_id=row.id, next_attempt_at=row.occurred_at))
        session.flush()
    return row


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


def claim_event(session: Session, claim: Claim, type: str, **extra: Any) -> Event:
    """The one-line hook of a claim transition: ``events.claim_event(session, claim, "claim.paid")``."""
    return record_event(session, type, claim.bank_id, claim_data(claim, **extra))


def recovery_event(session: Session, claim: Claim, recovery: Recovery) -> Event:
    """``recovery.recorded``: what the bank reported and the pool's share returned to each payer."""
    return claim_event(session, claim, "recovery.recorded", amount=format_amount(recovery.amount),
                       recovered_on=recovery.recovered_on.isoformat(), returned=format_amount(recovery.returned),
                       lines=recovery.lines)


def clawback_event(session: Session, claim: Claim, clawback: Clawback) -> Event:
    """``claim.clawed_back``: the amount now owed to the payers, and why."""
    return claim_event(session, claim, "claim.clawed_back", amount=format_amount(clawback.amount),
                       reason=clawback.reason, lines=clawback.lines)


def body(row: Event) -> dict[str, Any]:
    """The event as a client reads it, in the feed and in a webhook delivery."""
    return {"id": row.public_id, "type": row.type, "occurred_at": _utc_text(row.occurred_at), "data": row.data}


def _utc_text(moment: datetime) -> str:
    from .audit import utc_text

    return utc_text(moment)


# -- positions at commit ---------------------------------------------------------------


def assign_positions(session: Session) -> None:
    """Give this transaction's events the next feed positions, under the audit lock."""
    if not session.info.pop(_PENDING, 0):
        return
    # The same row lock the audit chain takes (taking it twice is harmless): whoever
    # holds it commits before the next holder reads max(position), so positions
    # increase in commit order. Uncommitted events of other transactions are
    # invisible here, so "position IS NULL" finds exactly this transaction's events.
    session.execute(select(AuditHead.id).where(AuditHead.id == 1).with_for_update())
    ids = session.scalars(select(Event.id).where(Event.position.is_(None)).order_by(Event.id)).all()
    if not ids:
        return
    last = session.scalar(select(func.max(Event.position))) or 0
    session.execute(
        update(Event.__table__).where(Event.__table__.c.id == bindparam("event_id")).values(position=bindparam("pos")),
        [{"event_id": event_id, "pos": last + n} for n, event_id in enumerate(ids, start=1)],
        execution_options={"synchronize_session": False},
    )


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        assign_positions(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:  # type: ignore[no-untyped-def]
    # A rolled-back savepoint leaves the flag set: harmless, the commit finds no rows.
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


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
