"""What-if and stress simulation over the live portfolio (SPEC §8).

Pure, beside the calculator it runs: a :class:`Portfolio` (plain values), a
:class:`Scenario` and optional draft rules go in, the answer's JSON-ready dict comes
out. It imports :mod:`rules` and numpy, nothing of the ledger, no Flask, no database;
:mod:`ledger.simulations` reads the portfolio from the ledger.
"""

from .engine import simulate
from .portfolio import Portfolio, SimLoan
from .report import dumps
from .scenario import DefaultRates, Scenario, ScenarioError, parse_scenario

__all__ = ["DefaultRates", "Portfolio", "Scenario", "ScenarioError", "SimLoan", "dumps", "parse_scenario", "simulate"]
