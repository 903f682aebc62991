"""GB/T 2260 region codes: validation, the county → city → province chain, and the
``{province}`` / ``{city}`` / ``{county}`` placeholders of payer sub-funds (SPEC §2).

We check that a code is *plausible* (right shape, a real province prefix), not that it
is in the current edition of the standard: counties are renamed and merged every year
and a rule file must not break because of that.
"""

from __future__ import annotations

import re
from typing import Literal

Level = Literal["province", "city", "county"]

#: First two digits of every province-level division in GB/T 2260 (including 71 Taiwan,
#: 81 Hong Kong and 82 Macao, which the standard lists).
PROVINCE_PREFIXES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {str(n) for n in range(31, 38)}
    | {str(n) for n in range(41, 47)}
    | {str(n) for n in range(50, 55)}
    | {str(n) for n in range(61, 66)}
    | {"71", "81", "82"}
)

PLACEHOLDERS = ("province", "city", "county")

_CODE_RE = re.compile(r"[0-9]{6}")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def region_problem(code: object) -> str | None:
    """Why ``code`` is not a plausible region code, or None when it is."""
    if not isinstance(code, str):
        return 'must be a 6-digit region code string such as "440700"'
    if not _CODE_RE.fullmatch(code):
        return f'"{code}" is not a region code: use 6 digits such as "440700"'
    if code[:2] not in PROVINCE_PREFIXES:
        return f'"{code}" is not a GB/T 2260 region code: there is no province {code[:2]}'
    if code[2:4] == "00" and code[4:] != "00":
        return f'"{code}" is not a GB/T 2260 region code: a county code needs a city part'
    return None


def is_region(code: object) -> bool:
    return region_problem(code) is None


def region_level(code: str) -> Level:
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def region_chain(code: str) -> tuple[str, ...]:
    """The codes to try for ``code``, most specific first.

    Cities without counties (Dongguan 441900, Zhongshan 442000) need no special case:
    a city code's chain is simply city → province.
    """
    level = region_level(code)
    if level == "province":
        return (code,)
    province = code[:2] + "0000"
    if level == "city":
        return (code, province)
    return (code, code[:4] + "00", province)


def placeholder_values(code: str) -> dict[str, str]:
    """The placeholders a borrower in ``code`` can fill.

    A borrower registered at city level has no county, so ``{county}`` cannot be
    expanded for it (and ``{city}``/``{county}`` not for a province-level borrower):
    those payer lines go to their fallback.
    """
    level = region_level(code)
    values = {"province": code[:2] + "0000"}
    if level != "province":
        values["city"] = code[:4] + "00"
    if level == "county":
        values["county"] = code
    return values


def template_placeholders(template: str) -> list[str]:
    """The placeholder names used in a sub-fund template, in order."""
    return _PLACEHOLDER_RE.findall(template)


def expand_template(template: str, code: str) -> str | None:
    """``"CITY-{city}"`` for a borrower in 440703 → ``"CITY-440700"``; None when the
    borrower's region is too coarse to fill a placeholder."""
    if "{" not in template:
        return template
    values = placeholder_values(code)
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None:
            missing = True
            return match.group(0)
        return value

    expanded = _PLACEHOLDER_RE.sub(fill, template)
    return None if missing else expanded


__all__ = [
    "PLACEHOLDERS",
    "PROVINCE_PREFIXES",
    "Level",
    "expand_template",
    "is_region",
    "placeholder_values",
    "region_chain",
    "region_level",
    "region_problem",
    "template_placeholders",
]
