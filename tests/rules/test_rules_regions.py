"""GB/T 2260 region codes (SPEC §2): plausibility, the chain, placeholders."""

from __future__ import annotations

import pytest

from rules.regions import expand_template, region_chain, region_level, region_problem


@pytest.mark.parametrize("code", ["440000", "440100", "440106", "441900", "110101", "820000", "650102"])
def test_plausible_codes(code):
    assert region_problem(code) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("44010", '"44010" is not a region code: use 6 digits such as "440700"'),
        ("44010a", '"44010a" is not a region code: use 6 digits such as "440700"'),
        ("000000", '"000000" is not a GB/T 2260 region code: there is no province 00'),
        ("900000", '"900000" is not a GB/T 2260 region code: there is no province 90'),
        ("380000", '"380000" is not a GB/T 2260 region code: there is no province 38'),
        ("440012", '"440012" is not a GB/T 2260 region code: a county code needs a city part'),
        (440106, 'must be a 6-digit region code string such as "440700"'),
    ],
)
def test_implausible_codes(code, problem):
    assert region_problem(code) == problem


@pytest.mark.parametrize(
    ("code", "level", "chain"),
    [
        ("440703", "county", ("440703", "440700", "440000")),
        ("440700", "city", ("440700", "440000")),
        ("441900", "city", ("441900", "440000")),  # Dongguan: a city without counties
        ("442000", "city", ("442000", "440000")),  # Zhongshan
        ("440000", "province", ("440000",)),
    ],
)
def test_chain(code, level, chain):
    assert region_level(code) == level
    assert region_chain(code) == chain


@pytest.mark.parametrize(
    ("template", "code", "expanded"),
    [
        ("CITY-{city}", "440703", "CITY-440700"),
        ("PROV-{province}-COUNTY-{county}", "440703", "PROV-440000-COUNTY-440703"),
        ("COUNTY-{county}", "441900", None),  # a city has no county
        ("CITY-{city}", "440000", None),
        ("GD-PROV", "440000", "GD-PROV"),
    ],
)
def test_expand_template(template, code, expanded):
    assert expand_template(template, code) == expanded


# The current table (SPEC §2): names beside codes, unknown codes refused where entered.

from rules.regions import REVISION, known_region, region_label, region_name, unknown_region_problem  # noqa: E402


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("440703", "440703 江门市蓬江区"),  # SPEC §2's own example
        ("440700", "440700 江门市"),
        ("440000", "440000 广东省"),
        ("441900", "441900 东莞市"),  # a city without counties
        ("442000", "442000 中山市"),
        ("440106", "440106 广州市天河区"),
        ("440511", "440511 汕头市金平区"),
        ("110105", "110105 北京市朝阳区"),  # a municipality's district: no 110100 in the table
    ],
)
def test_codes_carry_their_names(code, label):
    assert region_label(code) == label


def test_the_table_is_current_and_dated():
    assert REVISION == "2024-12"
    assert region_name("653228") == "和田地区和康县"  # set up in December 2024
    assert known_region("659012")  # 白杨市, 2023


@pytest.mark.parametrize("code", ["440799", "441999", "449900"])
def test_unknown_codes_are_refused_when_entered_but_stay_plausible_for_rules(code):
    assert region_problem(code) is None  # a published rule naming it still reads
    assert not known_region(code)
    assert unknown_region_problem(code) == f'"{code}" is not in the GB/T 2260 table (revision 2024-12)'
    assert region_label(code) == code  # shown without a name rather than with a wrong one


def test_malformed_codes_keep_their_own_problem():
    assert unknown_region_problem("44010") == region_problem("44010")
    assert region_label(None) == ""
