"""The hash-chained audit log (SPEC §5).

Services call :func:`record`; the entries are written just before the session
commits (a ``before_commit`` hook), so the lock that serialises the chain is held for
milliseconds and an entry exists exactly when the change it describes was committed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Insert, Text, bindparam, cast, event, insert, select, update
from sqlalchemy.orm import Session

from verifier.canonical import GENESIS_HASH, canonical_json, entry_fields, entry_hash, utc_text
from verifier.checks import check_head

from .chain import column_mismatches, walk
from .db import BULK_MIN_ROWS, insert_rows, insert_unnested
from .models import AuditEntry, AuditHead, Event
from .models.base import utcnow
from .pending import scope_to_savepoints
from .outbox import pending_event_rows, write_pending_events

__all__ = ["GENESIS_HASH", "canonical_json", "entry_hash", "utc_text", "record", "bind_journal", "entry_row",
           "entry_text", "image_text", "insert_entries"]

_PENDING = "audit_pending"
#: Marks a journal transaction (not an entry) in the pending list.
_JOURNAL = "journal"


def _fields(seq: int, occurred_at: datetime, actor: str, action: str, entity_type: str,
            entity_id: str, before: Any, after: Any, journal: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return entry_fields(seq, utc_text(occurred_at), actor, action, entity_type, entity_id, before, after, journal)


#: Stored as canonical JSON text (not the driver's JSON encoding), so that check
#: ``entries`` can compare them with the hashed text as text.
JSON_COLUMNS = ("before", "after", "journal")


_quote = json.encoder.encode_basestring  # the canonical encoder's string form (ensure_ascii off)
_NULL = "null"


def entry_text(seq: int, occurred_at: str, actor: str, action: str, entity_type: str, entity_id: str,
               before_text: str, after_text: str, journal_text: str = _NULL) -> str:
    """``canonical_json(entry_fields(...))`` from the images already encoded: the fields'
    keys in sorted order around the texts as they are (a bulk upload's after-image is
    encoded once, not again inside the entry). ``journal_text`` "null" leaves the key
    out, as :func:`entry_fields` does for an empty journal."""
    journal = "" if journal_text == _NULL else f',"journal":{journal_text}'
    return (f'{{"action":{_quote(action)},"actor":{_quote(actor)},"after":{after_text},"before":{before_text},'
            f'"entity_id":{_quote(entity_id)},"entity_type":{_quote(entity_type)}{journal},'
            f'"occurred_at":{_quote(occurred_at)},"seq":{int(seq)}}}')


def image_text(image: Any) -> str:
    """An entry's before/after image as the canonical text that is hashed and stored.

    What is hashed must be what the database hands back, re-encoded: JSON turns every
    key into a string, so an image keyed otherwise goes once through its JSON form
    (string keys sort differently from numbers). Images are keyed by names (the
    services build them from literals); their values are encoded once, here."""
    if image is None:
        return _NULL
    if type(image) is dict and all(type(key) is str for key in image):
        return canonical_json(image)
    return canonical_json(json.loads(canonical_json(image)))


def _row(seq: int, occurred_at: datetime, moment: str, prev_hash: str, *, actor: str, action: str,
         entity_type: str, entity_id: str, before_text: str, after_text: str, journal_text: str) -> dict[str, Any]:
    """An audit_entries row with its JSON columns as their canonical text."""
    text = entry_text(seq, moment, actor, action, entity_type, entity_id, before_text, after_text, journal_text)
    return dict(seq=seq, occurred_at=occurred_at, actor=actor, action=action, entity_type=entity_type,
                entity_id=entity_id, before=before_text, after=after_text, journal=journal_text, prev_hash=prev_hash,
                hash=hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest(), canonical=text)


def entry_row(seq: int, occurred_at: datetime, prev_hash: str, *, actor: str, action: str, entity_type: str,
              entity_id: str, before: Any, after: Any, journal: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An audit_entries row for :func:`insert_entries`: its canonical text, hashed after
    ``prev_hash``, and the same content in the columns."""
    row = _row(seq, occurred_at, utc_text(occurred_at), prev_hash, actor=actor, action=action,
               entity_type=entity_type, entity_id=entity_id, before_text=canonical_json(before),
               after_text=canonical_json(after), journal_text=canonical_json(journal or None))
    for name in JSON_COLUMNS:
        row[f"{name}_text"] = row.pop(name)
    return row


@functools.cache
def insert_entries(dialect: str) -> Insert:
    """INSERT for rows from :func:`entry_row`: the JSON columns take their text as given
    (``<column>_text``), not the driver's JSON encoding of a value."""
    values: dict[str, Any] = {}
    for name in JSON_COLUMNS:
        text = bindparam(f"{name}_text", type_=Text())
        values[name] = cast(text, JSON()) if dialect == "postgresql" else text
    return insert(AuditEntry.__table__).values(values)


def _with_text_keys(row: dict[str, Any]) -> dict[str, Any]:
    """A :func:`_row` with its JSON columns' texts under the names :func:`insert_entries` binds."""
    keyed = {name: value for name, value in row.items() if name not in JSON_COLUMNS}
    for name in JSON_COLUMNS:
        keyed[f"{name}_text"] = row[name]
    return keyed


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
    # Encoded now, once: the text is the column's content and goes into the hashed text
    # as it is (entry_text).
    session.info.setdefault(_PENDING, []).append(
        dict(actor=actor, action=action, entity_type=entity_type, entity_id=str(entity_id),
             before_text=image_text(before), after_text=image_text(after))
    )


def bind_journal(session: Session, transaction_id: uuid.UUID, digest: str) -> None:
    """Cover a journal transaction written in this unit of work (SPEC §5.1).

    At commit it gets the next journal number and is listed, with the digest of its
    canonical postings, in the first entry recorded after it (the service's own entry,
    e.g. ``claim.payout`` after the payouts), else the unit of work's last entry, else
    an entry of its own (``journal.post``). Kept in the same pending list as entries so
    a rolled-back savepoint drops it with them.
    """
    session.info.setdefault(_PENDING, []).append({_JOURNAL: {"id": str(transaction_id), "sha256": digest}})


def _group(pending: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Entries paired with the journal transactions each one covers."""
    groups: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    waiting: list[dict[str, Any]] = []
    for item in pending:
        if _JOURNAL in item:
            waiting.append(item[_JOURNAL])
        else:
            groups.append((item, waiting))
            waiting = []
    if waiting:
        if groups:
            groups[-1][1].extend(waiting)
        else:
            groups.append((dict(actor="system", action="journal.post", entity_type="journal",
                                entity_id=waiting[0]["id"], before_text=_NULL, after_text=_NULL), waiting))
    return groups


_heads = AuditHead.__table__
#: Of the table, not the mapped class: a Core statement skips the ORM's execution path.
_LOCK_HEAD = (select(_heads.c.seq, _heads.c.hash, _heads.c.journal_seq, _heads.c.event_seq)
              .where(_heads.c.id == 1).with_for_update())
_MOVE_HEAD = (update(_heads).where(_heads.c.id == 1)
              .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"),
                      journal_seq=bindparam("head_journal_seq"), event_seq=bindparam("head_event_seq")))


def write_pending(session: Session) -> None:
    if not session.info.get(_PENDING):
        return
    # Everything else this transaction writes goes out before the chain's head is
    # locked (commit would flush it after this hook, inside the lock): the head row,
    # which every writer queues on, is held only for the append and the commit.
    session.flush()
    pending = session.info.pop(_PENDING)
    head = session.execute(_LOCK_HEAD).one()
    seq, prev, number = int(head.seq), head.hash, int(head.journal_seq)
    # One moment for the commit's entries: they take effect together, with the commit.
    occurred_at = utcnow()
    moment = utc_text(occurred_at)
    rows = []
    for item, covered in _group(pending):
        seq += 1
        journal_text = _NULL
        if covered:
            journal = []
            for txn in covered:
                number += 1
                journal.append({"n": number, **txn})
            journal_text = canonical_json(journal)
        row = _row(seq, occurred_at, moment, prev, **item, journal_text=journal_text)
        rows.append(row)
        prev = row["hash"]
    if len(rows) >= BULK_MIN_ROWS:
        # A bulk upload's hundreds of entries: COPY on PostgreSQL, the driver's
        # executemany on SQLite, the JSON columns as their canonical text all the same.
        insert_rows(session, AuditEntry.__table__, rows, json_text=JSON_COLUMNS)
    elif session.get_bind().dialect.name == "postgresql":
        _append_in_one_statement(session, rows, int(head.event_seq), seq=seq, hash=prev, journal_seq=number)
        return
    else:
        session.execute(insert_entries(session.get_bind().dialect.name), [_with_text_keys(row) for row in rows])
    # The bank events of this transaction are written in the same critical section,
    # so their feed positions follow commit order too (ledger.events).
    event_seq = write_pending_events(session, int(head.event_seq))
    session.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev, "head_journal_seq": number,
                                 "head_event_seq": event_seq})


#: The columns the append binds as one array each (ledger.db.insert_unnested).
_ENTRY_LISTS = ("seq", "actor", "action", "entity_type", "entity_id", "before", "after", "journal", "prev_hash",
                "hash", "canonical")
_EVENT_LISTS = ("public_id", "type", "bank_id", "occurred_at", "data", "position")


@functools.cache  # built on first use: not at import, which every CLI command pays
def _append_statement() -> Insert:
    """PostgreSQL: the entries, the bank events and the new head in one round trip, as
    data-modifying WITH parts of the entries' INSERT; the entries share one moment."""
    entries, feed = AuditEntry.__table__, Event.__table__
    new_head = _MOVE_HEAD.returning(_heads.c.id).cte("new_head")
    new_events = insert_unnested(feed, _EVENT_LISTS).returning(feed.c.id).cte("new_events")
    return insert_unnested(entries, _ENTRY_LISTS, shared=("occurred_at",)).add_cte(new_head).add_cte(new_events)


def _append_in_one_statement(session: Session, rows: list[dict[str, Any]], event_seq: int, *, seq: int, hash: str,
                             journal_seq: int) -> None:
    """The entries, the bank events and the new head in one statement (the head's lock is
    held from the SELECT in write_pending to the commit; every writer queues on it)."""
    events, event_seq = pending_event_rows(session, event_seq)
    params: dict[str, Any] = {f"{name}_list": [row[name] for row in rows] for name in _ENTRY_LISTS}
    # Encoded as the Core INSERT encoded a JSON value (psycopg's Json: json.dumps).
    params.update({f"{name}_list": [event[name] for event in events] for name in _EVENT_LISTS if name != "data"})
    params["data_list"] = [json.dumps(event["data"]) for event in events]
    params.update(occurred_at=rows[0]["occurred_at"], head_seq=seq, head_hash=hash, head_journal_seq=journal_seq,
                  head_event_seq=event_seq)
    session.execute(_append_statement(), params)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Also fired when a SAVEPOINT is released; entries are written once, with the
    # outermost commit, so a savepoint that later rolls back cannot take them along.
    if not session.in_nested_transaction():
        write_pending(session)




scope_to_savepoints(_PENDING)


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An entry as auditors read and export it: its hashed fields plus both hashes."""
    return {
        **_fields(entry.seq, entry.occurred_at, entry.actor, entry.action, entry.entity_type, entry.entity_id,
                  entry.before, entry.after, entry.journal),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def rehash(entry: AuditEntry) -> str:
    """What ``entry``'s hash should be, from its content and its stored predecessor hash."""
    return entry_hash(entry.prev_hash, _fields(entry.seq, entry.occurred_at, entry.actor, entry.action,
                                               entry.entity_type, entry.entity_id, entry.before, entry.after,
                                               entry.journal))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH


def verify_chain(session: Session, *, batch: int = 20_000) -> ChainReport:
    """Re-hash every entry in order from its stored text, and check that every entry's
    columns say what that text says; name the first entry that no longer matches."""
    walked = walk(session, batch=batch)
    head_seq, head_hash = chain_head(session)
    problems = walked.problems + check_head(walked, head_seq, head_hash)
    if problems:
        return ChainReport(False, walked.checked, walked.first_broken, problems[0])
    altered = column_mismatches(session, limit=1)
    if altered:
        return ChainReport(False, walked.checked, altered[0],
                           f"entry {altered[0]} was altered: its columns no longer say what its hashed text says")
    return ChainReport(True, walked.checked, head_hash=walked.head_hash)


def chain_head(session: Session) -> tuple[int, str]:
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    return int(head.seq), head.hash
