"""Signed checkpoints of the audit chain (SPEC §5.1).

A checkpoint ``{seq, head, issued_at, key_id, signature}`` says, under the bureau's
Ed25519 key, "entry ``seq`` of the chain has hash ``head``". Whoever keeps one outside
the database can later prove that nothing up to ``seq`` was rewritten and nothing after
it cut off, even against someone who can rewrite and re-hash every row. The ledger also
keeps each checkpoint it issued (``audit_checkpoints``) so auditors can fetch the latest.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .models import AuditCheckpoint
from .models.base import utcnow

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy.orm import Session

# The signing code (verifier.signing, cryptography) is imported by the functions that
# sign: every ledger-admin command asks key_path where the demo's certificate would be.

#: The key's file name in the instance folder when configuration names none.
DEFAULT_KEY_FILE = "signing/checkpoint-ed25519.pem"


def key_path(instance_path: str | Path, configured: str | Path | None) -> Path:
    return Path(configured) if configured else Path(instance_path) / DEFAULT_KEY_FILE


def load_key(path: Path, *, create: bool = False) -> Ed25519PrivateKey:
    if not create and not path.exists():
        raise FileNotFoundError(f"No checkpoint signing key at {path}; run `ledger-admin keys` to create it.")
    from verifier.signing import load_or_create_private_key

    return load_or_create_private_key(path)[0]


def issue(session: Session, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign the current head and keep the checkpoint; returns it as JSON-ready data.

    Reads the head without locking it: a checkpoint is true of the entry it names
    whatever is appended after it.
    """
    from verifier.signing import raw_public, sign_checkpoint

    from .audit import chain_head, utc_text

    seq, head = chain_head(session)
    checkpoint = sign_checkpoint(private_key, seq, head, utc_text(utcnow()))
    session.add(AuditCheckpoint(**checkpoint, public_key=base64.b64encode(raw_public(private_key.public_key())).decode()))
    session.flush()
    return checkpoint


def as_dict(row: AuditCheckpoint) -> dict[str, Any]:
    return {"seq": row.seq, "head": row.head, "issued_at": row.issued_at, "key_id": row.key_id,
            "signature": row.signature}


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def stored(session: Session) -> list[AuditCheckpoint]:
    return list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))
