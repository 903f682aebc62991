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

from sqlalchemy.orm import Session

from pdf.fonts import FontSetup, load_font

from ..errors import InvalidTransition
from .issuance import Issued, registered_for, render_issued
from .kinds import Period
from .state import prepare


def copy_of_issued(session: Session, kind: str, scope: str, period: Period | None, lang: str, fund_name: str,
                   out: IO[bytes], *, today: date, font: FontSetup | None = None) -> Issued:
    """Write the issued statement matching the current ledger state into ``out``; never
    writes to the database. Raises 409 ``statement_not_issued`` when there is none."""
    prepared = prepare(session, kind, scope, period, lang, fund_name, today=today)
    existing = registered_for(session, prepared)
    refusal = ("This statement has not been issued for the ledger's current state, and an auditor's download "
               "issues nothing: ask the bureau to issue it, or read the register (GET /api/v1/statements).")
    if existing is None:
        raise InvalidTransition(refusal, code="statement_not_issued")
    start = out.tell() if out.seekable() else 0
    # Rendered exactly as issuance renders it (signed when statements are signed), so
    # the copy is the issued file byte for byte.
    digest, size, pages, _unsigned, _signer = render_issued(session, prepared, existing.number, font or load_font(), out)
    if digest != existing.sha256:
        # The software or font changed since it was issued: these are not its bytes.
        out.seek(start)
        out.truncate()
        raise InvalidTransition(refusal, code="statement_not_issued")
    return Issued(existing, digest, size, pages, reused=True)


def issues_nothing(roles: set[str] | frozenset[str]) -> bool:
    """Whether a caller with these roles only reads: the auditor role and nothing that acts."""
    return bool(roles) and roles <= {"auditor"}
