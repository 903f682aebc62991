"""Scheme rules at the console (issue 17): every version as a readable table, and the
fund administrator's draft → check → publish flow.

A draft (TOML or JSON, pasted or uploaded) is validated by ``ledger.schemes.parse_document``
(every problem keyed by its path, shown beside that key), compared key by key with the
version in force, and run through the what-if simulation against it
(``console.simulations.comparison_context``) before the publish button appears. Publishing
goes through ``ledger.schemes.publish``, the API's own service.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from api import context, db
from api.simulations import MAX_LOAN_RUNS
from ledger import schemes as service
from ledger import simulations as simulation_service
from ledger.errors import DomainError, ValidationFailed
from ledger.models import RuleVersion, Scheme
from rules.regions import region_label

from .auth import PAGE_ROLES, current_user, has_role, roles_required
from .blueprint import bp
from .forms import read_document
from .i18n import Words, error_message
from .simulations import comparison_context

#: This page's words, in the catalogs under ``page.scheme_rules.``.
WORDS = Words("page.scheme_rules.")

#: Rule document keys as people read them.
KEYS = Words("rulekey.")

#: The what-if's scenario: the simulation page's defaults, fewer runs (a check must be quick).
WHATIF = {"horizon_months": 12, "default_rate": "0.02", "recovery_rate": "0.3", "runs": 200, "seed": 1}


def w(key: str, **params: Any) -> str:
    text = WORDS[key]
    return text.format(**params) if params else text


def key_label(key: str) -> str:
    return KEYS.get(key, key)


def section_title(name: str) -> str:
    return w(f"section.{name}") if f"section.{name}" in WORDS else name


# -- reading and comparing documents ----------------------------------------------------


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """``{"claims": {"per_claim_cap": "8000000.00"}, "payers": [{…}]}`` ->
    ``{"claims.per_claim_cap": "8000000.00", "payers[0].subfund": …}``: the paths the
    validation errors use, so a diff row and an error name the same key."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{path}[{index}]"))
        return out
    return {path: value}


def shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class DiffRow:
    key: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        return "added" if self.before is None else "removed" if self.after is None else "changed"


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[DiffRow]:
    """Key by key: what the draft adds, removes or changes against ``before``."""
    old, new = flatten(before), flatten(after)
    keys = list(new) + [k for k in old if k not in new]
    return [DiffRow(k, shown(old[k]) if k in old else None, shown(new[k]) if k in new else None)
            for k in keys if shown(old.get(k)) != shown(new.get(k)) or (k in old) != (k in new)]


def readable(document: dict[str, Any]) -> dict[str, Any]:
    """A version as tables: the top-level settings, each ``[section]`` as key/value rows
    and each list of tables (payers, region ratios, tiers) as a table with its columns."""
    general, sections, tables = [], [], []
    for key, value in document.items():
        if isinstance(value, dict):
            # Region groups list region codes: each shown with its name (SPEC §2).
            named = key == "region_groups"
            sections.append((key, [(k, "、".join(region_label(c) for c in v) if named and isinstance(v, list)
                                    else shown(v)) for k, v in value.items()]))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns: list[str] = []
            for row in value:
                columns += [c for c in row if c not in columns]
            rows = [[cell(c, row.get(c)) for c in columns] for row in value]
            tables.append((key, columns, rows))
        else:
            general.append((key, shown(value)))
    return {"general": general, "sections": sections, "tables": tables}


def cell(column: str, value: Any) -> str:
    if column == "payers":
        return payers_text(value)
    if column == "region" and isinstance(value, str):
        return region_label(value)  # 440703 江门市蓬江区
    return shown(value)


def payers_text(payers: Any) -> str:
    if not isinstance(payers, list):
        return shown(payers)
    parts = []
    for p in payers:
        text = f"{p.get('subfund')} {p.get('share')}"
        if p.get("fallback"):
            text += f" ({w('fallback')} {p['fallback']})"
        parts.append(text)
    return "; ".join(parts)


def _in_force(session, scheme: Scheme | None) -> RuleVersion | None:  # type: ignore[no-untyped-def]
    if scheme is None:
        return None
    return session.scalar(
        select(RuleVersion).where(RuleVersion.scheme_id == scheme.id, RuleVersion.effective_from <= context.today())
        .order_by(RuleVersion.effective_from.desc()).limit(1)) or session.scalar(
        select(RuleVersion).where(RuleVersion.scheme_id == scheme.id).order_by(RuleVersion.version.desc()).limit(1))


# -- pages ------------------------------------------------------------------------------


@bp.get("/rules")
@roles_required(PAGE_ROLES["rules"])
def rules_page():  # type: ignore[no-untyped-def]
    session = db.session()
    rows = []
    for scheme in session.scalars(select(Scheme).order_by(Scheme.code)):
        force = _in_force(session, scheme)
        rows.append((scheme, sorted(scheme.versions, key=lambda v: -v.version), force.id if force else None))
    return render_template("console/rules.html", rows=rows, w=w, may_edit=has_role("fund_admin"))


@bp.get("/rules/<code>/<int:version>")
@roles_required(PAGE_ROLES["rules"])
def rule_version_page(code: str, version: int):  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        row = service.get_version(session, code, version)
    except DomainError:
        abort(404)
    return render_template("console/rule_version.html", row=row, table=readable(row.document), w=w,
                           section_title=section_title, key_label=key_label, document=json.dumps(row.document, ensure_ascii=False, indent=2))


def _whatif(code: str, document: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Draft against the rules in force over the live book, on the read-only session."""
    scenario_data = {"as_of": context.today().isoformat(), **WHATIF}
    readonly = current_app.extensions["ledger_readonly_sessions"]()
    try:
        scenario = simulation_service.parse_scenario(scenario_data)
        result = simulation_service.run_simulation(
            readonly, code, scenario, draft_document=document,
            max_loan_runs=current_app.config.get("SIMULATION_MAX_LOAN_RUNS", MAX_LOAN_RUNS))
        return comparison_context(result), None
    except DomainError as exc:
        return None, w("whatif_failed", error=error_message(exc))
    finally:
        readonly.rollback()
        readonly.close()


@bp.route("/rules/draft", methods=["GET", "POST"])
@roles_required(PAGE_ROLES["rules_edit"])
def rules_draft():  # type: ignore[no-untyped-def]
    session = db.session()
    text = request.form.get("rules", "")
    upload = request.files.get("rules_file")
    if upload is not None and upload.filename:
        text = upload.read(1_000_000).decode("utf-8", errors="replace")
    ctx: dict[str, Any] = {"text": text, "w": w, "errors": None, "unreadable": None, "diff": None,
                           "current": None, "sim": None, "whatif_error": None, "ruleset": None,
                           "whatif": {**WHATIF, "as_of": context.today().isoformat()}, "checked": ""}
    if request.method == "GET":
        source = request.args.get("from", "")
        if "/" in source:
            code, _, version = source.partition("/")
            try:
                ctx["text"] = json.dumps(service.get_version(session, code, int(version)).document,
                                         ensure_ascii=False, indent=2)
            except (DomainError, ValueError):
                pass
        return render_template("console/rules_draft.html", **ctx)
    if not text.strip():
        ctx["unreadable"] = w("empty_draft")
        return render_template("console/rules_draft.html", **ctx), 422
    try:
        document = read_document(text)
        ruleset = service.parse_document(document)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        ctx["unreadable"] = w("unreadable", error=str(exc)[:300])
        return render_template("console/rules_draft.html", **ctx), 422
    except ValidationFailed as exc:
        ctx["errors"] = sorted(exc.errors.items())
        return render_template("console/rules_draft.html", **ctx), 422
    ctx["ruleset"] = ruleset
    ctx["checked"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    # Publish only the very text whose diff and what-if were shown: a draft edited after
    # "Check" is checked again instead.
    if request.form.get("action") == "publish" and request.form.get("checked") == ctx["checked"]:
        try:
            version = service.publish(session, ruleset.scheme, document, actor=current_user().name)
        except ValidationFailed as exc:
            session.rollback()
            ctx["errors"] = sorted(exc.errors.items()) or [("_document", [error_message(exc)])]
            return render_template("console/rules_draft.html", **ctx), 422
        except DomainError as exc:
            session.rollback()
            flash(error_message(exc), "error")
            return render_template("console/rules_draft.html", **ctx), 422
        flash(w("published", scheme=ruleset.scheme, version=version.version,
                effective_from=version.effective_from.isoformat()), "success")
        return redirect(url_for(".rule_version_page", code=ruleset.scheme, version=version.version))
    scheme = session.scalar(select(Scheme).where(Scheme.code == ruleset.scheme))
    current = _in_force(session, scheme)
    ctx["current"] = current
    ctx["diff"] = diff(current.document if current else {}, ruleset.document)
    if current is not None:
        # End the writing transaction (it only read the login and the scheme) so no write
        # lock is held while numpy runs on the read-only session.
        session.commit()
        ctx["sim"], ctx["whatif_error"] = _whatif(ruleset.scheme, document)
    return render_template("console/rules_draft.html", **ctx)
