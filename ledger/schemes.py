"""Schemes and their rule versions: publish, read, pick the version in force, quote."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from rules import ClaimFacts, Decision, RuleSet, RuleValidationError
from rules.regions import unknown_region_problem

from . import audit
from .audit import canonical_json
from .errors import DomainError, NotFound, ValidationFailed
from .models import RuleVersion, Scheme, SubFund


def get_scheme(session: Session, code: str) -> Scheme:
    scheme = session.scalar(select(Scheme).where(Scheme.code == code))
    if scheme is None:
        raise NotFound(f"No scheme {code}.", code="scheme_not_found")
    return scheme


def get_version(session: Session, code: str, version: int) -> RuleVersion:
    row = session.scalar(
        select(RuleVersion).join(Scheme).where(Scheme.code == code, RuleVersion.version == version)
    )
    if row is None:
        raise NotFound(f"Scheme {code} has no rule version {version}.", code="rule_version_not_found")
    return row


def parse_document(document: Mapping[str, Any]) -> RuleSet:
    """Validate a rule document; every problem is reported at once, keyed by its path."""
    try:
        return rules.parse_rules(document)
    except RuleValidationError as exc:
        errors: dict[str, list[str]] = {}
        for issue in exc.errors:
            errors.setdefault(issue.path or "_document", []).append(issue.message)
        raise ValidationFailed("The rule document is invalid.", code="invalid_rules", errors=errors) from None


class RuleDocumentAltered(DomainError):
    """A stored rule document no longer hashes to the ``document_sha256`` it was published with.

    Nothing is decided by such a document: the request is refused (409) until the
    bureau has looked into it (``ledger-admin verify`` names tampered rows)."""

    category = "conflict"
    code = "rule_document_altered"


#: Parsed rule sets by their document's SHA-256; emptied when it holds _RULESETS_KEPT
#: (a process meets a handful of versions: no eviction order is worth keeping).
_rulesets: dict[str, RuleSet] = {}
_RULESETS_KEPT = 256


def document_sha256(document: Mapping[str, Any]) -> str:
    """The SHA-256 a rule document is published under: of its canonical JSON text."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def ruleset_of(version: RuleVersion) -> RuleSet:
    """The parsed rules of a stored version, cached by its document's SHA-256.

    The key is safe to trust without the document: rule versions are append-only (a
    trigger refuses UPDATE and DELETE, ledger.migrations.ddl.append_only), and a miss
    checks the document against the hash before parsing it, so what is cached under a
    hash is the parse of the document that hashes to it, whichever database (or tampered
    row) it came from. So claims and loans are loaded without the document
    (ledger.claims), which is read only on a miss.
    """
    ruleset = _rulesets.get(version.document_sha256)
    if ruleset is None:
        if document_sha256(version.document) != version.document_sha256:
            raise RuleDocumentAltered(
                f"Rule version {version.id} no longer matches its published SHA-256 {version.document_sha256}.")
        ruleset = rules.parse_rules(version.document)
        if len(_rulesets) >= _RULESETS_KEPT:
            _rulesets.clear()
        _rulesets[version.document_sha256] = ruleset
    return ruleset


def publish(session: Session, code: str, document: Mapping[str, Any], *, actor: str) -> RuleVersion:
    """Publish a new rule version; the first version creates the scheme.

    A new version must take effect after the latest one: history is never rewritten,
    and loans already registered keep the version they froze.
    """
    ruleset = parse_document(document)
    if ruleset.scheme != code:
        raise ValidationFailed(
            f"The document is for scheme {ruleset.scheme}, not {code}.",
            code="scheme_mismatch", errors={"scheme": [f"must be {code}"]},
        )
    scheme = session.scalar(select(Scheme).where(Scheme.code == code).with_for_update())
    if scheme is None:
        scheme = Scheme(code=code)
        session.add(scheme)
        session.flush()
    latest = session.scalar(
        select(RuleVersion).where(RuleVersion.scheme_id == scheme.id).order_by(RuleVersion.version.desc()).limit(1)
    )
    if latest is not None and ruleset.effective_from <= latest.effective_from:
        raise ValidationFailed(
            f"Version {latest.version} takes effect on {latest.effective_from}; a new version must take effect later.",
            code="effective_from_not_after_latest",
            errors={"effective_from": [f"must be after {latest.effective_from.isoformat()}"]},
        )
    stored = ruleset.document
    version = RuleVersion(
        scheme_id=scheme.id,
        version=(latest.version + 1) if latest else 1,
        effective_from=ruleset.effective_from,
        document=stored,
        document_sha256=document_sha256(stored),
        published_by=actor,
    )
    session.add(version)
    session.flush()
    audit.record(session, actor=actor, action="rules.publish", entity_type="scheme", entity_id=code,
                 after={"version": version.version, "effective_from": version.effective_from,
                        "document_sha256": version.document_sha256})
    return version


def version_in_force(session: Session, scheme: Scheme, on: date) -> RuleVersion:
    row = session.scalar(
        select(RuleVersion)
        .where(RuleVersion.scheme_id == scheme.id, RuleVersion.effective_from <= on)
        .order_by(RuleVersion.effective_from.desc())
        .limit(1)
    )
    if row is None:
        raise ValidationFailed(
            f"No rule version of {scheme.code} is in force on {on.isoformat()}.",
            code="no_rule_version_in_force", errors={"disbursed_on": [f"before the first version of {scheme.code}"]},
        )
    return row


def subfund_exists_in(session: Session):  # type: ignore[no-untyped-def]
    """A ``subfund_exists`` callback for the calculator, one query for all codes."""
    codes = set(session.scalars(select(SubFund.code)))
    return codes.__contains__


def quote(session: Session, code: str, *, region: str, categories: list[str], loan_principal: int,
          outstanding_principal: int, disbursed_on: date) -> tuple[RuleVersion, Decision]:
    """What the rules would pay for a hypothetical defaulted loan; records nothing.

    History-dependent caps (per enterprise, per bank and year) are not applied.
    """
    problem = unknown_region_problem(region)
    if problem is not None:  # the calculator's region chain assumes a real code
        raise ValidationFailed(problem, code="unknown_region", errors={"region": [problem]})
    version = version_in_force(session, get_scheme(session, code), disbursed_on)
    facts = ClaimFacts(region=region, categories=frozenset(categories), loan_principal=loan_principal,
                       outstanding_principal=outstanding_principal)
    return version, rules.compute(ruleset_of(version), facts, subfund_exists=subfund_exists_in(session))


def load_rule_files(session: Session, directory: Path, *, actor: str) -> list[tuple[str, str]]:
    """Publish every ``*.toml`` in ``directory`` not yet published; returns (file, outcome)."""
    outcomes = []
    for path in sorted(directory.glob("*.toml")):
        try:
            ruleset = rules.load_file(path)
        except RuleValidationError as exc:
            raise ValidationFailed(f"{path.name}: invalid rules:\n{exc}", code="invalid_rules") from None
        existing = session.scalar(
            select(RuleVersion).join(Scheme)
            .where(Scheme.code == ruleset.scheme, RuleVersion.effective_from == ruleset.effective_from)
        )
        if existing is not None:
            same = existing.document == ruleset.document
            outcomes.append((path.name, f"already published as {ruleset.scheme} v{existing.version}"
                             + ("" if same else " WITH DIFFERENT CONTENT (not changed: publish a new version)")))
            continue
        version = publish(session, ruleset.scheme, ruleset.document, actor=actor)
        outcomes.append((path.name, f"published {ruleset.scheme} v{version.version} from {version.effective_from}"))
    return outcomes
