"""The hash-chained audit log (SPEC §5).

Services call :func:`record`; the entries are written just before the session
commits (a ``before_commit`` hook), so the lock that serialises the chain is held for
milliseconds and an entry exists exactly when the change it describes was committed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from .models import AuditEntry, AuditHead
from .models.base import utcnow

GENESIS_HASH = "0" * 64
_PENDING = "audit_pending"


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime, uuid.UUID, Decimal)):
        return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    raise TypeError(f"{type(value).__name__} is not audit-serialisable")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: one byte sequence per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def utc_text(moment: datetime) -> str:
    # SQLite hands datetimes back naive; they were written in UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def _fields(seq: int, occurred_at: datetime, actor: str, action: str, entity_type: str,
            entity_id: str, before: Any, after: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "occurred_at": utc_text(occurred_at),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Queue an audit entry for this unit of work (written at commit)."""
    # Round-trip through canonical JSON so what we hash is what the database returns.
    plain_before = json.loads(canonical_json(before)) if before is not None else None
    plain_after = json.loads(canonical_json(after)) if after is not None else None
    session.info.setdefault(_PENDING, []).append(
        dict(actor=actor, action=action, entity_type=entity_type, entity_id=str(entity_id),
             before=plain_before, after=plain_after)
    )


def write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one()
    seq, prev = int(head.seq), head.hash
    rows = []
    for item in pending:
        seq += 1
        occurred_at = utcnow()
        digest = entry_hash(prev, _fields(seq, occurred_at, **item))
        rows.append(dict(seq=seq, occurred_at=occurred_at, prev_hash=prev, hash=digest, **item))
        prev = digest
    session.execute(insert(AuditEntry.__table__), rows)
    session.execute(update(AuditHead.__table__).where(AuditHead.id == 1).values(seq=seq, hash=prev))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Also fired when a SAVEPOINT is released; entries are written once, with the
    # outermost commit, so a savepoint that later rolls back cannot take them along.
    if not session.in_nested_transaction():
        write_pending(session)


_SAVEPOINTS = "audit_savepoints"


@event.listens_for(Session, "after_transaction_create")
def _remember_savepoint(session: Session, transaction) -> None:  # type: ignore[no-untyped-def]
    # Entries recorded inside a savepoint belong to it: remember where it started.
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[id(transaction)] = len(session.info.get(_PENDING, []))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:  # type: ignore[no-untyped-def]
    """A rolled-back savepoint drops only its own entries; a full rollback drops all."""
    if previous_transaction.nested:
        start = session.info.get(_SAVEPOINTS, {}).pop(id(previous_transaction), None)
        if start is not None and _PENDING in session.info:
            del session.info[_PENDING][start:]
    else:
        session.info.pop(_PENDING, None)
        session.info.pop(_SAVEPOINTS, None)


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry as auditors read and export it: its hashed fields plus both hashes."""
    return {
        **_fields(entry.seq, entry.occurred_at, entry.actor, entry.action, entry.entity_type, entry.entity_id,
                  entry.before, entry.after),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH


def verify_chain(session: Session, *, batch: int = 1000) -> ChainReport:
    """Re-hash every entry in order; name the first one that no longer matches."""
    result = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch))
    try:
        return _verify_entries(session, result.scalars())
    finally:
        result.close()  # early returns must not leave a server-side cursor open


def _verify_entries(session: Session, stream: Iterable[AuditEntry]) -> ChainReport:
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    last_seq = 0
    for entry in stream:
        if entry.seq != expected_seq:
            return ChainReport(False, checked, expected_seq,
                               f"entry {expected_seq} is missing (the next entry found is {entry.seq})")
        if entry.prev_hash != prev:
            return ChainReport(False, checked, entry.seq,
                               f"entry {entry.seq} does not follow entry {entry.seq - 1} (removed, inserted or reordered)")
        fields = _fields(entry.seq, entry.occurred_at, entry.actor, entry.action, entry.entity_type,
                         entry.entity_id, entry.before, entry.after)
        if entry_hash(prev, fields) != entry.hash:
            return ChainReport(False, checked, entry.seq, f"entry {entry.seq} was altered: its content no longer matches its hash")
        prev, last_seq = entry.hash, entry.seq
        expected_seq += 1
        checked += 1
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    if int(head.seq) != last_seq or head.hash != prev:
        return ChainReport(False, checked, last_seq + 1,
                           f"the log ends at entry {last_seq} but {head.seq} entries were written (entries removed from the end)")
    return ChainReport(True, checked, head_hash=prev)


def chain_head(session: Session) -> tuple[int, str]:
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    return int(head.seq), head.hash
