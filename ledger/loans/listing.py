"""Reading loans: one loan as its bank (or the bureau) may see it, pages of loans, a loan's events."""

from __future__ import annotations


from sqlalchemy import func, select
from sqlalchemy.orm import Session


from .. import creditcode
from ..errors import NotFound
from ..models import Enterprise, Loan, LoanEvent, Scheme


def get_loan_for(session: Session, loan_id: int, bank_id: int | None, *, for_update: bool = False) -> Loan:
    """The loan if ``bank_id`` owns it (None: bureau and auditors, who see all).

    Another bank's loan is ``loan_not_found`` (404), never a 403 that confirms it exists.
    """
    query = select(Loan).where(Loan.id == loan_id)
    if bank_id is not None:
        query = query.where(Loan.bank_id == bank_id)
    if for_update:
        # OF loans: the eager joins to the enterprise and rule version cannot be locked.
        query = query.with_for_update(of=Loan)
    loan = session.scalar(query)
    if loan is None:
        raise NotFound(f"No loan {loan_id}.", code="loan_not_found", errors={"loan_id": ["not found"]})
    return loan


def list_loans(
    session: Session, *, bank_id: int | None, page: int, per_page: int, status: str | None = None,
    scheme: str | None = None, credit_code: str | None = None, external_id: str | None = None,
) -> tuple[list[Loan], int]:
    query = select(Loan)
    if bank_id is not None:
        query = query.where(Loan.bank_id == bank_id)
    if status:
        query = query.where(Loan.status == status)
    if scheme:
        query = query.join(Scheme, Scheme.id == Loan.scheme_id).where(Scheme.code == scheme)
    if credit_code:
        query = query.join(Enterprise, Enterprise.id == Loan.enterprise_id).where(
            Enterprise.credit_code == creditcode.normalise(credit_code))
    if external_id:
        query = query.where(Loan.external_id == external_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Loan.id).limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def loan_events(session: Session, loan: Loan, *, page: int = 1, per_page: int | None = None
                ) -> tuple[list[LoanEvent], int]:
    """The loan's events oldest first, one page of them, and how many there are."""
    query = select(LoanEvent).where(LoanEvent.loan_id == loan.id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(LoanEvent.id)
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return list(session.scalars(query)), total
