"""The simulation engine (SPEC §8): loans × runs in integer fen.

Each loan's compensation and payer split are computed once, by the calculator itself
(:func:`rules.compute`, exact, ROUND_HALF_UP, largest remainder), at its current
outstanding principal. A run then only decides *which* loans default and *when*: one
uniform integer draw per loan and run, u in [0, 10^6 × horizon). A default rate is a
whole number k of millionths (at most six decimals), so the loan defaults exactly with
probability k / 10^6 when u < k × horizon, and then in month u // k + 1, each month of
the horizon exactly equally likely. Defaults are a boolean matrix (runs × loans); the defaulted cells become
events in (run, month, loan) order, the order in which their claims would be approved.

History-dependent caps are applied to the events in that order, as approval applies
them: what is left of ``per_enterprise_cap`` (by enterprise, across the scheme), of
``per_bank_annual_cap`` (by bank and calendar year of the default month) and of the
bank's portfolio cap for the loan's vintage (``portfolio_cap_rate``, where the rules
have one). A capped claim is re-split among its payers. Each payer then gets back its
part of the pool's share of the expected recovery (SPEC §3.2 with R = recovery_rate ×
eligible loss, rounded once). Payouts are summed per run, month and sub-fund in int64
fen, and the probabilities answered are decimal strings computed from counts: no
float anywhere.

The draft side reuses the same draws (common random numbers), so a difference between
``current`` and ``draft`` comes from the rules alone, not from sampling noise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

import rules
from rules import ClaimFacts, RuleSet
from rules.money import format_amount, ratio_text

from .arrays import NO_LIMIT, capped_in_order, recovery_shares, round_half_up_div, split_rows
from .portfolio import Portfolio, SimLoan
from .scenario import RATE_PLACES, Scenario

#: A default rate in millionths: the draws' unit.
RATE_SCALE = 10**RATE_PLACES
#: Decimals of the depletion probabilities answered.
PROBABILITY_PLACES = 6

#: Cells (runs × loans) drawn at once: bounds memory (an int64 draw and a boolean per
#: cell, ~9 bytes) whatever the portfolio size; results do not depend on it.
CHUNK_CELLS = 2_000_000

Progress = Callable[[int, int], None]


@dataclass
class _Side:
    """One set of rules applied to the portfolio: per-loan figures, computed once."""

    compensation: np.ndarray  # int64[n], after per_claim_cap (and the enterprise cap alone)
    eligible: np.ndarray  # int64[n]
    recovered: np.ndarray  # int64[n], the expected recovery R
    recovery_share: np.ndarray  # int64[n], the pool's share of R at full compensation
    payer: np.ndarray  # int32[n, K], index into subfunds; K-padding points at len(subfunds)
    weight: np.ndarray  # int64[n, K], payer shares in millionths (0 in padding)
    gross: np.ndarray  # int64[n, K], the calculator's split
    net: np.ndarray  # int64[n, K], the split less each payer's part of the recovery share
    subfunds: list[str]
    enterprise_limit: np.ndarray  # int64[n], what is left of per_enterprise_cap
    annual_cap: np.ndarray  # int64[n], per_bank_annual_cap or NO_LIMIT
    vintage_limit: np.ndarray  # int64[n], what is left of the vintage's portfolio cap
    vintage_cap_total: dict[str, tuple[int, int]]  # bank -> (cap, already used), over its vintages
    steps: dict[str, list[int]]  # rule label -> [loans, compensation, reduced_by]


class _Index:
    """Dense integer codes for strings (banks, enterprises), in first-seen order."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}

    def __call__(self, key: Any) -> int:
        code = self.codes.get(key)
        if code is None:
            code = self.codes[key] = len(self.codes)
        return code

    @property
    def names(self) -> list[Any]:
        return list(self.codes)


class _Labels(list):  # type: ignore[type-arg]
    """Step labels of a loan's ratio, with the ratio before max_ratio in ten-thousandths
    (None under size tiers, where it depends on the principal)."""

    pre_cap: int | None = None


def capped_at_max(ruleset: RuleSet, labels: _Labels, ratio: Fraction, decision: rules.Decision) -> bool:
    """Did max_ratio bite for this loan?"""
    if labels.pre_cap is not None:  # known without the loan's amounts: no arithmetic
        return labels.pre_cap > ruleset.max_units
    if ratio != Fraction(ruleset.max_units, 10_000):
        return False
    # Size tiers: the blended ratio depends on the principal; the calculator's own step says.
    return any(s.rule == "max_ratio" and s.params.get("capped") for s in decision.steps)


def _labels(ruleset: RuleSet, loan: SimLoan) -> _Labels:
    """The rule entries that give this loan its ratio (steps 1 and 2 of SPEC §3.1)."""
    match = ruleset.match_region(loan.region)
    labels = _Labels()
    units: int | None = None
    if match.entry is not None:
        name = match.entry.region if match.entry.region is not None else match.entry.group
        labels.append(f"{match.entry.path} ({name})")
        units = match.units
    elif ruleset.size_tiers:
        if ruleset.tier_mode == "whole":
            tier = next((i for i, t in enumerate(ruleset.size_tiers) if loan.principal <= t.up_to),
                        len(ruleset.size_tiers) - 1)
            labels.append(f"size_tiers[{tier}]")
        else:
            labels.append("size_tiers (marginal)")
    else:
        labels.append("base_ratio")
        units = ruleset.base_units
    items = [c for c, _, _ in ruleset.uplift_items if c in loan.categories]
    if items and ruleset.uplift_mode == "max":
        best = max(units for c, units, _ in ruleset.uplift_items if c in loan.categories)
        items = [next(c for c, units, _ in ruleset.uplift_items if c in loan.categories and units == best)]
    labels += [f"uplifts.{c}" for c in items]
    if units is not None:
        uplift = [u for c, u, _ in ruleset.uplift_items if c in loan.categories]
        labels.pre_cap = units + ((max(uplift) if ruleset.uplift_mode == "max" else sum(uplift)) if uplift else 0)
    return labels


def _prepare(portfolio: Portfolio, rules_of: Callable[[SimLoan], RuleSet], banks: _Index,
             enterprises: _Index, vintages: _Index) -> _Side:
    loans = portfolio.loans
    n = len(loans)
    exists = portfolio.available.__contains__
    subfunds = _Index()
    comp = np.zeros(n, dtype=np.int64)
    eligible = np.zeros(n, dtype=np.int64)
    ent_limit = np.full(n, NO_LIMIT, dtype=np.int64)
    annual_cap = np.full(n, NO_LIMIT, dtype=np.int64)
    vintage_limit = np.full(n, NO_LIMIT, dtype=np.int64)
    vintage_caps: dict[tuple[str, int], int] = {}
    lines: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
    steps: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    label_cache: dict[tuple[int, str, tuple[str, ...], int], _Labels] = {}
    facts_categories: dict[tuple[str, ...], frozenset[str]] = {}
    code_cache: dict[tuple[str, ...], tuple[int, ...]] = {}
    used_by_enterprise = portfolio.enterprise_compensated
    for i, loan in enumerate(loans):
        ruleset = rules_of(loan)
        categories = facts_categories.get(loan.categories)
        if categories is None:
            categories = facts_categories[loan.categories] = frozenset(loan.categories)
        decision = rules.compute(
            ruleset, ClaimFacts(loan.region, categories, loan.principal, loan.outstanding), subfund_exists=exists
        )
        c = decision.compensation
        comp[i] = c
        eligible[i] = decision.eligible_loss
        payers = decision.payers
        names = tuple(line.subfund for line in payers)
        codes = code_cache.get(names)
        if codes is None:
            codes = code_cache[names] = tuple(subfunds(name) for name in names)
        lines.append((codes, ruleset.match_region(loan.region).share_units, tuple(line.amount for line in payers)))
        caps = ruleset.claims
        if caps.per_enterprise_cap is not None:
            ent_limit[i] = max(0, caps.per_enterprise_cap - used_by_enterprise.get(loan.enterprise, 0))
        if caps.per_bank_annual_cap is not None:
            annual_cap[i] = caps.per_bank_annual_cap
        rate = caps.portfolio_cap_rate
        if rate is not None:
            key = (loan.bank, loan.vintage)
            cap = rules.portfolio_cap(rate, portfolio.vintage_registered.get(key, 0))
            vintage_caps[key] = cap
            vintage_limit[i] = max(0, cap - portfolio.vintage_approved.get(key, 0))

        # Aggregate steps: which entries gave the ratio, which limits bit.
        tier_key = loan.principal if ruleset.size_tiers else 0
        key = (id(ruleset), loan.region, loan.categories, tier_key)
        labels = label_cache.get(key)
        if labels is None:
            labels = label_cache[key] = _labels(ruleset, loan)
        for label in labels:
            entry = steps[label]
            entry[0] += 1
            entry[1] += c
        ratio = decision.ratio
        if capped_at_max(ruleset, labels, ratio, decision):
            entry = steps["max_ratio"]
            entry[0] += 1
            entry[1] += c
        raw = (2 * ratio.numerator * decision.eligible_loss + ratio.denominator) // (2 * ratio.denominator)
        after_claim = raw if caps.per_claim_cap is None else min(raw, caps.per_claim_cap)
        for label, before, after in (("claims.per_claim_cap", raw, after_claim),
                                     ("claims.per_enterprise_cap (alone)", after_claim, c)):
            if after < before:
                entry = steps[label]
                entry[0] += 1
                entry[1] += after
                entry[2] += before - after
        for line in decision.payers:
            if line.fallback_used:
                label = f"payer_fallback {line.template} -> {line.subfund}"
            elif not exists(line.subfund):
                label = f"payer_missing {line.subfund}"
            else:
                continue
            entry = steps[label]
            entry[0] += 1
            entry[1] += line.amount

    for loan in loans:
        banks(loan.bank)
        enterprises(loan.enterprise)
        vintages((loan.bank, loan.vintage))
    names = subfunds.names
    width = max((len(payers) for payers, _, _ in lines), default=1)
    payer = np.full((n, width), len(names), dtype=np.int32)
    weight = np.zeros((n, width), dtype=np.int64)
    gross = np.zeros((n, width), dtype=np.int64)
    for i, (codes, shares, amounts) in enumerate(lines):
        k = len(codes)
        payer[i, :k] = codes
        weight[i, :k] = shares
        gross[i, :k] = amounts
    # Recovery figures and the net split are filled by _with_recovery.
    return _Side(comp, eligible, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), payer, weight, gross,
                 gross, names,
                 ent_limit, annual_cap, vintage_limit, _bank_cap_totals(vintage_caps, portfolio), dict(steps))


def _expected_recovery(eligible: np.ndarray, rate: Fraction) -> np.ndarray:
    """R = ROUND_HALF_UP(recovery_rate × eligible loss) per loan (Python ints: no overflow)."""
    return round_half_up_div(eligible.astype(object) * rate.numerator, rate.denominator).astype(np.int64)


def _bank_cap_totals(vintage_caps: dict[tuple[str, int], int], portfolio: Portfolio) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for (bank, vintage), cap in sorted(vintage_caps.items()):
        used = portfolio.vintage_approved.get((bank, vintage), 0)
        old = totals.get(bank, (0, 0))
        totals[bank] = (old[0] + cap, old[1] + used)
    return totals


def _with_recovery(side: _Side, rate: Fraction) -> None:
    """Fill the expected recovery, the pool's share of it and the net split."""
    side.recovered = _expected_recovery(side.eligible, rate)
    side.recovery_share = recovery_shares(side.eligible, side.compensation, side.recovered)
    side.net = side.gross - split_rows(side.recovery_share, side.gross)


def _months_to_years(scenario: Scenario) -> np.ndarray:
    """Calendar-year offset (from as_of's year) of each horizon month 1..H (index 0 unused)."""
    start = scenario.as_of.month - 1
    return np.array([0] + [(start + m) // 12 for m in range(1, scenario.horizon_months + 1)], dtype=np.int64)


@dataclass
class _Tally:
    """What the runs produced, per run (int64 fen), gathered chunk by chunk."""

    subfund_total: np.ndarray  # [runs, S]
    depleted_in: np.ndarray  # [runs, S], first month the payout exceeds available; 0 never
    bank_total: np.ndarray  # [runs, B], net compensation received
    bank_gross: np.ndarray  # [B], compensation summed over runs (for cap use)
    cap_bites: dict[str, list[int]]  # stage -> [events, compensation after, reduced by]


def _simulate_side(side: _Side, portfolio: Portfolio, scenario: Scenario, millionths: np.ndarray,
                   bank_of: np.ndarray, enterprise_of: np.ndarray, vintage_of: np.ndarray, n_banks: int,
                   n_enterprises: int, n_vintages: int, annual_used: np.ndarray, already: np.ndarray,
                   tick: Callable[[int], None]) -> _Tally:
    n = len(portfolio.loans)
    runs, horizon = scenario.runs, scenario.horizon_months
    n_sub = len(side.subfunds)
    available = np.array([portfolio.available.get(code, 0) for code in side.subfunds], dtype=np.int64)
    year_of_month = _months_to_years(scenario)
    n_years = int(year_of_month[-1]) + 1
    tally = _Tally(
        subfund_total=np.zeros((runs, n_sub), dtype=np.int64),
        depleted_in=np.zeros((runs, n_sub), dtype=np.int16),
        bank_total=np.zeros((runs, n_banks), dtype=np.int64),
        bank_gross=np.zeros(n_banks, dtype=np.int64),
        cap_bites={},
    )
    rng = np.random.Generator(np.random.PCG64(scenario.seed))
    bound = millionths * horizon  # u below it: default, with probability millionths / 10^6
    chunk = max(1, min(runs, CHUNK_CELLS // max(n, 1)))
    has_enterprise_cap = bool((side.enterprise_limit < NO_LIMIT).any())
    has_annual_cap = bool((side.annual_cap < NO_LIMIT).any())
    has_vintage_cap = bool((side.vintage_limit < NO_LIMIT).any())
    for first in range(0, runs, chunk):
        size = min(chunk, runs - first)
        # Run-major draws: chunk boundaries never change the stream, so the result
        # depends on the seed alone.
        draws = rng.integers(0, RATE_SCALE * horizon, size=(size, n), dtype=np.int64)
        defaulted = draws < bound
        run, loan = np.nonzero(defaulted)
        month = draws[run, loan] // millionths[loan] + 1
        if already.any():
            month[already[loan]] = 1
        del draws, defaulted
        # Approval order: run, then default month, then loan (np.nonzero gave run, loan).
        order = np.argsort(run * horizon + month, kind="stable")
        run, loan, month = run[order], loan[order], month[order]

        full = side.compensation[loan]
        paid = full
        if has_enterprise_cap:
            paid = _stage(tally, "per_enterprise_cap", run * n_enterprises + enterprise_of[loan],
                          side.enterprise_limit[loan], paid)
        if has_annual_cap:
            year = year_of_month[month]
            limit = side.annual_cap[loan]
            limit = np.where(limit == NO_LIMIT, NO_LIMIT, np.maximum(0, limit - annual_used[bank_of[loan], year]))
            paid = _stage(tally, "per_bank_annual_cap", (run * n_banks + bank_of[loan]) * n_years + year, limit, paid)
        if has_vintage_cap:
            paid = _stage(tally, "portfolio_cap", run * n_vintages + vintage_of[loan], side.vintage_limit[loan], paid)

        net = side.net[loan]
        share = side.recovery_share[loan]
        changed = np.flatnonzero(paid != full)
        if changed.size:
            # A capped claim: split what is left among its payers, and share back the
            # recovery in proportion to what each of them paid.
            rows = loan[changed]
            gross = split_rows(paid[changed], side.weight[rows])
            changed_share = recovery_shares(side.eligible[rows], paid[changed], side.recovered[rows])
            net = net.copy()
            net[changed] = gross - split_rows(changed_share, gross)
            share = share.copy()
            share[changed] = changed_share

        cells = ((run[:, None] * horizon + (month[:, None] - 1)) * (n_sub + 1) + side.payer[loan]).ravel()
        by_month = np.zeros(size * horizon * (n_sub + 1), dtype=np.int64)
        np.add.at(by_month, cells, net.ravel())
        by_month = by_month.reshape(size, horizon, n_sub + 1)[:, :, :n_sub]
        cumulative = np.cumsum(by_month, axis=1)
        tally.subfund_total[first:first + size] = cumulative[:, -1, :]
        over = cumulative > available
        tally.depleted_in[first:first + size] = np.where(over.any(axis=1), over.argmax(axis=1) + 1, 0)

        bank_cells = np.zeros(size * n_banks, dtype=np.int64)
        np.add.at(bank_cells, run * n_banks + bank_of[loan], paid - share)
        tally.bank_total[first:first + size] = bank_cells.reshape(size, n_banks)
        np.add.at(tally.bank_gross, bank_of[loan], paid)
        tick(size)
    return tally


def _stage(tally: _Tally, name: str, keys: np.ndarray, limits: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    after = capped_in_order(keys, limits, amounts)
    bit = after < amounts
    entry = tally.cap_bites.setdefault(name, [0, 0, 0])
    entry[0] += int(bit.sum())
    entry[1] += int(after[bit].sum())
    entry[2] += int((amounts[bit] - after[bit]).sum())
    return after


def _millionths(rate: Decimal) -> int:
    """A default rate as a whole number of millionths (the scenario admits six decimals)."""
    scaled = rate.scaleb(RATE_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"default rate {rate} has more than {RATE_PLACES} decimals")
    return int(scaled)


def _mean(total: int, runs: int) -> int:
    return (2 * total + runs) // (2 * runs)


def _nearest_rank(sorted_values: np.ndarray, percent: int) -> int:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of
    runs at or below it (an exact amount of one run, never interpolated)."""
    runs = sorted_values.shape[0]
    rank = max(1, (percent * runs + 99) // 100)
    return int(sorted_values[rank - 1])


def _leverage(side: _Side, tally: _Tally, portfolio: Portfolio, pool_rules: RuleSet | None) -> dict[str, Any]:
    """Leverage as registration measures it: live outstanding principal against the
    available balance of the sub-funds that pay (SPEC §3 ``pool.leverage``), now and
    after the expected payout."""
    outstanding = sum(loan.outstanding for loan in portfolio.loans)
    payers = [s for s, code in enumerate(side.subfunds) if code in portfolio.available]
    available = sum(portfolio.available[side.subfunds[s]] for s in payers)
    runs = tally.subfund_total.shape[0]
    expected = _mean(sum(int(tally.subfund_total[:, s].sum()) for s in payers), runs) if payers else 0
    limit = None if pool_rules is None else pool_rules.pool.leverage

    def used(money: int) -> str | None:
        return ratio_text(Fraction(outstanding, money)) if money > 0 else None

    return {
        "outstanding": format_amount(outstanding),
        "payer_available": format_amount(available),
        "limit": None if limit is None else format(limit, "f"),
        "used": used(available),
        "used_after_expected_payout": used(available - expected),
    }


def _result(side: _Side, tally: _Tally, portfolio: Portfolio, scenario: Scenario, banks: list[str],
            bank_of: np.ndarray, pool_rules: RuleSet | None) -> dict[str, Any]:
    runs, horizon = scenario.runs, scenario.horizon_months
    n_sub = len(side.subfunds)
    contingent = np.zeros(n_sub + 1, dtype=np.int64)
    np.add.at(contingent, side.payer.ravel(), side.gross.ravel())
    sorted_totals = np.sort(tally.subfund_total, axis=0)
    subfunds = []
    for s in sorted(range(n_sub), key=lambda s: side.subfunds[s]):
        months = tally.depleted_in[:, s]
        depleted = months > 0
        count = int(depleted.sum())
        # Probabilities as exact ratios of counts, shown to six decimals (ROUND_HALF_UP).
        by_month = np.cumsum(np.bincount(months[depleted], minlength=horizon + 1)[1:]).tolist()
        curve = [ratio_text(Fraction(c, runs), PROBABILITY_PLACES) for c in by_month]
        subfunds.append({
            "subfund": side.subfunds[s],
            "available": format_amount(portfolio.available.get(side.subfunds[s], 0)),
            "contingent_liability": format_amount(int(contingent[s])),
            "expected_payout": format_amount(_mean(sum(tally.subfund_total[:, s].tolist()), runs)),
            "p95_payout": format_amount(_nearest_rank(sorted_totals[:, s], 95)),
            "p99_payout": format_amount(_nearest_rank(sorted_totals[:, s], 99)),
            "max_payout": format_amount(int(sorted_totals[-1, s])),
            "depletion_probability": ratio_text(Fraction(count, runs), PROBABILITY_PLACES),
            "expected_depletion_month": ratio_text(Fraction(int(months[depleted].sum()), count), 2) if count else None,
            "depletion_curve": curve,
        })
    bank_contingent = np.zeros(len(banks), dtype=np.int64)
    np.add.at(bank_contingent, bank_of, side.compensation)
    sorted_banks = np.sort(tally.bank_total, axis=0)
    bank_rows = []
    for b in sorted(range(len(banks)), key=lambda b: banks[b]):
        cap = side.vintage_cap_total.get(banks[b])
        used = None
        if cap is not None and cap[0] > 0:
            # Already approved on its vintages plus what the runs approved, on average.
            used = ratio_text(Fraction(cap[1] * runs + int(tally.bank_gross[b]), cap[0] * runs))
        bank_rows.append({
            "bank": banks[b],
            "contingent_liability": format_amount(int(bank_contingent[b])),
            "expected_payout": format_amount(_mean(sum(tally.bank_total[:, b].tolist()), runs)),
            "p95_payout": format_amount(_nearest_rank(sorted_banks[:, b], 95)),
            "portfolio_cap_used": used,
        })
    steps = [
        {"rule": rule, "basis": "portfolio", "loans": loans, "compensation": format_amount(comp),
         **({"reduced_by": format_amount(cut)} if cut else {})}
        for rule, (loans, comp, cut) in sorted(side.steps.items())
    ]
    for rule in ("per_enterprise_cap", "per_bank_annual_cap", "portfolio_cap"):
        if rule in tally.cap_bites:
            events, comp, cut = tally.cap_bites[rule]
            steps.append({"rule": f"claims.{rule}", "basis": "simulation", "loans": _mean(events, runs),
                          "compensation": format_amount(_mean(comp, runs)),
                          "reduced_by": format_amount(_mean(cut, runs))})
    return {"subfunds": subfunds, "banks": bank_rows, "steps": steps,
            "leverage": _leverage(side, tally, portfolio, pool_rules)}


def simulate(portfolio: Portfolio, scenario: Scenario, *, draft: RuleSet | None = None,
             progress: Progress | None = None) -> dict[str, Any]:
    """The figures of SPEC §8 for the rules in force and, given a draft, for the draft
    applied to every live loan. JSON-ready: amounts are decimal strings."""
    n = len(portfolio.loans)
    for loan in portfolio.loans:
        if loan.version not in portfolio.versions:
            raise ValueError(f"loan {loan.id} is frozen on version {loan.version}, which the portfolio lacks")
    banks, enterprises, vintages = _Index(), _Index(), _Index()
    sides = [_prepare(portfolio, lambda loan: portfolio.versions[loan.version], banks, enterprises, vintages)]
    if draft is not None:
        sides.append(_prepare(portfolio, lambda loan: draft, banks, enterprises, vintages))
    rate = scenario.recovery_fraction
    for side in sides:
        _with_recovery(side, rate)

    bank_of = np.array([banks.codes[loan.bank] for loan in portfolio.loans], dtype=np.int64)
    enterprise_of = np.array([enterprises.codes[loan.enterprise] for loan in portfolio.loans], dtype=np.int64)
    vintage_of = np.array([vintages.codes[(loan.bank, loan.vintage)] for loan in portfolio.loans], dtype=np.int64)
    rates: dict[tuple[str, str, tuple[str, ...]], int] = {}
    millionths = np.empty(n, dtype=np.int64)
    for i, loan in enumerate(portfolio.loans):
        key = (loan.bank, loan.region, loan.categories)
        k = rates.get(key)
        if k is None:
            k = rates[key] = _millionths(scenario.default_rate.rate_for(*key))
        millionths[i] = RATE_SCALE if loan.defaulted else k
    already = np.array([loan.defaulted for loan in portfolio.loans], dtype=bool)
    year_count = int(_months_to_years(scenario)[-1]) + 1
    annual_used = np.zeros((len(banks.codes), year_count), dtype=np.int64)
    for (bank, year), amount in portfolio.bank_annual_approved.items():
        offset = year - scenario.as_of.year
        if bank in banks.codes and 0 <= offset < year_count:
            annual_used[banks.codes[bank], offset] = amount

    total = scenario.runs * len(sides)
    done = 0

    def tick(step: int) -> None:
        nonlocal done
        done += step
        if progress is not None:
            progress(done, total)

    # The pool's leverage limit: the latest version's (the one new loans register under),
    # or the draft's.
    pools: list[RuleSet | None] = [portfolio.versions[max(portfolio.versions)] if portfolio.versions else None]
    if draft is not None:
        pools.append(draft)
    results = []
    for side, pool_rules in zip(sides, pools):
        tally = _simulate_side(side, portfolio, scenario, millionths, bank_of, enterprise_of, vintage_of,
                               len(banks.codes), len(enterprises.codes), len(vintages.codes), annual_used, already, tick)
        results.append(_result(side, tally, portfolio, scenario, banks.names, bank_of, pool_rules))
    return {
        "scheme": portfolio.scheme,
        "as_of": scenario.as_of.isoformat(),
        "loans": n,
        "scenario": scenario.to_dict(),
        "current": results[0],
        "draft": results[1] if draft is not None else None,
    }


__all__ = ["CHUNK_CELLS", "simulate"]
