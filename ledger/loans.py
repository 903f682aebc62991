"""Loan registration (备案), loan events and banks' NPL ratios (SPEC §3, §4; issue 4).

Registration
    A loan is registered under the rule version in force on its disbursement date;
    the version, the borrower's region and its categories are frozen on the loan. The
    bank's own ``external_id`` makes registration idempotent: the same content again is
    the existing loan, other content is ``external_id_conflict``. Every failed check is
    reported at once (``registration_refused`` with ``details``):

    ========================== ============== ==========================================
    code                       field          check
    ========================== ============== ==========================================
    credit_code_*              credit_code    GB 32100-2015 code (see ledger.creditcode)
    enterprise_not_registered  credit_code    this bank registered the borrower
    scheme_not_found           scheme         the scheme exists
    no_rule_version_in_force   disbursed_on   a version is in force on that date
    (rules.eligibility codes)  …              categories, principal, term, window, dates
    bank_suspended             bank           bank's NPL ratio ≤ npl_suspend_registrations
    pool_capacity_exceeded     principal      scheme exposure + principal ≤ leverage × pool
    ========================== ============== ==========================================

Pool capacity (SPEC §3 ``[pool] leverage``)
    *Exposure* is the outstanding principal of the scheme's live loans of every bank:
    statuses ``active``, ``defaulted`` and ``claimed``. Defaulted and claimed loans
    stay in: their loss is exactly what the pool is about to carry, and dropping them
    at default would free capacity just when the pool is about to pay. Repaid,
    compensated, closed and cancelled loans are out (a compensated loan's share has
    already left the pool's balance).

    The *pool* is the scheme's payer sub-funds under the loan's rule version: every
    sub-fund its payer lines (default split and every region entry's split) can pay
    from — fixed codes, every existing sub-fund a placeholder template such as
    ``CITY-{city}`` matches, and the fallbacks — counted once each, by their
    ``available`` balance. Exposure is scheme-wide, so the balance is too: the
    capacity must not depend on which borrower happens to ask.

NPL ratio of a bank in a scheme (SPEC §3 ``npl_suspend_*``)
    outstanding principal of its loans in ``defaulted``, ``claimed`` or ``compensated``
    ÷ outstanding principal of its loans not ``repaid``, ``closed`` or ``cancelled``;
    0 when nothing is outstanding. Registration is refused when it is *above* the
    frozen version's ``npl_suspend_registrations``.

Concurrency
    The capacity and NPL checks read aggregates and then insert: two registrations
    running side by side could each see room for themselves and together overshoot
    the leverage limit (write skew under READ COMMITTED). Registrations therefore
    lock the scheme's row (``SELECT … FOR UPDATE``, always in scheme-code order)
    before they read; on SQLite every writer already holds the database's write lock
    (``BEGIN IMMEDIATE``). Every loan INSERT goes through :class:`Registrar`, so loans
    of a scheme are only ever added under that lock — which also lets a bulk upload
    carry the scheme's exposure from batch to batch (see :meth:`Registrar._scheme`).
    A bulk batch holds the lock for its few hundred rows; a single registration waits
    at most that long. Loan events use conditional UPDATEs on the status, so a loan
    moves from one state to the next exactly once.

:class:`Registrar` is the registration engine shared by the API (one loan) and the
bulk upload (thousands): reads are batched per transaction, writes deferred and sent
as one executemany per table with ids allocated up front; the checks are identical.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import ARRAY, String, and_, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules import RuleSet, Violation, registration_violations
from rules.money import format_amount, ratio_text
from rules.regions import is_region, region_level, template_placeholders

from . import audit, creditcode
from .db import is_postgresql
from .enterprises import EnterpriseBook, EnterpriseState, bank_code
from .errors import AlreadyExists, InvalidTransition, NotFound, ValidationFailed
from .models import Account, Bank, Claim, Enterprise, Loan, LoanEvent, RuleVersion, Scheme, SubFund
from .models.base import utcnow
from .schemes import ruleset_of

#: Loans whose outstanding principal counts against the pool's leverage limit.
LIVE_STATUSES = ("active", "defaulted", "claimed")
#: Non-performing loans (NPL numerator).
NPL_STATUSES = ("defaulted", "claimed", "compensated")
#: Loans whose outstanding principal is still on the bank's books (NPL denominator).
OUTSTANDING_STATUSES = ("active", "defaulted", "claimed", "compensated")
EVENT_TYPES = ("repayment", "default", "repaid", "cancel")
#: Event type -> (statuses it may be reported in, status afterwards).
TRANSITIONS = {
    "repayment": (("active",), "active"),
    "default": (("active",), "defaulted"),
    "repaid": (("active",), "repaid"),
    "cancel": (("active",), "cancelled"),
}

EXTERNAL_ID_MAX = 64
COLLATERAL_MAX = 40
_EXTERNAL_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?\Z")
#: What :func:`normalise_rate` produces ("0", "0.0435"): requests carry rates in this form.
_NORMALISED_RATE_RE = re.compile(r"^0(\.[0-9]{0,5}[1-9])?\Z")
_loans = Loan.__table__


# -- requests ------------------------------------------------------------------------


def normalise_rate(value: object) -> str | None:
    """An annual interest rate as a decimal fraction ("0.0435"), at most 6 decimals,
    in [0, 1); shown without trailing zeros. None or "" means not given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('must be a decimal string such as "0.0435"')
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError('must be a decimal string such as "0.0435"') from None
    if not rate.is_finite() or rate < 0 or rate >= 1:
        raise ValueError("must be a fraction between 0 and 1 (4.35 % is 0.0435)")
    if rate != rate.quantize(Decimal("0.000001")):
        raise ValueError("has more than 6 decimals")
    text = format(rate.normalize(), "f")
    return text


@dataclass(frozen=True)
class LoanRequest:
    """A registration as the bank sent it (amounts in fen, dates parsed)."""

    external_id: str
    scheme: str
    credit_code: str
    principal: int
    disbursed_on: date
    maturity_on: date
    interest_rate: str | None = None
    collateral_type: str | None = None

    def registration(self) -> dict[str, Any]:
        """The canonical content compared when the same external_id comes again."""
        return {
            "scheme": self.scheme,
            "credit_code": creditcode.normalise(self.credit_code),
            "principal": format_amount(self.principal),
            "disbursed_on": self.disbursed_on.isoformat(),
            "maturity_on": self.maturity_on.isoformat(),
            "interest_rate": self.interest_rate,
            "collateral_type": self.collateral_type,
        }


def request_violations(req: LoanRequest) -> list[Violation]:
    """Problems with the request's own fields (no database needed)."""
    found = []
    if not req.external_id or len(req.external_id) > EXTERNAL_ID_MAX or not _EXTERNAL_ID_RE.fullmatch(req.external_id):
        found.append(Violation("invalid_external_id", "external_id",
                               f"1-{EXTERNAL_ID_MAX} characters, no control characters or surrounding spaces"))
    if req.collateral_type is not None and len(req.collateral_type) > COLLATERAL_MAX:
        found.append(Violation("too_long", "collateral_type", f"at most {COLLATERAL_MAX} characters"))
    if req.interest_rate is not None and not _NORMALISED_RATE_RE.match(req.interest_rate):
        found.append(Violation("invalid_rate", "interest_rate", "not a rate as normalise_rate() writes it"))
    problem = creditcode.problem(req.credit_code)
    if problem is not None:
        found.append(Violation(problem.code, "credit_code", problem.message))
    return found


def refused(violations: Sequence[Violation]) -> ValidationFailed:
    errors: dict[str, list[str]] = {}
    for v in violations:
        errors.setdefault(v.field, []).append(v.message)
    codes = ", ".join(dict.fromkeys(v.code for v in violations))
    return ValidationFailed(f"The loan cannot be registered: {codes}.", code="registration_refused",
                            errors=errors, details=[v.__dict__ for v in violations])


# -- the pool ------------------------------------------------------------------------


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^{}]*\}", template)
    return re.compile("^" + r"(\d{6})".join(re.escape(p) for p in parts) + "$")


def pool_subfunds(rules: RuleSet, existing: Iterable[str]) -> list[str]:
    """The sub-funds that can pay the scheme's claims under ``rules`` (see module doc)."""
    existing = sorted(set(existing))
    chosen: dict[str, None] = {}
    for payer in rules.payer_templates:
        if "{" not in payer.subfund:
            if payer.subfund in existing:
                chosen[payer.subfund] = None
        else:
            pattern, names = _template_pattern(payer.subfund), template_placeholders(payer.subfund)
            for code in existing:
                match = pattern.match(code)
                if match and all(is_region(v) and region_level(v) == n for v, n in zip(match.groups(), names, strict=True)):
                    chosen[code] = None
        if payer.fallback is not None and payer.fallback in existing:
            chosen[payer.fallback] = None
    return list(chosen)


def available_balance(session: Session, subfund_codes: Sequence[str]) -> int:
    if not subfund_codes:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(Account.balance), 0))
        .where(Account.code.in_([f"subfund:{code}:available" for code in subfund_codes]))
    )
    return int(total or 0)


# -- NPL -----------------------------------------------------------------------------


def npl_figures(session: Session, bank_id: int, scheme_id: int) -> tuple[int, int]:
    """(non-performing outstanding, all outstanding) of a bank in a scheme, in fen."""
    row = session.execute(
        select(
            func.coalesce(func.sum(case((Loan.status.in_(NPL_STATUSES), Loan.outstanding), else_=0)), 0),
            func.coalesce(func.sum(case((Loan.status.in_(OUTSTANDING_STATUSES), Loan.outstanding), else_=0)), 0),
        ).where(Loan.bank_id == bank_id, Loan.scheme_id == scheme_id)
    ).one()
    return int(row[0]), int(row[1])


def npl_ratio(session: Session, bank_id: int, scheme_id: int) -> Fraction:
    """The bank's NPL ratio in the scheme, exact (see the module doc for the definition)."""
    bad, outstanding = npl_figures(session, bank_id, scheme_id)
    return Fraction(bad, outstanding) if outstanding else Fraction(0)


@dataclass(frozen=True)
class NplReport:
    bank: str
    scheme: str
    ratio: Fraction
    non_performing: int
    outstanding: int
    #: The rule version in force on ``on`` whose thresholds apply (None: none in force).
    rule_version: int | None
    on: date
    npl_suspend_registrations: Decimal | None
    npl_suspend_compensation: Decimal | None

    @property
    def ratio_text(self) -> str:
        return ratio_text(self.ratio)

    @property
    def suspended_registrations(self) -> bool:
        limit = self.npl_suspend_registrations
        return limit is not None and self.ratio > Fraction(limit)

    @property
    def suspended_compensation(self) -> bool:
        limit = self.npl_suspend_compensation
        return limit is not None and self.ratio > Fraction(limit)


def bank_npl(session: Session, bank_code: str, scheme_code: str, *, caller_bank_id: int | None, today: date) -> NplReport:
    """A bank's NPL ratio in a scheme against the thresholds of the version in force
    today. A bank may only ask about itself (another bank's code is a 404)."""
    bank = session.scalar(select(Bank).where(Bank.code == bank_code))
    if bank is None or (caller_bank_id is not None and bank.id != caller_bank_id):
        raise NotFound(f"No bank {bank_code}.", code="bank_not_found")
    scheme = session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise NotFound(f"No scheme {scheme_code}.", code="scheme_not_found")
    bad, outstanding = npl_figures(session, bank.id, scheme.id)
    version = session.scalar(
        select(RuleVersion).where(RuleVersion.scheme_id == scheme.id, RuleVersion.effective_from <= today)
        .order_by(RuleVersion.effective_from.desc()).limit(1)
    )
    pool = ruleset_of(version).pool if version is not None else None
    return NplReport(
        bank=bank.code, scheme=scheme.code, ratio=Fraction(bad, outstanding) if outstanding else Fraction(0),
        non_performing=bad, outstanding=outstanding, rule_version=version.version if version else None, on=today,
        npl_suspend_registrations=pool.npl_suspend_registrations if pool else None,
        npl_suspend_compensation=pool.npl_suspend_compensation if pool else None,
    )


# -- registration --------------------------------------------------------------------


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
    #: loans planned in this transaction. Exact when ``exposure_exact``, otherwise an
    #: upper bound (see :meth:`Registrar._scheme`).
    exposure: int
    exposure_exact: bool
    #: The highest loan id of the scheme that ``exposure`` accounts for.
    watermark: int
    #: Principal planned in this transaction and not written yet.
    pending: int
    #: This bank's non-performing outstanding in the scheme (fen) and all its
    #: outstanding; the latter only read when the former is not 0.
    npl_bad: int
    npl_outstanding: int | None

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
    #: Scheme code -> (exposure, watermark) carried from the previous, written batch.
    _carry: dict[str, tuple[int, int]] = field(default_factory=dict)
    _rulesets: dict[int, RuleSet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.enterprises = EnterpriseBook(self.session, bank_id=self.bank_id, actor=self.actor)

    def reset(self, *, carry: bool = True) -> None:
        """Start afresh for the next transaction. ``carry`` keeps each scheme's exposure
        as an upper bound for the next batch: everything planned was written."""
        if carry and not self._planned:
            self._carry = {code: (s.exposure, s.watermark) for code, s in self._schemes.items() if s is not None}
        else:
            self._carry = {}
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
        """The scheme's state for this transaction, read under its row lock.

        The exposure sum is the expensive read (every live loan of the scheme), so a
        bulk upload reads it exactly once and then carries it from batch to batch,
        adding the loans others registered since (ids above the watermark: every
        registration holds this lock, so ids registered later are higher). Everything
        else only lowers exposure (repayments, repaid, cancelled, compensated loans),
        so the carried figure is an upper bound; a loan it would refuse is checked
        again against the exact figure (:meth:`_exact_exposure`) before it is refused.
        """
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
        state = _SchemeState(scheme.id, scheme.code, versions, exposure=0, exposure_exact=True, watermark=0,
                             pending=0, npl_bad=0, npl_outstanding=None)
        carried = self._carry.get(code)
        if carried is None:
            self._exact_exposure(state)
        else:
            exposure, watermark = carried
            # Only rows above the watermark: a primary-key range scan on both databases.
            newest, added = self.session.execute(
                select(func.max(case((Loan.scheme_id == scheme.id, Loan.id))),
                       func.coalesce(func.sum(case((and_(Loan.scheme_id == scheme.id, Loan.status.in_(LIVE_STATUSES)),
                                                    Loan.outstanding), else_=0)), 0))
                .where(Loan.id > watermark)
            ).one()
            state.exposure, state.watermark = exposure + int(added), max(watermark, newest or 0)
            state.exposure_exact = False
        # NPL: the numerator reads only non-performing rows (an index prefix); the
        # denominator, a scan of the bank's loans, is needed only when it is not 0.
        state.npl_bad = int(self.session.scalar(
            select(func.coalesce(func.sum(Loan.outstanding), 0))
            .where(Loan.scheme_id == scheme.id, Loan.bank_id == self.bank_id, Loan.status.in_(NPL_STATUSES))
        ) or 0)
        if state.npl_bad:
            state.npl_outstanding = int(self.session.scalar(
                select(func.coalesce(func.sum(Loan.outstanding), 0))
                .where(Loan.scheme_id == scheme.id, Loan.bank_id == self.bank_id,
                       Loan.status.in_(OUTSTANDING_STATUSES))
            ) or 0)
        self._schemes[code] = state
        return state

    def _exact_exposure(self, state: _SchemeState) -> None:
        newest, exposure = self.session.execute(
            select(func.max(Loan.id),
                   func.coalesce(func.sum(case((Loan.status.in_(LIVE_STATUSES), Loan.outstanding), else_=0)), 0))
            .where(Loan.scheme_id == state.id)
        ).one()
        state.exposure = int(exposure) + state.pending
        state.watermark = max(state.watermark, newest or 0)
        state.exposure_exact = True

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
                if scheme.exposure + req.principal > capacity and not scheme.exposure_exact:
                    self._exact_exposure(scheme)
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
        if scheme.npl_outstanding is not None:
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
                "region": enterprise.data.region, "categories": list(enterprise.data.categories),
                "principal": req.principal, "outstanding": req.principal, "disbursed_on": req.disbursed_on,
                "maturity_on": req.maturity_on, "interest_rate": req.interest_rate,
                "collateral_type": req.collateral_type, "status": "active", "registered_on": self.today,
                "registration": p.registration, "created_at": now,
            })
        # Ids allocated up front and a plain executemany: the fastest INSERT on both
        # drivers (psycopg pipelines it), with no read-back of what was written.
        for row, new_id in zip(rows, allocate_ids(self.session, _loans, len(rows)), strict=True):
            row["id"] = new_id
        self.session.execute(insert(_loans), rows)
        bank = bank_code(self.session, self.bank_id)
        for p, row in zip(planned, rows, strict=True):
            p.id = new_id = row["id"]
            p.scheme.pending -= p.request.principal
            p.scheme.watermark = max(p.scheme.watermark, new_id)
            self._loans[p.request.external_id] = _KnownLoan(new_id, p.registration)
            audit.record(self.session, actor=self.actor, action="loan.register", entity_type="loan", entity_id=new_id,
                         after={**p.registration, "external_id": p.request.external_id, "bank": bank,
                                "rule_version": p.version.number, "region": p.enterprise.data.region,
                                "categories": list(p.enterprise.data.categories),
                                "registered_on": self.today.isoformat()})
        self._planned.clear()
        self._undo.clear()


def allocate_ids(session: Session, table: Any, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, for a multi-row INSERT without RETURNING.

    PostgreSQL: from the column's sequence (never reused, gaps are harmless). SQLite:
    after the highest id — safe because a writer holds the database's write lock from
    BEGIN IMMEDIATE to COMMIT; should a caller write without it, the primary key
    refuses the duplicate and the upload redoes that batch row by row.
    """
    if n == 0:
        return []
    if is_postgresql(session):
        return list(session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(func.generate_series(1, n))
        ))
    start = int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
    return list(range(start + 1, start + n + 1))


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


# -- reads ---------------------------------------------------------------------------


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


def loan_events(session: Session, loan: Loan) -> list[LoanEvent]:
    return list(session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan.id).order_by(LoanEvent.id)))


# -- events --------------------------------------------------------------------------


def invalid_transition(loan_id: int, status: str, action: str, allowed_from: Sequence[str]) -> InvalidTransition:
    return InvalidTransition(
        f"Loan {loan_id} is {status}: {action} needs a loan that is {' or '.join(allowed_from)}.",
        extra={"current_status": status},
    )


def transition_loan(
    session: Session, loan: Loan, *, allowed_from: Sequence[str], to: str, action: str, guard: Any = None,
    **values: Any,
) -> bool:
    """Move ``loan`` to ``to`` if it is still in one of ``allowed_from`` — a conditional
    UPDATE, so two concurrent requests can never both move it (the loser gets
    ``invalid_transition`` naming the status the winner left). An extra ``guard``
    condition that fails while the status still allows the move returns False."""
    query = update(_loans).where(_loans.c.id == loan.id, _loans.c.status.in_(allowed_from))
    if guard is not None:
        query = query.where(guard)
    result = session.execute(query.values(status=to, **values))
    session.refresh(loan)
    if result.rowcount == 1:
        return True
    if loan.status not in allowed_from:
        raise invalid_transition(loan.id, loan.status, action, allowed_from)
    return False


def _amount_problem(type: str, amount: int, outstanding: int) -> str | None:
    shown = format_amount(outstanding)
    if type == "repayment" and amount > outstanding:
        return f"more than the outstanding principal {shown}"
    if type == "default" and not 0 < amount <= outstanding:
        return f"the outstanding principal at default must be above 0 and at most the recorded {shown}"
    if type == "repaid" and amount != outstanding:
        return f"the final repayment must be the outstanding principal {shown}"
    return None


def _amount_changed(type: str, amount: int | None, outstanding: int) -> ValidationFailed:
    """A guard failed because the outstanding changed under us (a concurrent repayment)."""
    problem = _amount_problem(type, amount or 0, outstanding) or "the outstanding principal changed meanwhile"
    return ValidationFailed("The event is invalid.", code="invalid_event", errors={"amount": [problem]})


def record_event(
    session: Session, loan_id: int, *, bank_id: int | None, type: str, on: date, amount: int | None = None,
    today: date, actor: str,
) -> tuple[Loan, LoanEvent]:
    """Apply a repayment, default, repaid or cancel event reported by the bank.

    * ``repayment`` lowers the outstanding principal (``amount`` required, at most the
      outstanding). Reaching zero does not mark the loan repaid: interest may still be
      due, and closing a loan is the bank's explicit ``repaid`` report.
    * ``default`` records ``default_on`` and makes the loan ``defaulted`` (claims start
      here). An ``amount`` states the outstanding principal at default, for banks that
      did not report every repayment: it may only lower the recorded outstanding.
    * ``repaid`` sets the outstanding to zero and the loan ``repaid`` (an ``amount``, if
      given, must be that outstanding: the final repayment).
    * ``cancel`` withdraws a registration made in error, only while the loan is active
      and has never been claimed.

    The event date is between disbursement and today.
    """
    if type not in TRANSITIONS:
        raise ValidationFailed(f"Unknown event type {type}.", errors={"type": [f"one of {', '.join(EVENT_TYPES)}"]})
    loan = get_loan_for(session, loan_id, bank_id)
    allowed_from, to = TRANSITIONS[type]
    if loan.status not in allowed_from:
        raise invalid_transition(loan.id, loan.status, f"a {type} event", allowed_from)
    errors: dict[str, list[str]] = {}
    if on > today:
        errors["on"] = [f"{on} is after today ({today})"]
    elif on < loan.disbursed_on:
        errors["on"] = [f"{on} is before the disbursement on {loan.disbursed_on}"]
    if type == "repayment" and (amount is None or amount <= 0):
        errors["amount"] = ["a repayment needs an amount greater than zero"]
    elif type == "cancel" and amount is not None:
        errors["amount"] = ["a cancellation carries no amount"]
    elif amount is not None and (problem := _amount_problem(type, amount, loan.outstanding)):
        errors["amount"] = [problem]
    if errors:
        raise ValidationFailed("The event is invalid.", code="invalid_event", errors=errors)

    before = {"status": loan.status, "outstanding": format_amount(loan.outstanding)}
    if type == "repayment":
        assert amount is not None
        result = session.execute(
            update(_loans)
            .where(_loans.c.id == loan.id, _loans.c.status.in_(allowed_from), _loans.c.outstanding >= amount)
            .values(outstanding=_loans.c.outstanding - amount)
        )
        session.refresh(loan)
        if result.rowcount != 1:
            if loan.status not in allowed_from:
                raise invalid_transition(loan.id, loan.status, "a repayment event", allowed_from)
            raise _amount_changed(type, amount, loan.outstanding)
    elif type == "default":
        values: dict[str, Any] = {"default_on": on}
        guard = None
        if amount is not None:
            values["outstanding"], guard = amount, _loans.c.outstanding >= amount
        if not transition_loan(session, loan, allowed_from=allowed_from, to=to, action="a default event",
                               guard=guard, **values):
            raise _amount_changed(type, amount, loan.outstanding)
    elif type == "repaid":
        guard = None if amount is None else _loans.c.outstanding == amount
        if not transition_loan(session, loan, allowed_from=allowed_from, to=to, action="a repaid event",
                               guard=guard, outstanding=0):
            raise _amount_changed(type, amount, loan.outstanding)
    else:  # cancel: only before any claim
        if session.scalar(select(Claim.id).where(Claim.loan_id == loan.id).limit(1)) is not None:
            raise InvalidTransition(f"Loan {loan.id} has a claim: it can no longer be cancelled.",
                                    extra={"current_status": loan.status})
        transition_loan(session, loan, allowed_from=allowed_from, to=to, action="a cancel event")
    event = LoanEvent(loan_id=loan.id, type=type, on=on, amount=amount, outstanding_after=loan.outstanding,
                      status_after=loan.status, created_by=actor)
    session.add(event)
    session.flush()
    audit.record(session, actor=actor, action=f"loan.{type}", entity_type="loan", entity_id=loan.id,
                 before=before,
                 after={"status": loan.status, "outstanding": format_amount(loan.outstanding), "on": on,
                        "amount": format_amount(amount) if amount is not None else None, "event_id": event.id})
    return loan, event


__all__ = [
    "EVENT_TYPES",
    "LIVE_STATUSES",
    "NPL_STATUSES",
    "OUTSTANDING_STATUSES",
    "TRANSITIONS",
    "LoanRequest",
    "NplReport",
    "Outcome",
    "PlannedLoan",
    "Registrar",
    "available_balance",
    "bank_npl",
    "get_loan_for",
    "list_loans",
    "loan_events",
    "normalise_rate",
    "npl_figures",
    "npl_ratio",
    "pool_subfunds",
    "record_event",
    "register_loan",
    "transition_loan",
]
