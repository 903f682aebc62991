"""Throughput of the simulation engine (SPEC §8) against a plain Python loop.

    .venv/bin/python bench/simulation.py                 # 100,000 loans x 1,000 runs, then 1,000,000 x 100
    .venv/bin/python bench/simulation.py --loans 20000 --runs 200 --big-loans 0

A seeded synthetic portfolio under ``rules/examples/gd-kjd.toml`` (regions in 粤东西北,
Jiangmen, Guangzhou, Dongguan, Shenzhen; random categories, principals, outstanding;
12 banks; enterprises with one to three loans; vintages 2024-2026) and a stress
scenario: 2 % default over 24 months, 4 % in 粤东西北 (region prefixes), 30 % recovery.
The example rules' per-enterprise and per-bank annual caps apply, and the annual
cap binds heavily at this portfolio size, so the capped path is part of what is timed.

* **engine**: ``simulation.simulate``: each loan through the calculator once, then
  the runs as int64 arrays (chunked to bound memory).
* **baseline**: the same scenario as a plain Python loop, on a subsample of loans and
  runs (a full 10^8 loan-runs would take hours), extrapolated per loan-run. Two
  variants, both printed:
  - *per loan per run*: the calculator is called for every loan in every run (with the
    enterprise and annual caps left at that moment), the payout counted when the
    draw says it defaulted — the naive Monte Carlo;
  - *per default*: the calculator only for the loans that defaulted in the run — the
    best a straightforward loop can do.
* Ratios compare CPU seconds (``time.process_time``), both sides single-threaded: on
  a shared machine wall time also counts other processes' turns.
* **memory**: the process's peak resident set before and after the engine
  (``resource.getrusage``), the difference being the engine's own peak.

Then 1,000,000 loans x 100 runs: time and memory (no baseline).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import rules  # noqa: E402
from rules import ClaimFacts  # noqa: E402
from rules.simulation import Portfolio, SimLoan, parse_scenario, simulate  # noqa: E402

REGIONS = (["440500", "440511", "440513", "441500", "445100", "445202", "440800", "440900", "441700", "441402"]
           + ["440700", "440703", "440704", "440781", "440784"]
           + ["440103", "440104", "440106", "440111", "440113"]
           + ["441900", "442000", "440303", "440305"])
CATEGORIES = ["tech_sme", "high_tech", "agri_tech", "specialized_town"]
SUBFUNDS = ("GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900", "CITY-445100")
SCENARIO = {"as_of": "2026-06-30", "horizon_months": 24,
            "default_rate": {"default": "0.02", "regions": {p: "0.04" for p in
                                                            ("4405", "4415", "4451", "4452", "4408", "4409", "4417",
                                                             "4402", "4416", "4414", "4418", "4453")}},
            "recovery_rate": "0.3", "seed": 2026}


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_portfolio(n: int, seed: int, ruleset: rules.RuleSet) -> Portfolio:
    rnd = random.Random(seed)
    loans = []
    enterprise = 0
    cats_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
    for i in range(n):
        if rnd.random() < 0.6:
            enterprise += 1
        principal = rnd.randrange(10_000_000, 1_000_000_000)
        cats = tuple(c for c in CATEGORIES if rnd.random() < 0.4) or ("tech_sme",)
        cats = cats_cache.setdefault(cats, cats)
        loans.append(SimLoan(i + 1, f"BANK-{rnd.randrange(12):02d}", f"E{enterprise:08d}", rnd.choice(REGIONS),
                             cats, principal, rnd.randrange(principal // 10, principal + 1),
                             rnd.choice((2024, 2025, 2026)), 1))
    available = {code: 2_000_000_000_00 for code in SUBFUNDS}
    return Portfolio("GD-KJD", date(2026, 6, 30), loans, {1: ruleset}, available)


def baseline(portfolio: Portfolio, loans: int, runs: int, seed: int, *, every_loan: bool) -> float:
    """CPU seconds per loan-run of the plain loop, measured on ``loans`` x ``runs``."""
    scenario = parse_scenario({**SCENARIO, "runs": runs})
    rates = scenario.default_rate
    recovery = scenario.recovery_fraction
    exists = portfolio.available.__contains__
    sample = portfolio.loans[:loans]
    # Each loan's probability looked up once, outside the timed loop, as the engine does.
    probability = {loan.id: float(rates.rate_for(loan.bank, loan.region, loan.categories)) for loan in sample}
    rnd = random.Random(seed)
    start = time.process_time()
    for _ in range(runs):
        paid: dict[str, int] = {}
        enterprise_used: dict[str, int] = {}
        bank_used: dict[tuple[str, int], int] = {}
        events = []
        for loan in sample:
            p = probability[loan.id]
            u = rnd.random()
            if u < p or every_loan:
                events.append((int(u / p * 24) + 1 if u < p else 0, loan))
        events.sort(key=lambda e: (e[0], e[1].id))
        for month, loan in events:
            ruleset = portfolio.versions[loan.version]
            year = 2026 + (5 + month) // 12
            annual = ruleset.claims.per_bank_annual_cap
            decision = rules.compute(
                ruleset, ClaimFacts(loan.region, loan.categories, loan.principal, loan.outstanding),
                subfund_exists=exists, enterprise_compensated=enterprise_used.get(loan.enterprise, 0),
                bank_annual_remaining=None if annual is None else max(0, annual - bank_used.get((loan.bank, year), 0)),
            )
            if month == 0 or decision.compensation == 0:
                continue  # did not default in this run (naive variant computed it anyway)
            enterprise_used[loan.enterprise] = enterprise_used.get(loan.enterprise, 0) + decision.compensation
            bank_used[(loan.bank, year)] = bank_used.get((loan.bank, year), 0) + decision.compensation
            recovered = rules.money.round_half_up(recovery * decision.eligible_loss)
            back = rules.recovery_returns(eligible_loss=decision.eligible_loss, compensation=decision.compensation,
                                          paid=[(line.subfund, line.amount) for line in decision.payers],
                                          recovered_before=0, recovered_now=recovered)
            for line, (_, returned) in zip(decision.payers, back.lines):
                paid[line.subfund] = paid.get(line.subfund, 0) + line.amount - returned
    return (time.process_time() - start) / (loans * runs)


def run_engine(portfolio: Portfolio, runs: int) -> tuple[float, float, float, dict]:
    scenario = parse_scenario({**SCENARIO, "runs": runs})
    before = rss_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(portfolio, scenario)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, rss_mib() - before, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--big-loans", type=int, default=1_000_000, help="0 skips the large run")
    parser.add_argument("--big-runs", type=int, default=100)
    parser.add_argument("--sample-loans", type=int, default=2_000, help="baseline subsample")
    parser.add_argument("--sample-runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    ruleset = rules.load_file(ROOT / "rules" / "examples" / "gd-kjd.toml")

    portfolio = make_portfolio(args.loans, args.seed, ruleset)
    cells = args.loans * args.runs
    wall, cpu, rss, result = run_engine(portfolio, args.runs)
    print(f"engine    {args.loans:>9,} loans x {args.runs:>5,} runs: {wall:8.2f} s wall, {cpu:8.2f} s CPU, "
          f"{cells / wall:14,.0f} loan-runs/s, peak RSS +{rss:,.0f} MiB")
    gd = {row["subfund"]: row for row in result["current"]["subfunds"]}["GD-PROV"]
    print(f"          GD-PROV expected {gd['expected_payout']}  P95 {gd['p95_payout']}  P99 {gd['p99_payout']}")

    for every_loan, name in ((True, "per loan per run"), (False, "per default")):
        per_cell = baseline(portfolio, min(args.sample_loans, args.loans), args.sample_runs, args.seed,
                            every_loan=every_loan)
        estimate = per_cell * cells
        print(f"baseline  {name:<17} measured on {min(args.sample_loans, args.loans):,} loans x "
              f"{args.sample_runs} runs: {1 / per_cell:12,.0f} loan-runs/s -> {estimate:10,.0f} s CPU "
              f"extrapolated; the engine is {estimate / cpu:,.0f}x faster (CPU time against CPU time)")

    if args.big_loans:
        del portfolio, result
        start = time.perf_counter()
        big = make_portfolio(args.big_loans, args.seed, ruleset)
        built = time.perf_counter() - start
        wall, cpu, rss, _ = run_engine(big, args.big_runs)
        print(f"engine    {args.big_loans:>9,} loans x {args.big_runs:>5,} runs: {wall:8.2f} s wall, {cpu:8.2f} s CPU, "
              f"{args.big_loans * args.big_runs / wall:14,.0f} loan-runs/s, peak RSS +{rss:,.0f} MiB "
              f"(portfolio built in {built:.1f} s; process peak {rss_mib():,.0f} MiB)")


if __name__ == "__main__":
    main()
