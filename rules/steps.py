"""The steps that explain a computed figure (SPEC §3.1: "the bureau must see *why*").

A :class:`Step` holds the rule key, a compact English line, and the parameters that
line was made from. The ledger stores steps as JSON (:meth:`Step.to_dict`) and renders
them later in Chinese or English from the parameters, so a statement printed next year
shows the same explanation as the console today.

Every rule key has one English and one Chinese formatter, side by side below.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rules.money import ratio_text

Params = Mapping[str, Any]

#: Chinese names of the categories SPEC §2 defines; rules may name others, shown as is.
CATEGORY_NAMES_ZH = {
    "tech_sme": "科技型中小企业",
    "high_tech": "高新技术企业",
    "agri_tech": "农业类科技企业",
    "specialized_town": "专业镇内企业",
}

#: Chinese names of the limits, also used for caps applied later through ``limit_to``.
RULE_NAMES_ZH = {
    "per_claim_cap": "单笔补偿上限",
    "per_enterprise_cap": "单户累计补偿上限",
    "per_bank_annual_cap": "银行年度补偿上限",
    "portfolio_cap": "组合补偿上限",
}

#: Rule keys as English readers name them (the console's English page shows words, the
#: stored ``detail`` keeps the key for API clients and logs).
RULE_NAMES_EN = {
    "region_ratio": "Regional ratio",
    "size_tier": "Loan-size tier",
    "uplift": "Category uplift",
    "max_ratio": "Ratio limit",
    "eligible_loss": "Eligible loss",
    "compensation": "Compensation",
    "per_claim_cap": "Per-claim cap",
    "per_enterprise_cap": "Per-enterprise cap",
    "per_bank_annual_cap": "Per-bank annual cap",
    "portfolio_cap": "Portfolio cap",
    "payer_fallback": "Payer fallback",
    "payer_missing": "Payer missing",
    "split": "Split between payers",
    "repair": "Repair",
    "recovery_share": "Recovery share",
    "recovery_split": "Recovery split",
    "recovery_return": "Recovery returned",
}


@dataclass(frozen=True)
class Step:
    """One explained rule application, e.g. ``max_ratio: 0.85 -> 0.80``."""

    rule: str
    detail: str
    #: JSON-serializable; amounts and ratios as strings.
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = "en") -> str:
        """The step as a line of text in ``"zh"`` or ``"en"``."""
        if lang == "en":
            return self.detail
        if lang == "zh":
            formatter = _ZH.get(self.rule) or _cap_zh(self.rule)
            try:
                return formatter(self.params)
            except (KeyError, TypeError, ValueError):
                # A rule key this code does not know (stored by another version):
                # the English detail is always there.
                return self.detail
        raise ValueError(f'unsupported language {lang!r}: use "zh" or "en"')

    def words(self, lang: str) -> str:
        """As :meth:`render`, but English names the rule in words (``Ratio limit: 0.85 →
        0.80``) instead of by its key, for people rather than API clients."""
        if lang != "en":
            return self.render(lang)
        name = RULE_NAMES_EN.get(self.rule)
        prefix = f"{self.rule}: "
        if name is None or not self.detail.startswith(prefix):
            return self.detail
        return f"{name}: {self.detail[len(prefix):]}".replace(" -> ", " → ")

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "detail": self.detail, "params": copy.deepcopy(dict(self.params))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(str(data["rule"]), str(data["detail"]), copy.deepcopy(dict(data.get("params") or {})))


def make_step(rule: str, **params: Any) -> Step:
    """Build a step; its English detail comes from the rule's formatter."""
    formatter = _EN.get(rule)
    detail = formatter(params) if formatter is not None else _generic_en(rule, params)
    return Step(rule, detail, params)


# -- ratio display --------------------------------------------------------------------


def show_units(units: int) -> str:
    """A ratio held in ten-thousandths, shown with 2 to 4 decimals: 8000 -> "0.80"."""
    whole, frac = divmod(units, 10_000)
    digits = f"{frac:04d}".rstrip("0").ljust(2, "0")
    return f"{whole}.{digits}"


def show_ratio(value: Fraction | Decimal | int) -> str:
    """Exact when the ratio has at most four decimals, else rounded to four (display
    only: the calculator keeps blended ratios exact)."""
    scaled = Fraction(value) * 10_000
    if scaled.denominator == 1:
        return show_units(scaled.numerator)
    return "~" + ratio_text(Fraction(value))


def _zh_category(name: str) -> str:
    return CATEGORY_NAMES_ZH.get(name, name)


# -- formatters, English and Chinese per rule key ---------------------------------------


def _region_ratio_en(p: Params) -> str:
    source = p["source"]
    if source == "region":
        return f"region_ratio: {p['matched']} -> {p['ratio']}"
    if source == "group":
        return f"region_ratio: {p['matched']} in {p['group']} -> {p['ratio']}"
    if source == "base_ratio":
        return f"region_ratio: {p['region']} no entry, base_ratio -> {p['ratio']}"
    return f"region_ratio: {p['region']} no entry -> size_tiers"


def _region_ratio_zh(p: Params) -> str:
    source = p["source"]
    if source == "region":
        return f"地区比例：{p['matched']} → {p['ratio']}"
    if source == "group":
        return f"地区比例：{p['matched']} 属于 {p['group']} → {p['ratio']}"
    if source == "base_ratio":
        return f"地区比例：{p['region']} 无对应条目，按基础比例 → {p['ratio']}"
    return f"地区比例：{p['region']} 无对应条目 → 按贷款规模分档"


def _size_tier_en(p: Params) -> str:
    if p["mode"] == "marginal":
        parts = " + ".join(f"{s['amount']} x {s['ratio']}" for s in p["slices"])
        return f"size_tier: marginal {parts} -> {p['ratio']}"
    if p["above_last"]:
        return f"size_tier: {p['principal']} above the last tier {p['up_to']} -> {p['ratio']}"
    return f"size_tier: {p['principal']} up to {p['up_to']} -> {p['ratio']}"


def _size_tier_zh(p: Params) -> str:
    if p["mode"] == "marginal":
        parts = " + ".join(f"{s['amount']} × {s['ratio']}" for s in p["slices"])
        return f"规模分档（分段累进）：{parts} → {p['ratio']}"
    if p["above_last"]:
        return f"规模分档：{p['principal']} 超过最高档 {p['up_to']}，按最高档 → {p['ratio']}"
    return f"规模分档：{p['principal']} 不超过 {p['up_to']} → {p['ratio']}"


def _uplift_en(p: Params) -> str:
    items = ", ".join(f"{i['category']} +{i['uplift']}" for i in p["items"])
    if len(p["items"]) == 1:
        return f"uplift: {items}"
    if p["mode"] == "max":
        return f"uplift: max of {items} -> +{p['uplift']}"
    return f"uplift: {items} -> +{p['uplift']}"


def _uplift_zh(p: Params) -> str:
    items = "，".join(f"{_zh_category(i['category'])} +{i['uplift']}" for i in p["items"])
    if len(p["items"]) == 1:
        return f"类别上浮：{items}"
    if p["mode"] == "max":
        return f"类别上浮：{items}，取最高 +{p['uplift']}"
    return f"类别上浮：{items}，合计 +{p['uplift']}"


def _max_ratio_en(p: Params) -> str:
    if p.get("implicit"):
        return f"max_ratio: {p['before']} -> {p['ratio']} (never more than the loss)"
    # The limit itself is shown: "0.50 -> 0.50" alone would not say what was checked.
    return f"max_ratio: {p['before']} (limit {p['max']}) -> {p['ratio']}"


def _max_ratio_zh(p: Params) -> str:
    if p.get("implicit"):
        return f"比例上限 1（补偿不超过损失）：{p['before']} → {p['ratio']}"
    return f"比例上限 {p['max']}：{p['before']} → {p['ratio']}"


def _eligible_loss_en(p: Params) -> str:
    return f"eligible_loss: min(outstanding {p['outstanding']}, principal {p['principal']}) -> {p['eligible_loss']}"


def _eligible_loss_zh(p: Params) -> str:
    return f"可补偿损失：min(未偿本金 {p['outstanding']}，贷款本金 {p['principal']}) → {p['eligible_loss']}"


def _compensation_en(p: Params) -> str:
    return f"compensation: {p['ratio']} x {p['eligible_loss']} -> {p['compensation']}"


def _compensation_zh(p: Params) -> str:
    return f"补偿额：{p['ratio']} × {p['eligible_loss']} → {p['compensation']}（四舍五入到分）"


def _generic_en(rule: str, p: Params) -> str:
    return f"{rule}: {p['before']} -> {p['after']}"


def _cap_en(rule: str) -> Callable[[Params], str]:
    def en(p: Params) -> str:
        if rule == "per_enterprise_cap" and "used" in p:
            return f"{rule}: {p['before']} -> {p['after']} ({p['cap']} less {p['used']} already compensated)"
        if rule == "per_bank_annual_cap":
            return f"{rule}: {p['before']} -> {p['after']} ({p['cap']} left this year)"
        return _generic_en(rule, p)

    return en


def _cap_zh(rule: str) -> Callable[[Params], str]:
    def zh(p: Params) -> str:
        name = RULE_NAMES_ZH.get(rule, rule)
        if rule == "per_enterprise_cap" and "used" in p:
            return f"{name} {p['cap']}（已补偿 {p['used']}）：{p['before']} → {p['after']}"
        if rule == "per_bank_annual_cap":
            return f"{name}（本年剩余 {p['cap']}）：{p['before']} → {p['after']}"
        return f"{name} {p['cap']}：{p['before']} → {p['after']}"

    return zh


def _fill_failed(p: Params) -> bool:
    return p.get("expanded") is None


def _portfolio_cap_en(p: Params) -> str:
    return (f"portfolio_cap: {p['before']} -> {p['after']} (vintage {p['vintage']}: {p['rate']} x "
            f"{p['registered']} registered = {p['cap']}, {p['used']} already approved)")


def _portfolio_cap_zh(p: Params) -> str:
    return (f"组合补偿上限（{p['vintage']} 年发放：{p['rate']} × 备案本金 {p['registered']} = {p['cap']}，"
            f"已批准 {p['used']}）：{p['before']} → {p['after']}")


def _payer_fallback_en(p: Params) -> str:
    if _fill_failed(p):
        return f"payer_fallback: {p['template']} cannot be filled for {p['region']} -> {p['fallback']}"
    return f"payer_fallback: {p['expanded']} does not exist -> {p['fallback']}"


def _payer_fallback_zh(p: Params) -> str:
    if _fill_failed(p):
        return f"出资方替补：{p['region']} 无法填入 {p['template']} → {p['fallback']}"
    return f"出资方替补：{p['expanded']} 不存在 → {p['fallback']}"


def _payer_missing_en(p: Params) -> str:
    if _fill_failed(p):
        what = f"{p['template']} cannot be filled for {p['region']}"
    else:
        what = f"{p['expanded']} does not exist"
    if p.get("fallback") is None:
        return f"payer_missing: {what} and has no fallback"
    return f"payer_missing: {what} and its fallback {p['fallback']} does not exist either"


def _payer_missing_zh(p: Params) -> str:
    if _fill_failed(p):
        what = f"{p['region']} 无法填入 {p['template']}"
    else:
        what = f"{p['expanded']} 不存在"
    if p.get("fallback") is None:
        return f"出资方缺失：{what}，且未设替补"
    return f"出资方缺失：{what}，替补 {p['fallback']} 也不存在"


def _split_en(p: Params) -> str:
    lines = ", ".join(f"{line['subfund']} {line['share']} {line['amount']}" for line in p["lines"])
    where = "" if p.get("source", "payers") == "payers" else f" ({p['source']})"
    return f"split{where}: {p['total']} -> {lines}"


def _split_zh(p: Params) -> str:
    lines = "；".join(f"{line['subfund']} {line['share']} {line['amount']}" for line in p["lines"])
    where = "" if p.get("source", "payers") == "payers" else f"（{p['source']}）"
    return f"分摊{where}：{p['total']} → {lines}"


def _repair_en(p: Params) -> str:
    return f"repair: {p['before']} -> {p['after']} ({p['reason']})"


def _repair_zh(p: Params) -> str:
    return f"审批调减：{p['before']} → {p['after']}（理由：{p['reason']}）"


def _recovery_share_en(p: Params) -> str:
    return (
        f"recovery_share: min({p['recovered']}, {p['eligible_loss']}) x {p['compensation']}"
        f" / {p['eligible_loss']} -> {p['share']}"
    )


def _recovery_share_zh(p: Params) -> str:
    return (
        f"追偿分享：min(累计追回 {p['recovered']}，可补偿损失 {p['eligible_loss']}) × 补偿额 {p['compensation']}"
        f" ÷ {p['eligible_loss']} → {p['share']}"
    )


def _recovery_return_en(p: Params) -> str:
    return f"recovery_return: {p['cumulative_share']} less {p['returned_before']} already returned -> {p['returned_now']}"


def _recovery_return_zh(p: Params) -> str:
    return f"本次返还：{p['cumulative_share']} − 已返还 {p['returned_before']} → {p['returned_now']}"


def _recovery_split_en(p: Params) -> str:
    lines = ", ".join(f"{line['subfund']} {line['amount']}" for line in p["lines"])
    return f"recovery_split: {p['total']} by amounts paid -> {lines}"


def _recovery_split_zh(p: Params) -> str:
    lines = "；".join(f"{line['subfund']} {line['amount']}" for line in p["lines"])
    return f"返还分摊（按实付比例）：{p['total']} → {lines}"


_CAPS = ("per_claim_cap", "per_enterprise_cap", "per_bank_annual_cap")

_EN: dict[str, Callable[[Params], str]] = {
    "region_ratio": _region_ratio_en,
    "size_tier": _size_tier_en,
    "uplift": _uplift_en,
    "max_ratio": _max_ratio_en,
    "eligible_loss": _eligible_loss_en,
    "compensation": _compensation_en,
    **{rule: _cap_en(rule) for rule in _CAPS},
    "portfolio_cap": _portfolio_cap_en,
    "payer_fallback": _payer_fallback_en,
    "payer_missing": _payer_missing_en,
    "split": _split_en,
    "repair": _repair_en,
    "recovery_share": _recovery_share_en,
    "recovery_return": _recovery_return_en,
    "recovery_split": _recovery_split_en,
}

_ZH: dict[str, Callable[[Params], str]] = {
    "region_ratio": _region_ratio_zh,
    "size_tier": _size_tier_zh,
    "uplift": _uplift_zh,
    "max_ratio": _max_ratio_zh,
    "eligible_loss": _eligible_loss_zh,
    "compensation": _compensation_zh,
    **{rule: _cap_zh(rule) for rule in _CAPS},
    "portfolio_cap": _portfolio_cap_zh,
    "payer_fallback": _payer_fallback_zh,
    "payer_missing": _payer_missing_zh,
    "split": _split_zh,
    "repair": _repair_zh,
    "recovery_share": _recovery_share_zh,
    "recovery_return": _recovery_return_zh,
    "recovery_split": _recovery_split_zh,
}


__all__ = ["CATEGORY_NAMES_ZH", "RULE_NAMES_ZH", "Step", "make_step", "show_ratio", "show_units"]
