"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import AuditEntry, JournalTransaction, Posting


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def row_counts(session: Session) -> tuple[int, int, int]:
    """(journal transactions, postings, audit entries): proof that nothing was written."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(JournalTransaction)) or 0,
        session.scalar(select(func.count()).select_from(Posting)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )
