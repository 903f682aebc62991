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

Running figures
    Both checks read the book's running figures (``book``: per scheme and bank, the
    outstanding of live, non-performing and on-book loans), not the loans: a
    registration costs the same with ten thousand or a million loans in the scheme.
    Registrations add to them; a trigger on ``loans`` follows every later change of
    status or outstanding; ``ledger-admin verify`` recomputes them.

Concurrency
    The capacity and NPL checks read aggregates and then insert: two registrations
    running side by side could each see room for themselves and together overshoot
    the leverage limit (write skew under READ COMMITTED). Registrations therefore
    lock the scheme's row (``SELECT … FOR UPDATE``, always in scheme-code order)
    before they read; on SQLite every writer already holds the database's write lock
    (``BEGIN IMMEDIATE``). Every loan INSERT goes through :class:`Registrar`, so loans
    of a scheme are only ever added under that lock; every other change to a loan
    only lowers the scheme's exposure, so it needs no lock. A bulk batch holds the lock for its few hundred rows; a single registration waits
    at most that long. Loan events use conditional UPDATEs on the status, so a loan
    moves from one state to the next exactly once.

:class:`Registrar` is the registration engine shared by the API (one loan) and the
bulk upload (thousands): reads are batched per transaction, writes deferred and sent
as one executemany per table with ids allocated up front; the checks are identical.

Modules: ``requests`` (a registration as sent, checks needing no database),
``statuses`` (statuses and event transitions), ``book`` (running figures per scheme and
bank), ``pool`` (payer sub-funds and their balance), ``npl`` (NPL figures and reports), ``registrar`` (the engine),
``events`` (repayment, default, repaid, cancel), ``listing`` (reads).
"""

from __future__ import annotations

from .events import invalid_transition, record_event, transition_loan
from .listing import get_loan_for, list_loans, loan_events
from .npl import NplReport, bank_npl, npl_figures, npl_ratio
from .pool import available_balance, pool_subfunds
from .registrar import Outcome, PlannedLoan, Registrar, register_loan
from .requests import COLLATERAL_MAX, EXTERNAL_ID_MAX, LoanRequest, normalise_rate, refused, request_violations
from .statuses import EVENT_TYPES, LIVE_STATUSES, NPL_STATUSES, OUTSTANDING_STATUSES, TRANSITIONS

__all__ = [
    "COLLATERAL_MAX",
    "EVENT_TYPES",
    "EXTERNAL_ID_MAX",
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
    "invalid_transition",
    "list_loans",
    "loan_events",
    "normalise_rate",
    "npl_figures",
    "npl_ratio",
    "pool_subfunds",
    "record_event",
    "refused",
    "register_loan",
    "request_violations",
    "transition_loan",
]
