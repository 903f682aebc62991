"""The audit log as an officer reads it: actions in words, before/after as a
field-by-field diff, and a link from an entry to what it concerns (issue 17).

Kept apart from ``console/audit.py`` (the routes) so the words live in one table; the
stored entries are untouched — this is only how they are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for
from werkzeug.routing import BuildError

from ledger.models import AuditEntry
from rules.regions import region_label

from .i18n import CATEGORIES, STATUS, current_lang, label

#: action -> (Chinese, English). Claim actions follow the claim's lifecycle (SPEC §4).
ACTION_WORDS: dict[str, tuple[str, str]] = {
    "claim.submit": ("提交理赔申请", "claim submitted"),
    "claim.resubmit": ("重新提交理赔申请", "claim resubmitted"),
    "claim.review": ("审查理赔", "claim reviewed"),
    "claim.return": ("退回理赔申请", "claim returned to the bank"),
    "claim.approve": ("批准理赔", "claim approved"),
    "claim.reject": ("驳回理赔", "claim rejected"),
    "claim.withdraw": ("撤回理赔申请", "claim withdrawn"),
    "claim.pay": ("支付补偿", "compensation paid"),
    "claim.reserve": ("预留补偿资金", "compensation reserved"),
    "claim.payout": ("补偿资金出账", "compensation paid out"),
    "claim.recovery": ("登记追偿回收", "recovery recorded"),
    "claim.clawback": ("追回已付补偿", "paid compensation clawed back"),
    "claim.document": ("上传理赔材料", "claim document uploaded"),
    "loan.register": ("登记贷款", "loan registered"),
    "loan.repayment": ("登记还款", "repayment reported"),
    "loan.default": ("登记违约", "default reported"),
    "loan.repaid": ("贷款结清", "loan repaid in full"),
    "loan.cancel": ("撤销贷款", "loan cancelled"),
    "loan_report.receive": ("接收月度报送", "monthly report received"),
    "enterprise.register": ("登记企业", "enterprise registered"),
    "enterprise.link": ("关联企业", "enterprise linked to a bank"),
    "enterprise.change": ("变更企业信息", "enterprise changed"),
    "enterprise.change_requested": ("申请变更企业信息", "enterprise change requested"),
    "enterprise.request_applied": ("采纳企业变更申请", "enterprise change request applied"),
    "subfund.create": ("设立子基金", "sub-fund opened"),
    "subfund.contribute": ("子基金注资", "contribution to a sub-fund"),
    "journal.post": ("记账", "journal entry posted"),
    "rules.publish": ("发布规则版本", "rule version published"),
    "statement.issue": ("出具对账单", "statement issued"),
    "bank.create": ("准入合作银行", "bank admitted"),
    "bank.debt_repayment": ("银行归还欠款", "bank repaid its debt"),
    "user.create": ("创建用户", "user created"),
    "user.password_set": ("设置密码", "password set"),
    "user.login": ("登录", "logged in"),
    "user.login_failed": ("登录失败", "failed login"),
    "user.locked": ("账户锁定", "account locked"),
    "token.issue": ("签发 API 令牌", "API token issued"),
    "token.rotate": ("轮换 API 令牌", "API token rotated"),
    "token.revoke": ("吊销 API 令牌", "API token revoked"),
    "webhook.create": ("登记回调地址", "webhook added"),
    "webhook.delete": ("删除回调地址", "webhook removed"),
    "webhook.rotate_secret": ("轮换回调密钥", "webhook secret rotated"),
}

ENTITY_WORDS: dict[str, tuple[str, str]] = {
    "claim": ("理赔", "claim"), "loan": ("贷款", "loan"), "subfund": ("子基金", "sub-fund"),
    "bank": ("银行", "bank"), "enterprise": ("企业", "enterprise"), "scheme": ("补偿方案", "scheme"),
    "statement": ("对账单", "statement"), "user": ("用户", "user"), "journal": ("账务", "journal"),
    "loan_report": ("月度报送", "monthly report"), "webhook": ("回调", "webhook"),
}

#: Stored field names as people read them; others are shown as stored.
FIELD_WORDS: dict[str, tuple[str, str]] = {
    "status": ("状态", "status"), "amount": ("金额", "amount"), "region": ("地区", "region"),
    "categories": ("企业类别", "categories"), "name": ("名称", "name"), "reason": ("理由", "reason"),
    "comment": ("意见", "comment"), "version": ("版本", "version"), "effective_from": ("施行日", "in force from"),
    "document_sha256": ("文件 SHA-256", "document SHA-256"), "owner_type": ("出资方类型", "owner type"),
    "compensation": ("补偿金额", "compensation"), "approved_amount": ("核定金额", "approved amount"),
    "payment_reference": ("支付凭证号", "payment reference"), "paid_on": ("支付日期", "paid on"),
    "principal": ("本金", "principal"), "outstanding": ("贷款余额", "outstanding"), "roles": ("角色", "roles"),
    "recommendation": ("审查建议", "recommendation"), "number": ("编号", "number"), "bank": ("银行", "bank"),
    "audit_hash": ("审计哈希", "audit hash"), "audit_seq": ("审计序号", "audit entry"), "filename": ("文件名", "file name"),
    "font": ("字体", "font"), "kind": ("种类", "kind"), "language": ("语言", "language"), "pages": ("页数", "pages"),
    "period_from": ("期间起", "period from"), "period_to": ("期间止", "period to"), "scope": ("范围", "scope"),
    "sha256": ("SHA-256", "SHA-256"), "size": ("字节数", "bytes"), "state_sha256": ("账本状态 SHA-256", "ledger state SHA-256"),
    "channel": ("渠道", "channel"), "method": ("算法", "method"), "prefix": ("令牌前缀", "token prefix"),
    "lines": ("分摊明细", "payer lines"), "offsets": ("抵扣", "offsets"), "default_on": ("违约日", "defaulted on"),
    "loan_id": ("贷款编号", "loan"), "outstanding_principal": ("未偿本金", "outstanding principal"),
    "ratio": ("补偿比例", "ratio"), "on": ("日期", "on"), "event_id": ("事件编号", "event"),
    "claimed_on": ("申请日", "claimed on"), "credit_code": ("统一社会信用代码", "credit code"),
    "external_id": ("银行贷款编号", "bank's loan id"), "received_on": ("到账日", "received on"),
}


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if current_lang() == "zh" else pair[1]


def action_text(action: str) -> str:
    """``claim.approve`` -> 批准理赔 / claim approved; an action without words yet is
    named by its entity and kept verbatim after it."""
    pair = ACTION_WORDS.get(action)
    if pair is not None:
        return _pick(pair)
    entity, _, verb = action.partition(".")
    return f"{entity_text(entity)}：{verb}" if current_lang() == "zh" else f"{entity_text(entity)}: {verb}"


def entity_text(entity_type: str) -> str:
    pair = ENTITY_WORDS.get(entity_type)
    return _pick(pair) if pair else entity_type


def field_text(name: str) -> str:
    pair = FIELD_WORDS.get(name)
    return _pick(pair) if pair else name


#: Fields whose stored values are codes with words of their own.
_VALUE_WORDS = {"status": STATUS, "from_status": STATUS, "to_status": STATUS, "categories": CATEGORIES}


def _value(name: str, value: Any) -> str:
    """A stored value as shown: statuses and categories in words, regions with names."""
    table = _VALUE_WORDS.get(name)
    if table is not None and isinstance(value, str):
        return label(table, value)
    if table is not None and isinstance(value, (list, tuple)):
        return _shown([label(table, v) if isinstance(v, str) else v for v in value])
    if name == "region" and isinstance(value, str):
        return region_label(value)
    return _shown(value)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) if current_lang() == "zh" else ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{field_text(str(k))}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return ("是" if value else "否") if current_lang() == "zh" else ("yes" if value else "no")
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: str | None  # None: the entry recorded no "before" (a creation)
    after: str | None  # None: the field is gone afterwards
    changed: bool


def entry_diff(entry: AuditEntry) -> list[FieldChange]:
    """Field by field: every field of ``after`` (and of ``before`` that is gone), the
    changed ones marked; no raw JSON."""
    before = entry.before if isinstance(entry.before, Mapping) else ({} if entry.before is None else {"": entry.before})
    after = entry.after if isinstance(entry.after, Mapping) else ({} if entry.after is None else {"": entry.after})
    has_before = entry.before is not None
    changes = []
    for name in list(after) + [k for k in before if k not in after]:
        old = _value(name, before[name]) if has_before and name in before else None
        new = _value(name, after[name]) if name in after else None
        changes.append(FieldChange(name, field_text(name) if name else "", old, new,
                                   changed=has_before and before.get(name) != after.get(name)))
    return changes


def entity_link(entry: AuditEntry) -> str | None:
    """The console page of what the entry concerns, when there is one."""
    targets = {"claim": ("console.claim_detail", "claim_id"), "subfund": ("console.subfund_page", "code"),
               "bank": ("console.bank_page", "code")}
    target = targets.get(entry.entity_type)
    if target is None and entry.entity_type == "loan":
        # No page of its own: the claims queue filtered to the loan's claims would need the
        # claim; the audit log filtered to the loan is the loan's history.
        return url_for("console.audit_log", entity_type="loan", entity_id=entry.entity_id)
    if target is None:
        return None
    endpoint, arg = target
    try:
        return url_for(endpoint, **{arg: int(entry.entity_id) if arg == "claim_id" else entry.entity_id})
    except (BuildError, ValueError):
        return None


__all__ = ["ACTION_WORDS", "ENTITY_WORDS", "FieldChange", "action_text", "entity_link", "entity_text", "entry_diff",
           "field_text"]
