"""Dates of money movements are sane (SPEC §1, issue 10).

A movement is never dated after today, nor before the event it follows (a payment
before its approval or the claim's default, a recovery before its payment, a default
or any loan event before disbursement), nor inside a period already closed by an issued
statement of a sub-fund or bank it touches. Anything else is a 422 naming the date
field, before anything is written.

Closed periods: an issued statement of period P for sub-fund (or bank) S shows the
balance at P's start and every movement up to P's end, so any movement dated on or
before the end of P would change its figures. The latest issued statement of S
therefore closes everything up to its period's end for S; a correction goes into the
open period, as a reversal. (Claim statements cover one claim, not a period, and
close nothing.) A statement whose period reaches today is provisional until the day is
over: today stays open (approvals and releases are dated today), and a statement
re-downloaded after a later movement of the day gets a new number.

Opening balances from before the ledger went live are contributions dated in the
past: allowed, as long as no statement of that sub-fund already covers the date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .models import Statement

#: No risk compensation pool predates this (China's 科技信贷风险补偿 pools began in the
#: late 2000s): an earlier date is a typing error, not an opening balance.
EARLIEST = date(2000, 1, 1)


def _refuse(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field} {message}.", code=code, errors={field: [message]},
                            details=[{"code": code, "field": field, "message": message}])


def closed_until(session: Session, kind: str, scopes: Iterable[str]) -> tuple[date, str] | None:
    """The latest period end closed for any of ``scopes`` (statement ``kind`` "subfund" or
    "bank"), with the scope it belongs to; None while nothing is closed."""
    return closed_periods(session, {kind: scopes}).get(kind)


def closed_periods(session: Session, scopes: dict[str, Iterable[str]]) -> dict[str, tuple[date, str]]:
    """:func:`closed_until` for several statement kinds at once, in one query: by kind,
    the latest closed period end and its scope (kinds with nothing closed are absent)."""
    wanted = {kind: sorted(set(codes)) for kind, codes in scopes.items()}
    wanted = {kind: codes for kind, codes in wanted.items() if codes}
    if not wanted:
        return {}
    rows = session.execute(
        select(Statement.kind, Statement.scope, func.max(Statement.period_to).label("until"))
        .where(or_(*(and_(Statement.kind == kind, Statement.scope.in_(codes)) for kind, codes in wanted.items())),
               Statement.period_to.is_not(None))
        .group_by(Statement.kind, Statement.scope)
    ).all()
    return latest_closed((row.kind, row.scope, row.until) for row in rows)


def latest_closed(rows: Iterable[tuple[str, str, date]]) -> dict[str, tuple[date, str]]:
    """``(kind, scope, closed until)`` rows reduced as :func:`closed_periods` answers."""
    latest: dict[str, tuple[date, str]] = {}
    for kind, scope, until in sorted(rows, key=lambda r: (r[0], r[2], r[1])):
        # Latest end wins; on a tie the first scope in code order, as one sorted query did.
        if kind not in latest or until > latest[kind][0]:
            latest[kind] = (until, scope)
    return latest


def check(
    session: Session, field: str, on: date, *, today: date,
    not_before: Sequence[tuple[date | None, str]] = (),
    subfunds: Iterable[str] = (), banks: Iterable[str] = (),
    closed: dict[str, tuple[date, str]] | None = None,
) -> None:
    """Refuse ``on`` (the value of request field ``field``) unless it is sane.

    ``not_before``: (date, what it is) pairs of the events the movement follows;
    ``subfunds`` / ``banks``: codes whose statements may have closed the date;
    ``closed``: their :func:`closed_periods` when the caller read them already.
    """
    if on > today:
        raise _refuse(field, "date_in_future", f"is after today ({today.isoformat()})")
    if on < EARLIEST:
        raise _refuse(field, "date_too_early", f"is before {EARLIEST.isoformat()}, earlier than any fund")
    for earliest, event in not_before:
        if earliest is not None and on < earliest:
            raise _refuse(field, "date_before_event", f"is before {event} ({earliest.isoformat()})")
    closed_by_kind = closed if closed is not None else closed_periods(session, {"subfund": subfunds, "bank": banks})
    for kind, what in (("subfund", "sub-fund"), ("bank", "bank")):
        closed = closed_by_kind.get(kind)
        if closed is not None and on <= closed[0] and on < today:
            until, scope = closed
            raise _refuse(field, "period_closed",
                          f"falls in a period closed by an issued statement of {what} {scope} (up to "
                          f"{until.isoformat()}); date the movement (or its correction) after that")
