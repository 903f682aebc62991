"""Registration and claim-timing checks: every problem at once, with stable codes."""

from __future__ import annotations

from datetime import date

import pytest

from rules import Violation, add_months, claim_timing_violations, registration_violations


def register(rules, **changes):
    loan = {
        "categories": {"tech_sme"},
        "principal": 1_000_000_00,
        "disbursed_on": date(2026, 3, 1),
        "maturity_on": date(2027, 3, 1),
        "registered_on": date(2026, 3, 10),
    }
    loan.update(changes)
    return registration_violations(rules, **loan)


def codes(violations: list[Violation]) -> list[str]:
    return [v.code for v in violations]


def test_a_good_loan_has_no_violations(gd_rules):
    assert register(gd_rules) == []


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"categories": {"agri_tech"}}, "category_not_eligible", "categories"),
        ({"categories": set()}, "category_not_eligible", "categories"),
        ({"principal": 10_000_000_01}, "principal_above_maximum", "principal"),
        ({"maturity_on": date(2029, 3, 2)}, "term_too_long", "maturity_on"),
        ({"maturity_on": date(2026, 2, 28)}, "maturity_before_disbursement", "maturity_on"),
        ({"maturity_on": date(2026, 3, 1)}, "maturity_before_disbursement", "maturity_on"),
        ({"registered_on": date(2026, 4, 1)}, "registration_window_expired", "disbursed_on"),
        (
            {"disbursed_on": date(2025, 12, 31), "maturity_on": date(2026, 12, 31), "registered_on": date(2026, 1, 5)},
            "disbursed_before_effective",
            "disbursed_on",
        ),
        ({"registered_on": date(2026, 2, 28)}, "disbursement_in_future", "disbursed_on"),
    ],
)
def test_each_registration_check(gd_rules, changes, code, field):
    violations = register(gd_rules, **changes)

    assert [(v.code, v.field) for v in violations] == [(code, field)]


def test_limits_are_inclusive(gd_rules):
    assert (
        register(
            gd_rules,
            principal=10_000_000_00,  # exactly the maximum
            maturity_on=date(2029, 3, 1),  # exactly 36 months
            registered_on=date(2026, 3, 31),  # exactly 30 days
        )
        == []
    )


def test_all_registration_problems_at_once(gd_rules):
    violations = register(
        gd_rules,
        categories={"agri_tech"},
        principal=20_000_000_00,
        maturity_on=date(2030, 1, 1),
        registered_on=date(2026, 6, 1),
    )

    assert codes(violations) == [
        "category_not_eligible",
        "principal_above_maximum",
        "term_too_long",
        "registration_window_expired",
    ]
    assert violations[0].message == "the enterprise needs one of the categories tech_sme, high_tech"
    assert violations[2].message == "the term is longer than 36 months: maturity may be 2029-03-01 at the latest"
    assert violations[3].message == (
        "loans must be registered within 30 days of disbursement (by 2026-03-31); registered on 2026-06-01"
    )


def test_term_counts_calendar_months_clamped_to_month_end(make_rules):
    rules = make_rules(eligibility={"max_term_months": 1})

    # 31 January + 1 month = 28 February (2026 is not a leap year).
    ok = register(rules, disbursed_on=date(2026, 1, 31), maturity_on=date(2026, 2, 28), registered_on=date(2026, 2, 1))
    late = register(rules, disbursed_on=date(2026, 1, 31), maturity_on=date(2026, 3, 1), registered_on=date(2026, 2, 1))

    assert ok == []
    assert codes(late) == ["term_too_long"]


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 5, 20), 0, date(2026, 5, 20)),
        (date(2026, 1, 1), 36, date(2029, 1, 1)),
        (date(9999, 6, 1), 12, date.max),  # saturates instead of overflowing
    ],
)
def test_add_months(start, months, end):
    assert add_months(start, months) == end


def test_a_version_without_eligibility_accepts_any_loan(make_rules):
    assert register(make_rules(), categories=set(), principal=10**15, maturity_on=date(2066, 1, 1), registered_on=date(2030, 1, 1)) == []


# -- claim timing (min_overdue_days 90, filing_window_days 180) ---------------------------


@pytest.mark.parametrize(
    ("default_on", "claim_on", "expected"),
    [
        (date(2026, 1, 1), date(2026, 4, 1), []),  # exactly 90 days: allowed
        (date(2026, 1, 1), date(2026, 3, 31), ["claim_too_early"]),
        (date(2026, 1, 1), date(2026, 6, 30), []),  # exactly 180 days: allowed
        (date(2026, 1, 1), date(2026, 7, 1), ["filing_window_expired"]),
        (date(2026, 5, 2), date(2026, 5, 1), ["default_in_future"]),
    ],
)
def test_claim_timing(gd_rules, default_on, claim_on, expected):
    assert codes(claim_timing_violations(gd_rules, default_on=default_on, claim_on=claim_on)) == expected


def test_claim_timing_messages(gd_rules):
    early = claim_timing_violations(gd_rules, default_on=date(2026, 1, 1), claim_on=date(2026, 2, 1))
    late = claim_timing_violations(gd_rules, default_on=date(2026, 1, 1), claim_on=date(2026, 12, 1))

    assert early == [Violation("claim_too_early", "default_on", "a claim may be filed 90 days after default, from 2026-04-01")]
    assert late == [
        Violation("filing_window_expired", "default_on", "a claim must be filed within 180 days of default (by 2026-06-30)")
    ]


def test_without_timing_rules_only_the_order_of_dates_is_checked(make_rules):
    rules = make_rules()

    assert claim_timing_violations(rules, default_on=date(2026, 1, 1), claim_on=date(2030, 1, 1)) == []
    assert codes(claim_timing_violations(rules, default_on=date(2026, 1, 2), claim_on=date(2026, 1, 1))) == [
        "default_in_future"
    ]


def test_dates_near_the_end_of_the_calendar_do_not_overflow(gd_rules):
    assert claim_timing_violations(gd_rules, default_on=date(9999, 12, 1), claim_on=date(9999, 12, 31)) == [
        Violation("claim_too_early", "default_on", "a claim may be filed 90 days after default, from after 9999-12-31")
    ]
    assert register(gd_rules, disbursed_on=date(9999, 12, 1), maturity_on=date(9999, 12, 31), registered_on=date(9999, 12, 2)) == []
