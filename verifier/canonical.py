"""The byte forms that are hashed and signed, and nothing else.

*Audit entry*: ``SHA-256(prev_hash + canonical_json(fields))`` where ``fields`` are
``seq, occurred_at, actor, action, entity_type, entity_id, before, after`` and, when
the entry covers journal transactions, ``journal``: a list of
``{"n": <journal number>, "id": <transaction uuid>, "sha256": <postings digest>}``.

*Journal transaction* (its "canonical postings"): ``SHA-256`` of the canonical JSON
of ``{"id", "kind", "effective_on", "memo", "reference", "reverses", "postings"}``
where ``postings`` is ``[[account_code, signed_fen], …]`` sorted, so the digest does
not depend on the order rows come back in.

*Checkpoint*: Ed25519 over the canonical JSON of ``{"seq", "head", "issued_at",
"key_id"}``; ``key_id`` is the first 16 hex digits of SHA-256 over the raw 32-byte
public key.

Canonical JSON: keys sorted, no whitespace, UTF-8 (not ``\\u`` escapes).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not audit-serialisable")


# One encoder, built once: json.dumps with options builds a new one on every call,
# which costs more than the hashing on the verifier's hot path.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: one byte sequence per value."""
    return _ENCODER.encode(value)


def utc_text(moment: datetime) -> str:
    # SQLite hands datetimes back naive; they were written in UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def entry_fields(seq: int, occurred_at: str, actor: str, action: str, entity_type: str, entity_id: str,
                 before: Any, after: Any, journal: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The hashed fields of an entry (``occurred_at`` already as UTC text)."""
    fields = {
        "seq": seq,
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }
    # Absent rather than null when empty, so entries written before journal binding
    # keep the hash they were written with.
    if journal:
        fields["journal"] = journal
    return fields


def postings_digest(*, id: str, kind: str, effective_on: str, memo: str, reference: str | None,
                    reverses: str | None, postings: Iterable[tuple[str, int]]) -> str:
    body = {
        "id": id,
        "kind": kind,
        "effective_on": effective_on,
        "memo": memo,
        "reference": reference,
        "reverses": reverses,
        "postings": sorted([code, int(amount)] for code, amount in postings),
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def checkpoint_message(seq: int, head: str, issued_at: str, key_id: str) -> bytes:
    return canonical_json({"seq": seq, "head": head, "issued_at": issued_at, "key_id": key_id}).encode("utf-8")


def key_id(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()[:16]
