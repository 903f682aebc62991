"""Invariants of the calculator and of recoveries, over generated rule versions and
claims (hypothesis)."""

from __future__ import annotations

import json
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import (
    ClaimFacts,
    Decision,
    Step,
    compute,
    limit_to,
    parse_rules,
    recovery_returns,
    recovery_share,
    repair,
)
from rules.money import round_half_up, split_largest_remainder
from rules.split import split_integer_weights

CATEGORIES = ["tech_sme", "high_tech", "agri_tech", "specialized_town"]
# Counties, cities and provinces, inside and outside the entries generated below,
# including Dongguan and Zhongshan (cities without counties) and another province.
REGIONS = [
    "440106", "440100", "440703", "440781", "440700", "440511", "440500", "441900",
    "442000", "440000", "445202", "441502", "350102", "350100",
]
ENTRY_REGIONS = ["440700", "440781", "440000", "441900", "440100", "350000"]
GROUP = ["440500", "441500", "445200", "440781"]
TEMPLATES = ["GD-PROV", "CITY-{city}", "COUNTY-{county}", "PROV-{province}", "INS-PICC"]
SUBFUNDS = ["GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900", "COUNTY-440703", "PROV-440000"]

SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


def units_text(units: int, places: int = 4) -> str:
    scale = 10**places
    return f"{units // scale}.{units % scale:0{places}d}"


@st.composite
def share_lists(draw, count: int) -> list[str]:
    """``count`` positive shares with six decimals summing to exactly 1."""
    cuts = sorted(draw(st.sets(st.integers(1, 999_999), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 1_000_000]
    return [units_text(b - a, 6) for a, b in zip(bounds, bounds[1:])]


@st.composite
def payer_lists(draw) -> list[dict[str, str]]:
    names = draw(st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=4, unique=True))
    shares = draw(share_lists(len(names)))
    payers = []
    for name, share in zip(names, shares):
        line = {"subfund": name, "share": share}
        if "{" in name and draw(st.booleans()):
            line["fallback"] = draw(st.sampled_from(["GD-PROV", "CITY-440700", "NOWHERE"]))
        payers.append(line)
    return payers


@st.composite
def rule_documents(draw) -> dict:
    ratios = st.integers(0, 10_000)
    document: dict = {"scheme": "PROP", "effective_from": "2026-01-01", "payers": draw(payer_lists())}
    used: list[int] = []
    if draw(st.booleans()):
        ups = sorted(draw(st.sets(st.integers(1, 5_000_000_000), min_size=1, max_size=4)))
        tiers = []
        for up_to in ups:
            units = draw(ratios)
            used.append(units)
            tiers.append({"up_to": units_text(up_to, 2), "ratio": units_text(units)})
        document["size_tiers"] = tiers
        document["tier_mode"] = draw(st.sampled_from(["whole", "marginal"]))
    else:
        units = draw(ratios)
        used.append(units)
        document["base_ratio"] = units_text(units)
    entries = []
    if draw(st.booleans()):
        document["region_groups"] = {"G": GROUP}
        units = draw(ratios)
        used.append(units)
        entries.append({"group": "G", "ratio": units_text(units)})
    for code in draw(st.lists(st.sampled_from(ENTRY_REGIONS), unique=True, max_size=3)):
        units = draw(ratios)
        used.append(units)
        entry = {"region": code, "ratio": units_text(units)}
        if draw(st.booleans()):
            entry["payers"] = draw(payer_lists())
        entries.append(entry)
    if entries:
        document["region_ratios"] = draw(st.permutations(entries))
    if draw(st.booleans()):
        document["max_ratio"] = units_text(draw(st.integers(max(used), 10_000)))
    document["uplift_mode"] = draw(st.sampled_from(["sum", "max"]))
    uplifts = draw(st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 3_000).map(units_text)))
    if uplifts:
        document["uplifts"] = uplifts
    caps = {}
    for key in ("per_claim_cap", "per_enterprise_cap"):
        if draw(st.booleans()):
            caps[key] = units_text(draw(st.integers(1, 10_000_000_000)), 2)
    if caps:
        document["claims"] = caps
    return document


rule_sets = rule_documents().map(parse_rules)


@st.composite
def claims(draw) -> ClaimFacts:
    principal = draw(st.integers(1, 10_000_000_000))
    outstanding = draw(st.integers(0, 2 * principal))
    categories = draw(st.frozensets(st.sampled_from(CATEGORIES + ["unknown_category"])))
    return ClaimFacts(draw(st.sampled_from(REGIONS)), categories, principal, outstanding)


existing_subfunds = st.frozensets(st.sampled_from(SUBFUNDS)).map(lambda names: names.__contains__)


def caps_of(rules, enterprise_compensated: int, bank_remaining: int | None) -> list[int]:
    limits = []
    if rules.claims.per_claim_cap is not None:
        limits.append(rules.claims.per_claim_cap)
    if rules.claims.per_enterprise_cap is not None:
        limits.append(max(0, rules.claims.per_enterprise_cap - enterprise_compensated))
    if bank_remaining is not None:
        limits.append(bank_remaining)
    return limits


@SETTINGS
@given(
    rules=rule_sets,
    facts=claims(),
    exists=existing_subfunds,
    used=st.integers(0, 10_000_000_000),
    bank=st.none() | st.integers(0, 10_000_000_000),
)
def test_decision_invariants(rules, facts, exists, used, bank):
    decision = compute(rules, facts, subfund_exists=exists, enterprise_compensated=used, bank_annual_remaining=bank)

    # Payer lines sum exactly to the compensation, none negative.
    assert sum(line.amount for line in decision.payers) == decision.compensation
    assert all(line.amount >= 0 for line in decision.payers)
    # The ratio never exceeds the ceiling (1 without max_ratio).
    ceiling = Fraction(rules.max_ratio) if rules.max_ratio is not None else Fraction(1)
    assert 0 <= decision.ratio <= ceiling
    # Eligible loss is principal only.
    assert decision.eligible_loss == min(facts.outstanding_principal, facts.loan_principal)
    # Compensation is within every cap, and at most the ratio times the loss rounded
    # half up once: it may exceed the exact product by at most half a fen (SPEC example
    # 4: 0.5 x 333,333.33 = 166,666.665 -> 166,666.67).
    exact = decision.ratio * decision.eligible_loss
    assert decision.compensation <= round_half_up(exact)
    assert Fraction(decision.compensation) - exact <= Fraction(1, 2)
    for cap in caps_of(rules, used, bank):
        assert decision.compensation <= cap
    # Without any cap biting the compensation is exactly the rounded product.
    if not any(step.rule.endswith("_cap") for step in decision.steps):
        assert decision.compensation == round_half_up(exact)


@SETTINGS
@given(rules=rule_sets, facts=claims(), exists=existing_subfunds)
def test_same_inputs_same_decision(rules, facts, exists):
    first = compute(rules, facts, subfund_exists=exists)
    again = compute(rules, facts, subfund_exists=exists)
    # A freshly parsed version has empty memo tables: it must not matter.
    fresh = compute(parse_rules(rules.document), facts, subfund_exists=exists)

    assert first == again == fresh
    assert [s.to_dict() for s in first.steps] == [s.to_dict() for s in fresh.steps]


@SETTINGS
@given(rules=rule_sets, facts=claims(), exists=existing_subfunds, data=st.data())
def test_compensation_grows_with_outstanding_principal(rules, facts, exists, data):
    larger = data.draw(st.integers(facts.outstanding_principal, 2 * facts.loan_principal))
    more = ClaimFacts(facts.region, facts.categories, facts.loan_principal, larger)

    low = compute(rules, facts, subfund_exists=exists)
    high = compute(rules, more, subfund_exists=exists)

    assert low.compensation <= high.compensation
    assert low.ratio == high.ratio


@SETTINGS
@given(rules=rule_sets, facts=claims(), exists=existing_subfunds)
def test_steps_survive_json_and_render_in_both_languages(rules, facts, exists):
    decision = compute(rules, facts, subfund_exists=exists)

    stored = json.loads(json.dumps(decision.to_dict()))
    assert Decision.from_dict(stored) == decision
    for step in decision.steps:
        again = Step.from_dict(json.loads(json.dumps(step.to_dict())))
        assert again == step
        assert again.render("en") == step.detail
        chinese = again.render("zh")
        # Every step the calculator makes has a Chinese wording, not the English fallback.
        assert chinese != step.detail
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


@SETTINGS
@given(rules=rule_sets, facts=claims(), exists=existing_subfunds, data=st.data())
def test_limit_and_repair_keep_the_split_exact(rules, facts, exists, data):
    decision = compute(rules, facts, subfund_exists=exists)
    cap = data.draw(st.integers(0, decision.compensation + 10))
    limited = limit_to(decision, cap, "per_bank_annual_cap")
    amount = data.draw(st.integers(0, limited.compensation))
    repaired = repair(limited, amount, "collateral value found higher")

    for result, expected in ((limited, min(cap, decision.compensation)), (repaired, amount)):
        assert result.compensation == expected
        assert sum(line.amount for line in result.payers) == expected
        assert [line.subfund for line in result.payers] == [line.subfund for line in decision.payers]
        assert result.steps[-1].rule == "split"
        assert [s.rule for s in result.steps].count("split") == 1


@st.composite
def paid_claims(draw):
    """(eligible loss, compensation, paid lines) with the lines summing to the compensation."""
    loss = draw(st.integers(1, 10_000_000_000))
    compensation = draw(st.integers(0, loss))
    weights = draw(st.lists(st.integers(1, 1_000_000), min_size=1, max_size=5))
    amounts = split_largest_remainder(compensation, weights)
    paid = [(f"FUND-{i}", amount) for i, amount in enumerate(amounts)]
    return loss, compensation, paid


@SETTINGS
@given(claim=paid_claims(), data=st.data())
def test_recoveries_in_any_batching_return_the_same_per_payer(claim, data):
    loss, compensation, paid = claim
    total = data.draw(st.integers(0, loss))
    cuts = sorted(data.draw(st.lists(st.integers(0, total), max_size=6)))
    batches = [b - a for a, b in zip([0, *cuts], [*cuts, total])]

    per_payer = [0] * len(paid)
    recovered = 0
    for amount in batches:
        result = recovery_returns(
            eligible_loss=loss, compensation=compensation, paid=paid, recovered_before=recovered, recovered_now=amount
        )
        assert sum(a for _, a in result.lines) == result.returned_now
        assert result.returned_before + result.returned_now == result.cumulative_share
        recovered += amount
        per_payer = [p + a for p, (_, a) in zip(per_payer, result.lines)]

    at_once = recovery_returns(
        eligible_loss=loss, compensation=compensation, paid=paid, recovered_before=0, recovered_now=total
    )
    assert per_payer == [a for _, a in at_once.lines]
    assert sum(per_payer) == recovery_share(loss, compensation, total)
    # Never more back than a payer paid.
    assert all(back <= amount for back, (_, amount) in zip(per_payer, paid))


@SETTINGS
@given(claim=paid_claims())
def test_full_recovery_returns_everything_paid(claim):
    loss, compensation, paid = claim

    result = recovery_returns(eligible_loss=loss, compensation=compensation, paid=paid, recovered_before=0, recovered_now=loss)

    assert list(result.lines) == paid


@SETTINGS
@given(total=st.integers(0, 10**15), weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=8))
def test_integer_split_matches_the_money_module(total, weights):
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    assert split_integer_weights(total, weights) == split_largest_remainder(total, weights)


@SETTINGS
@given(document=rule_documents())
def test_valid_generated_documents_round_trip(document):
    parsed = parse_rules(document)

    assert parse_rules(json.loads(json.dumps(parsed.document))) == parsed
