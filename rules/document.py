"""Reading and strictly validating a rule document (SPEC §3).

The same structure arrives as TOML from disk and as JSON over the API. Validation
collects *every* problem, each with the path of the key a user must fix
(``region_ratios[1].ratio``), and raises them together as one
:class:`RuleValidationError`: a bureau editing a rule file should fix it in one round,
not one error per attempt, and never see a traceback.

The normalized document built alongside (canonical key order, amounts as
``"5000000.00"``, defaults made explicit) is what the ledger stores: parsing it again
gives an equal :class:`RuleSet`.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rules.money import AmountError, format_amount, parse_amount, parse_ratio
from rules.regions import PLACEHOLDERS, region_problem, template_placeholders
from rules.ruleset import (
    ClaimRules,
    Eligibility,
    PayerTemplate,
    Pool,
    RegionRatio,
    Reporting,
    RuleSet,
    SizeTier,
)

TOP_LEVEL_KEYS = (
    "scheme",
    "effective_from",
    "base_ratio",
    "max_ratio",
    "uplift_mode",
    "tier_mode",
    "region_groups",
    "region_ratios",
    "size_tiers",
    "uplifts",
    "eligibility",
    "claims",
    "payers",
    "pool",
    "reporting",
)
REGION_RATIO_KEYS = ("region", "group", "ratio", "payers")
SIZE_TIER_KEYS = ("up_to", "ratio")
PAYER_KEYS = ("subfund", "share", "fallback")
ELIGIBILITY_KEYS = ("categories_any", "max_loan_principal", "max_term_months", "registration_window_days")
CLAIM_KEYS = (
    "min_overdue_days",
    "filing_window_days",
    "per_claim_cap",
    "per_enterprise_cap",
    "per_bank_annual_cap",
    "portfolio_cap_rate",
    "required_documents",
    "decision_days",
)
REPORTING_KEYS = ("monthly_report_due_day",)
POOL_KEYS = ("leverage", "npl_suspend_registrations", "npl_suspend_compensation")

UPLIFT_MODES = ("sum", "max")
TIER_MODES = ("whole", "marginal")

#: A document kind named by ``required_documents`` ("loan_contract", "iou"): it becomes
#: a form value and a file name part, so letters, digits and "_" only.
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
_SCHEME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: A sub-fund code once its placeholders are taken out.
_SUBFUND_RE = re.compile(r"^[A-Za-z0-9_.-]+\Z")
_PLACEHOLDER_TEXT_RE = re.compile(r"\{[^{}]*\}")

_QUOTE_HINT = " (quote it: a bare number with a fraction is read as a float)"
_AMOUNT_MESSAGES = {
    "invalid_amount": 'must be an amount such as "5000000.00"',
    "too_many_decimals": "has more than 2 decimals (amounts are in yuan to the fen)",
    "amount_too_large": "exceeds the maximum of 10^13 yuan",
    "negative_amount": "must not be negative",
    "zero_amount": "must be greater than 0",
}


@dataclass(frozen=True)
class RuleIssue:
    """One problem in a rule document: the key to fix and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class RuleValidationError(ValueError):
    """A rule document was refused; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RuleIssue]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(issue) for issue in self.errors))


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _suggest(word: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


class _Reader:
    """Walks a document, collecting issues and building the normalized copy."""

    def __init__(self) -> None:
        self.issues: list[RuleIssue] = []

    def error(self, path: str, message: str) -> None:
        self.issues.append(RuleIssue(path, message))

    # -- structure ----------------------------------------------------------------

    def table(self, value: object, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.error(path, "must be a table")
            return None
        return value

    def tables(self, value: object, path: str, *, what: str) -> list[Mapping[str, Any]] | None:
        """A list of tables ([[…]] in TOML, a list of objects in JSON)."""
        if not isinstance(value, (list, tuple)):
            self.error(path, "must be a list of tables")
            return None
        if not value:
            self.error(path, f"must list at least one {what}")
            return None
        good = True
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                self.error(f"{path}[{i}]", "must be a table")
                good = False
        return list(value) if good else None

    def keys(self, table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in known:
                if not isinstance(key, str):
                    self.error(prefix, f"has a key that is not a string: {key!r}")
                    continue
                self.error(_join(prefix, key), f'unknown key "{key}"{_suggest(key, known)}')

    # -- scalars --------------------------------------------------------------------

    def string(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.error(path, "must be a non-empty string")
            return None
        return value

    def ratio(self, value: object, path: str, *, places: int = 4) -> Decimal | None:
        if isinstance(value, float):
            self.error(path, f'must be a decimal string such as "0.50"{_QUOTE_HINT}')
            return None
        try:
            return parse_ratio(value, places=places)
        except ValueError as exc:
            self.error(path, str(exc))
            return None
        except ArithmeticError:
            # parse_ratio's quantize overflows the decimal context on huge values
            # ("1e30") and raises decimal.InvalidOperation, not ValueError.
            self.error(path, "must be between 0 and 1")
            return None

    def amount(self, value: object, path: str, *, allow_zero: bool = False) -> int | None:
        if isinstance(value, float):
            self.error(path, f'must be an amount such as "5000000.00"{_QUOTE_HINT}')
            return None
        try:
            fen = parse_amount(value, allow_zero=allow_zero)
        except AmountError as exc:
            self.error(path, _AMOUNT_MESSAGES.get(exc.code, exc.message))
            return None
        # parse_amount multiplies by 100 in the default 28-digit decimal context, so a
        # value with more significant digits is rounded instead of refused
        # ("0.0100000000000000000000000000001" -> 1 fen). Check exactly.
        if isinstance(value, (str, Decimal)) and Fraction(Decimal(str(value).strip())) * 100 != fen:
            self.error(path, _AMOUNT_MESSAGES["too_many_decimals"])
            return None
        return fen

    def count(self, value: object, path: str, *, most: int = 36_500) -> int | None:
        """A number of days or months: a non-negative integer, as in the SPEC example,
        bounded so that date arithmetic on it cannot overflow (100 years)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "must be a whole number such as 30")
            return None
        if value < 0:
            self.error(path, "must not be negative")
            return None
        if value > most:
            self.error(path, f"must be at most {most}")
            return None
        return value

    def months(self, value: object, path: str) -> int | None:
        return self.count(value, path, most=1_200)

    def positive_decimal(self, value: object, path: str) -> Decimal | None:
        if isinstance(value, float):
            self.error(path, f'must be a decimal string such as "10"{_QUOTE_HINT}')
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            self.error(path, 'must be a decimal string such as "10"')
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.error(path, 'must be a decimal string such as "10"')
            return None
        if not number.is_finite() or number <= 0:
            self.error(path, "must be greater than 0")
            return None
        if number.as_tuple().exponent < -4:  # type: ignore[operator]
            self.error(path, "has more than 4 decimals")
            return None
        return number

    def iso_date(self, value: object, path: str) -> date | None:
        if isinstance(value, datetime):
            self.error(path, 'must be a date without a time, such as "2026-01-01"')
            return None
        if isinstance(value, date):  # TOML's unquoted 2026-01-01
            return value
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.error(path, 'must be an ISO date such as "2026-01-01"')
        return None

    def choice(self, value: object, path: str, options: tuple[str, ...]) -> str | None:
        if value in options:
            return value  # type: ignore[return-value]
        listed = " or ".join(f'"{o}"' for o in options)
        self.error(path, f"must be {listed}")
        return None

    def region(self, value: object, path: str) -> str | None:
        problem = region_problem(value)
        if problem is not None:
            self.error(path, problem)
            return None
        return value  # type: ignore[return-value]

    def subfund(self, value: object, path: str, *, placeholders: bool) -> str | None:
        text = self.string(value, path)
        if text is None:
            return None
        if placeholders:
            unknown = [name for name in template_placeholders(text) if name not in PLACEHOLDERS]
            if unknown:
                self.error(
                    path,
                    f'unknown placeholder "{{{unknown[0]}}}": use {{province}}, {{city}} or {{county}}',
                )
                return None
            bare = _PLACEHOLDER_TEXT_RE.sub("X", text)
        else:
            if "{" in text or "}" in text:
                self.error(path, "must be a fixed sub-fund code, without placeholders")
                return None
            bare = text
        if not _SUBFUND_RE.match(bare):
            self.error(
                path,
                'must be a sub-fund code of letters, digits, "-", "_" or "."'
                + (" (placeholders {province}, {city}, {county} allowed)" if placeholders else ""),
            )
            return None
        return text


def _ratio_text(value: Decimal) -> str:
    return format(value, "f")


def _read_payers(
    r: _Reader, value: object, path: str
) -> tuple[tuple[PayerTemplate, ...], list[dict[str, str]]] | None:
    rows = r.tables(value, path, what="payer")
    if rows is None:
        return None
    payers: list[PayerTemplate] = []
    normalized: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    complete = True
    for i, row in enumerate(rows):
        at = f"{path}[{i}]"
        r.keys(row, PAYER_KEYS, at)
        subfund = share = None
        if "subfund" in row:
            subfund = r.subfund(row["subfund"], f"{at}.subfund", placeholders=True)
            if subfund is not None and subfund in seen:
                r.error(f"{at}.subfund", f'"{subfund}" is already listed at {path}[{seen[subfund]}]: one line per sub-fund')
            elif subfund is not None:
                seen[subfund] = i
        else:
            r.error(f"{at}.subfund", "is required")
        if "share" in row:
            share = r.ratio(row["share"], f"{at}.share", places=6)
            if share is not None and share == 0:
                r.error(f"{at}.share", "must be greater than 0")
                share = None
        else:
            r.error(f"{at}.share", "is required")
        fallback = None
        if "fallback" in row:
            fallback = r.subfund(row["fallback"], f"{at}.fallback", placeholders=False)
            if fallback is None:
                complete = False
        if subfund is None or share is None:
            complete = False
            continue
        payers.append(PayerTemplate(subfund, share, fallback))
        line = {"subfund": subfund, "share": _ratio_text(share)}
        if fallback is not None:
            line["fallback"] = fallback
        normalized.append(line)
    if not complete:
        return None
    total = sum((p.share for p in payers), Decimal(0))
    if total != 1:
        r.error(path, f"shares sum to {_ratio_text(total)}, not 1")
        return None
    return tuple(payers), normalized


def _read_groups(r: _Reader, value: object) -> dict[str, tuple[str, ...]] | None:
    table = r.table(value, "region_groups")
    if table is None:
        return None
    groups: dict[str, tuple[str, ...]] = {}
    for name, codes in table.items():
        at = _join("region_groups", str(name))
        if not isinstance(name, str) or not name.strip():
            r.error("region_groups", f"group name must be a non-empty string: {name!r}")
            continue
        if not isinstance(codes, (list, tuple)) or not codes:
            r.error(at, 'must list at least one region code, such as ["440500"]')
            continue
        good: list[str] = []
        first_at: dict[str, int] = {}
        for i, code in enumerate(codes):
            checked = r.region(code, f"{at}[{i}]")
            if checked is None:
                continue
            if checked in first_at:
                r.error(f"{at}[{i}]", f'"{checked}" is already listed at {at}[{first_at[checked]}]')
                continue
            first_at[checked] = i
            good.append(checked)
        groups[name] = tuple(good)
    return groups


def _read_region_ratios(
    r: _Reader, value: object, groups: dict[str, tuple[str, ...]] | None
) -> tuple[tuple[RegionRatio, ...], list[dict[str, Any]]] | None:
    rows = r.tables(value, "region_ratios", what="entry")
    if rows is None:
        return None
    entries: list[RegionRatio] = []
    normalized: list[dict[str, Any]] = []
    by_region: dict[str, int] = {}
    by_group: dict[str, int] = {}
    #: code -> (group name, entry index) for codes whose group carries a ratio.
    grouped_code: dict[str, tuple[str, int]] = {}
    for i, row in enumerate(rows):
        at = f"region_ratios[{i}]"
        r.keys(row, REGION_RATIO_KEYS, at)
        region = group = None
        ok = True
        if ("region" in row) == ("group" in row):
            r.error(at, 'give exactly one of "region" or "group"')
            ok = False
        elif "region" in row:
            region = r.region(row["region"], f"{at}.region")
            if region is not None and region in by_region:
                r.error(f"{at}.region", f'"{region}" already has an entry at region_ratios[{by_region[region]}]')
                region = None
            if region is None:
                ok = False
            else:
                by_region[region] = i
        else:
            group = r.string(row["group"], f"{at}.group")
            if group is not None and groups is not None and group not in groups:
                known = sorted(groups)
                listed = f" (known: {', '.join(known)})" if known else " (no region_groups are defined)"
                hint = _suggest(group, known)
                r.error(f"{at}.group", f'no group "{group}" in region_groups' + (hint or listed))
                group = None
            elif group is not None and group in by_group:
                r.error(f"{at}.group", f'"{group}" already has an entry at region_ratios[{by_group[group]}]')
                group = None
            if group is None:
                ok = False
            else:
                by_group[group] = i
                for code in (groups or {}).get(group, ()):
                    if code in grouped_code:
                        other, j = grouped_code[code]
                        r.error(
                            f"{at}.group",
                            f'"{group}" shares {code} with "{other}" (region_ratios[{j}]): '
                            "a code can take its ratio from one group only",
                        )
                        ok = False
                        break
                for code in (groups or {}).get(group, ()):
                    grouped_code.setdefault(code, (group, i))
        ratio = None
        if "ratio" in row:
            ratio = r.ratio(row["ratio"], f"{at}.ratio")
        else:
            r.error(f"{at}.ratio", "is required")
        payers = None
        if "payers" in row:
            payers = _read_payers(r, row["payers"], f"{at}.payers")
            if payers is None:
                ok = False
        if not ok or ratio is None:
            continue
        entries.append(RegionRatio(i, ratio, region, group, payers[0] if payers else None))
        line: dict[str, Any] = {"region": region} if region is not None else {"group": group}
        line["ratio"] = _ratio_text(ratio)
        if payers is not None:
            line["payers"] = payers[1]
        normalized.append(line)
    if len(entries) != len(rows):
        return None
    return tuple(entries), normalized


def _read_tiers(r: _Reader, value: object) -> tuple[SizeTier, ...] | None:
    rows = r.tables(value, "size_tiers", what="tier")
    if rows is None:
        return None
    tiers: list[SizeTier] = []
    previous: tuple[int, int] | None = None  # (index, up_to) of the last good bound
    complete = True
    for i, row in enumerate(rows):
        at = f"size_tiers[{i}]"
        r.keys(row, SIZE_TIER_KEYS, at)
        up_to = ratio = None
        if "up_to" in row:
            up_to = r.amount(row["up_to"], f"{at}.up_to")
            if up_to is not None and previous is not None and up_to <= previous[1]:
                r.error(
                    f"{at}.up_to",
                    f"must be greater than size_tiers[{previous[0]}].up_to ({format_amount(previous[1])}): tiers ascend",
                )
                up_to = None
        else:
            r.error(f"{at}.up_to", "is required")
        if "ratio" in row:
            ratio = r.ratio(row["ratio"], f"{at}.ratio")
        else:
            r.error(f"{at}.ratio", "is required")
        if up_to is not None:
            previous = (i, up_to)
        if up_to is None or ratio is None:
            complete = False
            continue
        tiers.append(SizeTier(up_to, ratio))
    return tuple(tiers) if complete else None


def _read_section(
    r: _Reader,
    value: object,
    name: str,
    known: tuple[str, ...],
    readers: Mapping[str, Callable[[object, str], object]],
) -> dict[str, object] | None:
    table = r.table(value, name)
    if table is None:
        return None
    r.keys(table, known, name)
    out: dict[str, object] = {}
    for key in known:
        if key in table:
            out[key] = readers[key](table[key], f"{name}.{key}")
    return out


def parse_rules(document: Mapping[str, Any]) -> RuleSet:
    """Validate a rule document (already decoded from TOML or JSON) into a RuleSet.

    Raises :class:`RuleValidationError` listing every problem.
    """
    r = _Reader()
    if not isinstance(document, Mapping):
        raise RuleValidationError([RuleIssue("", "a rule document must be a table (a JSON object)")])
    r.keys(document, TOP_LEVEL_KEYS, "")
    doc: dict[str, Any] = {}

    scheme = effective_from = None
    for key in ("scheme", "effective_from", "payers"):
        if key not in document:
            r.error(key, "is required")
    if "scheme" in document:
        scheme = r.string(document["scheme"], "scheme")
        if scheme is not None and not _SCHEME_RE.match(scheme):
            r.error("scheme", 'must be a code of letters, digits, "-" and "_" (at most 32), such as "GD-KJD"')
            scheme = None
    if "effective_from" in document:
        effective_from = r.iso_date(document["effective_from"], "effective_from")

    has_tiers = "size_tiers" in document
    base_ratio = max_ratio = None
    if "base_ratio" in document:
        base_ratio = r.ratio(document["base_ratio"], "base_ratio")
        if has_tiers:
            r.error(
                "base_ratio",
                "give base_ratio or size_tiers, not both: with size_tiers the tier gives the ratio where no region entry matches",
            )
    elif not has_tiers:
        r.error("base_ratio", "is required unless size_tiers are given")
    if "max_ratio" in document:
        max_ratio = r.ratio(document["max_ratio"], "max_ratio")

    uplift_mode = "sum"
    if "uplift_mode" in document:
        uplift_mode = r.choice(document["uplift_mode"], "uplift_mode", UPLIFT_MODES) or "sum"
    tier_mode = "whole"
    if "tier_mode" in document:
        tier_mode = r.choice(document["tier_mode"], "tier_mode", TIER_MODES) or "whole"
        if not has_tiers:
            r.error("tier_mode", "only applies with size_tiers")

    groups: dict[str, tuple[str, ...]] | None = {}
    if "region_groups" in document:
        groups = _read_groups(r, document["region_groups"])
    region_ratios: tuple[RegionRatio, ...] = ()
    region_docs: list[dict[str, Any]] = []
    if "region_ratios" in document:
        read = _read_region_ratios(r, document["region_ratios"], groups)
        if read is not None:
            region_ratios, region_docs = read
    size_tiers: tuple[SizeTier, ...] = ()
    if has_tiers:
        size_tiers = _read_tiers(r, document["size_tiers"]) or ()

    uplifts: dict[str, Decimal] = {}
    if "uplifts" in document:
        table = r.table(document["uplifts"], "uplifts")
        for category, value in (table or {}).items():
            at = _join("uplifts", str(category))
            if not isinstance(category, str) or not category.strip():
                r.error("uplifts", f"category must be a non-empty string: {category!r}")
                continue
            ratio = r.ratio(value, at)
            if ratio is not None:
                uplifts[category] = ratio

    eligibility_doc = None
    if "eligibility" in document:
        eligibility_doc = _read_section(
            r,
            document["eligibility"],
            "eligibility",
            ELIGIBILITY_KEYS,
            {
                "categories_any": lambda v, p: _categories(r, v, p),
                "max_loan_principal": lambda v, p: r.amount(v, p),
                "max_term_months": r.months,
                "registration_window_days": r.count,
            },
        )
    claims_doc = None
    if "claims" in document:
        claims_doc = _read_section(
            r,
            document["claims"],
            "claims",
            CLAIM_KEYS,
            {
                "min_overdue_days": r.count,
                "filing_window_days": r.count,
                "per_claim_cap": lambda v, p: r.amount(v, p),
                "per_enterprise_cap": lambda v, p: r.amount(v, p),
                "per_bank_annual_cap": lambda v, p: r.amount(v, p),
                "portfolio_cap_rate": r.ratio,
                "required_documents": lambda v, p: _document_kinds(r, v, p),
                # The bureau needs at least a day to decide; a year is already generous.
                "decision_days": lambda v, p: _positive_count(r, v, p, most=366),
            },
        )
        if claims_doc is not None:
            low, high = claims_doc.get("min_overdue_days"), claims_doc.get("filing_window_days")
            if isinstance(low, int) and isinstance(high, int) and high < low:
                r.error(
                    "claims.filing_window_days",
                    f"{high} is shorter than min_overdue_days ({low}): no claim could ever be filed",
                )
    pool_doc = None
    if "pool" in document:
        pool_doc = _read_section(
            r,
            document["pool"],
            "pool",
            POOL_KEYS,
            {
                "leverage": r.positive_decimal,
                "npl_suspend_registrations": r.ratio,
                "npl_suspend_compensation": r.ratio,
            },
        )

    reporting_doc = None
    if "reporting" in document:
        reporting_doc = _read_section(
            r,
            document["reporting"],
            "reporting",
            REPORTING_KEYS,
            # Day N of the following month; 31 means the month's last day in short months.
            {"monthly_report_due_day": lambda v, p: _positive_count(r, v, p, most=31)},
        )

    payers: tuple[PayerTemplate, ...] = ()
    payer_docs: list[dict[str, str]] = []
    if "payers" in document:
        read_payers = _read_payers(r, document["payers"], "payers")
        if read_payers is not None:
            payers, payer_docs = read_payers

    # The ceiling must not undercut a ratio it exists to cap: that is a typo, not policy.
    if max_ratio is not None:
        capped: list[tuple[str, Decimal]] = []
        if base_ratio is not None:
            capped.append(("base_ratio", base_ratio))
        capped += [(f"{e.path}.ratio", e.ratio) for e in region_ratios]
        capped += [(f"size_tiers[{i}].ratio", t.ratio) for i, t in enumerate(size_tiers)]
        for where, ratio in capped:
            if max_ratio < ratio:
                r.error("max_ratio", f"{_ratio_text(max_ratio)} is below {where} {_ratio_text(ratio)}")

    if r.issues:
        raise RuleValidationError(r.issues)
    assert scheme is not None and effective_from is not None

    doc["scheme"] = scheme
    doc["effective_from"] = effective_from.isoformat()
    if base_ratio is not None:
        doc["base_ratio"] = _ratio_text(base_ratio)
    if max_ratio is not None:
        doc["max_ratio"] = _ratio_text(max_ratio)
    doc["uplift_mode"] = uplift_mode
    if size_tiers:
        doc["tier_mode"] = tier_mode
    if groups:
        doc["region_groups"] = {name: list(codes) for name, codes in groups.items()}
    if region_docs:
        doc["region_ratios"] = region_docs
    if size_tiers:
        doc["size_tiers"] = [{"up_to": format_amount(t.up_to), "ratio": _ratio_text(t.ratio)} for t in size_tiers]
    if uplifts:
        doc["uplifts"] = {category: _ratio_text(u) for category, u in uplifts.items()}
    eligibility = Eligibility()
    if eligibility_doc:
        eligibility = Eligibility(**eligibility_doc)  # type: ignore[arg-type]
        doc["eligibility"] = _section_doc(eligibility_doc)
    claims = ClaimRules()
    if claims_doc:
        claims = ClaimRules(**claims_doc)  # type: ignore[arg-type]
        doc["claims"] = _section_doc(claims_doc, amounts=("per_claim_cap", "per_enterprise_cap", "per_bank_annual_cap"))
        if "portfolio_cap_rate" in claims_doc:
            doc["claims"]["portfolio_cap_rate"] = _ratio_text(claims_doc["portfolio_cap_rate"])  # type: ignore[arg-type]
    doc["payers"] = payer_docs
    pool = Pool()
    if pool_doc:
        pool = Pool(**pool_doc)  # type: ignore[arg-type]
        doc["pool"] = {key: _ratio_text(v) for key, v in pool_doc.items()}  # type: ignore[arg-type]
    reporting = Reporting()
    if reporting_doc:
        reporting = Reporting(**reporting_doc)  # type: ignore[arg-type]
        doc["reporting"] = dict(reporting_doc)

    return RuleSet(
        scheme=scheme,
        effective_from=effective_from,
        base_ratio=base_ratio,
        max_ratio=max_ratio,
        uplift_mode=uplift_mode,  # type: ignore[arg-type]
        tier_mode=tier_mode,  # type: ignore[arg-type]
        region_groups=MappingProxyType(dict(groups or {})),
        region_ratios=region_ratios,
        size_tiers=size_tiers,
        uplifts=MappingProxyType(uplifts),
        eligibility=eligibility,
        claims=claims,
        pool=pool,
        reporting=reporting,
        payers=payers,
        canonical_json=json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
    )


def _categories(r: _Reader, value: object, path: str) -> tuple[str, ...] | None:
    if not isinstance(value, (list, tuple)) or not value:
        r.error(path, 'must list at least one category, such as ["tech_sme"] (leave the key out for no requirement)')
        return None
    out: list[str] = []
    for i, item in enumerate(value):
        name = r.string(item, f"{path}[{i}]")
        if name is not None and name in out:
            r.error(f"{path}[{i}]", f'"{name}" is already listed')
        elif name is not None:
            out.append(name)
    return tuple(out) if len(out) == len(value) else None


def _positive_count(r: _Reader, value: object, path: str, *, most: int) -> int | None:
    number = r.count(value, path, most=most)
    if number == 0:
        r.error(path, "must be at least 1")
        return None
    return number


def _document_kinds(r: _Reader, value: object, path: str) -> tuple[str, ...] | None:
    if not isinstance(value, (list, tuple)) or not value:
        r.error(path, 'must list at least one document kind, such as ["loan_contract"] (leave the key out for none)')
        return None
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _KIND_RE.match(item):
            r.error(f"{path}[{i}]", 'must be a kind of lowercase letters, digits and "_", such as "loan_contract"')
        elif item in out:
            r.error(f"{path}[{i}]", f'"{item}" is already listed')
        else:
            out.append(item)
    return tuple(out) if len(out) == len(value) else None


def _section_doc(section: Mapping[str, object], amounts: tuple[str, ...] = ("max_loan_principal",)) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in section.items():
        if key in amounts and isinstance(value, int):
            out[key] = format_amount(value)
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


def load_toml(text: str) -> RuleSet:
    """Parse a TOML rule document; a syntax error is reported like any other issue."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleValidationError([RuleIssue("", f"not valid TOML: {exc}")]) from None
    return parse_rules(data)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal keys; in a rule file that hides a
    # mistake, so refuse it (TOML refuses it by itself).
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    pass


def load_json(text: str) -> RuleSet:
    """Parse a JSON rule document (the API's form of the same structure)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise RuleValidationError([RuleIssue("", f'not valid: the key "{exc.args[0]}" appears twice')]) from None
    except json.JSONDecodeError as exc:
        raise RuleValidationError([RuleIssue("", f"not valid JSON: {exc}")]) from None
    return parse_rules(data)


def load_file(path: str | PathLike[str]) -> RuleSet:
    """Load a rule document from a ``.toml`` or ``.json`` file."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".toml":
        return load_toml(file.read_text(encoding="utf-8"))
    if suffix == ".json":
        return load_json(file.read_text(encoding="utf-8"))
    raise RuleValidationError([RuleIssue("", f"{file.name}: rule files are .toml or .json")])


__all__ = [
    "RuleIssue",
    "RuleValidationError",
    "load_file",
    "load_json",
    "load_toml",
    "parse_rules",
]
