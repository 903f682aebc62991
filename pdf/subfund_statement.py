"""资金对账单: a sub-fund's statement for a period (SPEC §6).

The sub-fund's money is its available plus its reserved balance (a reservation moves
money between the two and leaves the total unchanged). The statement shows the
opening balance, every journal movement of the period with the running balance, the
totals by kind, and the closing balance, which ``ledger.statements`` has already
checked equals opening + movements and the journal's own balance at the period end.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable, Spacer

from . import layout
from .fonts import FontSetup

TITLE = {"zh": "资金对账单", "en": "Sub-fund Statement"}

OWNER_NAMES = {
    "zh": {"province": "省级", "city": "市级", "county": "县级", "insurer": "保险机构", "other": "其他"},
    "en": {},
}

L = {
    "zh": {
        "subtitle": "子基金 {code}　·　对账期间 {start} 至 {end}　·　数据截至 {end} 日终",
        "basics": "一、子基金信息",
        "code": "子基金代码",
        "name": "子基金名称",
        "owner": "出资方类型",
        "region": "地区",
        "period": "对账期间",
        "period_value": "{start} 至 {end}",
        "summary": "二、余额汇总",
        "item": "项目",
        "available": "可用资金（元）",
        "reserved": "冻结资金（元）",
        "total": "合计余额（元）",
        "opening": "期初余额",
        "movement": "本期变动",
        "closing": "期末余额",
        "journal": "总账余额（核对）",
        "check_ok": "核对结果：期末余额 = 期初余额 + 本期变动 = 总账余额，一致。",
        "reserved_note": "期末冻结资金（已批准、尚未支付的补偿）：{amount}。",
        "by_kind": "三、按业务类型汇总",
        "kind": "业务类型",
        "count": "笔数",
        "details": "四、资金变动明细（余额 = 可用 + 冻结）",
        "date": "记账日期",
        "seq": "凭证号",
        "memo": "摘要",
        "d_available": "可用变动（元）",
        "d_reserved": "冻结变动（元）",
        "d_total": "合计变动（元）",
        "balance": "余额（元）",
        "opening_row": "期初余额",
        "closing_row": "本期合计 / 期末余额",
        "ref": "参考号",
        "no_movements": "本期无资金变动。",
    },
    "en": {
        "subtitle": "Sub-fund {code} · period {start} to {end} · data as of the end of {end}",
        "basics": "1. Sub-fund",
        "code": "Code",
        "name": "Name",
        "owner": "Owner",
        "region": "Region",
        "period": "Period",
        "period_value": "{start} to {end}",
        "summary": "2. Balances",
        "item": "",
        "available": "Available (CNY)",
        "reserved": "Reserved (CNY)",
        "total": "Total (CNY)",
        "opening": "Opening balance",
        "movement": "Movements in the period",
        "closing": "Closing balance",
        "journal": "Journal balance (check)",
        "check_ok": "Check: closing balance = opening balance + movements = journal balance.",
        "reserved_note": "Reserved at the period end (approved claims not yet paid): {amount}.",
        "by_kind": "3. Totals by kind",
        "kind": "Kind",
        "count": "Count",
        "details": "4. Movements (balance = available + reserved)",
        "date": "Date",
        "seq": "Entry",
        "memo": "Description",
        "d_available": "Available (CNY)",
        "d_reserved": "Reserved (CNY)",
        "d_total": "Net (CNY)",
        "balance": "Balance (CNY)",
        "opening_row": "Opening balance",
        "closing_row": "Totals / closing balance",
        "ref": "ref.",
        "no_movements": "No movements in the period.",
    },
}


def movement_rows(data: dict[str, Any], lang: str) -> list[list[str]]:
    """The detail table's rows: opening, one per movement, then totals/closing."""
    t = L[lang]
    period, opening, totals, closing = data["period"], data["opening"], data["totals"], data["closing"]
    rows = [[period["from"], "", layout.name_of(layout.KIND_NAMES, lang, "opening"), t["opening_row"], "", "",
             layout.money(opening["total"])]]
    for m in data["movements"]:
        memo = m["memo"] or ""
        if m["reference"]:
            memo = f"{memo}（{t['ref']} {m['reference']}）" if lang == "zh" else f"{memo} ({t['ref']} {m['reference']})"
        rows.append([m["date"], str(m["seq"]), layout.name_of(layout.KIND_NAMES, lang, m["kind"]), memo,
                     layout.money(m["available"]), layout.money(m["reserved"]), layout.money(m["balance"])])
    rows.append([period["to"], "", "", t["closing_row"], layout.money(totals["available"]),
                 layout.money(totals["reserved"]),
                 layout.money(closing["total"])])
    return rows


MOVEMENT_COLUMNS = ("date", "seq", "kind", "memo", "d_available", "d_reserved", "balance")


def movement_columns(lang: str) -> list[layout.Column]:
    t = L[lang]
    return [layout.Column(t["date"], "fixed"), layout.Column(t["seq"], "fixed"), layout.Column(t["kind"], "fixed"),
            layout.Column(t["memo"], "text"), layout.Column(t["d_available"], "amount"),
            layout.Column(t["d_reserved"], "amount"),
            layout.Column(t["balance"], "amount")]


def story(data: dict[str, Any], meta: layout.StatementMeta, font: FontSetup) -> list[Flowable]:
    lang = meta.lang
    t = L[lang]
    styles = layout.Styles.of(font)
    subfund, period = data["subfund"], data["period"]
    opening, totals, closing, journal = data["opening"], data["totals"], data["closing"], data["journal"]
    out: list[Flowable] = layout.heading(
        styles, meta, [t["subtitle"].format(code=subfund["code"], start=period["from"], end=period["to"])], font)

    out.append(layout.section(styles, t["basics"]))
    out.append(layout.kv_table(styles, [
        (t["code"], subfund["code"]),
        (t["name"], subfund["name"]),
        (t["owner"], layout.name_of(OWNER_NAMES, lang, subfund["owner_type"])),
        (t["region"], layout.region_text(subfund)),
        (t["period"], t["period_value"].format(start=period["from"], end=period["to"])),
        (layout.COMMON[lang]["as_of"], f"{period['to']} 24:00" if lang == "zh" else f"end of {period['to']}"),
    ]))

    out.append(layout.section(styles, t["summary"]))
    out.append(layout.data_table(
        styles,
        [layout.Column(t["item"], "text"), layout.Column(t["available"], "amount", min_width=95),
         layout.Column(t["reserved"], "amount", min_width=95), layout.Column(t["total"], "amount", min_width=95)],
        [
            [t["opening"], layout.money(opening["available"]), layout.money(opening["reserved"]),
             layout.money(opening["total"])],
            [t["movement"], layout.money(totals["available"]), layout.money(totals["reserved"]),
             layout.money(totals["net"])],
            [t["closing"], layout.money(closing["available"]), layout.money(closing["reserved"]),
             layout.money(closing["total"])],
            [t["journal"], layout.money(journal["available"]), layout.money(journal["reserved"]),
             layout.money(journal["total"])],
        ],
        total_rows=2, font_size=8.5,
    ))
    out.append(Spacer(1, 3))
    out.append(styles.para(t["check_ok"], styles.small))
    out.append(styles.para(t["reserved_note"].format(amount=layout.money_yuan(closing["reserved"], lang)),
                           styles.small))

    out.append(layout.section(styles, t["by_kind"]))
    kind_rows = [[layout.name_of(layout.KIND_NAMES, lang, k["kind"]), str(k["count"]), layout.money(k["available"]),
                  layout.money(k["reserved"]),
                  layout.money(k["net"])] for k in data["by_kind"]]
    kind_rows.append([layout.COMMON[lang]["dash"] if not kind_rows else ("合计" if lang == "zh" else "Total"),
                      str(totals["count"]), layout.money(totals["available"]), layout.money(totals["reserved"]),
                      layout.money(totals["net"])])
    out.append(layout.data_table(
        styles,
        [layout.Column(t["kind"], "text"), layout.Column(t["count"], "amount"),
         layout.Column(t["d_available"], "amount", min_width=95),
         layout.Column(t["d_reserved"], "amount", min_width=95), layout.Column(t["d_total"], "amount", min_width=95)],
        kind_rows, total_rows=1, font_size=8.5,
    ))

    out.append(layout.section(styles, t["details"]))
    if not data["movements"]:
        out.append(styles.para(t["no_movements"], styles.small))
    out.append(layout.data_table(styles, movement_columns(lang), movement_rows(data, lang), total_rows=1))
    out.append(layout.verification_block(styles, meta, data.get("checkpoint")))
    return out


__all__ = ["MOVEMENT_COLUMNS", "TITLE", "movement_columns", "movement_rows", "story"]
