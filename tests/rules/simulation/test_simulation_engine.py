"""SPEC §8 on the pure engine: the exactness anchor, caps in order, recoveries, drafts,
determinism and convergence."""

from __future__ import annotations

import math
import operator
from decimal import Decimal

import pytest

import rules
from rules.simulation import SimLoan, dumps, simulate
from rules.simulation import engine as engine_module


def by_subfund(result: dict, field: str = "expected_payout") -> dict[str, str]:
    return {row["subfund"]: row[field] for row in result["subfunds"]}


def test_everything_defaults_pays_the_worked_examples_to_the_fen(make_portfolio, worked_loans, scenario):
    # SPEC §3.3: GD-PROV 375,000.00 + 225,000.00 (fallback) + 1,050,000.00 + 2,500,000.00
    # + 83,333.34; INS-PICC 150,000.00 + 420,000.00 + 1,000,000.00 + 33,333.33.
    answer = simulate(make_portfolio(worked_loans), scenario())
    current = answer["current"]
    for field in ("expected_payout", "p95_payout", "p99_payout", "contingent_liability"):
        assert by_subfund(current, field) == {
            "CITY-440500": "1500000.00",
            "CITY-440700": "630000.00",
            "CITY-441900": "50000.00",
            "GD-PROV": "4233333.34",
            "INS-PICC": "1603333.33",
        }
    assert answer["draft"] is None
    assert {b["bank"]: b["expected_payout"] for b in current["banks"]} == {
        "BANK-A": "2850000.00", "BANK-B": "5166666.67"}


def test_the_anchor_matches_the_calculator_on_a_varied_portfolio(make_portfolio, gd_rules, scenario):
    regions = ["440106", "440703", "440511", "441900", "445102", "440304", "441702"]
    categories = [("tech_sme",), ("tech_sme", "agri_tech"), ("high_tech", "agri_tech", "specialized_town"),
                  ("high_tech", "specialized_town")]
    loans = []
    for i in range(300):
        principal = 10_000_00 + (i * 7_919_993_01) % 9_990_000_00
        loans.append(SimLoan(i, f"BANK-{i % 4}", f"E{i}", regions[i % 7], categories[i % 4], principal,
                             principal - (i * 1_234_567) % principal, 2025 + i % 2, 1))
    portfolio = make_portfolio(loans)
    expected: dict[str, int] = {}
    for loan in loans:
        decision = rules.compute(gd_rules, rules.ClaimFacts(loan.region, loan.categories, loan.principal,
                                                            loan.outstanding),
                                 subfund_exists=portfolio.available.__contains__)
        for line in decision.payers:
            expected[line.subfund] = expected.get(line.subfund, 0) + line.amount
    # No enterprise, annual or portfolio cap may bind for the anchor: lift the annual cap.
    document = gd_rules.document
    document["claims"]["per_bank_annual_cap"] = "9000000000000.00"
    loose = rules.parse_rules(document)
    answer = simulate(make_portfolio(loans, versions={1: loose}), scenario(horizon_months=36))
    assert by_subfund(answer["current"]) == {code: rules.money.format_amount(v) for code, v in expected.items()}


def test_the_bank_annual_cap_binds_in_order_of_default_month(make_portfolio, gd_rules, scenario):
    document = gd_rules.document
    document["claims"]["per_bank_annual_cap"] = "1000000.00"
    capped = rules.parse_rules(document)
    # Two Guangzhou loans of one bank, 750,000.00 each: together above the 1,000,000.00 cap.
    loans = [SimLoan(i, "BANK-A", f"E{i}", "440106", ("tech_sme",), 1_500_000_00, 1_500_000_00, 2026, 1)
             for i in (1, 2)]
    answer = simulate(make_portfolio(loans, versions={1: capped}), scenario(horizon_months=3))
    assert answer["current"]["banks"][0]["expected_payout"] == "1000000.00"
    # What was already approved this year counts against the cap.
    answer = simulate(make_portfolio(loans, versions={1: capped},
                                     bank_annual_approved={("BANK-A", 2026): 900_000_00}), scenario(horizon_months=3))
    assert answer["current"]["banks"][0]["expected_payout"] == "100000.00"
    step = next(s for s in answer["current"]["steps"] if s["rule"] == "claims.per_bank_annual_cap")
    assert step == {"rule": "claims.per_bank_annual_cap", "basis": "simulation", "loans": 2,
                    "compensation": "100000.00", "reduced_by": "1400000.00"}


def test_a_new_calendar_year_renews_the_annual_cap(make_portfolio, gd_rules, scenario):
    document = gd_rules.document
    document["claims"]["per_bank_annual_cap"] = "750000.00"
    capped = rules.parse_rules(document)
    loans = [SimLoan(i, "BANK-A", f"E{i}", "440106", ("tech_sme",), 1_500_000_00, 1_500_000_00, 2026, 1)
             for i in range(40)]
    # Over 12 months from 2026-06-30 the defaults fall in 2026 and 2027: one cap each.
    answer = simulate(make_portfolio(loans, versions={1: capped}), scenario(horizon_months=12, seed=3))
    assert answer["current"]["banks"][0]["expected_payout"] == "1500000.00"


def test_the_enterprise_cap_counts_what_was_already_compensated(make_portfolio, worked_loans, scenario):
    # Example 3 computes 5,000,000.00; its enterprise already had 7,000,000.00 of 8,000,000.00.
    answer = simulate(make_portfolio(worked_loans[2:3], enterprise_compensated={"E3": 7_000_000_00}), scenario())
    assert by_subfund(answer["current"]) == {"CITY-440500": "300000.00", "GD-PROV": "500000.00",
                                              "INS-PICC": "200000.00"}


def test_the_portfolio_cap_limits_a_vintage_when_the_rules_have_one(make_portfolio, gd_rules, scenario):
    document = gd_rules.document
    document["claims"]["portfolio_cap_rate"] = "0.08"
    capped = rules.parse_rules(document)
    loans = [SimLoan(1, "BANK-A", "E1", "440106", ("tech_sme",), 2_000_000_00, 2_000_000_00, 2025, 1)]
    answer = simulate(make_portfolio(loans, versions={1: capped},
                                     vintage_registered={("BANK-A", 2025): 10_000_000_00}), scenario())
    assert answer["current"]["banks"][0]["expected_payout"] == "800000.00"
    assert answer["current"]["banks"][0]["portfolio_cap_used"] == "1.0000"


def test_recoveries_return_the_pools_share(make_portfolio, worked_loans, scenario):
    # SPEC §3.3: example 2 recovering 1,000,000.00 of 3,000,000.00 returns 700,000.00,
    # split 350,000.00 / 210,000.00 / 140,000.00. Here a third of the loss comes back.
    answer = simulate(make_portfolio(worked_loans[1:2]), scenario(recovery_rate="0.3334"))
    # R = 0.3334 × 3,000,000.00 = 1,000,200.00; share = R × 2.1M / 3M = 700,140.00.
    assert by_subfund(answer["current"]) == {"GD-PROV": "699930.00", "CITY-440700": "419958.00",
                                              "INS-PICC": "279972.00"}


def test_a_draft_is_simulated_beside_the_rules_in_force(make_portfolio, worked_loans, gd_rules, scenario):
    document = gd_rules.document
    document["base_ratio"] = "0.60"
    draft = rules.parse_rules(document)
    answer = simulate(make_portfolio(worked_loans), scenario(), draft=draft)
    # Examples 1 (Guangzhou) and 4 (Dongguan) take the base ratio: 0.60 × 1,500,000.00 =
    # 900,000.00 and 0.60 × 333,333.33 = 200,000.00; GD-PROV pays 80 % of the first (its
    # own half and the missing city's 30 %) and half of the second.
    assert by_subfund(answer["draft"])["GD-PROV"] == "4370000.00"
    assert by_subfund(answer["current"])["GD-PROV"] == "4233333.34"
    assert any(s["rule"] == "base_ratio" and s["loans"] == 2 and s["compensation"] == "1100000.00" for s in answer["draft"]["steps"])


def test_depletion_is_when_the_payout_exceeds_the_available_balance(make_portfolio, worked_loans, scenario):
    available = {"GD-PROV": 4_233_333_34, "INS-PICC": 1_000_000_00, "CITY-440700": 0, "CITY-440500": 10**12,
                 "CITY-441900": 10**12}
    answer = simulate(make_portfolio(worked_loans, available=available), scenario(horizon_months=1))
    rows = {row["subfund"]: row for row in answer["current"]["subfunds"]}
    assert rows["GD-PROV"]["depletion_probability"] == "0.000000"  # exactly enough
    assert rows["INS-PICC"]["depletion_probability"] == "1.000000"
    assert rows["INS-PICC"]["expected_depletion_month"] == "1.00"
    assert rows["INS-PICC"]["depletion_curve"] == ["1.000000"]
    assert rows["CITY-440700"]["available"] == "0.00"


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(make_portfolio, worked_loans, scenario):
    portfolio = make_portfolio(worked_loans * 1)
    first = dumps(simulate(portfolio, scenario(default_rate="0.3", runs=200, seed=11, recovery_rate="0.2")))
    again = dumps(simulate(portfolio, scenario(default_rate="0.3", runs=200, seed=11, recovery_rate="0.2")))
    other = dumps(simulate(portfolio, scenario(default_rate="0.3", runs=200, seed=12, recovery_rate="0.2")))
    assert first == again
    assert first != other


def test_chunking_does_not_change_the_answer(make_portfolio, worked_loans, scenario, monkeypatch):
    portfolio = make_portfolio(worked_loans)
    whole = dumps(simulate(portfolio, scenario(default_rate="0.4", runs=64, seed=5)))
    monkeypatch.setattr(engine_module, "CHUNK_CELLS", 4)  # one run per chunk
    assert dumps(simulate(portfolio, scenario(default_rate="0.4", runs=64, seed=5))) == whole


@pytest.mark.parametrize("runs", [400, 40_000])
def test_percentiles_and_mean_converge_for_a_coin_flip_loan(make_portfolio, worked_loans, scenario, runs):
    # One loan defaulting with p = 0.5 pays 2,100,000.00 or nothing: P95 and P99 are the
    # full payout, the mean is half of it within a few standard errors (sd = C/2).
    portfolio = make_portfolio(worked_loans[1:2])
    answer = simulate(portfolio, scenario(default_rate="0.5", runs=runs, seed=2026))
    bank = answer["current"]["banks"][0]
    assert bank["p95_payout"] == "2100000.00"
    mean = rules.money.parse_amount(bank["expected_payout"])
    bound = 4 * (2_100_000_00 / 2) / math.sqrt(runs)
    assert abs(mean - 1_050_000_00) <= bound
    row = {r["subfund"]: r for r in answer["current"]["subfunds"]}["GD-PROV"]
    assert row["p99_payout"] == "1050000.00"


def test_probability_tables_pick_the_most_specific_entry(make_portfolio, worked_loans, scenario):
    table = {"default": "0", "banks": {"BANK-B": "1"}, "regions": {"4407": "1"}, "categories": {"high_tech": "0"}}
    answer = simulate(make_portfolio(worked_loans), scenario(default_rate=table))
    # BANK-B's two loans (examples 3, 4) by bank; example 2 by its region prefix; example 1 never.
    banks = {b["bank"]: b["expected_payout"] for b in answer["current"]["banks"]}
    assert banks == {"BANK-A": "2100000.00", "BANK-B": "5166666.67"}
    assert answer["scenario"]["default_rate"]["banks"] == {"BANK-B": "1"}


def test_leverage_is_outstanding_against_the_payers_money_before_and_after(make_portfolio, worked_loans, scenario):
    # Outstanding 1,500,000.00 + 3,000,000.00 + 7,654,321.09 + 333,333.33 = 12,487,654.42
    # against the five sub-funds' 5 x 1,000,000.00; everything defaults: 8,016,666.67 is paid.
    available = {code: 1_000_000_00 for code in ("GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900")}
    leverage = simulate(make_portfolio(worked_loans, available=available), scenario())["current"]["leverage"]
    assert leverage == {"outstanding": "12487654.42", "payer_available": "5000000.00", "limit": "10",
                        "used": "2.4975", "used_after_expected_payout": None}


def test_an_empty_portfolio_answers_zeros(make_portfolio, scenario, gd_rules):
    answer = simulate(make_portfolio([]), scenario(runs=10), draft=gd_rules)
    assert answer["loans"] == 0
    assert answer["current"]["subfunds"] == [] and answer["draft"]["banks"] == []


def test_a_loan_defaults_with_its_probability_uniformly_over_the_horizon(make_portfolio, worked_loans, scenario):
    # One loan at 25 % over four months, its payers holding nothing: every default
    # depletes GD-PROV in the default's month. 40,000 runs: sd of a share <= 0.0022.
    portfolio = make_portfolio(worked_loans[1:2], available={})
    row = {r["subfund"]: r for r in simulate(portfolio, scenario(default_rate="0.25", horizon_months=4,
                                                                  runs=40_000, seed=3))["current"]["subfunds"]}["GD-PROV"]
    assert abs(Decimal(row["depletion_probability"]) - Decimal("0.25")) < Decimal("0.01")
    by_month = [Decimal(p) for p in row["depletion_curve"]]
    assert by_month[-1] == Decimal(row["depletion_probability"])
    for month, share in enumerate(map(operator.sub, by_month, [Decimal(0), *by_month[:-1]]), start=1):
        assert abs(share - Decimal("0.0625")) < Decimal("0.006"), month
    assert abs(Decimal(row["expected_depletion_month"]) - Decimal("2.5")) < Decimal("0.05")


def test_probabilities_are_decimal_strings_from_counts(make_portfolio, worked_loans, scenario):
    # Three runs of a coin flip: each share is a count over three, ROUND_HALF_UP to six places.
    row = {r["subfund"]: r for r in simulate(make_portfolio(worked_loans[1:2], available={}),
                                             scenario(default_rate="0.5", runs=3, seed=1))["current"]["subfunds"]}["GD-PROV"]
    assert row["depletion_probability"] in {"0.000000", "0.333333", "0.666667", "1.000000"}
    assert all(p in {"0.000000", "0.333333", "0.666667", "1.000000"} for p in row["depletion_curve"])
