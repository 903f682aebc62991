"""银行对账单: a bank's statement for a period (SPEC §6).

Claims by status at the period end, the money that moved in the period (approved,
paid, recoveries shared back, clawed back), registered and outstanding principal and
the NPL ratio per scheme against the scheme's suspension thresholds, the year-to-date
compensation against ``per_bank_annual_cap``, and the resulting suspension status.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, KeepTogether, Spacer

from . import layout
from .fonts import FontSetup

TITLE = {"zh": "合作银行对账单", "en": "Bank Statement"}

L = {
    "zh": {
        "subtitle": "合作银行 {code}　·　对账期间 {start} 至 {end}　·　数据截至 {end} 日终",
        "basics": "一、银行信息",
        "bank": "银行名称",
        "code": "银行代码",
        "period": "对账期间",
        "period_value": "{start} 至 {end}",
        "claims": "二、理赔情况（截至期末，按状态）",
        "status": "状态",
        "count": "笔数",
        "computed": "按规则计算补偿额（元）",
        "approved": "批准补偿额（元）",
        "total": "合计",
        "activity": "三、本期资金往来",
        "item": "项目",
        "amount": "金额（元）",
        "act_approved": "本期批准补偿",
        "act_paid": "本期支付补偿",
        "act_recovered": "本期银行追回（净额）",
        "act_returned": "本期追偿返还资金池",
        "act_clawed": "本期追回已付补偿",
        "schemes": "四、备案贷款与不良率（按补偿方案）",
        "no_schemes": "截至期末，本行无备案贷款。",
        "scheme": "补偿方案",
        "rule_version": "适用规则版本",
        "rule_version_value": "第 {version} 版",
        "registered": "累计备案",
        "new": "本期新增备案",
        "loans_value": "{count} 笔，本金 {amount}",
        "outstanding": "期末未偿本金",
        "npl": "其中不良贷款余额",
        "npl_ratio": "不良率",
        "npl_reg": "暂停新增备案阈值",
        "npl_comp": "暂停补偿审批阈值",
        "state": "状态",
        "state_normal": "正常",
        "state_reg": "不良率超过阈值：暂停新增备案",
        "state_comp": "不良率超过阈值：暂停新增备案及补偿审批",
        "not_set": "未设定",
        "caps": "五、年度补偿额度（per_bank_annual_cap）",
        "year": "年度",
        "cap": "年度上限（元）",
        "ytd": "本年累计批准（元）",
        "left": "剩余额度（元）",
        "no_cap": "未设定",
        "portfolio": "组合补偿上限（portfolio_cap_rate，按放款年度）：",
        "vintage": "放款年度",
        "rate": "上限比例",
        "registered_amount": "备案本金（元）",
        "ytd_vintage": "已批准（元）",
        "utilisation": "使用率",
        "paid_list": "六、本期支付补偿明细",
        "claim": "理赔编号",
        "loan": "贷款编号",
        "enterprise": "借款企业",
        "paid_on": "支付日期",
        "reference": "支付凭证号",
        "no_paid": "本期无补偿支付。",
        "npl_note": "不良率 = 期末不良贷款（已违约、已申请补偿、已补偿）未偿本金 ÷ 期末全部在贷未偿本金，四舍五入至 0.01%。",
    },
    "en": {
        "subtitle": "Bank {code} · period {start} to {end} · data as of the end of {end}",
        "basics": "1. Bank",
        "bank": "Name",
        "code": "Code",
        "period": "Period",
        "period_value": "{start} to {end}",
        "claims": "2. Claims by status at the period end",
        "status": "Status",
        "count": "Count",
        "computed": "Computed (CNY)",
        "approved": "Approved (CNY)",
        "total": "Total",
        "activity": "3. Money in the period",
        "item": "Item",
        "amount": "Amount (CNY)",
        "act_approved": "Compensation approved",
        "act_paid": "Compensation paid",
        "act_recovered": "Net recoveries by the bank",
        "act_returned": "Recoveries returned to the pool",
        "act_clawed": "Paid compensation clawed back",
        "schemes": "4. Registered loans and NPL ratio by scheme",
        "no_schemes": "The bank had no registered loans at the period end.",
        "scheme": "Scheme",
        "rule_version": "Rule version",
        "rule_version_value": "version {version}",
        "registered": "Registered (cumulative)",
        "new": "Registered in the period",
        "loans_value": "{count} loans, principal {amount}",
        "outstanding": "Outstanding principal",
        "npl": "of which non-performing",
        "npl_ratio": "NPL ratio",
        "npl_reg": "Registration suspension above",
        "npl_comp": "Compensation suspension above",
        "state": "Status",
        "state_normal": "normal",
        "state_reg": "NPL above threshold: new registrations suspended",
        "state_comp": "NPL above threshold: registrations and compensation approvals suspended",
        "not_set": "not set",
        "caps": "5. Annual compensation cap (per_bank_annual_cap)",
        "year": "Year",
        "cap": "Annual cap (CNY)",
        "ytd": "Approved this year (CNY)",
        "left": "Remaining (CNY)",
        "no_cap": "not set",
        "portfolio": "Portfolio cap (portfolio_cap_rate) by disbursement year:",
        "vintage": "Vintage",
        "rate": "Rate",
        "registered_amount": "Registered (CNY)",
        "ytd_vintage": "Approved (CNY)",
        "utilisation": "Used",
        "paid_list": "6. Compensation paid in the period",
        "claim": "Claim",
        "loan": "Loan",
        "enterprise": "Borrower",
        "paid_on": "Paid on",
        "reference": "Payment reference",
        "no_paid": "No compensation was paid in the period.",
        "npl_note": ("NPL ratio = outstanding principal of non-performing loans (defaulted, claimed, compensated) "
                     "÷ outstanding principal of all loans at the period end, rounded to 0.01%."),
    },
}


def story(data: dict[str, Any], meta: layout.StatementMeta, font: FontSetup) -> list[Flowable]:
    lang = meta.lang
    t = L[lang]
    dash = layout.COMMON[lang]["dash"]
    styles = layout.Styles.of(font)
    bank, period = data["bank"], data["period"]
    out: list[Flowable] = layout.heading(
        styles, meta, [t["subtitle"].format(code=bank["code"], start=period["from"], end=period["to"])], font)

    out.append(layout.section(styles, t["basics"]))
    out.append(layout.kv_table(styles, [
        (t["bank"], bank["name"]),
        (t["code"], bank["code"]),
        (t["period"], t["period_value"].format(start=period["from"], end=period["to"])),
        (layout.COMMON[lang]["as_of"], f"{period['to']} 24:00" if lang == "zh" else f"end of {period['to']}"),
    ]))

    out.append(layout.section(styles, t["claims"]))
    by_status = data["claims_by_status"]
    rows = [[layout.name_of(layout.STATUS_NAMES, lang, s["status"]), str(s["count"]),
             layout.money(s["compensation"]), layout.money(s["approved"])]
            for s in by_status]
    totals = data["claims_total"]
    rows.append([t["total"], str(totals["count"]), layout.money(totals["compensation"]),
                 layout.money(totals["approved"])])
    out.append(layout.data_table(
        styles,
        [layout.Column(t["status"], "text"), layout.Column(t["count"], "amount"),
         layout.Column(t["computed"], "amount", min_width=110), layout.Column(t["approved"], "amount", min_width=110)],
        rows, total_rows=1, font_size=8.5,
    ))

    out.append(layout.section(styles, t["activity"]))
    act = data["activity"]
    out.append(layout.data_table(
        styles,
        [layout.Column(t["item"], "text"), layout.Column(t["count"], "amount"),
         layout.Column(t["amount"], "amount", min_width=110)],
        [
            [t["act_approved"], str(act["approved"]["count"]), layout.money(act["approved"]["amount"])],
            [t["act_paid"], str(act["paid"]["count"]), layout.money(act["paid"]["amount"])],
            [t["act_recovered"], str(act["recovered"]["count"]), layout.money(act["recovered"]["amount"])],
            [t["act_returned"], str(act["recovered"]["count"]), layout.money(act["recovered"]["returned"])],
            [t["act_clawed"], str(act["clawed_back"]["count"]), layout.money(act["clawed_back"]["amount"])],
        ],
        font_size=8.5,
    ))

    out.append(layout.section(styles, t["schemes"]))
    if not data["schemes"]:
        out.append(styles.para(t["no_schemes"]))
    for s in data["schemes"]:
        if s["compensation_suspended"]:
            state = t["state_comp"]
        elif s["registrations_suspended"]:
            state = t["state_reg"]
        else:
            state = t["state_normal"]
        version = t["rule_version_value"].format(version=s["rule_version"]) if s["rule_version"] else dash
        out.append(KeepTogether([layout.kv_table(styles, [
            (t["scheme"], s["code"]),
            (t["rule_version"], version),
            (t["registered"], t["loans_value"].format(count=s["registered_count"],
                                                      amount=layout.money_yuan(s["registered_principal"], lang))),
            (t["new"], t["loans_value"].format(count=s["new_count"],
                                               amount=layout.money_yuan(s["new_principal"], lang))),
            (t["outstanding"], layout.money_yuan(s["outstanding"], lang)),
            (t["npl"], layout.money_yuan(s["npl_outstanding"], lang)),
            (t["npl_ratio"], layout.percent(s["npl_ratio"])),
            (t["state"], state),
            (t["npl_reg"],
             layout.percent(s["npl_suspend_registrations"]) if s["npl_suspend_registrations"] else t["not_set"]),
            (t["npl_comp"],
             layout.percent(s["npl_suspend_compensation"]) if s["npl_suspend_compensation"] else t["not_set"]),
        ]), Spacer(1, 4)]))
    out.append(styles.para(t["npl_note"], styles.small))

    out.append(layout.section(styles, t["caps"]))
    cap_rows = [[s["code"], str(s["year"]),
                 layout.money(s["annual_cap"]) if s["annual_cap"] is not None else t["no_cap"],
                 layout.money(s["ytd_compensation"]),
                 layout.money(s["cap_remaining"]) if s["cap_remaining"] is not None else dash]
                for s in data["schemes"]]
    if cap_rows:
        out.append(layout.data_table(
            styles,
            [layout.Column(t["scheme"], "text"), layout.Column(t["year"], "fixed"),
             layout.Column(t["cap"], "amount", min_width=95),
             layout.Column(t["ytd"], "amount", min_width=95), layout.Column(t["left"], "amount", min_width=95)],
            cap_rows, font_size=8.5,
        ))
    else:
        out.append(styles.para(layout.COMMON[lang]["none"]))
    portfolio = data.get("portfolio_caps") or []
    if portfolio:
        out.append(styles.para(t["portfolio"], styles.small))
        out.append(layout.data_table(
            styles,
            [layout.Column(t["scheme"], "text"), layout.Column(t["vintage"], "fixed"),
             layout.Column(t["rate"], "fixed"), layout.Column(t["registered_amount"], "amount", min_width=90),
             layout.Column(t["cap"], "amount", min_width=80), layout.Column(t["ytd_vintage"], "amount", min_width=80),
             layout.Column(t["utilisation"], "fixed")],
            [[p["scheme"], str(p["vintage"]), p["rate"], layout.money(p["registered"]), layout.money(p["cap"]),
              layout.money(p["approved"]), p["utilisation"] or dash] for p in portfolio],
            font_size=8.5,
        ))

    out.append(layout.section(styles, t["paid_list"]))
    paid = data["paid_claims"]
    if paid:
        rows = [[str(p["id"]), p["loan"], p["enterprise"], p["paid_on"], p["reference"] or dash,
                 layout.money(p["amount"])]
                for p in paid]
        rows.append([t["total"], "", "", "", "", layout.money(sum(p["amount"] for p in paid))])
        out.append(layout.data_table(
            styles,
            [layout.Column(t["claim"], "fixed"), layout.Column(t["loan"], "text", weight=0.7),
             layout.Column(t["enterprise"], "text"),
             layout.Column(t["paid_on"], "fixed"), layout.Column(t["reference"], "text", weight=0.7),
             layout.Column(t["amount"], "amount")],
            rows, total_rows=1,
        ))
    else:
        out.append(styles.para(t["no_paid"]))

    out.append(layout.verification_block(styles, meta, data.get("checkpoint")))
    return out


__all__ = ["TITLE", "story"]
