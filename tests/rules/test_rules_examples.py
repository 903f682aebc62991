"""The example rule files in rules/examples/, each with a loan worked by hand, and
choosing the version in force."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from rules import compute, load_file, parse_rules, select_version

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "rules" / "examples"


def test_gd_kjd_is_the_spec_document(gd_rules):
    spec = ROOT.parent / "shared" / "SPEC.md"
    if not spec.exists():
        pytest.skip("shared/SPEC.md is not beside this checkout")
    block = re.search(r"```toml\n(.*?)```", spec.read_text(encoding="utf-8"), re.S)
    assert block is not None

    assert parse_rules(tomllib.loads(block.group(1))) == gd_rules


# -- DG-KBD: Dongguan 科保贷, city fund 60 % / insurer 40 %, at most 80 % -------------------


@pytest.fixture(scope="module")
def dg_rules():
    return load_file(EXAMPLES / "dg-kbd.toml")


def test_dg_kbd_caps_a_firm_with_every_uplift_at_80_percent(dg_rules, claim, yuan):
    # 0.60 + 0.10 (high_tech) + 0.05 (specialized_town) + 0.10 (agri_tech) = 0.85 -> 0.80
    # 0.80 x 9,000,000.00 = 7,200,000.00 (per-claim cap 8,000,000.00 does not bite)
    # split 0.60 / 0.40 = 4,320,000.00 / 2,880,000.00
    decision = compute(
        dg_rules,
        claim("441900", "tech_sme, high_tech, specialized_town, agri_tech", "10,000,000.00", "9,000,000.00"),
        subfund_exists={"CITY-441900", "INS-PICC"}.__contains__,
    )

    assert decision.ratio_text == "0.8000"
    assert decision.steps[2].detail == "max_ratio: 0.85 (limit 0.80) -> 0.80"
    assert decision.compensation == yuan("7,200,000.00")
    assert [(p.subfund, p.amount) for p in decision.payers] == [
        ("CITY-441900", yuan("4,320,000.00")),
        ("INS-PICC", yuan("2,880,000.00")),
    ]


# -- JM-YKD: Jiangmen 邑科贷, marginal size tiers, higher ratio in four county cities ----


@pytest.fixture(scope="module")
def jm_rules():
    return load_file(EXAMPLES / "jm-ykd.toml")


JM_FUNDS = {"CITY-440700", "COUNTY-440703", "COUNTY-440781"}.__contains__


def test_jm_ykd_district_loan_uses_the_marginal_tiers(jm_rules, claim, yuan):
    # Pengjiang 440703 is in no group: tiers. 5,000,000 x 0.50 + 3,000,000 x 0.40
    # = 3,700,000 over 8,000,000 = 0.4625; uplift max(0.10, 0.10) = 0.10 -> 0.5625.
    # 0.5625 x 8,000,000.00 = 4,500,000.00; city 0.70 = 3,150,000.00, county 0.30 = 1,350,000.00
    decision = compute(
        jm_rules, claim("440703", "tech_sme, agri_tech, specialized_town", "8,000,000.00", "8,000,000.00"), subfund_exists=JM_FUNDS
    )

    assert decision.ratio_text == "0.5625"
    assert decision.compensation == yuan("4,500,000.00")
    assert [(p.subfund, p.amount) for p in decision.payers] == [
        ("CITY-440700", yuan("3,150,000.00")),
        ("COUNTY-440703", yuan("1,350,000.00")),
    ]


def test_jm_ykd_county_city_gets_the_group_ratio_and_split(jm_rules, claim, yuan):
    # Taishan 440781 is in TKHE: 0.60 + 0.10 = 0.70 (= max_ratio).
    # 0.70 x 1,234,567.89 = 864,197.523 -> 864,197.52; halves 432,098.76 each.
    decision = compute(jm_rules, claim("440781", "agri_tech", "2,000,000.00", "1,234,567.89"), subfund_exists=JM_FUNDS)

    assert decision.ratio_text == "0.7000"
    assert decision.compensation == yuan("864,197.52")
    assert [(p.subfund, p.amount) for p in decision.payers] == [
        ("CITY-440700", yuan("432,098.76")),
        ("COUNTY-440781", yuan("432,098.76")),
    ]


def test_jm_ykd_county_without_a_sub_fund_falls_back_to_the_city(jm_rules, claim, yuan):
    # Heshan 440784: TKHE 0.60, COUNTY-440784 does not exist -> CITY-440700 pays both halves.
    decision = compute(jm_rules, claim("440784", "tech_sme", "1,000,000.00", "1,000,000.00"), subfund_exists=JM_FUNDS)

    assert [(p.subfund, p.amount, p.fallback_used) for p in decision.payers] == [
        ("CITY-440700", yuan("300,000.00"), False),
        ("CITY-440700", yuan("300,000.00"), True),
    ]


# -- versions ----------------------------------------------------------------------------


def test_select_version_in_force_on_a_date(make_rules):
    first = make_rules(effective_from="2026-01-01")
    second = make_rules(effective_from="2026-07-01", base_ratio="0.60")
    versions = [first, second]

    assert select_version(versions, date(2025, 12, 31)) is None
    assert select_version(versions, date(2026, 1, 1)) is first
    assert select_version(versions, date(2026, 6, 30)) is first
    assert select_version(versions, date(2026, 7, 1)) is second
    assert select_version(list(reversed(versions)), date(2027, 1, 1)) is second
    assert select_version([], date(2026, 1, 1)) is None
