"""Size tiers (SPEC §3, Guangzhou style): "whole" versus "marginal" on loans that span
tiers. Figures are worked by hand in the comments."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rules import compute

TIERS = [{"up_to": "5000000.00", "ratio": "0.40"}, {"up_to": "15000000.00", "ratio": "0.30"}]


@pytest.fixture
def tiered(make_rules):
    def make(mode: str, **more):
        return make_rules(base_ratio=None, tier_mode=mode, size_tiers=TIERS, **more)

    return make


def only_fund(name: str) -> bool:
    return name == "GD-PROV"


def test_whole_takes_the_tier_containing_the_principal(tiered, claim, yuan):
    # 8,000,000.00 lies in the tier up to 15,000,000.00: 0.30 x 8,000,000.00 = 2,400,000.00
    decision = compute(tiered("whole"), claim("440106", "", "8,000,000.00", "8,000,000.00"), subfund_exists=only_fund)

    assert decision.ratio == Fraction(3, 10)
    assert decision.compensation == yuan("2,400,000.00")
    assert decision.steps[1].detail == "size_tier: 8000000.00 up to 15000000.00 -> 0.30"


def test_marginal_blends_each_slice_at_its_tier(tiered, claim, yuan):
    # (5,000,000 x 0.40 + 3,000,000 x 0.30) / 8,000,000 = 2,900,000 / 8,000,000 = 0.3625
    # 0.3625 x 8,000,000.00 = 2,900,000.00
    decision = compute(tiered("marginal"), claim("440106", "", "8,000,000.00", "8,000,000.00"), subfund_exists=only_fund)

    assert decision.ratio == Fraction(29, 80)
    assert decision.ratio_text == "0.3625"
    assert decision.compensation == yuan("2,900,000.00")
    assert [s.detail for s in decision.steps[:2]] == [
        "region_ratio: 440106 no entry -> size_tiers",
        "size_tier: marginal 5000000.00 x 0.40 + 3000000.00 x 0.30 -> 0.3625",
    ]


def test_marginal_ratio_stays_exact_until_the_compensation(tiered, claim, yuan):
    # (5,000,000 x 0.40 + 1,000,000 x 0.30) / 6,000,000 = 2,300,000 / 6,000,000 = 23/60
    # = 0.38333...; 23/60 x 3,000,000.00 = 1,150,000.00 exactly. Rounding the ratio to
    # 0.3833 first would give 1,149,900.00.
    decision = compute(tiered("marginal"), claim("440106", "", "6,000,000.00", "3,000,000.00"), subfund_exists=only_fund)

    assert decision.ratio == Fraction(23, 60)
    assert decision.ratio_text == "0.3833"
    assert decision.compensation == yuan("1,150,000.00")
    assert decision.steps[1].params["exact"] == "23/60"
    assert decision.steps[1].detail.endswith("-> ~0.3833")


def test_tier_upper_bound_is_inclusive(tiered, claim, yuan):
    # Exactly 5,000,000.00 is still in the first tier: 0.40 x 1,000,000.00 = 400,000.00
    decision = compute(tiered("whole"), claim("440106", "", "5,000,000.00", "1,000,000.00"), subfund_exists=only_fund)

    assert decision.compensation == yuan("400,000.00")


@pytest.mark.parametrize(
    ("mode", "ratio", "compensation"),
    [
        # Above the last tier the last tier's ratio applies: 0.30 x 20,000,000.00.
        ("whole", Fraction(3, 10), "6,000,000.00"),
        # (5,000,000 x 0.40 + 15,000,000 x 0.30) / 20,000,000 = 6,500,000 / 20,000,000 = 0.325
        ("marginal", Fraction(13, 40), "6,500,000.00"),
    ],
)
def test_principal_above_the_last_tier(tiered, claim, yuan, mode, ratio, compensation):
    decision = compute(tiered(mode), claim("440106", "", "20,000,000.00", "20,000,000.00"), subfund_exists=only_fund)

    assert decision.ratio == ratio
    assert decision.compensation == yuan(compensation)


def test_above_last_tier_is_said_in_the_step(tiered, claim):
    decision = compute(tiered("whole"), claim("440106", "", "20,000,000.00", "1.00"), subfund_exists=only_fund)

    assert decision.steps[1].detail == "size_tier: 20000000.00 above the last tier 15000000.00 -> 0.30"
    assert decision.steps[1].render("zh") == "规模分档：20000000.00 超过最高档 15000000.00，按最高档 → 0.30"


def test_uplift_adds_to_a_blended_ratio(tiered, claim, yuan):
    # 0.3625 + 0.10 = 0.4625; 0.4625 x 8,000,000.00 = 3,700,000.00
    rules = tiered("marginal", uplifts={"agri_tech": "0.10"})

    decision = compute(rules, claim("440106", "agri_tech", "8,000,000.00", "8,000,000.00"), subfund_exists=only_fund)

    assert decision.ratio == Fraction(37, 80)
    assert decision.compensation == yuan("3,700,000.00")


def test_a_region_entry_wins_over_the_tiers(tiered, claim, yuan):
    rules = tiered("marginal", region_ratios=[{"region": "440100", "ratio": "0.55"}])

    decision = compute(rules, claim("440106", "", "8,000,000.00", "1,000,000.00"), subfund_exists=only_fund)

    assert decision.compensation == yuan("550,000.00")
    assert [s.rule for s in decision.steps].count("size_tier") == 0
