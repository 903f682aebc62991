"""Fixtures for the pure rules package: the SPEC §3 rule file, its sub-funds, claims."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from rules import ClaimFacts, RuleSet, load_file, parse_rules
from rules.money import parse_amount

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"

#: The sub-funds SPEC §3.3 says exist (no CITY-440100: Guangzhou's city share falls back).
SPEC_SUBFUNDS = frozenset({"GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900"})


def _yuan(text: str) -> int:
    return parse_amount(text.replace(",", ""))


def _claim(region: str, categories: str, principal: str, outstanding: str) -> ClaimFacts:
    categories_set = frozenset(c.strip() for c in categories.split(",") if c.strip())
    return ClaimFacts(region, categories_set, _yuan(principal), _yuan(outstanding))


@pytest.fixture
def yuan():
    """yuan("1,500,000.00") -> fen, for amounts written as in the SPEC table."""
    return _yuan


@pytest.fixture
def claim():
    """claim("440106", "tech_sme", "2,000,000.00", "1,500,000.00"): a SPEC table row."""
    return _claim


@pytest.fixture(scope="session")
def gd_rules() -> RuleSet:
    """rules/examples/gd-kjd.toml: the SPEC §3 rule document."""
    return load_file(EXAMPLES / "gd-kjd.toml")


@pytest.fixture
def spec_document() -> dict[str, Any]:
    """The SPEC §3 document as decoded TOML, a fresh copy to alter in a test."""
    return tomllib.loads((EXAMPLES / "gd-kjd.toml").read_text(encoding="utf-8"))


@pytest.fixture
def subfund_exists():
    return SPEC_SUBFUNDS.__contains__


@pytest.fixture
def make_rules():
    """Build a RuleSet from a small document: make_rules(base_ratio="0.40", ...).

    Without overrides it is a minimal valid version with one payer.
    """

    def make(**overrides: Any) -> RuleSet:
        document: dict[str, Any] = {
            "scheme": "TEST",
            "effective_from": "2026-01-01",
            "base_ratio": "0.50",
            "payers": [{"subfund": "GD-PROV", "share": "1"}],
        }
        for key, value in overrides.items():
            if value is None:
                document.pop(key, None)
            else:
                document[key] = value
        return parse_rules(document)

    return make

