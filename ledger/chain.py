"""Reading the audit chain back for verification (SPEC §5.1).

- :func:`walk`: re-hash every entry from the bytes it was hashed over, as stored (the
  previous entry's hash and its ``canonical`` text), read with a lean cursor in large batches.
- :func:`column_mismatches`: the entries whose columns (actor, action, before, after,
  journal, …) no longer say what their hashed text says: one set-based comparison in
  SQL, text against text (the JSON columns are stored as canonical JSON).
- :func:`read_facts`: what the other checks need from the chain (journal coverage,
  money entries, statement issues), queried from those columns — sound because
  ``column_mismatches`` ties them to the hashed text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from verifier import checks as pure
from verifier.canonical import GENESIS_HASH

_BATCH = 20_000

#: The canonical text the columns of an entry describe, built in SQL (keys sorted, as
#: verifier.canonical writes them). Strings are quoted by the database's own JSON
#: quoting, which escapes exactly what Python's json does with ensure_ascii off. SQLite
#: holds occurred_at as UTC text, "YYYY-MM-DD HH:MM:SS.ffffff", which is all SQLAlchemy
#: reads of it (a suffix would be ignored, so it is here too).
_EXPECTED = {
    "sqlite": """'{"action":' || json_quote(action) || ',"actor":' || json_quote(actor)
        || ',"after":' || after || ',"before":' || before
        || ',"entity_id":' || json_quote(entity_id) || ',"entity_type":' || json_quote(entity_type)
        || CASE WHEN journal IS NULL OR journal = 'null' THEN '' ELSE ',"journal":' || journal END
        || ',"occurred_at":"' || replace(substr(occurred_at, 1, 26), ' ', 'T') || '+00:00","seq":' || seq || '}'""",
    "postgresql": """'{"action":' || to_json(action)::text || ',"actor":' || to_json(actor)::text
        || ',"after":' || after::text || ',"before":' || before::text
        || ',"entity_id":' || to_json(entity_id)::text || ',"entity_type":' || to_json(entity_type)::text
        || CASE WHEN journal IS NULL OR journal::text = 'null' THEN '' ELSE ',"journal":' || journal::text END
        || ',"occurred_at":"' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
        || '+00:00","seq":' || seq || '}'""",
}
#: Each JSON column must be one JSON value on its own, so that where it ends in the
#: text is where the value ends (PostgreSQL's json type guarantees it); prev_hash must
#: be the previous entry's hash (the walk hashes with the stored hashes themselves).
_VALID = {
    "sqlite": "json_valid(after) AND json_valid(before) AND (journal IS NULL OR json_valid(journal))",
    "postgresql": "TRUE",
}
_DIFFERENT = {"sqlite": "IS NOT", "postgresql": "IS DISTINCT FROM"}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def walk(session: Session, *, want: Iterable[int] = (), batch: int = _BATCH) -> pure.Chain:
    """Re-hash the stored chain in seq order; the first break stops it."""
    rows = hashed_rows(session, batch)
    try:
        return pure.walk_stored(rows, want=want)
    finally:
        rows.close()  # an early stop must not leave a cursor open (or SQLite handing out bytes)


def hashed_rows(session: Session, batch: int) -> Iterator[Sequence[tuple[int, bytes, bytes]]]:
    """Batches of ``(seq, hash, canonical)`` in seq order, both texts as the UTF-8 bytes
    stored, straight from the driver: no ORM rows, no JSON or text decoding."""
    raw = session.connection().connection.driver_connection
    if _dialect(session) == "postgresql":
        # A server-side cursor (a million entries never sit in memory at once), in
        # binary so that bytea arrives as it is.
        with raw.cursor(name="audit_chain_walk", binary=True) as cursor:
            cursor.itersize = batch
            cursor.execute("SELECT seq, convert_to(hash, 'UTF8'), convert_to(canonical, 'UTF8') "
                           "FROM audit_entries ORDER BY seq")
            while rows := cursor.fetchmany(batch):
                yield rows
        return
    previous = raw.text_factory
    raw.text_factory = bytes
    cursor = raw.cursor()
    try:
        cursor.execute("SELECT seq, hash, canonical FROM audit_entries ORDER BY seq")
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()
        raw.text_factory = previous


def column_mismatches(session: Session, *, limit: int | None = None) -> list[int]:
    """Seqs of the entries whose columns differ from their hashed text, in order."""
    dialect = _dialect(session)
    query = (f"SELECT seq FROM audit_entries e WHERE canonical {_DIFFERENT[dialect]} ({_EXPECTED[dialect]}) "
             f"OR NOT ({_VALID[dialect]}) OR prev_hash {_DIFFERENT[dialect]} coalesce("
             f"(SELECT hash FROM audit_entries p WHERE p.seq = e.seq - 1), '{GENESIS_HASH}') ORDER BY seq")
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return [int(seq) for seq, in session.execute(text(query))]


def read_facts(session: Session, chain: pure.Chain) -> pure.Chain:
    """Fill ``chain``'s journal coverage, uncovered money entries and statement issues
    from the columns (up to the last entry the walk verified)."""
    last = chain.last_seq
    journal_null = "journal IS NULL OR " + ("journal::text = 'null'" if _dialect(session) == "postgresql"
                                            else "journal = 'null'")
    for seq, refs in session.execute(text(
            f"SELECT seq, journal FROM audit_entries WHERE seq <= :last AND NOT ({journal_null}) ORDER BY seq"),
            {"last": last}):
        for ref in _json(refs) or []:
            chain.journal.append((int(seq), ref["n"], ref["id"], ref["sha256"]))
    money = sorted(pure.MONEY_ACTIONS)
    placeholders = ", ".join(f":m{i}" for i in range(len(money)))
    chain.uncovered_money.extend((int(seq), action) for seq, action in session.execute(text(
        f"SELECT seq, action FROM audit_entries WHERE seq <= :last AND action IN ({placeholders}) "
        f"AND ({journal_null}) ORDER BY seq"), {"last": last, **{f"m{i}": a for i, a in enumerate(money)}}))
    for seq, number, after in session.execute(text(
            "SELECT seq, entity_id, after FROM audit_entries WHERE seq <= :last AND action = 'statement.issue' "
            "ORDER BY seq"), {"last": last}):
        chain.issues[number] = (int(seq), (_json(after) or {}).get("sha256", ""))
    return chain


def _json(value: Any) -> Any:
    # Raw SQL hands back the JSON columns as text on SQLite, decoded on PostgreSQL.
    return json.loads(value) if isinstance(value, str) else value
