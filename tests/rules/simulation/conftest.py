from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import rules
from rules import RuleSet
from rules.simulation import Portfolio, SimLoan, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[3] / "rules" / "examples"
SUBFUNDS = ("GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500", "CITY-441900")


@pytest.fixture(scope="session")
def gd_rules() -> RuleSet:
    return rules.load_file(EXAMPLES / "gd-kjd.toml")


@pytest.fixture
def worked_loans() -> list[SimLoan]:
    """SPEC §3.3's four worked examples as live loans (amounts in fen)."""
    return [
        SimLoan(1, "BANK-A", "E1", "440106", ("tech_sme",), 2_000_000_00, 1_500_000_00, 2026, 1),
        SimLoan(2, "BANK-A", "E2", "440703", ("tech_sme", "agri_tech"), 3_000_000_00, 3_000_000_00, 2026, 1),
        SimLoan(3, "BANK-B", "E3", "440511", ("high_tech", "agri_tech", "specialized_town"),
                8_000_000_00, 7_654_321_09, 2026, 1),
        SimLoan(4, "BANK-B", "E4", "441900", ("tech_sme",), 1_000_000_00, 333_333_33, 2026, 1),
    ]


@pytest.fixture
def make_portfolio(gd_rules):  # type: ignore[no-untyped-def]
    def make(loans, *, versions=None, available=None, **history: Any) -> Portfolio:  # type: ignore[no-untyped-def]
        return Portfolio(
            scheme="GD-KJD", as_of=date(2026, 6, 30), loans=loans, versions=versions or {1: gd_rules},
            available=available if available is not None else {code: 100_000_000_00 for code in SUBFUNDS},
            **history,
        )

    return make


@pytest.fixture
def scenario():  # type: ignore[no-untyped-def]
    def make(**changes: Any):  # type: ignore[no-untyped-def]
        data = {"as_of": "2026-06-30", "horizon_months": 12, "default_rate": "1", "recovery_rate": "0",
                "runs": 1, "seed": 7}
        data.update(changes)
        return parse_scenario(data)

    return make
