"""SPEC §3.1 rule by rule: the region walk, uplifts, the ceiling, caps, payers and
their fallbacks, and the later changes an approver makes (limits, repairs)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from decimal import Decimal
from fractions import Fraction

import pytest

from rules import ClaimFacts, Decision, PayerLine, Step, compute, limit_to, repair


def everything_exists(name: str) -> bool:
    return True


def nothing_exists(name: str) -> bool:
    return False


def ratio_of(rules, region: str, categories: str = "") -> str:
    facts = ClaimFacts(region, frozenset(filter(None, categories.split(","))), 100_000_00, 100_000_00)
    return compute(rules, facts, subfund_exists=everything_exists).ratio_text


# -- 1. region ratio ----------------------------------------------------------------


@pytest.fixture
def layered(make_rules):
    """Ratios at every level, to see which one the walk picks."""
    return make_rules(
        region_groups={"EAST": ["440500", "440511", "441900"], "PROVINCES": ["350000"]},
        region_ratios=[
            {"group": "EAST", "ratio": "0.70"},
            {"region": "440500", "ratio": "0.65"},  # exact beats the group at the same level
            {"region": "440513", "ratio": "0.75"},  # county entry beats its city's
            {"region": "440000", "ratio": "0.55"},  # province
            {"group": "PROVINCES", "ratio": "0.45"},
        ],
    )


@pytest.mark.parametrize(
    ("region", "ratio", "detail"),
    [
        ("440500", "0.6500", "region_ratio: 440500 -> 0.65"),  # exact entry over group EAST
        ("440511", "0.7000", "region_ratio: 440511 in EAST -> 0.70"),  # county level: group
        ("440513", "0.7500", "region_ratio: 440513 -> 0.75"),  # county level: exact
        ("440515", "0.6500", "region_ratio: 440500 -> 0.65"),  # no county entry: its city
        ("440106", "0.5500", "region_ratio: 440000 -> 0.55"),  # no county, no city: province
        ("441900", "0.7000", "region_ratio: 441900 in EAST -> 0.70"),  # a city without counties
        ("442000", "0.5500", "region_ratio: 440000 -> 0.55"),  # Zhongshan: city -> province
        ("350102", "0.4500", "region_ratio: 350000 in PROVINCES -> 0.45"),
        ("110101", "0.5000", "region_ratio: 110101 no entry, base_ratio -> 0.50"),
    ],
)
def test_region_walk(layered, region, ratio, detail):
    decision = compute(layered, ClaimFacts(region, (), 100, 100), subfund_exists=everything_exists)

    assert decision.ratio_text == ratio
    assert decision.steps[0].detail == detail


def test_region_step_in_chinese(layered):
    decision = compute(layered, ClaimFacts("440511", (), 100, 100), subfund_exists=everything_exists)

    assert decision.steps[0].render("zh") == "地区比例：440511 属于 EAST → 0.70"
    assert decision.steps[0].params["region"] == "440511"
    assert decision.steps[0].params["entry"] == "region_ratios[0]"


def test_borrower_region_must_be_a_region_code(layered):
    with pytest.raises(ValueError, match="not a region code"):
        compute(layered, ClaimFacts("4405", (), 100, 100), subfund_exists=everything_exists)


# -- 2./3. uplift and ceiling --------------------------------------------------------


def test_uplift_sum_and_max(make_rules):
    uplifts = {"agri_tech": "0.10", "specialized_town": "0.05"}
    summed = make_rules(uplifts=uplifts, uplift_mode="sum")
    highest = make_rules(uplifts=uplifts, uplift_mode="max")

    assert ratio_of(summed, "440106", "agri_tech,specialized_town,tech_sme") == "0.6500"
    assert ratio_of(highest, "440106", "agri_tech,specialized_town") == "0.6000"
    assert ratio_of(highest, "440106", "tech_sme") == "0.5000"


def test_uplift_steps_name_each_category(make_rules):
    rules = make_rules(uplifts={"agri_tech": "0.10", "specialized_town": "0.05"}, uplift_mode="max")

    decision = compute(rules, ClaimFacts("440106", {"agri_tech", "specialized_town"}, 100, 100), subfund_exists=everything_exists)

    step = decision.steps[1]
    assert step.detail == "uplift: max of agri_tech +0.10, specialized_town +0.05 -> +0.10"
    assert step.render("zh") == "类别上浮：农业类科技企业 +0.10，专业镇内企业 +0.05，取最高 +0.10"


def test_without_max_ratio_a_loss_is_never_overcompensated(make_rules):
    rules = make_rules(base_ratio="0.95", uplifts={"agri_tech": "0.10"})

    decision = compute(rules, ClaimFacts("440106", {"agri_tech"}, 100_00, 100_00), subfund_exists=everything_exists)

    assert decision.ratio == 1
    assert decision.compensation == 100_00
    assert decision.steps[2].detail == "max_ratio: 1.05 -> 1.00 (never more than the loss)"


# -- 4./5. eligible loss, compensation, caps ----------------------------------------------


def test_interest_is_never_compensated(make_rules):
    # Outstanding above the principal (capitalised interest): only the principal counts.
    decision = compute(make_rules(), ClaimFacts("440106", (), 1_000_000_00, 1_200_000_00), subfund_exists=everything_exists)

    assert decision.eligible_loss == 1_000_000_00
    assert decision.compensation == 500_000_00


def test_compensation_rounds_half_up_once(make_rules):
    # 0.5 x 0.03 yuan = 0.015 -> 0.02
    decision = compute(make_rules(), ClaimFacts("440106", (), 3, 3), subfund_exists=everything_exists)

    assert decision.compensation == 2


def test_caps_apply_in_order_and_each_is_a_step(make_rules, yuan):
    rules = make_rules(
        base_ratio="0.80",
        claims={"per_claim_cap": "5000000.00", "per_enterprise_cap": "8000000.00"},
    )
    facts = ClaimFacts("440106", (), 10_000_000_00, 10_000_000_00)  # 0.80 x 10,000,000.00 = 8,000,000.00

    decision = compute(
        rules,
        facts,
        subfund_exists=everything_exists,
        enterprise_compensated=yuan("4,000,000.00"),
        bank_annual_remaining=yuan("1,234,567.89"),
    )

    assert decision.compensation == yuan("1,234,567.89")
    assert [s.detail for s in decision.steps if s.rule.endswith("_cap")] == [
        "per_claim_cap: 8000000.00 -> 5000000.00",
        "per_enterprise_cap: 5000000.00 -> 4000000.00 (8000000.00 less 4000000.00 already compensated)",
        "per_bank_annual_cap: 4000000.00 -> 1234567.89 (1234567.89 left this year)",
    ]
    assert [s.render("zh") for s in decision.steps if s.rule.endswith("_cap")] == [
        "单笔补偿上限 5000000.00：8000000.00 → 5000000.00",
        "单户累计补偿上限 8000000.00（已补偿 4000000.00）：5000000.00 → 4000000.00",
        "银行年度补偿上限（本年剩余 1234567.89）：4000000.00 → 1234567.89",
    ]


def test_caps_that_do_not_bite_leave_no_step(make_rules):
    rules = make_rules(claims={"per_claim_cap": "5000000.00", "per_enterprise_cap": "8000000.00"})

    decision = compute(rules, ClaimFacts("440106", (), 100_00, 100_00), subfund_exists=everything_exists, bank_annual_remaining=10**9)

    assert not any(s.rule.endswith("_cap") for s in decision.steps)


def test_exhausted_enterprise_cap_compensates_nothing(make_rules):
    rules = make_rules(claims={"per_enterprise_cap": "8000000.00"})

    decision = compute(
        rules, ClaimFacts("440106", (), 100_00, 100_00), subfund_exists=everything_exists, enterprise_compensated=9_000_000_00
    )

    assert decision.compensation == 0
    assert [line.amount for line in decision.payers] == [0]


# -- 6. payers -----------------------------------------------------------------------------


@pytest.fixture
def county_rules(make_rules):
    return make_rules(
        payers=[
            {"subfund": "PROV-{province}", "share": "0.5"},
            {"subfund": "COUNTY-{county}", "share": "0.3", "fallback": "CITY-440700"},
            {"subfund": "CITY-{city}", "share": "0.2"},
        ]
    )


def test_placeholders_expand_from_the_borrower_region(county_rules):
    decision = compute(county_rules, ClaimFacts("440703", (), 100_00, 100_00), subfund_exists=everything_exists)

    assert [(p.subfund, p.template, p.amount, p.fallback_used) for p in decision.payers] == [
        ("PROV-440000", "PROV-{province}", 25_00, False),
        ("COUNTY-440703", "COUNTY-{county}", 15_00, False),
        ("CITY-440700", "CITY-{city}", 10_00, False),
    ]


def test_a_city_borrower_cannot_fill_county_so_the_fallback_pays(county_rules):
    decision = compute(county_rules, ClaimFacts("441900", (), 100_00, 100_00), subfund_exists=everything_exists)

    assert (decision.payers[1].subfund, decision.payers[1].fallback_used) == ("CITY-440700", True)
    fallback = next(s for s in decision.steps if s.rule == "payer_fallback")
    assert fallback.detail == "payer_fallback: COUNTY-{county} cannot be filled for 441900 -> CITY-440700"
    assert fallback.render("zh") == "出资方替补：441900 无法填入 COUNTY-{county} → CITY-440700"


def test_missing_sub_fund_without_a_usable_fallback_is_named_for_the_ledger_to_refuse(county_rules):
    decision = compute(county_rules, ClaimFacts("440000", (), 100_00, 100_00), subfund_exists=nothing_exists)

    assert [(p.subfund, p.fallback_used) for p in decision.payers] == [
        ("PROV-440000", False),  # expanded, but does not exist
        ("COUNTY-{county}", False),  # cannot be filled for a province, fallback missing too
        ("CITY-{city}", False),
    ]
    assert [s.detail for s in decision.steps if s.rule == "payer_missing"] == [
        "payer_missing: PROV-440000 does not exist and has no fallback",
        "payer_missing: COUNTY-{county} cannot be filled for 440000 and its fallback CITY-440700 does not exist either",
        "payer_missing: CITY-{city} cannot be filled for 440000 and has no fallback",
    ]
    assert sum(p.amount for p in decision.payers) == decision.compensation


def test_a_region_entry_with_its_own_payers_replaces_the_default_split(make_rules, yuan):
    # 粤东西北: province 35 % / city 15 % / county 10 % of the loss; as shares of a 60 %
    # compensation that is 35/60, 15/60, 10/60.
    rules = make_rules(
        region_groups={"YDXB": ["440500"]},
        region_ratios=[
            {
                "group": "YDXB",
                "ratio": "0.60",
                "payers": [
                    {"subfund": "GD-PROV", "share": "0.583334"},
                    {"subfund": "CITY-{city}", "share": "0.25"},
                    {"subfund": "COUNTY-{county}", "share": "0.166666"},
                ],
            }
        ],
    )

    inside = compute(rules, ClaimFacts("440511", (), 1_000_000_00, 1_000_000_00), subfund_exists=everything_exists)
    outside = compute(rules, ClaimFacts("440106", (), 1_000_000_00, 1_000_000_00), subfund_exists=everything_exists)

    # 600,000.00 x 0.583334 = 350,000.40; x 0.25 = 150,000.00; x 0.166666 = 99,999.60
    assert [(p.subfund, p.amount) for p in inside.payers] == [
        ("GD-PROV", yuan("350,000.40")),
        ("CITY-440500", yuan("150,000.00")),
        ("COUNTY-440511", yuan("99,999.60")),
    ]
    assert inside.steps[-1].params["source"] == "region_ratios[0].payers"
    assert inside.steps[-1].detail.startswith("split (region_ratios[0].payers): 600000.00 -> ")
    assert [p.subfund for p in outside.payers] == ["GD-PROV"]


# -- later changes -------------------------------------------------------------------------


@pytest.fixture
def example_3(gd_rules, subfund_exists, claim):
    return compute(
        gd_rules,
        claim("440511", "high_tech, agri_tech, specialized_town", "8,000,000.00", "7,654,321.09"),
        subfund_exists=subfund_exists,
    )


def test_limit_to_at_approval_resplits_and_records_the_limit(example_3, yuan):
    limited = limit_to(example_3, yuan("1,000,000.01"), "per_bank_annual_cap")

    assert limited.compensation == yuan("1,000,000.01")
    # 0.5 / 0.3 / 0.2 of 100,000,001 fen = 50,000,000.5 / 30,000,000.3 / 20,000,000.2
    assert [p.amount for p in limited.payers] == [50_000_001, 30_000_000, 20_000_000]
    assert [s.detail for s in limited.steps[-2:]] == [
        "per_bank_annual_cap: 5000000.00 -> 1000000.01 (1000000.01 left this year)",
        "split: 1000000.01 -> GD-PROV 0.50 500000.01, CITY-440500 0.30 300000.00, INS-PICC 0.20 200000.00",
    ]
    assert limited.steps[:-2] == example_3.steps[:-1]


def test_limit_that_does_not_bite_changes_nothing(example_3):
    assert limit_to(example_3, example_3.compensation, "per_bank_annual_cap") is example_3


def test_repair_records_the_reason(example_3, yuan):
    repaired = repair(example_3, yuan("4,000,000.00"), "  抵押物估值上调 collateral revalued  ")

    assert repaired.compensation == yuan("4,000,000.00")
    assert [p.amount for p in repaired.payers] == [yuan("2,000,000.00"), yuan("1,200,000.00"), yuan("800,000.00")]
    step = repaired.steps[-2]
    assert step == Step(
        "repair",
        "repair: 5000000.00 -> 4000000.00 (抵押物估值上调 collateral revalued)",
        {"before": "5000000.00", "after": "4000000.00", "reason": "抵押物估值上调 collateral revalued"},
    )
    assert step.render("zh") == "审批调减：5000000.00 → 4000000.00（理由：抵押物估值上调 collateral revalued）"


@pytest.mark.parametrize(
    ("amount", "reason", "error"),
    [
        (5_000_000_01, "too much", "between 0.00 and the computed 5000000.00"),
        (-1, "negative", "between 0.00 and the computed 5000000.00"),
        (1_000_00, "   ", "needs a reason"),
    ],
)
def test_repair_refuses(example_3, amount, reason, error):
    with pytest.raises(ValueError, match=error):
        repair(example_3, amount, reason)


def test_repair_to_the_computed_amount_changes_nothing(example_3):
    assert repair(example_3, example_3.compensation, "no change") is example_3


# -- the objects -------------------------------------------------------------------------


def test_decision_is_immutable(example_3):
    with pytest.raises(dataclasses.FrozenInstanceError):
        example_3.compensation = 1  # type: ignore[misc]


def test_decision_copies_and_pickles(example_3):
    assert copy.deepcopy(example_3) == example_3
    assert pickle.loads(pickle.dumps(example_3)) == example_3


def test_decision_to_dict(example_3):
    data = example_3.to_dict()

    assert data["ratio"] == "0.8000"
    assert data["ratio_exact"] == "4/5"
    assert data["eligible_loss"] == "7654321.09"
    assert data["compensation"] == "5000000.00"
    assert data["payers"][1] == {
        "subfund": "CITY-440500",
        "share": "0.30",
        "amount": "1500000.00",
        "template": "CITY-{city}",
        "fallback_used": False,
    }
    assert data["steps"][0] == {
        "rule": "region_ratio",
        "detail": "region_ratio: 440500 in YDXB -> 0.70",
        "params": {
            "region": "440511",
            "matched": "440500",
            "source": "group",
            "group": "YDXB",
            "entry": "region_ratios[1]",
            "ratio": "0.70",
        },
    }
    assert Decision.from_dict(data) == example_3


def test_decision_built_by_hand_equals_a_computed_one(example_3):
    by_hand = Decision(example_3.ratio, example_3.eligible_loss, example_3.compensation, example_3.payers, list(example_3.steps))

    assert by_hand == example_3
    assert isinstance(by_hand.payers[0], PayerLine)
    assert by_hand.payers[0].share == Decimal("0.50")
    assert by_hand.ratio == Fraction(4, 5)


def test_example_3_in_chinese(example_3):
    assert [s.render("zh") for s in example_3.steps] == [
        "地区比例：440500 属于 YDXB → 0.70",
        "类别上浮：农业类科技企业 +0.10，专业镇内企业 +0.05，合计 +0.15",
        "比例上限 0.80：0.85 → 0.80",
        "可补偿损失：min(未偿本金 7654321.09，贷款本金 8000000.00) → 7654321.09",
        "补偿额：0.80 × 7654321.09 → 6123456.87（四舍五入到分）",
        "单笔补偿上限 5000000.00：6123456.87 → 5000000.00",
        "分摊：5000000.00 → GD-PROV 0.50 2500000.00；CITY-440500 0.30 1500000.00；INS-PICC 0.20 1000000.00",
    ]


def test_a_step_of_an_unknown_rule_renders_its_stored_detail():
    step = Step.from_dict({"rule": "future_rule", "detail": "future_rule: 1 -> 2", "params": {"x": "1"}})

    assert step.render("zh") == "future_rule: 1 -> 2"
    with pytest.raises(ValueError, match="unsupported language"):
        step.render("fr")


def test_claim_facts_are_checked():
    assert ClaimFacts("440106", ["tech_sme", "tech_sme"], 1, 0).categories == frozenset({"tech_sme"})
    with pytest.raises(TypeError):
        ClaimFacts("440106", "tech_sme", 1, 0)
    with pytest.raises(TypeError):
        ClaimFacts("440106", (), Decimal("1.00"), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ClaimFacts("440106", (), 0, 0)
    with pytest.raises(ValueError):
        ClaimFacts("440106", (), 1, -1)


def test_max_ratio_step_shows_the_limit_also_when_it_does_not_bite(make_rules):
    # SPEC §3.1: every step shows the rule key, its input and its result; the English
    # step must name the limit checked just as the Chinese one does (issue 10).
    rules = make_rules(base_ratio="0.50", max_ratio="0.80")

    decision = compute(rules, ClaimFacts("440106", set(), 100_00, 100_00), subfund_exists=everything_exists)

    step = next(s for s in decision.steps if s.rule == "max_ratio")
    assert step.detail == "max_ratio: 0.50 (limit 0.80) -> 0.50"
    assert "0.80" in step.render("zh")
