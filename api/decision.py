"""How a compensation decision travels: payer lines and explained steps."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from rules import Decision, Step
from rules.money import format_amount


class PayerOut(Schema):
    subfund = fields.String(metadata={"example": "GD-PROV"})
    share = fields.String(metadata={"example": "0.50"})
    amount = fields.String(metadata={"example": "375000.00"})
    template = fields.String(metadata={"description": "The payer as written in the rules, e.g. CITY-{city}"})
    fallback_used = fields.Boolean()


class StepOut(Schema):
    rule = fields.String(metadata={"example": "region_ratio"})
    detail = fields.String(metadata={"example": "region_ratio: 440500 in YDXB -> 0.70"})
    detail_zh = fields.String(metadata={"example": "地区比例：440500 属于 YDXB → 0.70"})
    params = fields.Dict()


def step_dict(step: Step) -> dict[str, Any]:
    return {"rule": step.rule, "detail": step.detail, "detail_zh": step.render("zh"), "params": dict(step.params)}


def decision_dict(decision: Decision) -> dict[str, Any]:
    return {
        "ratio": decision.ratio_text,
        "eligible_loss": format_amount(decision.eligible_loss),
        "compensation": format_amount(decision.compensation),
        "payers": [line.to_dict() for line in decision.payers],
        "steps": [step_dict(step) for step in decision.steps],
    }
