"""The live portfolio as the engine sees it: plain values, no database rows.

:mod:`ledger.simulations` builds a :class:`Portfolio` from the ledger as of a date;
tests and benchmarks build one directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from rules import RuleSet


class SimLoan(NamedTuple):
    """One live loan (amounts in fen)."""

    id: int
    bank: str
    #: The borrower's unified social credit code: the per_enterprise_cap groups by it.
    enterprise: str
    region: str
    categories: tuple[str, ...]
    principal: int
    outstanding: int
    #: Calendar year of disbursement: the portfolio cap's vintage.
    vintage: int
    #: The rule version number frozen on the loan at registration.
    version: int
    #: Already defaulted as of the date, its claim not yet approved: it will be
    #: compensated whatever the scenario (probability 1, in the first month).
    defaulted: bool = False


@dataclass(frozen=True)
class Portfolio:
    scheme: str
    as_of: date
    loans: Sequence[SimLoan]
    #: Version number -> its rules, for every version a loan is frozen on.
    versions: Mapping[int, RuleSet]
    #: Every sub-fund the ledger has -> its available balance as of the date (fen). The
    #: calculator expands payer placeholders and fallbacks against these codes.
    available: Mapping[str, int]
    #: What each enterprise (credit code) was already compensated in the scheme.
    enterprise_compensated: Mapping[str, int] = field(default_factory=dict)
    #: (bank, calendar year) -> compensation already approved that year.
    bank_annual_approved: Mapping[tuple[str, int], int] = field(default_factory=dict)
    #: (bank, vintage) -> principal registered in the scheme with disbursement that year.
    vintage_registered: Mapping[tuple[str, int], int] = field(default_factory=dict)
    #: (bank, vintage) -> compensation already approved on loans of that vintage.
    vintage_approved: Mapping[tuple[str, int], int] = field(default_factory=dict)


__all__ = ["Portfolio", "SimLoan"]
