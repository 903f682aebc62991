"""GB/T 2260 region codes: validation, the county → city → province chain, and the
``{province}`` / ``{city}`` / ``{county}`` placeholders of payer sub-funds (SPEC §2).

Two checks, for two uses:

- ``region_problem``: is the code *plausible* (right shape, a real province prefix)?
  Rule documents and the calculator use this one: counties are renamed and merged
  every year, and a published rule version must still read (and a merged county's
  line simply stops matching) after the table moves on.
- ``unknown_region_problem``: is the code in the current table (``data/gbt2260.tsv``,
  revision ``REVISION``)? Used wherever a region is *entered* — enterprises, sub-funds,
  quotes — where an unknown code is a 422 ``unknown_region`` (SPEC §2).

The table is a vendored data file rather than a runtime dependency: it is one small
TSV with its revision written in it, read once, and a newer edition is a reviewed diff.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
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


#: The Ministry of Civil Affairs table's revision that ``data/gbt2260.tsv`` holds.
REVISION = "2024-12"


@functools.cache
def _table() -> dict[str, str]:
    text = resources.files("rules").joinpath("data/gbt2260.tsv").read_text(encoding="utf-8")
    table = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t")
            table[code] = name
    return table


def known_region(code: object) -> bool:
    """Is ``code`` a division in the current GB/T 2260 table?"""
    return isinstance(code, str) and code in _table()


def unknown_region_problem(code: object) -> str | None:
    """Why ``code`` cannot be entered as a region (malformed or not in the table)."""
    problem = region_problem(code)
    if problem is not None:
        return problem
    if not known_region(code):
        return f'"{code}" is not in the GB/T 2260 table (revision {REVISION})'
    return None


def region_name(code: str) -> str | None:
    """The division's name as people write it: ``440703`` → ``江门市蓬江区``,
    ``440700`` → ``江门市``, ``110105`` → ``北京市朝阳区``; None for a code not in the table.

    A county is named with its city (or, for municipalities and counties under a
    province directly, with its province): many county names repeat across China.
    """
    table = _table()
    name = table.get(code)
    if name is None or region_level(code) != "county":
        return name
    parent = table.get(code[:4] + "00") or table.get(code[:2] + "0000") or ""
    return parent + name


def region_label(code: str | None) -> str:
    """``440703 江门市蓬江区`` — the code with its name beside it (the code alone when
    the table does not know it, e.g. a county merged since)."""
    if not code:
        return ""
    name = region_name(code)
    return f"{code} {name}" if name else code


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
    "REVISION",
    "known_region",
    "region_label",
    "region_name",
    "unknown_region_problem",
    "Level",
    "expand_template",
    "is_region",
    "placeholder_values",
    "region_chain",
    "region_level",
    "region_problem",
    "template_placeholders",
]
