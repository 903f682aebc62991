"""A stress scenario (SPEC §8): when, how long, how many loans default, how much comes back.

``{as_of, horizon_months, default_rate, recovery_rate, runs, seed}``. ``default_rate``
is either one probability of default over the horizon for every loan, or a table:

    {"default": "0.02",
     "banks": {"BOC-GD": "0.04"},          # most specific: the lending bank
     "regions": {"4405": "0.06"},          # then the longest matching region prefix
     "categories": {"agri_tech": "0.05"}}  # then the highest rate among its categories

Probabilities are decimal strings in [0, 1] with at most six decimals; the recovery
rate (the share of the eligible loss the bank recovers after default) at most four,
like a rule ratio. Validation is strict and reports every problem at once, keyed by
its path, like a rule document's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

MAX_HORIZON_MONTHS = 120
MAX_RUNS = 100_000
#: Decimals a default rate may have: a rate is a whole number of millionths, which the
#: engine compares exactly with a uniform integer draw (rules.simulation.engine).
RATE_PLACES = 6
MAX_TABLE_ENTRIES = 1_000
#: Seeds are what numpy's PCG64 takes without folding: non-negative, below 2^63.
MAX_SEED = 2**63 - 1

SCENARIO_KEYS = ("as_of", "horizon_months", "default_rate", "recovery_rate", "runs", "seed")
TABLE_KEYS = ("default", "banks", "regions", "categories")

_DECIMAL_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_PREFIX_RE = re.compile(r"^[0-9]{1,6}$")
_NAME_RE = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,78}[^\s\x00-\x1f\x7f])?$")


class ScenarioError(ValueError):
    """An invalid scenario; ``errors`` maps each offending path to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{path}: {', '.join(msgs)}" for path, msgs in self.errors.items()))


@dataclass(frozen=True)
class DefaultRates:
    """Probability of default over the horizon, by the most specific match."""

    default: Decimal
    banks: Mapping[str, Decimal] = field(default_factory=dict)
    regions: Mapping[str, Decimal] = field(default_factory=dict)
    categories: Mapping[str, Decimal] = field(default_factory=dict)

    def rate_for(self, bank: str, region: str, categories: frozenset[str] | tuple[str, ...]) -> Decimal:
        rate = self.banks.get(bank)
        if rate is not None:
            return rate
        for length in range(len(region), 0, -1):
            rate = self.regions.get(region[:length])
            if rate is not None:
                return rate
        rates = [self.categories[c] for c in categories if c in self.categories]
        return max(rates) if rates else self.default

    def to_dict(self) -> str | dict[str, Any]:
        if not (self.banks or self.regions or self.categories):
            return _text(self.default)
        return {
            "default": _text(self.default),
            "banks": {k: _text(v) for k, v in sorted(self.banks.items())},
            "regions": {k: _text(v) for k, v in sorted(self.regions.items())},
            "categories": {k: _text(v) for k, v in sorted(self.categories.items())},
        }


@dataclass(frozen=True)
class Scenario:
    as_of: date
    horizon_months: int
    default_rate: DefaultRates
    recovery_rate: Decimal
    runs: int
    seed: int

    @property
    def recovery_fraction(self) -> Fraction:
        return Fraction(self.recovery_rate)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as answered: normalised, so equal scenarios print alike."""
        return {
            "as_of": self.as_of.isoformat(),
            "horizon_months": self.horizon_months,
            "default_rate": self.default_rate.to_dict(),
            "recovery_rate": _text(self.recovery_rate),
            "runs": self.runs,
            "seed": self.seed,
        }


def _text(value: Decimal) -> str:
    return format(value, "f")


class _Reader:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def probability(self, value: object, path: str, places: int) -> Decimal | None:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
            try:
                number = Decimal(value)
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
                number = Decimal(-1)
        elif isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            number = Decimal(value)
        else:
            self.fail(path, f'must be a decimal string between 0 and 1, e.g. "0.02"')
            return None
        if not number.is_finite() or number < 0 or number > 1:
            self.fail(path, "must be between 0 and 1")
            return None
        if (Fraction(number) * 10**places).denominator != 1:
            self.fail(path, f"has more than {places} decimals")
            return None
        return number

    def integer(self, value: object, path: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer")
            return None
        if not low <= value <= high:
            self.fail(path, f"must be between {low} and {high}")
            return None
        return value

    def day(self, value: object, path: str) -> date | None:
        if isinstance(value, date):
            return value
        if isinstance(value, str) and _DATE_RE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(path, "must be a date YYYY-MM-DD")
        return None

    def table(self, value: object, path: str, key_ok: re.Pattern[str], key_help: str) -> dict[str, Decimal]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be an object of name -> probability")
            return {}
        if len(value) > MAX_TABLE_ENTRIES:
            self.fail(path, f"has more than {MAX_TABLE_ENTRIES} entries")
            return {}
        out: dict[str, Decimal] = {}
        for key, rate in value.items():
            if not isinstance(key, str) or not key_ok.fullmatch(key):
                self.fail(f"{path}.{key}", key_help)
                continue
            number = self.probability(rate, f"{path}.{key}", RATE_PLACES)
            if number is not None:
                out[key] = number
        return out

    def default_rate(self, value: object, path: str) -> DefaultRates | None:
        if not isinstance(value, Mapping):
            number = self.probability(value, path, RATE_PLACES)
            return None if number is None else DefaultRates(number)
        for key in value:
            if key not in TABLE_KEYS:
                self.fail(f"{path}.{key}", f"unknown key (allowed: {', '.join(TABLE_KEYS)})")
        if "default" not in value:
            self.fail(f"{path}.default", "required: the rate for loans no entry matches")
            default = None
        else:
            default = self.probability(value["default"], f"{path}.default", RATE_PLACES)
        banks = self.table(value.get("banks", {}), f"{path}.banks", _NAME_RE, "must be a bank code")
        regions = self.table(value.get("regions", {}), f"{path}.regions", _PREFIX_RE,
                             "must be a region code or its prefix (1 to 6 digits)")
        categories = self.table(value.get("categories", {}), f"{path}.categories", _NAME_RE,
                                "must be a category name")
        if default is None:
            return None
        return DefaultRates(default, banks, regions, categories)


def parse_scenario(data: object) -> Scenario:
    """Validate a scenario mapping (JSON or TOML); raises :class:`ScenarioError`."""
    reader = _Reader()
    if not isinstance(data, Mapping):
        raise ScenarioError({"scenario": ["must be an object"]})
    for key in data:
        if key not in SCENARIO_KEYS:
            reader.fail(str(key), f"unknown key (allowed: {', '.join(SCENARIO_KEYS)})")
    for key in SCENARIO_KEYS:
        if key not in data:
            reader.fail(key, "required")
    as_of = reader.day(data["as_of"], "as_of") if "as_of" in data else None
    horizon = (reader.integer(data["horizon_months"], "horizon_months", 1, MAX_HORIZON_MONTHS)
               if "horizon_months" in data else None)
    rates = reader.default_rate(data["default_rate"], "default_rate") if "default_rate" in data else None
    recovery = reader.probability(data["recovery_rate"], "recovery_rate", 4) if "recovery_rate" in data else None
    runs = reader.integer(data["runs"], "runs", 1, MAX_RUNS) if "runs" in data else None
    seed = reader.integer(data["seed"], "seed", 0, MAX_SEED) if "seed" in data else None
    if reader.errors:
        raise ScenarioError(reader.errors)
    assert as_of and horizon and rates and recovery is not None and runs and seed is not None
    return Scenario(as_of, horizon, rates, recovery, runs, seed)


__all__ = ["DefaultRates", "MAX_HORIZON_MONTHS", "MAX_RUNS", "RATE_PLACES", "Scenario", "ScenarioError",
           "parse_scenario"]
