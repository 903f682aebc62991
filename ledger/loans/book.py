"""The loan book's running figures per (scheme, bank): what registration checks read.

Pool capacity needs the scheme's exposure (outstanding of its live loans, every bank)
and the NPL check the bank's non-performing and total outstanding. Summing the loans
on every registration costs as much as the book is big; :class:`ledger.models.LoanBookTotals`
keeps the sums instead, so a registration reads one row per bank of the scheme.

Who moves them
    * a registration adds its principal (:func:`add_registered`, in the transaction
      and savepoint that insert the loans: every loan INSERT goes through the
      ``Registrar`` under the scheme's row lock);
    * every later UPDATE of a loan's status or outstanding — loan events, loan
      reports, claims moving the loan to ``claimed``/``compensated`` and back — moves
      them through the ``loans_book_totals`` trigger (``ledger.migrations.ddl``), one
      atomic ``x = x + delta`` in the UPDATE's own transaction. Those changes never
      raise a scheme's exposure, so they need not take the scheme's lock.

``ledger-admin verify`` recomputes them from the loans (:func:`mismatches`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from rules.money import format_amount

from ..db import is_postgresql
from ..models import Bank, Loan, LoanBookTotals, Scheme
from .statuses import LIVE_STATUSES, NPL_STATUSES, OUTSTANDING_STATUSES

_totals = LoanBookTotals.__table__
#: Figure -> the statuses whose outstanding it sums (the trigger's DDL freezes the same).
FIGURES = {"live_outstanding": LIVE_STATUSES, "npl_outstanding": NPL_STATUSES,
           "book_outstanding": OUTSTANDING_STATUSES}


def scheme_figures(session: Session, scheme_id: int, bank_id: int) -> tuple[int, int, int]:
    """(the scheme's exposure, the bank's non-performing outstanding, the bank's
    outstanding) in fen, from the running figures: one row per bank of the scheme."""
    mine = _totals.c.bank_id == bank_id
    row = session.execute(
        select(func.coalesce(func.sum(_totals.c.live_outstanding), 0),
               func.coalesce(func.sum(case((mine, _totals.c.npl_outstanding), else_=0)), 0),
               func.coalesce(func.sum(case((mine, _totals.c.book_outstanding), else_=0)), 0))
        .where(_totals.c.scheme_id == scheme_id)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def bank_figures(session: Session, bank_id: int, scheme_id: int) -> tuple[int, int]:
    """(non-performing outstanding, all outstanding) of a bank in a scheme, in fen."""
    row = session.execute(select(*bank_figure_queries(bank_id, scheme_id))).one()
    return int(row[0]), int(row[1])


def bank_figure_queries(bank_id: int, scheme_id: int) -> tuple[Any, Any]:
    """``bank_figures`` as two scalar sub-queries (0 for a bank with no loan in the
    scheme), for a caller that reads them with other figures in one statement."""
    where = (_totals.c.scheme_id == scheme_id, _totals.c.bank_id == bank_id)
    return tuple(func.coalesce(select(column).where(*where).scalar_subquery(), 0)  # type: ignore[return-value]
                 for column in (_totals.c.npl_outstanding, _totals.c.book_outstanding))


def scheme_exposure(session: Session, scheme_id: int) -> int:
    """Outstanding principal of the scheme's live loans, every bank (the pool's exposure)."""
    return int(session.scalar(select(func.coalesce(func.sum(_totals.c.live_outstanding), 0))
                              .where(_totals.c.scheme_id == scheme_id)) or 0)


def _upsert(session: Session) -> Any:
    """The database's own INSERT (it has ON CONFLICT), imported when used: importing
    ``sqlalchemy.dialects.postgresql`` costs about a tenth of ``import flask,
    sqlalchemy``, which every ``ledger-admin verify`` would pay, on SQLite too."""
    if is_postgresql(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(_totals)


def add_registered(session: Session, scheme_id: int, bank_id: int, principal: int) -> None:
    """Count newly registered (active) loans of ``principal`` fen in total: one UPSERT,
    atomic on both databases (``x = x + excluded.x``)."""
    query = _upsert(session).values(scheme_id=scheme_id, bank_id=bank_id, live_outstanding=principal,
                                    npl_outstanding=0, book_outstanding=principal)
    session.execute(query.on_conflict_do_update(
        index_elements=[_totals.c.scheme_id, _totals.c.bank_id],
        set_={"live_outstanding": _totals.c.live_outstanding + query.excluded.live_outstanding,
              "book_outstanding": _totals.c.book_outstanding + query.excluded.book_outstanding},
    ))


def recount(session: Session, scheme_id: int, bank_id: int) -> None:
    """Set one (scheme, bank)'s figures to the sums of its loans: for loans written
    outside the Registrar (test fixtures building a world row by row, a repair)."""
    figures = recomputed(session, scheme_id=scheme_id, bank_id=bank_id).get((scheme_id, bank_id), (0, 0, 0))
    values = dict(zip(FIGURES, figures, strict=True))
    query = _upsert(session).values(scheme_id=scheme_id, bank_id=bank_id, **values)
    session.execute(query.on_conflict_do_update(index_elements=[_totals.c.scheme_id, _totals.c.bank_id], set_=values))


def recomputed(session: Session, *, scheme_id: int | None = None, bank_id: int | None = None
               ) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Each (scheme_id, bank_id)'s figures summed from the loans themselves."""
    sums = [func.coalesce(func.sum(case((Loan.status.in_(statuses), Loan.outstanding), else_=0)), 0)
            for statuses in FIGURES.values()]
    query = select(Loan.scheme_id, Loan.bank_id, *sums).group_by(Loan.scheme_id, Loan.bank_id)
    if scheme_id is not None:
        query = query.where(Loan.scheme_id == scheme_id, Loan.bank_id == bank_id)
    return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in session.execute(query)}


def mismatches(session: Session) -> tuple[int, list[str]]:
    """(pairs checked, problems): each (scheme, bank) whose stored figures differ from
    the loans', in scheme then bank code order."""
    derived = recomputed(session)
    stored = {(r.scheme_id, r.bank_id): (int(r.live_outstanding), int(r.npl_outstanding), int(r.book_outstanding))
              for r in session.execute(select(_totals))}
    pairs = derived.keys() | stored.keys()
    schemes = dict(session.execute(select(Scheme.id, Scheme.code)).all())
    banks = dict(session.execute(select(Bank.id, Bank.code)).all())
    problems = []
    for scheme_id, bank_id in sorted(pairs, key=lambda p: (schemes.get(p[0], ""), banks.get(p[1], ""))):
        have, want = stored.get((scheme_id, bank_id)), derived.get((scheme_id, bank_id), (0, 0, 0))
        if have == want or (have is None and want == (0, 0, 0)):
            continue
        where = f"loan book of bank {banks.get(bank_id, bank_id)} in scheme {schemes.get(scheme_id, scheme_id)}"
        if have is None:
            problems.append(f"{where}: no running figures, the loans sum to "
                            + ", ".join(f"{n} {format_amount(v)}" for n, v in zip(FIGURES, want, strict=True)))
            continue
        problems.append(f"{where}: " + ", ".join(
            f"{name} stored {format_amount(h)}, loans {format_amount(w)}"
            for name, h, w in zip(FIGURES, have, want, strict=True) if h != w))
    return len(pairs), problems
