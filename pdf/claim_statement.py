"""补偿结算单: the compensation statement of a paid claim (SPEC §6).

Everything a bank's or an auditor's file needs about one compensation: who, which
loan, which rules, every computation step (SPEC §3.1 "the bureau must see *why*"),
the payers, the four-eyes trail, the payment, and recoveries and clawbacks so far.
The data arrives as the plain dict built by ``ledger.statements.claim_statement_data``
(amounts in fen, dates and times as display strings); nothing here reads the database.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from rules.steps import CATEGORY_NAMES_ZH, Step

from . import layout
from .fonts import FontSetup

TITLE = {"zh": "补偿结算单", "en": "Compensation Statement"}

L = {
    "zh": {
        "subtitle": "理赔编号 {claim}　·　状态：{status}　·　数据截至 {as_of} 日终",
        "basics": "一、基本信息",
        "scheme": "补偿方案",
        "rule_version": "规则版本",
        "rule_version_value": "第 {version} 版（{effective_from} 起施行）",
        "rule_sha": "规则文件 SHA-256",
        "bank": "合作银行",
        "enterprise": "借款企业",
        "credit_code": "统一社会信用代码",
        "region": "所在地区",
        "categories": "企业类别",
        "loan": "贷款编号",
        "principal": "贷款本金",
        "disbursed": "放款日",
        "maturity": "到期日",
        "default_on": "违约日",
        "claimed_on": "申请补偿日",
        "outstanding": "违约时未偿本金",
        "claim_id": "理赔编号",
        "computation": "二、补偿计算过程",
        "step_no": "序号",
        "step_rule": "规则",
        "step_detail": "计算说明",
        "ratio": "补偿比例",
        "eligible_loss": "可补偿损失",
        "computed": "按规则计算补偿额",
        "approved": "批准补偿额",
        "repairs": "三、审批调减",
        "repair_before": "调减前（元）",
        "repair_after": "调减后（元）",
        "repair_reason": "理由",
        "payers": "四、出资分摊",
        "payer_code": "出资子基金",
        "payer_name": "名称",
        "fallback": "（替补出资）",
        "share": "分摊比例",
        "amount": "补偿金额（元）",
        "offset": "抵扣追回款（元）",
        "net": "实付银行（元）",
        "returned": "已返还追偿（元）",
        "total": "合计",
        "approval": "五、审核与审批",
        "status": "理赔状态",
        "reviewer": "审核人",
        "reviewed_at": "审核时间",
        "recommendation": "审核意见",
        "approver": "审批人",
        "approved_at": "审批时间",
        "decision_reason": "审批说明",
        "history": "办理记录",
        "ev_at": "时间",
        "ev_action": "操作",
        "ev_status": "状态变化",
        "ev_actor": "操作人",
        "ev_comment": "说明",
        "payment": "六、支付信息",
        "payment_reference": "支付凭证号",
        "paid_on": "支付日期",
        "paid_total": "支付金额",
        "paid_net": "实付银行金额",
        "recoveries": "六、追偿返还",
        "rec_on": "追回日期",
        "rec_amount": "本次追回（元）",
        "rec_cumulative": "累计追回（元）",
        "rec_pool": "资金池累计分享（元）",
        "rec_returned": "本次返还（元）",
        "clawbacks": "七、追回（不符合条件的已付补偿）",
        "cb_on": "日期",
        "cb_amount": "追回金额（元）",
        "cb_reason": "理由",
        "none": "无。",
        "rec_none": "截至本结算单数据日，无追偿返还。",
        "cb_none": "截至本结算单数据日，无追回。",
        "recommend": {"approve": "建议批准", "reject": "建议驳回", "return": "退回补充"},
    },
    "en": {
        "subtitle": "Claim {claim} · status: {status} · data as of the end of {as_of}",
        "basics": "1. Particulars",
        "scheme": "Scheme",
        "rule_version": "Rule version",
        "rule_version_value": "version {version} (in force from {effective_from})",
        "rule_sha": "Rule document SHA-256",
        "bank": "Bank",
        "enterprise": "Borrower",
        "credit_code": "Unified social credit code",
        "region": "Region",
        "categories": "Categories",
        "loan": "Loan number",
        "principal": "Loan principal",
        "disbursed": "Disbursed on",
        "maturity": "Maturity",
        "default_on": "Default on",
        "claimed_on": "Claimed on",
        "outstanding": "Outstanding at default",
        "claim_id": "Claim",
        "computation": "2. Computation",
        "step_no": "#",
        "step_rule": "Rule",
        "step_detail": "Explanation",
        "ratio": "Compensation ratio",
        "eligible_loss": "Eligible loss",
        "computed": "Compensation per rules",
        "approved": "Approved compensation",
        "repairs": "3. Reductions by the approver",
        "repair_before": "Before (CNY)",
        "repair_after": "After (CNY)",
        "repair_reason": "Reason",
        "payers": "4. Payers",
        "payer_code": "Sub-fund",
        "payer_name": "Name",
        "fallback": " (fallback)",
        "share": "Share",
        "amount": "Compensation (CNY)",
        "offset": "Clawback offset (CNY)",
        "net": "Paid to bank (CNY)",
        "returned": "Recoveries returned (CNY)",
        "total": "Total",
        "approval": "5. Review and approval",
        "status": "Claim status",
        "reviewer": "Reviewer",
        "reviewed_at": "Reviewed at",
        "recommendation": "Recommendation",
        "approver": "Approver",
        "approved_at": "Approved at",
        "decision_reason": "Approver's note",
        "history": "History",
        "ev_at": "Time",
        "ev_action": "Action",
        "ev_status": "Status",
        "ev_actor": "By",
        "ev_comment": "Comment",
        "payment": "6. Payment",
        "payment_reference": "Payment reference",
        "paid_on": "Paid on",
        "paid_total": "Amount paid",
        "paid_net": "Net paid to bank",
        "recoveries": "6. Recoveries shared back",
        "rec_on": "Recovered on",
        "rec_amount": "Recovered (CNY)",
        "rec_cumulative": "Cumulative (CNY)",
        "rec_pool": "Pool's cumulative share (CNY)",
        "rec_returned": "Returned now (CNY)",
        "clawbacks": "7. Clawbacks",
        "cb_on": "Date",
        "cb_amount": "Amount (CNY)",
        "cb_reason": "Reason",
        "none": "None.",
        "rec_none": "No recoveries as of this statement's data date.",
        "cb_none": "No clawbacks as of this statement's data date.",
        "recommend": {"approve": "approve", "reject": "reject", "return": "return for information"},
    },
}


def _categories(names: list[str], lang: str) -> str:
    if lang == "zh":
        return "、".join(CATEGORY_NAMES_ZH.get(n, n) for n in names)
    return ", ".join(names)


def story(data: dict[str, Any], meta: layout.StatementMeta, font: FontSetup) -> list[Flowable]:
    lang = meta.lang
    t = L[lang]
    dash = layout.COMMON[lang]["dash"]
    styles = layout.Styles.of(font)
    claim, loan, enterprise = data["claim"], data["loan"], data["enterprise"]
    scheme, bank = data["scheme"], data["bank"]
    status = layout.name_of(layout.STATUS_NAMES, lang, claim["status"])
    out: list[Flowable] = layout.heading(
        styles, meta, [t["subtitle"].format(claim=claim["id"], status=status, as_of=data["as_of"])], font)

    out.append(layout.section(styles, t["basics"]))
    out.append(layout.kv_table(styles, [
        (t["scheme"], scheme["code"]),
        (t["rule_version"], t["rule_version_value"].format(version=scheme["version"],
                                                          effective_from=scheme["effective_from"])),
        (t["bank"], f"{bank['name']}（{bank['code']}）" if lang == "zh" else f"{bank['name']} ({bank['code']})"),
        (t["claim_id"], str(claim["id"])),
        (t["enterprise"], enterprise["name"]),
        (t["credit_code"], enterprise["credit_code"]),
        (t["region"], layout.region_text(enterprise)),
        (t["categories"], _categories(loan["categories"], lang) or dash),
        (t["loan"], loan["external_id"]),
        (t["principal"], layout.money_yuan(loan["principal"], lang)),
        (t["disbursed"], loan["disbursed_on"]),
        (t["maturity"], loan["maturity_on"]),
        (t["default_on"], claim["default_on"]),
        (t["claimed_on"], claim["claimed_on"]),
        (t["outstanding"], layout.money_yuan(claim["outstanding_principal"], lang)),
        (t["status"], status),
        (t["payment_reference"], claim["payment_reference"] or dash),
        (t["paid_on"], claim["paid_on"] or dash),
    ]))
    out.append(layout.kv_table(styles, [(t["rule_sha"], scheme["document_sha256"])], columns=1, label_width=36 * mm))

    out.append(layout.section(styles, t["computation"]))
    steps = [Step.from_dict(s) for s in data["steps"]]
    out.append(layout.data_table(
        styles,
        [layout.Column(t["step_no"], "fixed"), layout.Column(t["step_rule"], "fixed"),
         layout.Column(t["step_detail"], "text")],
        [[str(i), s.rule, s.render(lang)] for i, s in enumerate(steps, 1)],
    ))
    out.append(Spacer(1, 3))
    out.append(layout.kv_table(styles, [
        (t["ratio"], claim["ratio"]),
        (t["eligible_loss"], layout.money_yuan(claim["eligible_loss"], lang)),
        (t["computed"], layout.money_yuan(claim["compensation"], lang)),
        (t["approved"], layout.money_yuan(claim["approved_amount"], lang)),
    ]))

    out.append(layout.section(styles, t["repairs"]))
    repairs = [s for s in steps if s.rule == "repair"]
    if repairs:
        out.append(layout.data_table(
            styles,
            [layout.Column(t["repair_before"], "amount"), layout.Column(t["repair_after"], "amount"),
             layout.Column(t["repair_reason"])],
            [[_grouped(s.params.get("before")), _grouped(s.params.get("after")), str(s.params.get("reason", ""))]
             for s in repairs],
        ))
    else:
        out.append(styles.para(t["none"]))

    out.append(layout.section(styles, t["payers"]))
    payers = data["payers"]
    # A fallback line says so: the same sub-fund may also pay its own share on another line.
    rows = [[p["subfund"], p["subfund_name"] + (t["fallback"] if p.get("fallback_used") else ""), p["share"],
             layout.money(p["amount"]), layout.money(p["offset_amount"]),
             layout.money(p["amount"] - p["offset_amount"]), layout.money(p["recovered_amount"])] for p in payers]
    rows.append([t["total"], "", "", layout.money(sum(p["amount"] for p in payers)),
                 layout.money(sum(p["offset_amount"] for p in payers)),
                 layout.money(sum(p["amount"] - p["offset_amount"] for p in payers)),
                 layout.money(sum(p["recovered_amount"] for p in payers))])
    out.append(layout.data_table(
        styles,
        [layout.Column(t["payer_code"], "fixed"), layout.Column(t["payer_name"]), layout.Column(t["share"], "fixed"),
         layout.Column(t["amount"], "amount"), layout.Column(t["offset"], "amount"), layout.Column(t["net"], "amount"),
         layout.Column(t["returned"], "amount")],
        rows, total_rows=1,
    ))

    out.append(layout.section(styles, t["approval"]))
    review, approval = data["review"], data["approval"]
    recommendation = review.get("recommendation")
    recommendation_text = t["recommend"].get(recommendation, recommendation) if recommendation else dash
    if review.get("comment"):
        recommendation_text += f"：{review['comment']}" if lang == "zh" else f": {review['comment']}"
    out.append(layout.kv_table(styles, [
        (t["reviewer"], review.get("by") or dash),
        (t["reviewed_at"], review.get("at") or dash),
        (t["approver"], approval.get("by") or dash),
        (t["approved_at"], approval.get("at") or dash),
        (t["recommendation"], recommendation_text),
        (t["decision_reason"], approval.get("reason") or dash),
    ]))
    if data["events"]:
        out.append(Spacer(1, 3))
        out.append(styles.para(t["history"], styles.caption))
        out.append(layout.data_table(
            styles,
            [layout.Column(t["ev_at"], "fixed"), layout.Column(t["ev_action"], "fixed"),
             layout.Column(t["ev_status"], "fixed"),
             layout.Column(t["ev_actor"], "text", weight=0.6), layout.Column(t["ev_comment"], "text")],
            [[e["at"], layout.name_of(layout.ACTION_NAMES, lang, e["action"]),
              f"{layout.name_of(layout.STATUS_NAMES, lang, e['from_status']) or '—'} → "
              f"{layout.name_of(layout.STATUS_NAMES, lang, e['to_status'])}",
              e["actor"], e.get("comment") or ""] for e in data["events"]],
        ))

    out.append(layout.section(styles, t["recoveries"]))
    recoveries = data["recoveries"]
    if recoveries:
        rows = [[r["recovered_on"], layout.money(r["amount"]), layout.money(r["cumulative"]),
                 layout.money(r["pool_share_cumulative"]),
                 layout.money(r["returned"])] for r in recoveries]
        rows.append([t["total"], layout.money(sum(r["amount"] for r in recoveries)), "", "",
                     layout.money(sum(r["returned"] for r in recoveries))])
        out.append(layout.data_table(
            styles,
            [layout.Column(t["rec_on"], "text"), layout.Column(t["rec_amount"], "amount"),
             layout.Column(t["rec_cumulative"], "amount"),
             layout.Column(t["rec_pool"], "amount"), layout.Column(t["rec_returned"], "amount")],
            rows, total_rows=1,
        ))
    else:
        out.append(styles.para(t["rec_none"]))

    # The last section and the verification note stay together: when the note does not
    # fit on the page, the section goes over with it rather than leaving it alone there.
    last: list[Flowable] = [layout.section(styles, t["clawbacks"])]
    clawbacks = data["clawbacks"]
    if clawbacks:
        rows = [[c["on"], layout.money(c["amount"]), c["reason"]] for c in clawbacks]
        rows.append([t["total"], layout.money(sum(c["amount"] for c in clawbacks)), ""])
        last.append(layout.data_table(
            styles, [layout.Column(t["cb_on"], "fixed"), layout.Column(t["cb_amount"], "amount"),
                     layout.Column(t["cb_reason"])],
            rows, total_rows=1,
        ))
    else:
        last.append(styles.para(t["cb_none"]))

    last.extend(layout.verification_parts(styles, meta))
    out.append(KeepTogether(last))
    return out


def _grouped(amount: Any) -> str:
    """A step parameter amount ("5000000.00") as printed ("5,000,000.00")."""
    from rules.money import parse_amount

    if amount is None:
        return "—"
    return layout.money(parse_amount(str(amount), allow_negative=True))


__all__ = ["TITLE", "story"]
