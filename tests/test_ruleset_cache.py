"""Parsed rules are cached by the version's document hash (issue 13): claims and loans
are loaded without the rule document, which is read only when the hash is new, and
then only if it still hashes to what was published."""

from __future__ import annotations

import hashlib

import pytest

import rules
from api.errors import domain_problem
from ledger import schemes
from ledger.audit import canonical_json
from ledger.models import RuleVersion

from .conftest import EXAMPLE_RULES


def gd_kjd_deciding_in(days: int) -> dict:  # type: ignore[type-arg]
    """GD-KJD with a decision_days of the test's own: no other test has cached its hash."""
    document = rules.load_file(EXAMPLE_RULES / "gd-kjd.toml").document
    return {**document, "claims": {**document["claims"], "decision_days": days}}


def sha256_of(document) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def test_a_known_hash_needs_no_document():
    document = gd_kjd_deciding_in(41)
    first = schemes.ruleset_of(RuleVersion(id=1, document=document, document_sha256=sha256_of(document)))
    # Another object of the same version, its document not loaded (as a claim's is).
    again = schemes.ruleset_of(RuleVersion(id=1, document_sha256=sha256_of(document)))
    assert again is first
    assert first.claims.decision_days == document["claims"]["decision_days"]


def test_a_document_that_no_longer_matches_its_hash_is_refused():
    document = gd_kjd_deciding_in(43)
    published = sha256_of(document)
    altered = {**document, "base_ratio": "0.80"}
    with pytest.raises(schemes.RuleDocumentAltered, match=published) as refused:
        schemes.ruleset_of(RuleVersion(id=7, document=altered, document_sha256=published))
    # A request meeting it is refused as a conflict that names the cause, not a 500.
    answer = domain_problem(refused.value)
    assert (answer.status_code, answer.json["code"]) == (409, "rule_document_altered")
    # Nothing was cached under the published hash: the genuine document still parses.
    assert schemes.ruleset_of(RuleVersion(id=7, document=document, document_sha256=published)).base_ratio \
        == rules.parse_rules(document).base_ratio
