"""The journal and the audit log as CSV or JSON Lines, for checking offline (SPEC §5).

Rows are read in batches (``yield_per``: a server-side cursor on PostgreSQL) and
produced as a stream, so an export of millions of postings never sits in memory.

- Journal: one row per posting, in journal order, with its transaction's fields.
  ``amount`` is signed (debits positive, credits negative, as stored) and ``debit`` /
  ``credit`` repeat it unsigned; all amounts are decimal strings in yuan ("1200000.00").
  Per transaction the amounts sum to zero; per account they sum to its balance (in
  the debit direction).
- Audit log: one row per entry with ``occurred_at`` written exactly as it was hashed,
  so ``sha256(prev_hash + canonical_json({seq, occurred_at, actor, action,
  entity_type, entity_id, before, after[, journal]}))`` recomputes each ``hash`` offline
  (``journal`` only on entries that cover journal transactions; ``verifier.canonical``).
- :func:`write_directory`: everything ``ledger-verify`` needs, as files (SPEC §5.1). Its
  ``audit.chain`` holds the chain's own bytes: one line per entry, exactly what the
  entry's hash is taken over — the previous hash (64 hex digits) followed by the entry's
  canonical JSON as stored — so ``sha256(line)`` is the next line's first 64 characters
  (and, for the last line, the head's hash); ``cut -c65-`` gives the entries as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.money import format_amount

from .audit import GENESIS_HASH, canonical_json, entry_dict, utc_text
from .chain import hashed_rows
from .models import Account, AuditCheckpoint, AuditEntry, AuditHead, JournalTransaction, Posting, Statement

JOURNAL_COLUMNS = (
    "seq", "transaction_id", "effective_on", "kind", "reference", "memo", "reverses", "created_by", "created_at",
    "posting_id", "account", "debit", "credit", "amount",
)
AUDIT_COLUMNS = (
    "seq", "occurred_at", "actor", "action", "entity_type", "entity_id", "before", "after", "journal", "prev_hash",
    "hash",
)


def journal_rows(session: Session, *, start: date | None = None, end: date | None = None,
                 batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Every posting (optionally of transactions dated ``start``..``end``), in journal order."""
    query = (
        select(JournalTransaction.seq, JournalTransaction.id, JournalTransaction.effective_on,
               JournalTransaction.kind, JournalTransaction.reference, JournalTransaction.memo,
               JournalTransaction.reverses_id, JournalTransaction.created_by, JournalTransaction.created_at,
               Posting.id, Account.code, Posting.amount)
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .order_by(JournalTransaction.seq, Posting.id)
    )
    if start is not None:
        query = query.where(JournalTransaction.effective_on >= start)
    if end is not None:
        query = query.where(JournalTransaction.effective_on <= end)
    result = session.execute(query.execution_options(yield_per=batch))
    try:
        for (seq, txn_id, effective_on, kind, reference, memo, reverses, created_by, created_at,
             posting_id, account, amount) in result:
            amount = int(amount)
            yield {
                "seq": seq,
                "transaction_id": str(txn_id),
                "effective_on": effective_on.isoformat(),
                "kind": kind,
                "reference": reference,
                "memo": memo,
                "reverses": str(reverses) if reverses else None,
                "created_by": created_by,
                "created_at": utc_text(created_at),
                "posting_id": posting_id,
                "account": account,
                "debit": format_amount(amount) if amount > 0 else None,
                "credit": format_amount(-amount) if amount < 0 else None,
                "amount": format_amount(amount),
            }
    finally:
        result.close()


def audit_rows(session: Session, *, after_seq: int = 0, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Every audit entry after ``after_seq``, in chain order."""
    result = session.execute(
        select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)
        .execution_options(yield_per=batch)
    )
    try:
        for entry in result.scalars():
            yield entry_dict(entry)
    finally:
        result.close()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    return value


def as_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], *, chunk_rows: int = 500) -> Iterator[str]:
    """RFC 4180 CSV text in chunks: a header line, then the rows (JSON cells as canonical JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    try:
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
            count += 1
            if count % chunk_rows == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    finally:
        _close(rows)
    yield buffer.getvalue()


def as_jsonl(rows: Iterable[dict[str, Any]], *, chunk_rows: int = 500) -> Iterator[str]:
    """One JSON object per line (sorted keys, UTF-8 kept), in chunks."""
    lines: list[str] = []
    try:
        for row in rows:
            lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
            if len(lines) >= chunk_rows:
                yield "\n".join(lines) + "\n"
                lines = []
    finally:
        _close(rows)
    if lines:
        yield "\n".join(lines) + "\n"


def _close(rows: Iterable[Any]) -> None:
    # A consumer that stops early (a client gone half way) closes us: close the row
    # generator too, so its cursor and transaction end now rather than at garbage collection.
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
    return count


def _write_chain(session: Session, path: Path) -> int:
    """``audit.chain``: per entry the previous entry's stored hash and its stored text."""
    count, prev = 0, GENESIS_HASH.encode()
    with path.open("wb") as handle:
        for rows in hashed_rows(session, 20_000):
            hashes = [prev, *(row[1] for row in rows)]
            handle.write(b"".join([before + row[2] + b"\n" for before, row in zip(hashes, rows)]))
            prev = hashes[-1]
            count += len(rows)
    return count


def write_directory(session: Session, directory: Path) -> dict[str, int]:
    """Write ``journal.jsonl``, ``audit.chain``, ``accounts.jsonl``, ``checkpoints.jsonl``,
    ``statements.jsonl`` and ``head.json`` into ``directory``; returns rows per file.

    Read in one transaction (the caller's session) so the files agree with each other.
    """
    directory.mkdir(parents=True, exist_ok=True)
    counts = {
        "journal.jsonl": _write_jsonl(directory / "journal.jsonl", journal_rows(session)),
        "audit.chain": _write_chain(session, directory / "audit.chain"),
        "accounts.jsonl": _write_jsonl(directory / "accounts.jsonl", (
            {"code": code, "normal_side": side, "balance": format_amount(int(balance))}
            for code, side, balance in session.execute(
                select(Account.code, Account.normal_side, Account.balance).order_by(Account.code)))),
        "checkpoints.jsonl": _write_jsonl(directory / "checkpoints.jsonl", (
            {"seq": row.seq, "head": row.head, "issued_at": row.issued_at, "key_id": row.key_id,
             "signature": row.signature}
            for row in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))),
        "statements.jsonl": _write_jsonl(directory / "statements.jsonl", (
            {"number": row.number, "kind": row.kind, "scope": row.scope, "sha256": row.sha256,
             "audit_seq": row.audit_seq, "audit_hash": row.audit_hash, "issued_at": utc_text(row.issued_at)}
            for row in session.scalars(select(Statement).order_by(Statement.id)))),
    }
    head = session.execute(select(AuditHead.seq, AuditHead.hash, AuditHead.journal_seq).where(AuditHead.id == 1)).one()
    (directory / "head.json").write_text(
        json.dumps({"seq": int(head.seq), "hash": head.hash, "journal_seq": int(head.journal_seq)}) + "\n",
        encoding="utf-8")
    return counts


__all__ = ["AUDIT_COLUMNS", "JOURNAL_COLUMNS", "as_csv", "as_jsonl", "audit_rows", "journal_rows", "write_directory"]
