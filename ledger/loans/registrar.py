"""The registration engine shared by the API (one loan) and the bulk upload (thousands).

Every loan INSERT goes through :class:`Registrar`, under the scheme's row lock (see ``ledger.loans``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import ARRAY, String, and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules import RuleSet, Violation, registration_violations
from rules.money import format_amount, ratio_text

from .. import audit, creditcode
from ..db import allocate_ids, insert_rows, is_postgresql
from ..enterprises import EnterpriseBook, EnterpriseState, bank_code
from ..errors import AlreadyExists
from ..models import Loan, RuleVersion, Scheme, SubFund
from ..models.base import utcnow
from ..schemes import ruleset_of
from . import book
from .pool import available_balance, pool_subfunds
from .requests import LoanRequest, request_violations, refused

_loans = Loan.__table__


@dataclass
class _Version:
    row_id: int
    number: int
    effective_from: date
    rules: RuleSet
    #: leverage × the pool's available balance in fen, read once per transaction.
    capacity: int | None = None


@dataclass
class _SchemeState:
    id: int
    code: str
    versions: list[_Version]
    #: Outstanding principal of the scheme's live loans (all banks) in fen, including
    #: loans planned in this transaction (read from ``ledger.loans.book``).
    exposure: int
    #: Principal planned in this transaction and not written yet.
    pending: int
    #: This bank's non-performing outstanding in the scheme (fen) and all its outstanding.
    npl_bad: int
    npl_outstanding: int

    def version_on(self, day: date) -> _Version | None:
        best = None
        for version in self.versions:  # sorted by effective_from
            if version.effective_from <= day:
                best = version
        return best

    @property
    def npl(self) -> Fraction:
        if not self.npl_bad or not self.npl_outstanding:
            return Fraction(0)
        return Fraction(self.npl_bad, self.npl_outstanding)


@dataclass
class PlannedLoan:
    """A registration that passed every check, written by :meth:`Registrar.write`."""

    request: LoanRequest
    enterprise: EnterpriseState
    scheme: _SchemeState
    version: _Version
    registration: dict[str, Any]
    id: int | None = None


@dataclass
class _KnownLoan:
    id: int
    registration: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    #: ``created`` (planned; written by :meth:`Registrar.write`) or ``unchanged``.
    status: str
    loan: PlannedLoan | _KnownLoan

    @property
    def loan_id(self) -> int | None:
        return self.loan.id


@dataclass
class Registrar:
    """Loan registrations of one bank within one database transaction.

    ``plan`` runs every check against cached, batch-loaded state and updates that
    state as if the loan were registered (exposure, NPL denominator), so the next row
    sees it; ``write`` inserts everything planned. ``mark``/``restore`` undo the plans
    of a row that failed later. Call :meth:`reset` after each commit: caches and
    locks last one transaction.
    """

    session: Session
    bank_id: int
    today: date
    actor: str
    enterprises: EnterpriseBook = field(init=False)
    _schemes: dict[str, _SchemeState | None] = field(default_factory=dict)
    _loans: dict[str, _KnownLoan | PlannedLoan | None] = field(default_factory=dict)
    _planned: list[PlannedLoan] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _subfund_codes: list[str] | None = None
    _rulesets: dict[int, RuleSet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.enterprises = EnterpriseBook(self.session, bank_id=self.bank_id, actor=self.actor)

    def reset(self) -> None:
        """Start afresh for the next transaction."""
        self.enterprises = EnterpriseBook(self.session, bank_id=self.bank_id, actor=self.actor)
        self._schemes.clear()
        self._loans.clear()
        self._planned.clear()
        self._undo.clear()
        self._subfund_codes = None

    # reads ---------------------------------------------------------------------

    def preload(self, requests: Sequence[LoanRequest], enterprise_codes: Iterable[str] = ()) -> None:
        """Batch the reads for ``requests``: lock their schemes (in code order, so two
        importers never deadlock), then load their loans and enterprises."""
        for code in sorted({r.scheme for r in requests}):
            self._scheme(code)
        ids = {r.external_id for r in requests} - set(self._loans)
        if ids:
            for chunk in _chunks(sorted(ids), 500):
                for row in self.session.execute(_loans_by_external_id(self.session, self.bank_id, chunk)):
                    self._loans[row.external_id] = _KnownLoan(row.id, row.registration)
            for external_id in ids:
                self._loans.setdefault(external_id, None)
        codes = {creditcode.normalise(r.credit_code) for r in requests if isinstance(r.credit_code, str)}
        codes |= set(enterprise_codes)
        for chunk in _chunks(sorted(codes), 500):
            self.enterprises.preload(chunk)

    def _scheme(self, code: str) -> _SchemeState | None:
        """The scheme's state for this transaction, read under its row lock: the
        running figures (``ledger.loans.book``), a few rows whatever the book's size."""
        if code in self._schemes:
            return self._schemes[code]
        # The lock comes first: the aggregates below must not change until we commit.
        scheme = self.session.execute(
            select(Scheme.id, Scheme.code).where(Scheme.code == code).with_for_update()
        ).first()
        if scheme is None:
            self._schemes[code] = None
            return None
        versions = []
        for v in self.session.scalars(
            select(RuleVersion).where(RuleVersion.scheme_id == scheme.id).order_by(RuleVersion.effective_from)
        ):
            if v.id not in self._rulesets:
                self._rulesets[v.id] = ruleset_of(v)
            versions.append(_Version(v.id, v.version, v.effective_from, self._rulesets[v.id]))
        exposure, npl_bad, npl_outstanding = book.scheme_figures(self.session, scheme.id, self.bank_id)
        state = _SchemeState(scheme.id, scheme.code, versions, exposure=exposure, pending=0, npl_bad=npl_bad,
                             npl_outstanding=npl_outstanding)
        self._schemes[code] = state
        return state

    def _capacity(self, version: _Version) -> int:
        """leverage × the pool's available balance, floored to the fen: exposures are
        whole fen, so ``exposure ≤ capacity`` holds exactly when it holds for the floor."""
        if version.capacity is None:
            if self._subfund_codes is None:
                self._subfund_codes = list(self.session.scalars(select(SubFund.code)))
            balance = available_balance(self.session, pool_subfunds(version.rules, self._subfund_codes))
            leverage = version.rules.pool.leverage
            assert leverage is not None
            version.capacity = math.floor(Fraction(leverage) * balance)
        return version.capacity

    def _known_loan(self, external_id: str) -> _KnownLoan | PlannedLoan | None:
        if external_id not in self._loans:
            row = self.session.execute(
                select(Loan.id, Loan.registration).where(Loan.bank_id == self.bank_id, Loan.external_id == external_id)
            ).first()
            self._loans[external_id] = _KnownLoan(row.id, row.registration) if row else None
        return self._loans[external_id]

    # plans ---------------------------------------------------------------------

    def mark(self) -> tuple[int, int]:
        return len(self._undo), self.enterprises.mark()

    def restore(self, mark: tuple[int, int]) -> None:
        mine, theirs = mark
        while len(self._undo) > mine:
            self._undo.pop()()
        self.enterprises.restore(theirs)

    def plan(self, req: LoanRequest) -> Outcome:
        """Check a registration; raise ``registration_refused`` / ``external_id_conflict``
        or return the outcome (``created`` is planned, not yet written)."""
        found = request_violations(req)
        if any(v.field == "external_id" for v in found):
            raise refused(found)
        # Lock the scheme before looking for the external_id, so that a concurrent
        # registration of the same loan in the same scheme is seen once it commits.
        scheme = self._scheme(req.scheme)
        registration = req.registration()
        known = self._known_loan(req.external_id)
        if known is not None:
            if known.registration == registration:
                return Outcome("unchanged", known)
            differing = [k for k in registration if registration[k] != known.registration.get(k)]
            raise AlreadyExists(
                f"Loan {req.external_id} was registered with another {', '.join(differing)}.",
                code="external_id_conflict",
                errors={k: ["differs from the registered loan"] for k in differing},
                details=[{"code": "external_id_conflict", "field": k, "message": "differs from the registered loan"}
                         for k in differing],
                extra={"differing_fields": differing, "loan_id": known.id},
            )
        enterprise = None
        if not any(v.field == "credit_code" for v in found):
            enterprise = self.enterprises.lookup(creditcode.normalise(req.credit_code))
            if enterprise is None:
                found.append(Violation("enterprise_not_registered", "credit_code",
                                       "register the enterprise first (POST /api/v1/enterprises)"))
        version = None
        if scheme is None:
            found.append(Violation("scheme_not_found", "scheme", f"no scheme {req.scheme}"))
        else:
            version = scheme.version_on(req.disbursed_on)
            if version is None:
                found.append(Violation("no_rule_version_in_force", "disbursed_on",
                                       f"no rule version of {scheme.code} is in force on {req.disbursed_on}"))
        if version is not None and scheme is not None:
            rules = version.rules
            for v in registration_violations(
                rules, categories=enterprise.data.categories if enterprise else (), principal=req.principal,
                disbursed_on=req.disbursed_on, maturity_on=req.maturity_on, registered_on=self.today,
            ):
                if enterprise is not None or v.code != "category_not_eligible":
                    found.append(v)
            limit = rules.pool.npl_suspend_registrations
            if limit is not None and scheme.npl_bad and scheme.npl > Fraction(limit):
                found.append(Violation(
                    "bank_suspended", "bank",
                    f"the bank's NPL ratio in {scheme.code} is {ratio_text(scheme.npl)}, above {limit}: "
                    "new registrations are suspended",
                ))
            leverage = rules.pool.leverage
            if leverage is not None and req.principal > 0:
                capacity = self._capacity(version)
                if scheme.exposure + req.principal > capacity:
                    room = max(0, capacity - scheme.exposure)
                    found.append(Violation(
                        "pool_capacity_exceeded", "principal",
                        f"the pool of {scheme.code} can carry {format_amount(room)} more "
                        f"(leverage {leverage} × the payer sub-funds' available balance)",
                    ))
        if found:
            raise refused(found)
        assert enterprise is not None and scheme is not None and version is not None
        planned = PlannedLoan(req, enterprise, scheme, version, registration)
        self._planned.append(planned)
        self._loans[req.external_id] = planned
        self._adjust(scheme, req.principal)

        def undo() -> None:
            self._planned.remove(planned)
            self._loans[req.external_id] = None
            self._adjust(scheme, -req.principal)

        self._undo.append(undo)
        return Outcome("created", planned)

    @staticmethod
    def _adjust(scheme: _SchemeState, principal: int) -> None:
        scheme.exposure += principal
        scheme.pending += principal
        scheme.npl_outstanding += principal

    # writes --------------------------------------------------------------------

    def write(self) -> None:
        """Insert planned enterprises and loans; IntegrityError when a concurrent
        writer took an external_id or credit code meanwhile (caller rolls back)."""
        self.enterprises.write()
        planned = list(self._planned)
        if not planned:
            return
        now = utcnow()
        rows = []
        for p in planned:
            req, enterprise = p.request, p.enterprise
            rows.append({
                "bank_id": self.bank_id, "external_id": req.external_id, "scheme_id": p.scheme.id,
                "rule_version_id": p.version.row_id, "enterprise_id": enterprise.id,
                # The enterprise's own tuple: its loans' rows share it, so it is encoded once.
                "region": enterprise.data.region, "categories": enterprise.data.categories,
                "principal": req.principal, "outstanding": req.principal, "disbursed_on": req.disbursed_on,
                "maturity_on": req.maturity_on, "interest_rate": req.interest_rate,
                "collateral_type": req.collateral_type, "status": "active", "registered_on": self.today,
                "registration": p.registration, "created_at": now,
            })
        # Ids allocated up front, then COPY on PostgreSQL or an executemany on SQLite:
        # the fastest INSERT on each, with no read-back of what was written.
        for row, new_id in zip(rows, allocate_ids(self.session, _loans, len(rows)), strict=True):
            row["id"] = new_id
        insert_rows(self.session, _loans, rows)
        added: dict[int, int] = {}
        for p in planned:
            added[p.scheme.id] = added.get(p.scheme.id, 0) + p.request.principal
        for scheme_id, principal in sorted(added.items()):
            book.add_registered(self.session, scheme_id, self.bank_id, principal)
        bank = bank_code(self.session, self.bank_id)
        for p, row in zip(planned, rows, strict=True):
            p.id = new_id = row["id"]
            p.scheme.pending -= p.request.principal
            self._loans[p.request.external_id] = _KnownLoan(new_id, p.registration)
            audit.record(self.session, actor=self.actor, action="loan.register", entity_type="loan", entity_id=new_id,
                         after={**p.registration, "external_id": p.request.external_id, "bank": bank,
                                "rule_version": p.version.number, "region": p.enterprise.data.region,
                                "categories": list(p.enterprise.data.categories),
                                "registered_on": self.today.isoformat()})
        self._planned.clear()
        self._undo.clear()


def _loans_by_external_id(session: Session, bank_id: int, external_ids: Sequence[str]) -> Any:
    """(id, external_id, registration) of a bank's loans with these external ids.

    On PostgreSQL the ids are joined from an array: a probe of the unique
    (bank_id, external_id) index per id whatever the statistics say. An ``IN`` list is
    planned as a scan of all the bank's loans while a big first upload has left the
    statistics behind.
    """
    if is_postgresql(session):
        wanted = func.unnest(bindparam("external_ids", list(external_ids), type_=ARRAY(String))).table_valued("eid").render_derived()
        return (select(Loan.id, Loan.external_id, Loan.registration)
                .join_from(wanted, Loan, and_(Loan.bank_id == bank_id, Loan.external_id == wanted.c.eid)))
    return (select(Loan.id, Loan.external_id, Loan.registration)
            .where(Loan.bank_id == bank_id, Loan.external_id.in_(external_ids)))


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def register_loan(session: Session, req: LoanRequest, *, bank_id: int, today: date, actor: str) -> tuple[Loan, bool]:
    """Register one loan for a bank; returns the loan and whether it was created
    (False: the same registration was already recorded)."""
    for attempt in (1, 2):
        registrar = Registrar(session, bank_id=bank_id, today=today, actor=actor)
        outcome = registrar.plan(req)
        if outcome.status == "unchanged":
            return session.get_one(Loan, outcome.loan_id), False
        try:
            with session.begin_nested():
                registrar.write()
        except IntegrityError:
            # The same external_id was registered concurrently (under another scheme,
            # so the scheme lock did not order us): decide again against it.
            if attempt == 2:
                raise
            continue
        return session.get_one(Loan, outcome.loan_id), True
    raise AssertionError("unreachable")
