"""SPEC §3's optional keys for running the fund: portfolio_cap_rate, required_documents,
decision_days and [reporting] monthly_report_due_day; and the portfolio cap's step."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rules import RuleValidationError, compute, limit_by_portfolio_cap, parse_rules, portfolio_cap


def _issues(document) -> dict[str, str]:
    with pytest.raises(RuleValidationError) as caught:
        parse_rules(document)
    return {issue.path: issue.message for issue in caught.value.errors}


def test_absent_keys_mean_no_limit_and_no_duty(gd_rules):
    assert gd_rules.claims.portfolio_cap_rate is None
    assert gd_rules.claims.required_documents == ()
    assert gd_rules.claims.decision_days is None
    assert gd_rules.reporting.monthly_report_due_day is None
    assert "reporting" not in gd_rules.document


def test_the_spec_example_keys_are_read_and_carried(spec_document):
    spec_document["claims"].update(portfolio_cap_rate="0.08", decision_days=30,
                                   required_documents=["loan_contract", "iou", "collection_evidence"])
    spec_document["reporting"] = {"monthly_report_due_day": 10}
    ruleset = parse_rules(spec_document)
    assert ruleset.claims.portfolio_cap_rate == Decimal("0.08")
    assert ruleset.claims.required_documents == ("loan_contract", "iou", "collection_evidence")
    assert ruleset.claims.decision_days == 30
    assert ruleset.reporting.monthly_report_due_day == 10
    # The stored document carries them, and reads back to an equal version.
    stored = ruleset.document
    assert stored["claims"]["portfolio_cap_rate"] == "0.08"
    assert stored["claims"]["required_documents"] == ["loan_contract", "iou", "collection_evidence"]
    assert stored["reporting"] == {"monthly_report_due_day": 10}
    assert parse_rules(stored) == ruleset


@pytest.mark.parametrize(("section", "key", "value", "path"), [
    ("claims", "portfolio_cap_rate", "1.5", "claims.portfolio_cap_rate"),
    ("claims", "portfolio_cap_rate", 0.08, "claims.portfolio_cap_rate"),
    ("claims", "required_documents", [], "claims.required_documents"),
    ("claims", "required_documents", ["iou", "iou"], "claims.required_documents[1]"),
    ("claims", "required_documents", ["Loan Contract"], "claims.required_documents[0]"),
    ("claims", "decision_days", 0, "claims.decision_days"),
    ("claims", "decision_days", "30", "claims.decision_days"),
    ("reporting", "monthly_report_due_day", 32, "reporting.monthly_report_due_day"),
    ("reporting", "monthly_report_due_day", 0, "reporting.monthly_report_due_day"),
    ("reporting", "due_day", 10, "reporting.due_day"),
])
def test_bad_values_name_the_key(spec_document, section, key, value, path):
    spec_document.setdefault(section, {})[key] = value
    assert path in _issues(spec_document)


def test_portfolio_cap_is_rate_times_registered_rounded_half_up():
    # 0.08 x 12,345.67 = 987.6536 -> 987.65 ; 0.08 x 0.05 = 0.004 -> 0.00 ; 0.0125 x 0.40 = 0.005 -> 0.01
    assert portfolio_cap(Decimal("0.08"), 1_234_567) == 98_765
    assert portfolio_cap(Decimal("0.08"), 5) == 0
    assert portfolio_cap(Decimal("0.0125"), 36) == 0  # 0.45 fen -> 0
    assert portfolio_cap(Decimal("0.0125"), 40) == 1  # 0.5 fen -> 1 (half up)


def test_a_portfolio_cap_that_bites_is_a_step_and_the_split_follows(gd_rules, claim, subfund_exists):
    # SPEC §3.3 example 2 (2,100,000.00), vintage 2026 with 5,000,000.00 registered at 0.08:
    # cap 400,000.00, of which 150,000.00 already approved -> 250,000.00 left.
    decision = compute(gd_rules, claim("440703", "tech_sme, agri_tech", "3,000,000.00", "3,000,000.00"),
                       subfund_exists=subfund_exists)
    limited = limit_by_portfolio_cap(decision, vintage=2026, rate=Decimal("0.08"), registered=5_000_000_00,
                                     used=150_000_00)
    assert limited.compensation == 250_000_00
    assert [line.amount for line in limited.payers] == [125_000_00, 75_000_00, 50_000_00]
    step = [s for s in limited.steps if s.rule == "portfolio_cap"]
    assert len(step) == 1
    assert step[0].params["before"] == "2100000.00" and step[0].params["after"] == "250000.00"
    assert step[0].params["cap"] == "400000.00" and step[0].params["vintage"] == 2026
    assert "组合补偿上限" in step[0].render("zh")
    assert limited.steps[-1].rule == "split"


def test_a_portfolio_cap_that_does_not_bite_adds_no_step(gd_rules, claim, subfund_exists):
    decision = compute(gd_rules, claim("440703", "tech_sme, agri_tech", "3,000,000.00", "3,000,000.00"),
                       subfund_exists=subfund_exists)
    assert limit_by_portfolio_cap(decision, vintage=2026, rate=Decimal("0.08"), registered=100_000_000_00,
                                  used=0) is decision
