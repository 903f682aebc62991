"""模拟测算报告: a simulation's answer (SPEC §8) as a PDF, for the bureau's files.

A pure renderer: the JSON-ready answer of :func:`rules.simulation.simulate` in, PDF
bytes out. Amounts are printed exactly as the answer gives them (decimal strings);
bar lengths are whole points computed from integer fen, so no float touches money
even in the drawing. Probabilities are shown as percentages.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import IO, Any

from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.platypus import Flowable, Spacer

from rules.money import format_grouped, parse_amount, percent_text, ratio_text, round_half_up

from .fonts import FontSetup
from . import layout

TITLE = {"zh": "风险补偿资金压力测试报告", "en": "Risk Compensation Stress Simulation"}

L = {
    "zh": {
        "subtitle": "方案 {scheme}　·　组合截至 {as_of} 日终　·　在贷 {loans} 笔",
        "scenario": "一、情景", "as_of": "测算基准日", "horizon": "测算期（月）", "default_rate": "违约概率",
        "recovery_rate": "回收率", "runs": "模拟次数", "seed": "随机种子",
        "subfunds": "二、子基金（现行规则）", "draft_subfunds": "三、子基金（草案规则）",
        "subfund": "子基金", "available": "可用余额", "contingent": "或有负债", "expected": "预期赔付",
        "p95": "95% 分位", "p99": "99% 分位", "depletion": "耗尽概率", "month": "预期耗尽月",
        "chart": "可用余额（灰）与预期 / P95 / P99 赔付", "curve": "累计耗尽概率（按月）",
        "compare": "四、草案与现行规则对比（预期赔付）", "current": "现行", "draft": "草案", "change": "变化",
        "banks": "五、合作银行", "bank": "银行", "cap_used": "组合上限使用率",
        "steps": "六、规则步骤汇总", "rule": "规则", "basis": "口径", "loans": "笔数", "compensation": "补偿金额",
        "reduced": "上限削减", "portfolio": "全部违约", "simulation": "每次模拟平均",
        "none": "无", "no_draft": "未提供草案规则。",
        "leverage": "放大倍数：在贷余额 {outstanding} ÷ 出资子基金可用 {available} = {used}（上限 {limit}）；预期赔付后 {after}。",
        "note": "本报告为测算结果，不构成记账；未写入总账、审计日志或任何余额。同一随机种子得到相同结果。",
    },
    "en": {
        "subtitle": "Scheme {scheme} · portfolio as of the end of {as_of} · {loans} live loans",
        "scenario": "1. Scenario", "as_of": "As of", "horizon": "Horizon (months)", "default_rate": "Default rate",
        "recovery_rate": "Recovery rate", "runs": "Runs", "seed": "Seed",
        "subfunds": "2. Sub-funds (rules in force)", "draft_subfunds": "3. Sub-funds (draft rules)",
        "subfund": "Sub-fund", "available": "Available", "contingent": "Contingent", "expected": "Expected payout",
        "p95": "P95", "p99": "P99", "depletion": "P(depleted)", "month": "Expected month",
        "chart": "Available (grey) against expected / P95 / P99 payout", "curve": "Probability depleted by month",
        "compare": "4. Draft against the rules in force (expected payout)", "current": "In force",
        "draft": "Draft", "change": "Change",
        "banks": "5. Banks", "bank": "Bank", "cap_used": "Portfolio cap used",
        "steps": "6. Steps in aggregate", "rule": "Rule", "basis": "Basis", "loans": "Loans",
        "compensation": "Compensation", "reduced": "Reduced by", "portfolio": "all default",
        "simulation": "per run", "none": "none", "no_draft": "No draft rules were given.",
        "leverage": "Leverage: outstanding {outstanding} / payers' available {available} = {used} (limit {limit}); "
                    "after the expected payout {after}.",
        "note": "A simulation, not a booking: nothing was written to the journal, the audit log or any "
                "balance. The same seed gives the same result.",
    },
}

_SERIES = ("expected_payout", "p95_payout", "p99_payout")
_SHADES = ("#c98b8b", "#a65252", "#8b1a1a")


def _percent(p: str | None) -> str:
    return "-" if p is None else percent_text(p)


def _height(full: int, probability: str) -> float:
    """Points above the axis for a probability (decimal string): hundredths of a point
    from the exact ratio, the drawing's unit only then."""
    return round_half_up(Fraction(probability) * full * 100) / 100


def _money(text: str) -> str:
    return format_grouped(parse_amount(text))


def _rate_text(rate: Any) -> str:
    if isinstance(rate, str):
        return rate
    parts = [f"default {rate['default']}"]
    for key in ("banks", "regions", "categories"):
        parts += [f"{name} {value}" for name, value in rate.get(key, {}).items()]
    return "; ".join(parts)


def _leverage(styles: layout.Styles, t: dict[str, str], side: dict[str, Any]) -> Flowable:
    lev = side["leverage"]
    return styles.para(t["leverage"].format(outstanding=_money(lev["outstanding"]), available=_money(lev["payer_available"]),
                                            used=lev["used"] or "-", limit=lev["limit"] or "-",
                                            after=lev["used_after_expected_payout"] or "-"), styles.small)


def _subfund_table(styles: layout.Styles, t: dict[str, str], rows: list[dict[str, Any]]) -> Flowable:
    columns = [layout.Column(t["subfund"], "fixed"), layout.Column(t["available"], "amount"), layout.Column(t["contingent"], "amount"),
               layout.Column(t["expected"], "amount"), layout.Column(t["p95"], "amount"), layout.Column(t["p99"], "amount"),
               layout.Column(t["depletion"], "amount"), layout.Column(t["month"], "amount")]
    body = [[r["subfund"], _money(r["available"]), _money(r["contingent_liability"]), _money(r["expected_payout"]),
             _money(r["p95_payout"]), _money(r["p99_payout"]), _percent(r["depletion_probability"]),
             "-" if r["expected_depletion_month"] is None else ratio_text(Fraction(r["expected_depletion_month"]), 1)]
            for r in rows]
    return layout.data_table(styles, columns, body, font_size=7.5)


def _bars(styles: layout.Styles, t: dict[str, str], rows: list[dict[str, Any]]) -> Drawing:
    """Per sub-fund: available as a grey bar, expected / P95 / P99 as thinner bars."""
    label_w, bar_w, row_h = 80, int(layout.FRAME_WIDTH) - 90, 26
    top = max([parse_amount(r[k]) for r in rows for k in ("available", *_SERIES)] + [1])
    drawing = Drawing(layout.FRAME_WIDTH, row_h * len(rows) + 18)
    drawing.add(String(0, row_h * len(rows) + 6, t["chart"], fontName=styles.font, fontSize=7.5))
    for i, r in enumerate(rows):
        y = row_h * (len(rows) - 1 - i)
        drawing.add(String(0, y + 10, r["subfund"], fontName=styles.font, fontSize=7))
        # Whole points from integer fen: the geometry never goes through a float of money.
        width = parse_amount(r["available"]) * bar_w // top
        drawing.add(Rect(label_w, y + 14, width, 7, fillColor=layout.GRID, strokeColor=None))
        for j, (key, shade) in enumerate(zip(_SERIES, _SHADES)):
            width = parse_amount(r[key]) * bar_w // top
            drawing.add(Rect(label_w, y + 10 - 3 * j, width, 2.5, fillColor=colors.HexColor(shade), strokeColor=None))
    return drawing


def _curves(styles: layout.Styles, t: dict[str, str], rows: list[dict[str, Any]]) -> Drawing | None:
    """Cumulative probability of depletion by month, one line per sub-fund that can run dry."""
    shown = [r for r in rows if Decimal(r["depletion_probability"]) > 0]
    if not shown:
        return None
    width, height, left, bottom = layout.FRAME_WIDTH, 120, 30, 16
    plot_w, plot_h = width - left - 90, height - bottom - 14
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 8, t["curve"], fontName=styles.font, fontSize=7.5))
    drawing.add(Line(left, bottom, left + plot_w, bottom, strokeColor=layout.RULE))
    drawing.add(Line(left, bottom, left, bottom + plot_h, strokeColor=layout.RULE))
    drawing.add(String(left - 4, bottom + plot_h - 3, "100%", fontName=styles.font, fontSize=6, textAnchor="end"))
    drawing.add(String(left - 4, bottom - 3, "0", fontName=styles.font, fontSize=6, textAnchor="end"))
    months = len(shown[0]["depletion_curve"])
    drawing.add(String(left + plot_w, bottom - 10, str(months), fontName=styles.font, fontSize=6, textAnchor="end"))
    for n, r in enumerate(shown[:6]):
        points: list[float] = []
        for m, p in enumerate(r["depletion_curve"], start=1):
            points += [left + plot_w * m / months, bottom + _height(plot_h, p)]
        drawing.add(PolyLine([left, bottom] + points, strokeColor=layout.ACCENT if n == 0 else layout.RULE,
                             strokeWidth=1.2 if n == 0 else 0.7, strokeDashArray=None if n == 0 else [2, n]))
        drawing.add(String(left + plot_w + 4, bottom + _height(plot_h, r["depletion_curve"][-1]) - 2, r["subfund"],
                           fontName=styles.font, fontSize=6))
    return drawing


def story(result: dict[str, Any], meta: layout.StatementMeta, font: FontSetup) -> list[Flowable]:
    styles = layout.Styles.of(font)
    t = L[meta.lang]
    scenario = result["scenario"]
    flow: list[Flowable] = layout.heading(styles, meta, [t["subtitle"].format(
        scheme=result["scheme"], as_of=result["as_of"], loans=f"{result['loans']:,}")], font)
    flow += [layout.section(styles, t["scenario"]), layout.kv_table(styles, [
        (t["as_of"], scenario["as_of"]), (t["horizon"], str(scenario["horizon_months"])),
        (t["default_rate"], _rate_text(scenario["default_rate"])), (t["recovery_rate"], scenario["recovery_rate"]),
        (t["runs"], f"{scenario['runs']:,}"), (t["seed"], str(scenario["seed"])),
    ])]
    current, draft = result["current"], result["draft"]
    flow += [layout.section(styles, t["subfunds"]), _subfund_table(styles, t, current["subfunds"]), Spacer(1, 2),
             _leverage(styles, t, current), Spacer(1, 4), _bars(styles, t, current["subfunds"])]
    curve = _curves(styles, t, current["subfunds"])
    if curve is not None:
        flow += [Spacer(1, 4), curve]
    flow.append(layout.section(styles, t["draft_subfunds"]))
    if draft is None:
        flow.append(styles.para(t["no_draft"]))
    else:
        flow += [_subfund_table(styles, t, draft["subfunds"]), Spacer(1, 2), _leverage(styles, t, draft),
                 Spacer(1, 4), _bars(styles, t, draft["subfunds"])]
        flow += [layout.section(styles, t["compare"]), comparison_table(styles, t, current, draft)]
    flow += [layout.section(styles, t["banks"]), layout.data_table(styles, [
        layout.Column(t["bank"], "fixed"), layout.Column(t["contingent"], "amount"), layout.Column(t["expected"], "amount"),
        layout.Column(t["p95"], "amount"), layout.Column(t["cap_used"], "amount")],
        [[b["bank"], _money(b["contingent_liability"]), _money(b["expected_payout"]), _money(b["p95_payout"]),
          b["portfolio_cap_used"] or t["none"]] for b in current["banks"]], font_size=7.5)]
    flow += [layout.section(styles, t["steps"]), layout.data_table(styles, [
        layout.Column(t["rule"]), layout.Column(t["basis"], "fixed"), layout.Column(t["loans"], "amount"),
        layout.Column(t["compensation"], "amount"), layout.Column(t["reduced"], "amount")],
        [[s["rule"], t[s["basis"]], f"{s['loans']:,}", _money(s["compensation"]),
          _money(s["reduced_by"]) if "reduced_by" in s else ""] for s in current["steps"]], font_size=7.5)]
    flow += [Spacer(1, 6), styles.para(t["note"], styles.small)]
    return flow


def comparison_table(styles: layout.Styles, t: dict[str, str], current: dict[str, Any], draft: dict[str, Any]) -> Flowable:
    now = {r["subfund"]: parse_amount(r["expected_payout"]) for r in current["subfunds"]}
    then = {r["subfund"]: parse_amount(r["expected_payout"]) for r in draft["subfunds"]}
    rows = []
    for code in sorted(set(now) | set(then)):
        a, b = now.get(code, 0), then.get(code, 0)
        rows.append([code, format_grouped(a), format_grouped(b), ("+" if b > a else "") + format_grouped(b - a)])
    return layout.data_table(styles, [layout.Column(t["subfund"], "fixed"), layout.Column(t["current"], "amount"),
                               layout.Column(t["draft"], "amount"), layout.Column(t["change"], "amount")], rows, font_size=7.5)


def render(result: dict[str, Any], meta: layout.StatementMeta, font: FontSetup, out: IO[bytes]) -> int:
    """Render the report into ``out``; returns its page count."""
    return layout.build_pdf(meta, font, story(result, meta, font), out)


__all__ = ["L", "TITLE", "render"]
