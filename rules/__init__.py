"""Compensation rules: a rule document goes in, a :class:`Decision` with its steps
comes out (SPEC §3). Pure: no database, no web framework, standard library only.

- :mod:`rules.document` reads and validates rule documents (TOML or JSON).
- :mod:`rules.ruleset` holds the validated :class:`RuleSet` and picks the version in force.
- :mod:`rules.calculator` computes a claim's compensation and its split.
- :mod:`rules.recoveries` shares recoveries back to the payers.
- :mod:`rules.eligibility` checks loans and claims against a version.
- :mod:`rules.steps` explains every figure, in Chinese and English.
- :mod:`rules.regions` knows GB/T 2260 region codes; :mod:`rules.money` amounts and ratios.
- :mod:`rules.simulation` runs the calculator over a whole portfolio under a stress
  scenario (SPEC §8). It needs numpy, so ``import rules`` does not load it.
"""

from rules.calculator import (
    ClaimFacts,
    Decision,
    PayerLine,
    compute,
    limit_by_portfolio_cap,
    limit_to,
    portfolio_cap,
    repair,
)
from rules.document import RuleIssue, RuleValidationError, load_file, load_json, load_toml, parse_rules
from rules.eligibility import Violation, add_months, claim_timing_violations, registration_violations
from rules.recoveries import RecoveryExceedsLoss, RecoveryResult, recovery_returns, recovery_share
from rules.ruleset import (
    ClaimRules,
    Eligibility,
    PayerTemplate,
    Pool,
    RegionRatio,
    Reporting,
    RuleSet,
    SizeTier,
    select_version,
)
from rules.steps import Step

__all__ = [
    "ClaimFacts",
    "ClaimRules",
    "Decision",
    "Eligibility",
    "PayerLine",
    "PayerTemplate",
    "Pool",
    "RecoveryExceedsLoss",
    "RecoveryResult",
    "RegionRatio",
    "Reporting",
    "RuleIssue",
    "RuleSet",
    "RuleValidationError",
    "SizeTier",
    "Step",
    "Violation",
    "add_months",
    "claim_timing_violations",
    "compute",
    "limit_by_portfolio_cap",
    "limit_to",
    "load_file",
    "load_json",
    "load_toml",
    "parse_rules",
    "portfolio_cap",
    "recovery_returns",
    "recovery_share",
    "registration_violations",
    "repair",
    "select_version",
]
