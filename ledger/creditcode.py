"""Unified social credit codes (统一社会信用代码, GB 32100-2015), SPEC §2.

A code has 18 characters from a 31-character set (digits and capital letters without
I, O, S, V and Z, which are too easily confused with digits):

====== ======================================================================
1      registration authority (登记管理部门代码), e.g. 9 = market regulation
2      kind of organisation (机构类别代码)
3–8    region code of the registering authority (GB/T 2260)
9–17   organisation code (主体标识码, GB 11714-1997): 8 characters and a check
       character of their own
18     check character over the first 17 (GB 32100-2015 §5)
====== ======================================================================

Both check characters are verified: one substituted character is always caught by the
final one (31 is prime and no weight is 0 mod 31), and the organisation code's check
catches most errors a bank's core system could introduce when it rebuilds a code from
the older 9-character organisation code.

Some codes issued by early pilot authorities (Fujian, 2015) do not satisfy the
standard's final check character; SPEC §2 nevertheless requires the check, so they
are refused here — such a borrower has to be registered by the bureau by other means.

Error messages never reveal the expected check character: a bank that typed the code
wrongly must look it up on the licence, not let the ledger "fix" it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

#: GB 32100-2015 Table 1: the code characters and their values 0..30.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: value for value, char in enumerate(CHARSET)}
#: W_i = 3^(i-1) mod 31 for the 17 characters before the check character.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714-1997: weights of the organisation code's 8 body characters, modulus 11.
ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
LENGTH = 18


@dataclass(frozen=True)
class CreditCodeProblem:
    #: Stable machine code for API clients.
    code: str
    message: str


class InvalidCreditCode(ValueError):
    def __init__(self, problem: CreditCodeProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def normalise(value: str) -> str:
    """Surrounding whitespace removed and letters upper-cased (licences print capitals;
    bank systems sometimes store lower case)."""
    return value.strip().upper()


def check_character(first17: str) -> str:
    """GB 32100-2015 §5: C18 = 31 − (Σ Ci·Wi mod 31), where 31 becomes 0."""
    total = sum(VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def organisation_check_character(body8: str) -> str:
    """GB 11714-1997: C9 = 11 − (Σ Ci·Wi mod 11); 10 is written X and 11 is 0.

    Body characters are worth 0–9 for digits and 10–35 for A–Z.
    """
    total = sum(int(char, 36) * weight for char, weight in zip(body8, ORGANISATION_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def problem(value: object) -> CreditCodeProblem | None:
    """Why ``value`` is not a valid code (after :func:`normalise`), or None when it is."""
    if not isinstance(value, str):
        return CreditCodeProblem("credit_code_invalid", "must be an 18-character text")
    return _problem(normalise(value))


@functools.lru_cache(maxsize=65536)
def _problem(code: str) -> CreditCodeProblem | None:
    # Cached: a bulk upload checks each borrower's code for the enterprise and again
    # for each of its loans.
    if len(code) != LENGTH:
        return CreditCodeProblem("credit_code_length", f"must be 18 characters, not {len(code)}")
    for position, char in enumerate(code, start=1):
        if char not in VALUES:
            shown = char if char.isprintable() else repr(char)
            return CreditCodeProblem(
                "credit_code_character",
                f"character {position} ({shown}) is not allowed: only digits and capital letters "
                "other than I, O, S, V and Z",
            )
    if not code[2:8].isdigit():
        return CreditCodeProblem("credit_code_region", "characters 3-8 must be the 6-digit region code")
    if check_character(code[:17]) != code[17]:
        return CreditCodeProblem("credit_code_check_digit", "check digit does not match (character 18)")
    if organisation_check_character(code[8:16]) != code[16]:
        return CreditCodeProblem(
            "credit_code_organisation_check_digit",
            "the organisation code's check digit does not match (character 17)",
        )
    return None


def validate(value: object) -> str:
    """The normalised code, or :class:`InvalidCreditCode`."""
    found = problem(value)
    if found is not None:
        raise InvalidCreditCode(found)
    assert isinstance(value, str)
    return normalise(value)


def is_valid(value: object) -> bool:
    return problem(value) is None


def complete(first16: str) -> str:
    """Append both check characters to 16 characters (authority, kind, region and the
    organisation code's body): for fixtures, demos and benchmarks."""
    first16 = normalise(first16)
    if len(first16) != 16 or any(char not in VALUES for char in first16):
        raise ValueError("16 characters from the code character set are needed")
    first17 = first16 + organisation_check_character(first16[8:16])
    return first17 + check_character(first17)


__all__ = [
    "CHARSET",
    "CreditCodeProblem",
    "InvalidCreditCode",
    "check_character",
    "complete",
    "is_valid",
    "normalise",
    "organisation_check_character",
    "problem",
    "validate",
]
