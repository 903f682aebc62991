"""Issuing a statement: one number per state, the register row and its audit entry."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import pdf
from pdf.fonts import FontSetup, load_font

from .. import audit, clock, events
from ..models import Statement
from .kinds import PREFIXES, _LOCK_KEYS, Period
from . import signing
from .signing import SIGNER_INFO_KEY, StatementSigner
from .state import Prepared, prepare
from .rendering import render_prepared

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issued:
    statement: Statement
    sha256: str
    size: int
    pages: int
    #: True when an identical statement was already registered (same number, same bytes).
    reused: bool


def _lock_numbering(session: Session, kind: str) -> None:
    """Serialise issuing per kind: two requests for the same unchanged statement must
    find one register entry, and numbers must not collide. SQLite writers already
    hold the database's write lock (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEYS[kind])))


def next_number(session: Session, kind: str, year: int) -> str:
    prefix = f"{PREFIXES[kind]}-{year:04d}-"
    last = session.scalar(
        select(Statement.number).where(Statement.number.like(prefix + "%"))
        .order_by(func.length(Statement.number).desc(), Statement.number.desc()).limit(1)
    )
    sequence = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filenames(kind: str, scope: str, period: Period | None, lang: str, number: str) -> tuple[str, str]:
    """(ASCII file name, file name in the statement's language) for downloads."""
    scope_safe = _SAFE.sub("_", scope)
    dates = "" if period is None else f"_{period.start.isoformat()}_{period.end.isoformat()}"
    ascii_name = f"{number}_{kind}-{scope_safe}{dates}.pdf"
    title = pdf.title(kind, lang)
    if lang == "zh":
        what = f"理赔{scope_safe}" if kind == "claim" else scope_safe
        span = "" if period is None else f"_{period.start.isoformat()}至{period.end.isoformat()}"
    else:
        title = title.replace(" ", "-")
        what = f"claim-{scope_safe}" if kind == "claim" else scope_safe
        span = dates
    return ascii_name, f"{title}_{what}{span}_{number}.pdf"


def registered_for(session: Session, prepared: Prepared) -> Statement | None:
    """The latest register entry for exactly this statement and ledger state, if any."""
    period = prepared.period
    return session.scalar(
        select(Statement).where(
            Statement.kind == prepared.kind, Statement.scope == prepared.scope,
            Statement.language == prepared.lang, Statement.state_sha256 == prepared.state_sha256,
            Statement.period_from.is_(None) if period is None else Statement.period_from == period.start,
            Statement.period_to.is_(None) if period is None else Statement.period_to == period.end,
        ).order_by(Statement.id.desc()).limit(1)
    )


def render_issued(session: Session, prepared: Prepared, number: str, font: FontSetup,
                   out: IO[bytes]) -> tuple[str, int, int, str, StatementSigner | None]:
    """Render, and sign when the application handed the session a signer (SPEC §5.1):
    (sha256 and size of the file as issued, pages, sha256 of the unsigned rendering, signer)."""
    signer = session.info.get(SIGNER_INFO_KEY)
    if signer is None:
        digest, size, pages = render_prepared(prepared, number, font, out)
        return digest, size, pages, digest, None
    buffer = io.BytesIO()
    unsigned, _size, pages = render_prepared(prepared, number, font, buffer)
    signed = signing.sign(buffer.getvalue(), signer, prepared.as_of, number=number)
    out.write(signed)
    return hashlib.sha256(signed).hexdigest(), len(signed), pages, unsigned, signer


def issue_statement_to(session: Session, kind: str, scope: str, period: Period | None, lang: str, actor: str,
                       fund_name: str, out: IO[bytes], *, today: date | None = None,
                       font: FontSetup | None = None) -> Issued:
    """Issue (or re-issue) a statement, writing the PDF into ``out`` (e.g. a spooled
    temporary file a response streams from). Only flushes; the caller commits."""
    today = today or clock.today()
    prepared = prepare(session, kind, scope, period, lang, fund_name, today=today)
    font = font or load_font()
    _lock_numbering(session, kind)
    period = prepared.period
    existing = registered_for(session, prepared)
    start = out.tell() if out.seekable() else 0
    if existing is not None:
        digest, size, pages, _unsigned, _signer = render_issued(session, prepared, existing.number, font, out)
        if digest == existing.sha256:
            return Issued(existing, digest, size, pages, reused=True)
        log.warning("Statement %s re-rendered from an unchanged ledger state gives other bytes (software or font "
                    "changed since it was issued); issuing it anew under a new number.", existing.number)
        out.seek(start)
        out.truncate()
    number = next_number(session, kind, today.year)
    digest, size, pages, unsigned, signer = render_issued(session, prepared, number, font, out)
    head_seq, head_hash = audit.chain_head(session)
    ascii_name, _local_name = filenames(kind, prepared.scope, period, lang, number)
    row = Statement(
        number=number, kind=kind, scope=prepared.scope,
        period_from=period.start if period else None, period_to=period.end if period else None,
        language=lang, sha256=digest, state_sha256=prepared.state_sha256, audit_seq=head_seq,
        audit_hash=head_hash, filename=ascii_name, size=size, issued_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="statement.issue", entity_type="statement", entity_id=number,
                 after={"kind": kind, "scope": prepared.scope, "period_from": row.period_from,
                        "period_to": row.period_to, "language": lang, "sha256": digest,
                        "state_sha256": prepared.state_sha256, "audit_seq": head_seq, "audit_hash": head_hash,
                        "filename": ascii_name, "size": size, "pages": pages,
                        "font": font.face_name or "none (CJK font missing)",
                        # What a verifier needs to trust the signature (ledger.statements.signing).
                        **({"unsigned_sha256": unsigned, "signed_by": signer.fingerprint} if signer else {})})
    events.statement_event(session, row)
    return Issued(row, digest, size, pages, reused=False)


def issue_statement(session: Session, kind: str, scope: str, period: Period | tuple[date, date] | None, lang: str,
                    actor: str, fund_name: str, *, today: date | None = None,
                    font: FontSetup | None = None) -> tuple[Statement, bytes]:
    """Issue a statement and return its register row and PDF bytes (see the module doc)."""
    if isinstance(period, tuple):
        period = Period(*period)
    buffer = io.BytesIO()
    issued = issue_statement_to(session, kind, scope, period, lang, actor, fund_name, buffer, today=today, font=font)
    return issued.statement, buffer.getvalue()
