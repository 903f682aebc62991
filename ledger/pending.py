"""Work a session collects until its outermost commit (audit entries, bank events),
kept in a list in ``session.info`` and scoped to savepoints.

A rolled-back savepoint must drop only what was recorded inside it, and a full
rollback everything; :func:`scope_to_savepoints` installs that bookkeeping for one
such list, so the audit chain and the event outbox share one implementation.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session


def scope_to_savepoints(pending_key: str) -> None:
    """Keep ``session.info[pending_key]`` in step with savepoints and rollbacks."""
    savepoints_key = f"{pending_key}:savepoints"

    @event.listens_for(Session, "after_transaction_create")
    def _remember_savepoint(session: Session, transaction) -> None:  # type: ignore[no-untyped-def]
        # What is recorded inside a savepoint belongs to it: remember where it started.
        if transaction.nested:
            session.info.setdefault(savepoints_key, {})[id(transaction)] = len(session.info.get(pending_key, []))

    @event.listens_for(Session, "after_soft_rollback")
    def _forget_rolled_back(session: Session, previous_transaction) -> None:  # type: ignore[no-untyped-def]
        if previous_transaction.nested:
            start = session.info.get(savepoints_key, {}).pop(id(previous_transaction), None)
            if start is not None and pending_key in session.info:
                del session.info[pending_key][start:]
        else:
            session.info.pop(pending_key, None)
            session.info.pop(savepoints_key, None)
