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
from .i18n import current_lang, error_message
from .simulations import comparison_context

#: This page's words (zh, en), the way the simulation page keeps its own.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("补偿规则", "Scheme rules"),
    "scheme": ("方案", "Scheme"), "version": ("版本", "Version"), "effective_from": ("生效日", "Effective from"),
    "published_by": ("发布人", "Published by"), "published_at": ("发布时间", "Published at"),
    "in_force": ("现行", "in force"), "view": ("查看", "View"), "new_draft": ("上传或编辑规则草案", "Upload or edit a draft"),
    "draft_title": ("规则草案", "Draft rules"),
    "draft_intro": ("粘贴或上传规则文件（TOML 或 JSON）。先“检查”：逐项校验、与现行版本逐项对比并做测算对比；确认后方可发布。",
                    "Paste or upload a rule file (TOML or JSON). “Check” validates every key, compares it key by key "
                    "with the version in force and runs the what-if simulation; publish once you have seen them."),
    "text": ("规则内容（TOML 或 JSON）", "Rules (TOML or JSON)"), "file": ("或上传规则文件", "or upload a rule file"),
    "check": ("检查", "Check"), "publish": ("发布", "Publish"),

    "empty_draft": ("请粘贴或上传规则内容。", "Paste or upload the rules."),
    "unreadable": ("规则无法读取：{error}", "The rules cannot be read: {error}"),
    "invalid": ("规则有误，请按下列各项修改：", "The rules are invalid; fix the keys below:"),
    "key": ("项目", "Key"), "problem": ("问题", "Problem"), "valid": ("规则校验通过。", "The rules are valid."),
    "diff": ("与现行版本对比（v{version}，{effective_from} 起）", "Against the version in force (v{version}, from {effective_from})"),
    "diff_new": ("新方案：尚无现行版本。", "A new scheme: no version in force yet."),
    "no_change": ("与现行版本无差异。", "Identical to the version in force."),
    "before": ("现行", "In force"), "after": ("草案", "Draft"), "change": ("变化", "Change"),
    "added": ("新增", "added"), "removed": ("删除", "removed"), "changed": ("修改", "changed"),
    "whatif": ("测算对比（违约率 {rate}，回收率 {recovery}，{runs} 次，截至 {as_of}）",
               "What-if (default rate {rate}, recovery {recovery}, {runs} runs, as of {as_of})"),
    "whatif_failed": ("未能测算：{error}", "No what-if: {error}"),
    "published": ("方案 {scheme} 第 {version} 版已发布，{effective_from} 起生效。",
                  "{scheme} version {version} is published, in force from {effective_from}."),
    "general": ("基本参数", "General"), "value": ("取值", "Value"), "document": ("规则原文（JSON）", "The document (JSON)"),
    "payers": ("出资方", "Payers"), "share": ("份额", "Share"), "fallback": ("替代", "fallback"),
    "section.uplifts": ("上浮比例", "Uplifts"), "section.eligibility": ("准入条件", "Eligibility"),
    "section.claims": ("理赔与上限", "Claims and caps"), "section.pool": ("资金池", "Pool"),
    "section.payers": ("出资分担", "Payers"), "section.region_ratios": ("地区补偿比例", "Region ratios"),
    "section.size_tiers": ("规模分档", "Size tiers"), "section.region_groups": ("地区分组", "Region groups"),
}

#: Rule keys in words (SPEC §3); the key itself is shown beside, as the draft's editor types it.
KEYS: dict[str, tuple[str, str]] = {
    "scheme": ("方案代码", "Scheme"), "effective_from": ("生效日", "Effective from"),
    "base_ratio": ("基础补偿比例", "Base ratio"), "max_ratio": ("最高补偿比例", "Maximum ratio"),
    "uplift_mode": ("上浮方式", "Uplift mode"), "tier_mode": ("分档方式", "Tier mode"),
    "region": ("地区", "Region"), "group": ("地区分组", "Region group"), "ratio": ("补偿比例", "Ratio"),
    "payers": ("出资方", "Payers"), "subfund": ("子基金", "Sub-fund"), "share": ("份额", "Share"),
    "fallback": ("替代子基金", "Fallback"), "up_to": ("本金至", "Principal up to"),
    "high_tech": ("高新技术企业", "High-tech"), "specialized_town": ("专业镇企业", "Specialised town"),
    "agri_tech": ("农业科技企业", "Agri-tech"), "tech_sme": ("科技型中小企业", "Tech SME"),
    "categories_any": ("企业类别（其一）", "Categories (any)"), "max_loan_principal": ("单笔本金上限", "Maximum principal"),
    "max_term_months": ("最长期限（月）", "Maximum term (months)"),
    "registration_window_days": ("备案时限（日）", "Registration window (days)"),
    "min_overdue_days": ("最短逾期（日）", "Minimum overdue (days)"), "filing_window_days": ("申请时限（日）", "Filing window (days)"),
    "per_claim_cap": ("单笔补偿上限", "Cap per claim"), "per_enterprise_cap": ("单户企业累计上限", "Cap per enterprise"),
    "per_bank_annual_cap": ("单家银行年度上限", "Annual cap per bank"), "portfolio_cap_rate": ("组合上限比例", "Portfolio cap rate"),
    "required_documents": ("必备材料", "Required documents"), "decision_days": ("办理时限（日）", "Decision days"),
    "leverage": ("放大倍数", "Leverage"), "npl_suspend_registrations": ("暂停备案不良率", "NPL: suspend registrations"),
    "npl_suspend_compensation": ("暂停补偿不良率", "NPL: suspend compensation"),
    "monthly_report_due_day": ("月报截止日", "Monthly report due day"),
}

#: The what-if's scenario: the simulation page's defaults, fewer runs (a check must be quick).
WHATIF = {"horizon_months": 12, "default_rate": "0.02", "recovery_rate": "0.3", "runs": 200, "seed": 1}


def w(key: str, **params: Any) -> str:
    pair = WORDS[key]
    text = pair[0] if current_lang() == "zh" else pair[1]
    return text.format(**params) if params else text


def key_label(key: str) -> str:
    pair = KEYS.get(key)
    return (pair[0] if current_lang() == "zh" else pair[1]) if pair else key


def section_title(name: str) -> str:
    return w(f"section.{name}") if f"section.{name}" in WORDS else name


# -- reading and comparing documents ----------------------------------------------------


def read_document(text: str) -> dict[str, Any]:
    """JSON when it starts with ``{``, else TOML; raises ValueError / TOMLDecodeError."""
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("a rule document is an object")
        return document
    return tomllib.loads(text)


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
