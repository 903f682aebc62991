"""Copies of issued statements for read-only callers (auditors), writing nothing (issue 10).

Downloading a statement normally *issues* it: a register row, a number, an audit entry.
An auditor is read-only, so an auditor's download never issues: it re-renders a
statement already issued for exactly this kind, scope, period, language and ledger
state — byte for byte the registered file (rendering is deterministic) — and is
otherwise refused with 409 ``statement_not_issued``, telling the auditor to have the
bureau issue it (or to read the register, ``GET /api/v1/statements``). So an auditor may
always re-download what was issued, and what an auditor holds was issued by someone
accountable.
"""

from __future__ import annotations

from datetime import date
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdf.fonts import FontSetup, load_font

from ..errors import InvalidTransition
from ..models import Statement
from .issuance import Issued
from .kinds import Period
from .rendering import render_prepared
from .state import prepare


def copy_of_issued(session: Session, kind: str, scope: str, period: Period | None, lang: str, fund_name: str,
                   out: IO[bytes], *, today: date, font: FontSetup | None = None) -> Issued:
    """Write the issued statement matching the current ledger state into ``out``; never
    writes to the database. Raises 409 ``statement_not_issued`` when there is none."""
    prepared = prepare(session, kind, scope, period, lang, fund_name, today=today)
    period = prepared.period
    existing = session.scalar(
        select(Statement).where(
            Statement.kind == kind, Statement.scope == prepared.scope, Statement.language == lang,
            Statement.state_sha256 == prepared.state_sha256,
            Statement.period_from.is_(None) if period is None else Statement.period_from == period.start,
            Statement.period_to.is_(None) if period is None else Statement.period_to == period.end,
        ).order_by(Statement.id.desc()).limit(1)
    )
    refusal = ("This statement has not been issued for the ledger's current state, and an auditor's download "
               "issues nothing: ask the bureau to issue it, or read the register (GET /api/v1/statements).")
    if existing is None:
        raise InvalidTransition(refusal, code="statement_not_issued")
    start = out.tell() if out.seekable() else 0
    digest, size, pages = render_prepared(prepared, existing.number, font or load_font(), out)
    if digest != existing.sha256:
        # The software or font changed since it was issued: these are not its bytes.
        out.seek(start)
        out.truncate()
        raise InvalidTransition(refusal, code="statement_not_issued")
    return Issued(existing, digest, size, pages, reused=True)


def issues_nothing(roles: set[str] | frozenset[str]) -> bool:
    """Whether a caller with these roles only reads: the auditor role and nothing that acts."""
    return bool(roles) and roles <= {"auditor"}
