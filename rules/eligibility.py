"""Eligibility checks that depend only on the rule version (SPEC §3 ``[eligibility]``,
``[claims]``; §4 registration and submission checks).

Each function returns *every* problem at once as a :class:`Violation` with a stable
machine ``code``, so a bank fixes a loan in one round. Checks that need the ledger's
state (bank suspended, pool capacity, duplicate claim, loan status) live in the ledger.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from rules.money import format_amount
from rules.ruleset import RuleSet


@dataclass(frozen=True)
class Violation:
    #: Stable code for API clients, e.g. ``term_too_long``.
    code: str
    #: The request field the problem is about.
    field: str
    message: str


def _plus_days(day: date, days: int) -> str:
    """``day + days`` for a message; the checks themselves compare day counts, which
    cannot overflow near the end of the calendar."""
    try:
        return (day + timedelta(days=days)).isoformat()
    except OverflowError:
        return "after 9999-12-31"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, clamped to the month's end
    (2026-01-31 + 1 month = 2026-02-28), as loan terms are counted."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    if year > date.max.year:
        return date.max
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def registration_violations(
    rules: RuleSet,
    *,
    categories: Collection[str],
    principal: int,
    disbursed_on: date,
    maturity_on: date,
    registered_on: date,
) -> list[Violation]:
    """Why a loan cannot be registered (备案) under this rule version; [] when it can."""
    found: list[Violation] = []
    rule = rules.eligibility

    if disbursed_on < rules.effective_from:
        found.append(
            Violation(
                "disbursed_before_effective",
                "disbursed_on",
                f"disbursed on {disbursed_on}, before these rules took effect on {rules.effective_from}",
            )
        )
    if disbursed_on > registered_on:
        found.append(
            Violation(
                "disbursement_in_future",
                "disbursed_on",
                f"disbursed on {disbursed_on}, after the registration date {registered_on}: register disbursed loans only",
            )
        )
    if rule.categories_any and not set(categories) & set(rule.categories_any):
        found.append(
            Violation(
                "category_not_eligible",
                "categories",
                f"the enterprise needs one of the categories {', '.join(rule.categories_any)}",
            )
        )
    if principal <= 0:
        found.append(Violation("principal_not_positive", "principal", "the principal must be greater than 0"))
    elif rule.max_loan_principal is not None and principal > rule.max_loan_principal:
        found.append(
            Violation(
                "principal_above_maximum",
                "principal",
                f"principal {format_amount(principal)} is above the maximum {format_amount(rule.max_loan_principal)}",
            )
        )
    if maturity_on <= disbursed_on:
        found.append(
            Violation(
                "maturity_before_disbursement",
                "maturity_on",
                f"maturity {maturity_on} must be after disbursement {disbursed_on}",
            )
        )
    elif rule.max_term_months is not None:
        # Calendar months, not 30-day months: a 12-month loan from 2026-01-31 may mature
        # on 2027-01-31, and one from 2026-03-31 on 2026-09-30 (six months, clamped).
        latest = add_months(disbursed_on, rule.max_term_months)
        if maturity_on > latest:
            found.append(
                Violation(
                    "term_too_long",
                    "maturity_on",
                    f"the term is longer than {rule.max_term_months} months: maturity may be {latest} at the latest",
                )
            )
    window = rule.registration_window_days
    if window is not None and (registered_on - disbursed_on).days > window:
        found.append(
            Violation(
                "registration_window_expired",
                "disbursed_on",
                f"loans must be registered within {window} days of disbursement"
                f" (by {_plus_days(disbursed_on, window)}); registered on {registered_on}",
            )
        )
    return found


def claim_timing_violations(rules: RuleSet, *, default_on: date, claim_on: date) -> list[Violation]:
    """Why a claim cannot be filed on ``claim_on`` for a default on ``default_on``.

    SPEC §3: ``default_on + min_overdue_days <= claim date <= default_on +
    filing_window_days``, compared as day counts.
    """
    found: list[Violation] = []
    waiting, window = rules.claims.min_overdue_days, rules.claims.filing_window_days
    elapsed = (claim_on - default_on).days
    if elapsed < 0:
        # A default in the future also makes the claim "too early"; one message is enough.
        found.append(
            Violation("default_in_future", "default_on", f"default date {default_on} is after the claim date {claim_on}")
        )
    elif waiting is not None and elapsed < waiting:
        found.append(
            Violation(
                "claim_too_early",
                "default_on",
                f"a claim may be filed {waiting} days after default, from {_plus_days(default_on, waiting)}",
            )
        )
    if window is not None and elapsed > window:
        found.append(
            Violation(
                "filing_window_expired",
                "default_on",
                f"a claim must be filed within {window} days of default (by {_plus_days(default_on, window)})",
            )
        )
    return found


__all__ = ["Violation", "add_months", "claim_timing_violations", "registration_violations"]
