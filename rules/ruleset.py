"""The validated, immutable form of one rule version (SPEC §3).

A :class:`RuleSet` is only ever built by :func:`rules.document.parse_rules`, which has
already checked everything; this module holds the shape and the lookup structures the
calculator needs, precomputed once per version so that computing a claim does no
parsing and no searching.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from rules.regions import expand_template, region_chain, region_problem
from rules.steps import show_units

#: Ratios have at most four decimals (SPEC §1): held as integer ten-thousandths inside.
RATIO_SCALE = 10_000
#: Payer shares have at most six decimals: held as integer millionths inside.
SHARE_SCALE = 1_000_000

#: The region memo stops growing here: there are a few thousand real region codes, and a
#: stream of made-up ones (quotes are open to any role) must not grow memory forever.
_MEMO_LIMIT = 50_000

UpliftMode = Literal["sum", "max"]
TierMode = Literal["whole", "marginal"]


@dataclass(frozen=True)
class PayerTemplate:
    """One line of a payer split as written in the rule file."""

    #: Sub-fund code, possibly with ``{province}`` / ``{city}`` / ``{county}``.
    subfund: str
    share: Decimal
    #: Fixed sub-fund code that pays when the expanded one does not exist.
    fallback: str | None = None
    #: The share in millionths (exact: shares have at most six decimals).
    share_units: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "share_units", int(self.share * SHARE_SCALE))


@dataclass(frozen=True)
class RegionRatio:
    """A ``[[region_ratios]]`` entry: exactly one of ``region`` / ``group`` is set."""

    index: int
    ratio: Decimal
    region: str | None = None
    group: str | None = None
    #: Replaces the default split for borrowers this entry matches.
    payers: tuple[PayerTemplate, ...] | None = None

    @property
    def path(self) -> str:
        return f"region_ratios[{self.index}]"


@dataclass(frozen=True)
class SizeTier:
    #: Upper bound of the tier in fen, inclusive.
    up_to: int
    ratio: Decimal


@dataclass(frozen=True)
class Eligibility:
    categories_any: tuple[str, ...] = ()
    max_loan_principal: int | None = None
    max_term_months: int | None = None
    registration_window_days: int | None = None


@dataclass(frozen=True)
class ClaimRules:
    min_overdue_days: int | None = None
    filing_window_days: int | None = None
    per_claim_cap: int | None = None
    per_enterprise_cap: int | None = None
    per_bank_annual_cap: int | None = None
    #: EIF-style portfolio cap: compensation on one vintage (the bank's loans disbursed
    #: in one calendar year) <= rate x the principal registered for that vintage.
    portfolio_cap_rate: Decimal | None = None
    #: Document kinds a claim needs before a reviewer may recommend approval.
    required_documents: tuple[str, ...] = ()
    #: The bureau decides within N days of (re)submission (the SLA clock).
    decision_days: int | None = None


@dataclass(frozen=True)
class Reporting:
    #: The loan-level report for month M is due by this day of M+1.
    monthly_report_due_day: int | None = None


@dataclass(frozen=True)
class Pool:
    leverage: Decimal | None = None
    npl_suspend_registrations: Decimal | None = None
    npl_suspend_compensation: Decimal | None = None


@dataclass(frozen=True)
class RegionMatch:
    """Everything about a borrower's region that does not depend on the claim: the
    entry that gives its ratio, if any, and its payer lines with placeholders filled."""

    entry: RegionRatio | None
    #: The code in the borrower's chain that matched (the borrower's own, its city or
    #: its province), None when nothing matched.
    matched: str | None
    #: The entry's ratio in ten-thousandths and as shown in steps (0 and "" without).
    units: int
    text: str
    #: The payer lines that apply: the entry's own, else the default.
    payers: tuple[PayerTemplate, ...]
    #: Where they come from: ``"payers"`` or ``"region_ratios[i].payers"``.
    payer_source: str
    #: Each line's sub-fund expanded for this region (None: cannot be filled).
    expanded: tuple[str | None, ...]
    #: Each line's share in millionths, the weights of the split.
    share_units: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class RuleSet:
    """One published rule version. Two RuleSets are equal when their normalized
    documents are: the document is the source of truth, the rest is derived from it."""

    scheme: str
    effective_from: date
    base_ratio: Decimal | None
    #: None in the document means no ceiling other than 1 (never more than the loss).
    max_ratio: Decimal | None
    uplift_mode: UpliftMode
    tier_mode: TierMode
    region_groups: Mapping[str, tuple[str, ...]]
    region_ratios: tuple[RegionRatio, ...]
    size_tiers: tuple[SizeTier, ...]
    uplifts: Mapping[str, Decimal]
    eligibility: Eligibility
    claims: ClaimRules
    pool: Pool
    payers: tuple[PayerTemplate, ...]
    #: The normalized document as compact JSON, keys in parse_rules' canonical order:
    #: the identity of the version. Read it through :attr:`document`.
    canonical_json: str = field(repr=False)
    reporting: Reporting = field(default_factory=Reporting)

    # Derived once per version, so that computing a claim is lookups and integer
    # arithmetic only (ratios in ten-thousandths, RATIO_SCALE).
    base_units: int | None = field(init=False, repr=False)
    #: RATIO_SCALE (a ratio of 1) when the document has no max_ratio.
    max_units: int = field(init=False, repr=False)
    #: (category, uplift in ten-thousandths, uplift as shown), in document order.
    uplift_items: tuple[tuple[str, int, str], ...] = field(init=False, repr=False)
    #: (up_to fen, ratio in ten-thousandths, ratio as shown).
    tier_table: tuple[tuple[int, int, str], ...] = field(init=False, repr=False)
    _index: dict[str, RegionRatio] = field(init=False, repr=False)
    _matches: dict[str, RegionMatch] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Code -> the entry that gives it a ratio. Exact entries first, so that at the
        # same level an exact ``region`` entry wins over a group containing the code
        # (SPEC §3.1); parse_rules guarantees no code is in two groups with a ratio.
        index: dict[str, RegionRatio] = {}
        for entry in self.region_ratios:
            if entry.region is not None:
                index[entry.region] = entry
        for entry in self.region_ratios:
            if entry.group is not None:
                for code in self.region_groups[entry.group]:
                    index.setdefault(code, entry)
        set_ = object.__setattr__
        set_(self, "_index", index)
        # Region memo: the answer for a region never changes within a version, so
        # concurrent fills can only write equal values (no lock needed).
        set_(self, "_matches", {})
        set_(self, "base_units", None if self.base_ratio is None else ratio_units(self.base_ratio))
        set_(self, "max_units", RATIO_SCALE if self.max_ratio is None else ratio_units(self.max_ratio))
        set_(
            self,
            "uplift_items",
            tuple((category, ratio_units(u), show_units(ratio_units(u))) for category, u in self.uplifts.items()),
        )
        set_(
            self,
            "tier_table",
            tuple((t.up_to, ratio_units(t.ratio), show_units(ratio_units(t.ratio))) for t in self.size_tiers),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleSet):
            return NotImplemented
        return self.canonical_json == other.canonical_json

    def __hash__(self) -> int:
        return hash(self.canonical_json)

    @property
    def document(self) -> dict[str, object]:
        """The normalized rule document, JSON-serializable: what the ledger stores and
        returns. A fresh copy on every read, so no caller can alter the version;
        ``parse_rules(rules.document) == rules``."""
        return json.loads(self.canonical_json)

    def match_region(self, region: str) -> RegionMatch:
        """Walk county → city → province; the first level with an entry wins.

        Raises ValueError for a code that is not a plausible region code."""
        match = self._matches.get(region)
        if match is None:
            problem = region_problem(region)
            if problem is not None:
                raise ValueError(f"region: {problem}")
            entry, matched = None, None
            for code in region_chain(region):
                entry = self._index.get(code)
                if entry is not None:
                    matched = code
                    break
            units = ratio_units(entry.ratio) if entry is not None else 0
            if entry is not None and entry.payers is not None:
                payers, source = entry.payers, f"{entry.path}.payers"
            else:
                payers, source = self.payers, "payers"
            match = RegionMatch(
                entry=entry,
                matched=matched,
                units=units,
                text=show_units(units) if entry is not None else "",
                payers=payers,
                payer_source=source,
                expanded=tuple(expand_template(p.subfund, region) for p in payers),
                share_units=tuple(p.share_units for p in payers),
            )
            if len(self._matches) < _MEMO_LIMIT:
                self._matches[region] = match
        return match

    @property
    def payer_templates(self) -> tuple[PayerTemplate, ...]:
        """Every payer line of the version, default split first, then the region
        entries' own splits, without repeats."""
        seen: dict[PayerTemplate, None] = dict.fromkeys(self.payers)
        for entry in self.region_ratios:
            seen.update(dict.fromkeys(entry.payers or ()))
        return tuple(seen)

    @property
    def fixed_subfunds(self) -> tuple[str, ...]:
        """Sub-fund codes named without placeholders (payers and fallbacks): the ones a
        publisher can check exist before the version goes live."""
        names: dict[str, None] = {}
        for payer in self.payer_templates:
            if "{" not in payer.subfund:
                names[payer.subfund] = None
            if payer.fallback is not None:
                names[payer.fallback] = None
        return tuple(names)


def ratio_units(ratio: Decimal) -> int:
    """A validated ratio (at most four decimals) in ten-thousandths: exact."""
    return int(ratio * RATIO_SCALE)


def select_version(versions: Sequence[RuleSet], on: date) -> RuleSet | None:
    """The version in force on ``on``: the latest ``effective_from`` not after it.

    Versions of a scheme never share an effective date (a new one must take effect
    after the latest); should they, the one listed last wins, as the later published.
    """
    best: RuleSet | None = None
    for version in versions:
        if version.effective_from <= on and (best is None or version.effective_from >= best.effective_from):
            best = version
    return best


__all__ = [
    "RATIO_SCALE",
    "SHARE_SCALE",
    "ClaimRules",
    "Eligibility",
    "PayerTemplate",
    "Pool",
    "RegionMatch",
    "RegionRatio",
    "Reporting",
    "RuleSet",
    "SizeTier",
    "TierMode",
    "UpliftMode",
    "ratio_units",
    "select_version",
]
