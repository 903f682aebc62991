"""Reading and validating rule documents (SPEC §3): what a bureau sees when a rule
file is wrong, and what the ledger stores when it is right."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rules import (
    RuleIssue,
    RuleValidationError,
    load_file,
    load_json,
    load_toml,
    parse_rules,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"


def issues_of(document) -> list[tuple[str, str]]:
    with pytest.raises(RuleValidationError) as caught:
        parse_rules(document)
    return [(issue.path, issue.message) for issue in caught.value.errors]


# -- a valid document --------------------------------------------------------------


def test_spec_document_reads_as_written(gd_rules):
    assert gd_rules.scheme == "GD-KJD"
    assert gd_rules.effective_from == date(2026, 1, 1)
    assert gd_rules.base_ratio == Decimal("0.50")
    assert gd_rules.max_ratio == Decimal("0.80")
    assert gd_rules.uplift_mode == "sum"
    assert gd_rules.eligibility.categories_any == ("tech_sme", "high_tech")
    assert gd_rules.eligibility.max_loan_principal == 10_000_000_00
    assert gd_rules.eligibility.max_term_months == 36
    assert gd_rules.eligibility.registration_window_days == 30
    assert gd_rules.claims.min_overdue_days == 90
    assert gd_rules.claims.filing_window_days == 180
    assert gd_rules.claims.per_claim_cap == 5_000_000_00
    assert gd_rules.claims.per_enterprise_cap == 8_000_000_00
    assert gd_rules.claims.per_bank_annual_cap == 50_000_000_00
    assert gd_rules.pool.leverage == Decimal("10")
    assert gd_rules.pool.npl_suspend_registrations == Decimal("0.03")
    assert gd_rules.pool.npl_suspend_compensation == Decimal("0.05")
    assert [(p.subfund, p.share, p.fallback) for p in gd_rules.payers] == [
        ("GD-PROV", Decimal("0.50"), None),
        ("CITY-{city}", Decimal("0.30"), "GD-PROV"),
        ("INS-PICC", Decimal("0.20"), None),
    ]
    assert gd_rules.fixed_subfunds == ("GD-PROV", "INS-PICC")


def test_normalized_document_round_trips_through_json(gd_rules):
    stored = json.dumps(gd_rules.document)

    again = parse_rules(json.loads(stored))

    assert again == gd_rules
    assert again.document == gd_rules.document
    assert hash(again) == hash(gd_rules)


def test_normalized_document_is_canonical():
    rules = parse_rules(
        {
            "payers": [{"share": 1, "subfund": "GD-PROV"}],
            "claims": {"per_claim_cap": 5000000},
            "base_ratio": " 0.5",
            "effective_from": date(2026, 3, 1),  # TOML's unquoted date
            "scheme": "X-1",
        }
    )

    assert rules.document == {
        "scheme": "X-1",
        "effective_from": "2026-03-01",
        "base_ratio": "0.5",
        "uplift_mode": "sum",
        "claims": {"per_claim_cap": "5000000.00"},
        "payers": [{"subfund": "GD-PROV", "share": "1"}],
    }


def test_document_copies_cannot_change_the_version(gd_rules):
    copy = gd_rules.document
    copy["base_ratio"] = "0.99"

    assert gd_rules.document["base_ratio"] == "0.50"


def test_json_file_and_toml_file_give_the_same_version(gd_rules, tmp_path):
    path = tmp_path / "gd-kjd.json"
    path.write_text(json.dumps(gd_rules.document), encoding="utf-8")

    assert load_file(path) == gd_rules


@pytest.mark.parametrize("name", ["gd-kjd.toml", "dg-kbd.toml", "jm-ykd.toml"])
def test_example_rule_files_load(name):
    rules = load_file(EXAMPLES / name)

    assert parse_rules(rules.document) == rules


# -- refusing a document -----------------------------------------------------------


def _set(path: str, value):
    """A change to the SPEC document: set (or with value None delete) a dotted path."""

    def change(document):
        *parents, last = path.replace("[", ".").replace("]", "").split(".")
        node = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return change


TIERS = [{"up_to": "5000000.00", "ratio": "0.40"}, {"up_to": "15000000.00", "ratio": "0.30"}]

INVALID = [
    # (change to the SPEC document, path the user is shown, message)
    (_set("base_ration", "0.5"), "base_ration", 'unknown key "base_ration"; did you mean "base_ratio"?'),
    (_set("claims.per_claim_capp", "1.00"), "claims.per_claim_capp", 'unknown key "per_claim_capp"; did you mean "per_claim_cap"?'),
    (_set("region_ratios[0].rate", "0.6"), "region_ratios[0].rate", 'unknown key "rate"; did you mean "ratio"?'),
    (_set("scheme", None), "scheme", "is required"),
    (_set("effective_from", None), "effective_from", "is required"),
    (_set("base_ratio", None), "base_ratio", "is required unless size_tiers are given"),
    (_set("payers", None), "payers", "is required"),
    (_set("region_ratios[1].ratio", "1.2"), "region_ratios[1].ratio", "must be between 0 and 1"),
    (_set("region_ratios[1].ratio", "0.70001"), "region_ratios[1].ratio", "has more than 4 decimals"),
    (
        _set("region_ratios[1].ratio", 0.7),
        "region_ratios[1].ratio",
        'must be a decimal string such as "0.50" (quote it: a bare number with a fraction is read as a float)',
    ),
    (_set("payers[2].share", "0.10"), "payers", "shares sum to 0.90, not 1"),
    (_set("payers[0].share", "0.5000001"), "payers[0].share", "has more than 6 decimals"),
    (_set("max_ratio", "0.65"), "max_ratio", "0.65 is below region_ratios[1].ratio 0.70"),
    (_set("uplift_mode", "avg"), "uplift_mode", 'must be "sum" or "max"'),
    (_set("tier_mode", "whole"), "tier_mode", "only applies with size_tiers"),
    (_set("region_ratios[0].region", "4407"), "region_ratios[0].region", '"4407" is not a region code: use 6 digits such as "440700"'),
    (
        _set("region_ratios[0].region", "000000"),
        "region_ratios[0].region",
        '"000000" is not a GB/T 2260 region code: there is no province 00',
    ),
    (
        _set("region_groups.YDXB[3]", "440012"),
        "region_groups.YDXB[3]",
        '"440012" is not a GB/T 2260 region code: a county code needs a city part',
    ),
    (_set("region_ratios[1].group", "YDBX"), "region_ratios[1].group", 'no group "YDBX" in region_groups; did you mean "YDXB"?'),
    (_set("region_ratios[1].region", "440500"), "region_ratios[1]", 'give exactly one of "region" or "group"'),
    (
        _set("payers[1].subfund", "CITY-{town}"),
        "payers[1].subfund",
        'unknown placeholder "{town}": use {province}, {city} or {county}',
    ),
    (_set("payers[1].fallback", "PROV-{province}"), "payers[1].fallback", "must be a fixed sub-fund code, without placeholders"),
    (
        _set("claims.per_claim_cap", "5000000.001"),
        "claims.per_claim_cap",
        "has more than 2 decimals (amounts are in yuan to the fen)",
    ),
    (_set("claims.per_enterprise_cap", "-1.00"), "claims.per_enterprise_cap", "must not be negative"),
    (_set("claims.min_overdue_days", -1), "claims.min_overdue_days", "must not be negative"),
    (_set("claims.min_overdue_days", "90"), "claims.min_overdue_days", "must be a whole number such as 30"),
    (_set("eligibility.max_term_months", True), "eligibility.max_term_months", "must be a whole number such as 30"),
    (_set("eligibility.max_term_months", 1201), "eligibility.max_term_months", "must be at most 1200"),
    (_set("claims.filing_window_days", 36501), "claims.filing_window_days", "must be at most 36500"),
    (
        _set("claims.filing_window_days", 30),
        "claims.filing_window_days",
        "30 is shorter than min_overdue_days (90): no claim could ever be filed",
    ),
    (
        # More significant digits than the 28 of the default decimal context: refused,
        # not rounded to 100,000,000,000.00.
        _set("claims.per_bank_annual_cap", "99999999999.999999999999999999"),
        "claims.per_bank_annual_cap",
        "has more than 2 decimals (amounts are in yuan to the fen)",
    ),
    (_set("base_ratio", "1e30"), "base_ratio", "must be between 0 and 1"),
    (_set("pool.leverage", "0"), "pool.leverage", "must be greater than 0"),
    (_set("pool.npl_suspend_compensation", "1.5"), "pool.npl_suspend_compensation", "must be between 0 and 1"),
    (_set("effective_from", "2026-02-30"), "effective_from", 'must be an ISO date such as "2026-01-01"'),
    (_set("effective_from", "20260101"), "effective_from", 'must be an ISO date such as "2026-01-01"'),
    (_set("payers", []), "payers", "must list at least one payer"),
    (_set("eligibility", ["tech_sme"]), "eligibility", "must be a table"),
    (
        _set("region_groups.YDXB[1]", "440500"),
        "region_groups.YDXB[1]",
        '"440500" is already listed at region_groups.YDXB[0]',
    ),
    (_set("size_tiers", TIERS), "base_ratio", "give base_ratio or size_tiers, not both: with size_tiers the tier gives the ratio where no region entry matches"),
]


@pytest.mark.parametrize(("change", "path", "message"), INVALID, ids=[f"{i}-{case[1]}" for i, case in enumerate(INVALID)])
def test_invalid_document_names_the_key(spec_document, change, path, message):
    change(spec_document)

    assert issues_of(spec_document) == [(path, message)]


@pytest.mark.parametrize(
    ("tiers", "path", "message"),
    [
        (
            [{"up_to": "5000000.00", "ratio": "0.40"}, {"up_to": "5000000.00", "ratio": "0.30"}],
            "size_tiers[1].up_to",
            "must be greater than size_tiers[0].up_to (5000000.00): tiers ascend",
        ),
        ([{"up_to": "0", "ratio": "0.40"}], "size_tiers[0].up_to", "must be greater than 0"),
        ([{"up_to": "5000000.00"}], "size_tiers[0].ratio", "is required"),
        ([], "size_tiers", "must list at least one tier"),
    ],
)
def test_invalid_size_tiers(make_rules, tiers, path, message):
    with pytest.raises(RuleValidationError) as caught:
        make_rules(base_ratio=None, size_tiers=tiers)

    assert [(i.path, i.message) for i in caught.value.errors] == [(path, message)]


def test_tier_mode_is_whole_or_marginal(make_rules):
    with pytest.raises(RuleValidationError) as caught:
        make_rules(base_ratio=None, size_tiers=TIERS, tier_mode="progressive")

    assert caught.value.errors == [RuleIssue("tier_mode", 'must be "whole" or "marginal"')]


def test_a_code_takes_its_ratio_from_one_group_only(make_rules):
    with pytest.raises(RuleValidationError) as caught:
        make_rules(
            region_groups={"A": ["440500"], "B": ["440600", "440500"]},
            region_ratios=[{"group": "A", "ratio": "0.70"}, {"group": "B", "ratio": "0.60"}],
        )

    assert caught.value.errors == [
        RuleIssue(
            "region_ratios[1].group",
            '"B" shares 440500 with "A" (region_ratios[0]): a code can take its ratio from one group only',
        )
    ]


def test_region_entry_payers_must_sum_to_one(make_rules):
    with pytest.raises(RuleValidationError) as caught:
        make_rules(
            region_ratios=[
                {
                    "region": "440500",
                    "ratio": "0.70",
                    "payers": [{"subfund": "GD-PROV", "share": "0.35"}, {"subfund": "CITY-{city}", "share": "0.15"}],
                }
            ]
        )

    assert caught.value.errors == [RuleIssue("region_ratios[0].payers", "shares sum to 0.50, not 1")]


def test_every_problem_is_reported_at_once(spec_document):
    spec_document["scheme"] = ""
    spec_document["max_ratio"] = "0.60"
    spec_document["region_ratios"][1]["group"] = "YDBX"
    spec_document["payers"][1]["share"] = "0.3"
    spec_document["payers"][2]["share"] = "0.25"
    spec_document["claims"]["per_claim_cap"] = 5000000.5
    spec_document["colour"] = "red"

    with pytest.raises(RuleValidationError) as caught:
        parse_rules(spec_document)

    assert str(caught.value).splitlines() == [
        'colour: unknown key "colour"',
        "scheme: must be a non-empty string",
        "region_ratios[1].group: no group \"YDBX\" in region_groups; did you mean \"YDXB\"?",
        'claims.per_claim_cap: must be an amount such as "5000000.00" (quote it: a bare number with a fraction is read as a float)',
        "payers: shares sum to 1.05, not 1",
    ]
    assert all(isinstance(issue, RuleIssue) for issue in caught.value.errors)
    # max_ratio 0.60 caps nothing it must not: region_ratios[0] is 0.60 and the group
    # entry is broken, so only the problems above are reported.


def test_max_ratio_below_several_ratios_names_each(spec_document):
    spec_document["max_ratio"] = "0.40"

    assert issues_of(spec_document) == [
        ("max_ratio", "0.40 is below base_ratio 0.50"),
        ("max_ratio", "0.40 is below region_ratios[0].ratio 0.60"),
        ("max_ratio", "0.40 is below region_ratios[1].ratio 0.70"),
    ]


def test_not_a_table_at_all():
    with pytest.raises(RuleValidationError) as caught:
        parse_rules(["scheme"])  # type: ignore[arg-type]

    assert str(caught.value) == "(document): a rule document must be a table (a JSON object)"


def test_toml_syntax_error_is_an_issue_not_a_traceback():
    with pytest.raises(RuleValidationError) as caught:
        load_toml('scheme = "GD-KJD\n')

    assert caught.value.errors[0].path == ""
    assert caught.value.errors[0].message.startswith("not valid TOML:")


def test_json_with_a_key_twice_is_refused():
    with pytest.raises(RuleValidationError) as caught:
        load_json('{"scheme": "A", "scheme": "B"}')

    assert caught.value.errors == [RuleIssue("", 'not valid: the key "scheme" appears twice')]


def test_json_number_ratio_is_refused_as_a_float():
    with pytest.raises(RuleValidationError) as caught:
        load_json('{"scheme": "A", "effective_from": "2026-01-01", "base_ratio": 0.5, "payers": [{"subfund": "P", "share": "1"}]}')

    assert [i.path for i in caught.value.errors] == ["base_ratio"]


def test_other_file_types_are_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("scheme: X", encoding="utf-8")

    with pytest.raises(RuleValidationError, match=r"rules\.yaml: rule files are \.toml or \.json"):
        load_file(path)


def test_validation_error_is_a_value_error():
    assert issubclass(RuleValidationError, ValueError)
