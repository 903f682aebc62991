"""SPEC §3.3: the four worked examples under the SPEC §3 rule file, figure by figure.

Expected values are copied from the SPEC table, not recomputed.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from rules import compute, recovery_returns

# (region, categories, principal, outstanding) -> ratio, compensation,
# [(sub-fund, amount, fallback_used)] in payer order GD-PROV / CITY / INS.
EXAMPLES = [
    pytest.param(
        ("440106", "tech_sme", "2,000,000.00", "1,500,000.00"),
        "0.5000",
        "750,000.00",
        [("GD-PROV", "375,000.00", False), ("GD-PROV", "225,000.00", True), ("INS-PICC", "150,000.00", False)],
        id="1-guangzhou-city-share-falls-back",
    ),
    pytest.param(
        ("440703", "tech_sme, agri_tech", "3,000,000.00", "3,000,000.00"),
        "0.7000",
        "2,100,000.00",
        [("GD-PROV", "1,050,000.00", False), ("CITY-440700", "630,000.00", False), ("INS-PICC", "420,000.00", False)],
        id="2-jiangmen-agri-uplift",
    ),
    pytest.param(
        ("440511", "high_tech, agri_tech, specialized_town", "8,000,000.00", "7,654,321.09"),
        "0.8000",
        "5,000,000.00",
        [
            ("GD-PROV", "2,500,000.00", False),
            ("CITY-440500", "1,500,000.00", False),
            ("INS-PICC", "1,000,000.00", False),
        ],
        id="3-shantou-capped-twice",
    ),
    pytest.param(
        ("441900", "tech_sme", "1,000,000.00", "333,333.33"),
        "0.5000",
        "166,666.67",
        [("GD-PROV", "83,333.34", False), ("CITY-441900", "50,000.00", False), ("INS-PICC", "33,333.33", False)],
        id="4-dongguan-largest-remainder",
    ),
]


@pytest.mark.parametrize(("row", "ratio", "compensation", "payers"), EXAMPLES)
def test_worked_example(gd_rules, subfund_exists, claim, yuan, row, ratio, compensation, payers):
    decision = compute(gd_rules, claim(*row), subfund_exists=subfund_exists)

    assert decision.ratio_text == ratio
    assert decision.compensation == yuan(compensation)
    assert [(p.subfund, p.amount, p.fallback_used) for p in decision.payers] == [
        (subfund, yuan(amount), fallback) for subfund, amount, fallback in payers
    ]
    assert sum(p.amount for p in decision.payers) == decision.compensation


def test_example_1_names_the_missing_city_fund_and_its_fallback(gd_rules, subfund_exists, claim):
    decision = compute(gd_rules, claim("440106", "tech_sme", "2,000,000.00", "1,500,000.00"), subfund_exists=subfund_exists)

    city = decision.payers[1]
    assert city.template == "CITY-{city}"
    assert "payer_fallback: CITY-440100 does not exist -> GD-PROV" in [s.detail for s in decision.steps]


def test_example_3_steps_show_both_caps(gd_rules, subfund_exists, claim):
    decision = compute(
        gd_rules,
        claim("440511", "high_tech, agri_tech, specialized_town", "8,000,000.00", "7,654,321.09"),
        subfund_exists=subfund_exists,
    )

    details = [s.detail for s in decision.steps]
    assert details[:3] == [
        "region_ratio: 440500 in YDXB -> 0.70",
        "uplift: agri_tech +0.10, specialized_town +0.05 -> +0.15",
        "max_ratio: 0.85 (limit 0.80) -> 0.80",
    ]
    assert "compensation: 0.80 x 7654321.09 -> 6123456.87" in details
    assert "per_claim_cap: 6123456.87 -> 5000000.00" in details
    assert decision.ratio == Fraction(4, 5)
    assert decision.eligible_loss == 765432109


def test_example_4_spare_fen_goes_to_the_largest_remainder(gd_rules, subfund_exists, claim):
    # 0.5 x 166,666.67 = 83,333.335: GD-PROV floors to 83,333.33 and takes the spare fen.
    decision = compute(gd_rules, claim("441900", "tech_sme", "1,000,000.00", "333,333.33"), subfund_exists=subfund_exists)

    assert decision.payers[0].amount == 8333334
    assert decision.steps[-1].detail == "split: 166666.67 -> GD-PROV 0.50 83333.34, CITY-441900 0.30 50000.00, INS-PICC 0.20 33333.33"


def test_example_2_recovery_of_one_million(yuan):
    # Example 2 paid 1,050,000.00 / 630,000.00 / 420,000.00 on an eligible loss of
    # 3,000,000.00; the bank then recovers 1,000,000.00.
    result = recovery_returns(
        eligible_loss=yuan("3,000,000.00"),
        compensation=yuan("2,100,000.00"),
        paid=[("GD-PROV", yuan("1,050,000.00")), ("CITY-440700", yuan("630,000.00")), ("INS-PICC", yuan("420,000.00"))],
        recovered_before=0,
        recovered_now=yuan("1,000,000.00"),
    )

    assert result.cumulative_share == yuan("700,000.00")
    assert result.returned_now == yuan("700,000.00")
    assert result.lines == (
        ("GD-PROV", yuan("350,000.00")),
        ("CITY-440700", yuan("210,000.00")),
        ("INS-PICC", yuan("140,000.00")),
    )
