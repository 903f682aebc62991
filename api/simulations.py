"""What-if and stress simulation over the live portfolio (SPEC §8). Records nothing."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from rules import simulation
from ledger import simulations as service

from . import db
from .auth import BUREAU_READ, require_roles
from .fields import Code, Date, Int, Pattern
from .parsing import Blueprint

blp = Blueprint("simulations", __name__, url_prefix="/api/v1/simulations",
                description="What-if and stress simulation (SPEC §8); nothing is recorded")

#: Runs per request: enough for stable P99s, small enough for a request (the CLI takes more).
MAX_API_RUNS = 10_000
#: Loans x runs per request (x2 with a draft): about a minute of one core; beyond it the
#: answer is 422 ``simulation_too_large`` naming the runs that fit.
MAX_LOAN_RUNS = 200_000_000

_PROBABILITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,6})?$", "example": "0.02"}


_RATE_TABLE = {
    "type": "object", "required": ["default"], "additionalProperties": False,
    "properties": {
        "default": _PROBABILITY,
        "banks": {"type": "object", "additionalProperties": _PROBABILITY,
                  "description": "bank code -> probability (most specific)"},
        "regions": {"type": "object", "additionalProperties": _PROBABILITY,
                    "description": "region code prefix (1-6 digits) -> probability; the longest wins"},
        "categories": {"type": "object", "additionalProperties": _PROBABILITY,
                       "description": "category -> probability; the highest of the loan's wins"},
    },
}


class ScenarioIn(Schema):
    as_of = Date(required=True, metadata={"description": "The portfolio as of the end of this day"})
    horizon_months = Int(required=True, strict=True, validate=validate.Range(1, 120))
    # One probability for every loan, or a table; checked by simulation.parse_scenario,
    # which names the offending entry (scenario.default_rate.regions.4405).
    default_rate = fields.Raw(required=True, metadata={
        "description": "Probability of default over the horizon: a decimal string, or a table",
        "oneOf": [_PROBABILITY, _RATE_TABLE]})
    recovery_rate = fields.String(required=True, validate=validate.Regexp(r"^[0-9]+(\.[0-9]{1,4})?\Z"),
                                  metadata={"example": "0.30",
                                            "description": "Share of the eligible loss recovered after default"})
    runs = Int(required=True, strict=True, validate=validate.Range(1, MAX_API_RUNS))
    seed = Int(required=True, strict=True, validate=validate.Range(0, simulation.scenario.MAX_SEED))


class SimulationIn(Schema):
    scheme = Code(required=True, validate=Pattern(r"^[A-Z][A-Z0-9-]{1,39}$"),
                           metadata={"example": "GD-KJD"})
    rules = fields.Dict(load_default=None, allow_none=True,
                        metadata={"description": "A draft rule document, validated like a published one; "
                                                 "never published"})
    scenario = fields.Nested(ScenarioIn, required=True)


class SubFundResultOut(Schema):
    subfund = fields.String()
    available = fields.String()
    contingent_liability = fields.String(metadata={"description": "Owed if every live loan defaulted now"})
    expected_payout = fields.String()
    p95_payout = fields.String()
    p99_payout = fields.String()
    max_payout = fields.String()
    depletion_probability = fields.String(metadata={
        "description": "Share of runs in which the sub-fund ran dry, six decimals (\"0.012500\")"})
    expected_depletion_month = fields.String(allow_none=True, metadata={
        "description": "Mean month of depletion over those runs, two decimals; null if it never ran dry"})
    depletion_curve = fields.List(fields.String(), metadata={
        "description": "P(depleted by month m), m = 1..horizon, six decimals each"})


class BankResultOut(Schema):
    bank = fields.String()
    contingent_liability = fields.String()
    expected_payout = fields.String()
    p95_payout = fields.String()
    portfolio_cap_used = fields.String(allow_none=True)


class StepResultOut(Schema):
    rule = fields.String()
    basis = fields.String(metadata={"description": "portfolio: every live loan defaulting; simulation: per run"})
    loans = fields.Integer()
    compensation = fields.String()
    reduced_by = fields.String()


class LeverageOut(Schema):
    outstanding = fields.String(metadata={"description": "Live outstanding principal"})
    payer_available = fields.String(metadata={"description": "Available money of the sub-funds that pay"})
    limit = fields.String(allow_none=True, metadata={"description": "pool.leverage of the rules"})
    used = fields.String(allow_none=True, metadata={"description": "outstanding / payer_available"})
    used_after_expected_payout = fields.String(allow_none=True)


class ResultOut(Schema):
    subfunds = fields.List(fields.Nested(SubFundResultOut))
    banks = fields.List(fields.Nested(BankResultOut))
    steps = fields.List(fields.Nested(StepResultOut))
    leverage = fields.Nested(LeverageOut)


class SimulationOut(Schema):
    scheme = fields.String()
    as_of = fields.Date()
    loans = fields.Integer()
    scenario = fields.Dict()
    current = fields.Nested(ResultOut)
    draft = fields.Nested(ResultOut, allow_none=True)


@blp.route("")
class Simulations(MethodView):
    @require_roles(*BUREAU_READ)
    @blp.arguments(SimulationIn)
    @blp.response(200, SimulationOut)
    def post(self, data):  # type: ignore[no-untyped-def]
        """Simulate defaults over the live portfolio, for the rules in force and a draft.

        Nothing is recorded: not the journal, not the audit log, not a balance. The same
        seed gives byte-identical answers.
        """
        scenario = service.parse_scenario(data["scenario"])
        # The request's own (writing) session only looked up the token and stamped its
        # last use: end that transaction now, so that SQLite's write lock is not held
        # while the simulation runs, and read the portfolio on a read-only session.
        db.session().commit()
        session = current_app.extensions["ledger_readonly_sessions"]()
        try:
            result = service.run_simulation(session, data["scheme"], scenario, draft_document=data["rules"],
                                            max_loan_runs=current_app.config.get("SIMULATION_MAX_LOAN_RUNS",
                                                                                 MAX_LOAN_RUNS))
        finally:
            session.rollback()
            session.close()
        return Response(simulation.dumps(result), mimetype="application/json")
