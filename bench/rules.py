"""Throughput of the compensation calculator against bare Decimal arithmetic.

    .venv/bin/python bench/rules.py [--n 100000] [--seed 2026] [--repeat 3]

Builds N varied claims under ``rules/examples/gd-kjd.toml`` (seeded: regions in
粤东西北, Jiangmen, Guangzhou, Dongguan, Zhongshan, Shenzhen; random categories,
principals and outstanding principal), times ``rules.compute`` over them, then a
baseline doing only the unavoidable arithmetic for the same inputs (ratio × loss
quantized ROUND_HALF_UP, a three-way split with the leftover fen) with ``decimal``.
The calculator does much more per claim (region walk, uplifts, the ceiling, caps,
sub-fund fallbacks, a trace for the steps), so the target is a ratio of at least 0.2,
not 1. Steps are worded only when read; a third timing shows that cost separately.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TypeVar

# This file is itself named "rules": harness puts the project root first on sys.path
# so that `import rules` finds the package.
from harness import ROOT  # noqa: E402

from rules import ClaimFacts, Decision, compute, load_file  # noqa: E402

REGIONS = (
    # 粤东西北 (group YDXB): cities and some of their counties
    ["440500", "440511", "440513", "441500", "445100", "445200", "445202", "440800", "440803", "440900"]
    + ["441700", "440200", "440203", "441600", "441400", "441402", "441800", "445300"]
    # Jiangmen (exact region entry) and its counties
    + ["440700", "440703", "440704", "440705", "440781", "440783", "440784", "440785"]
    # Guangzhou districts (base ratio, CITY-440100 missing -> fallback)
    + ["440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115"]
    # Dongguan, Zhongshan (cities without counties), Shenzhen
    + ["441900", "442000", "440303", "440305", "440306"]
)
CATEGORIES = ["tech_sme", "high_tech", "agri_tech", "specialized_town"]
SUBFUNDS = frozenset({"GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900", "CITY-445100"})


def make_claims(n: int, seed: int) -> list[ClaimFacts]:
    rnd = random.Random(seed)
    claims = []
    for _ in range(n):
        principal = rnd.randrange(10_000_000, 1_200_000_000)  # 100,000.00 .. 12,000,000.00
        # Mostly part-repaid loans; some report more outstanding than the principal.
        outstanding = rnd.randrange(0, principal * 11 // 10)
        categories = [c for c in CATEGORIES if rnd.random() < 0.4]
        claims.append(ClaimFacts(rnd.choice(REGIONS), categories, principal, outstanding))
    return claims


def baseline(inputs: list[tuple[Decimal, int]], shares: list[Decimal]) -> int:
    """The arithmetic alone: Decimal ratio × loss, ROUND_HALF_UP to the fen, and a split
    that floors each part and gives the leftover fen to the first."""
    cent = Decimal("0.01")
    checksum = 0
    for ratio, loss_fen in inputs:
        loss = Decimal(loss_fen).scaleb(-2)
        compensation = (ratio * loss).quantize(cent, rounding=ROUND_HALF_UP)
        parts = [(compensation * share).quantize(cent, rounding=ROUND_DOWN) for share in shares]
        parts[0] += compensation - sum(parts)
        checksum += int(compensation * 100)
    return checksum


T = TypeVar("T")


def timed(function: Callable[[], T]) -> tuple[float, T]:
    """Seconds one call takes, with the cyclic garbage collector paused as timeit does:
    otherwise its passes over 100,000 retained decisions are charged to whichever loop
    happens to trigger them."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = function()
        return time.perf_counter() - start, result
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest of each loop counts")
    args = parser.parse_args()

    rules = load_file(ROOT / "rules" / "examples" / "gd-kjd.toml")
    claims = make_claims(args.n, args.seed)
    exists = SUBFUNDS.__contains__
    shares = [Decimal("0.50"), Decimal("0.30"), Decimal("0.20")]

    def compute_all() -> list[Decision]:
        return [compute(rules, claim, subfund_exists=exists) for claim in claims]

    def render_all(decisions: list[Decision]) -> None:
        # Steps are built on first read; word them as a statement or the console would.
        for decision in decisions:
            for step in decision.steps:
                step.render("zh")

    calc_times, steps_times, base_times = [], [], []
    # Rounds interleave the loops, so a busy machine slows all of them alike.
    for _ in range(args.repeat):
        seconds, decisions = timed(compute_all)
        calc_times.append(seconds)
        steps_times.append(timed(lambda: render_all(decisions))[0])
        # The baseline gets each claim's final ratio for free, as if looked up.
        inputs = [(Decimal(d.ratio.numerator) / Decimal(d.ratio.denominator), d.eligible_loss) for d in decisions]
        base_times.append(timed(lambda: baseline(inputs, shares))[0])
    calc, steps, base = min(calc_times), min(steps_times), min(base_times)

    fallbacks = sum(1 for d in decisions if any(line.fallback_used for line in d.payers))
    capped = sum(1 for d in decisions if any(s.rule == "per_claim_cap" for s in d.steps))
    n = args.n
    print(f"claims:            {n:,} (seed {args.seed}; {fallbacks:,} with a fallback payer, {capped:,} capped)")
    print(f"compute:           {n / calc:>10,.0f} decisions/s ({calc * 1e6 / n:.1f} µs each)")
    print(
        f"compute + steps:   {n / (calc + steps):>10,.0f} decisions/s ({(calc + steps) * 1e6 / n:.1f} µs each,"
        " steps built and rendered in Chinese)"
    )
    print(f"Decimal baseline:  {n / base:>10,.0f} decisions/s ({base * 1e6 / n:.1f} µs each)")
    print(f"ratio:             {base / calc:.2f} (compute / baseline; target >= 0.20)")
    print(f"ratio with steps:  {base / (calc + steps):.2f}")


if __name__ == "__main__":
    main()
