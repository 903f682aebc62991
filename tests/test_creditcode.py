"""Unified social credit codes, GB 32100-2015 (SPEC §2)."""

from __future__ import annotations

import pytest

from ledger import creditcode

#: Codes printed on real business licences or in the standard, with whom they belong to.
PUBLISHED = {
    "91350100M000100Y43": "GB 32100-2015's own example",
    "914403001922038216": "华为技术有限公司",
    "91110108795101314G": "谷歌信息技术（中国）有限公司",
    "9135020026015919XW": "厦门象屿集团有限公司",
    "913502006120495420": "厦门中骏集团有限公司",
    "9135010557098120XJ": "福建百度博瑞网络科技有限公司",
    "91310000MA1K35Y38P": "锤子科贸（上海）有限公司",
    "91120222MA0699U071": "天津锤子科技有限公司",
    "913504001555807674": "福建一建集团有限公司",
    "91330000704202479R": "浙江小王子食品有限公司",
    "92371000MA3MXH0E3W": "an individual business (个体工商户, authority 9 kind 2)",
}

#: Early pilot codes (Fujian, 2015) that are legal but do not satisfy the standard's check
#: character; SPEC §2 demands the check, so the ledger refuses them.
PILOT_NON_CONFORMING = ["91350211M0000XUF46", "91350100M0001TGQXM", "91350203M0001FUE2P"]


@pytest.mark.parametrize("code", sorted(PUBLISHED))
def test_published_codes_are_valid(code):
    assert creditcode.problem(code) is None
    assert creditcode.validate(code) == code


@pytest.mark.parametrize("code", sorted(PUBLISHED))
def test_every_single_character_corruption_is_refused(code):
    refused = 0
    for position in range(len(code)):
        for char in creditcode.CHARSET:
            if char == code[position]:
                continue
            corrupted = code[:position] + char + code[position + 1:]
            found = creditcode.problem(corrupted)
            assert found is not None, f"{corrupted} (position {position + 1} -> {char}) was accepted"
            refused += 1
    assert refused == 18 * 30


@pytest.mark.parametrize("code", sorted(PUBLISHED))
def test_swapping_two_adjacent_different_characters_is_refused(code):
    for i in range(17):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            assert creditcode.problem(swapped) is not None, swapped


def test_check_digit_errors_say_so_without_revealing_the_right_one():
    good = "91350100M000100Y43"
    found = creditcode.problem(good[:17] + "4")
    assert found.code == "credit_code_check_digit"
    assert found.message == "check digit does not match (character 18)"
    # Both check characters matter: a wrong organisation-code check character with a
    # final character recomputed to match is still refused.
    first17 = good[:16] + "5"
    forged = first17 + creditcode.check_character(first17)
    assert creditcode.problem(forged).code == "credit_code_organisation_check_digit"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91350100M000100Y4", "credit_code_length"),
        ("91350100M000100Y433", "credit_code_length"),
        ("", "credit_code_length"),
        ("91350100M000100I43", "credit_code_character"),  # I is never used
        ("91350100M000100O43", "credit_code_character"),
        ("91350100M000100Z43", "credit_code_character"),
        ("9135010０M000100Y43", "credit_code_character"),  # a full-width digit
        ("9135A100M000100Y43", "credit_code_region"),
        (None, "credit_code_invalid"),
        (913501001, "credit_code_invalid"),
    ],
)
def test_malformed_codes_name_the_problem(value, code):
    assert creditcode.problem(value).code == code
    with pytest.raises(creditcode.InvalidCreditCode):
        creditcode.validate(value)


def test_lower_case_and_spaces_are_normalised():
    assert creditcode.validate(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize("code", PILOT_NON_CONFORMING)
def test_non_conforming_pilot_codes_are_refused(code):
    assert creditcode.problem(code).code == "credit_code_check_digit"


def test_complete_appends_both_check_characters():
    for code in PUBLISHED:
        assert creditcode.complete(code[:16]) == code
    with pytest.raises(ValueError):
        creditcode.complete("91350100M000100")


def test_weights_are_powers_of_three_mod_31():
    assert creditcode.WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    assert len(creditcode.CHARSET) == 31 and not set("IOSVZ") & set(creditcode.CHARSET)
