"""The simulation page (SPEC §8): choose a scheme, paste or upload a draft rule file,
set the scenario; see per sub-fund bars, the depletion curve and draft against
current. Nothing is recorded.

The form is read with the API's own schema (``api.simulations.SimulationIn``) and run
by the same service (``ledger.simulations.run_simulation``) on a read-only session.

For the rule-publishing flow: :func:`comparison_context` turns an answer into what
``console/_simulation_result.html`` (charts, tables) and
``console/_simulation_comparison.html`` (draft against current, per sub-fund) render;
include either with ``{% with sim=comparison_context(result) %}``.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from typing import Any

from flask import current_app, render_template, request
from marshmallow import ValidationError
from sqlalchemy import select

from api import context, db
from api.simulations import MAX_API_RUNS, MAX_LOAN_RUNS, SimulationIn
from ledger import simulations as service
from ledger.errors import DomainError
from ledger.models import Scheme
from rules.money import parse_amount

from . import simulation_charts
from .auth import PAGE_ROLES, roles_required
from .blueprint import bp
from .forms import read_document
from .formatting import money_text
from .i18n import Words, error_message, field_errors

#: This page's words, in the catalogs under ``page.simulations.``.
WORDS = Words("page.simulations.")


def w(key: str, **params: Any) -> str:
    text = WORDS[key]
    return text.format(**params) if params else text


def side_context(side: dict[str, Any]) -> dict[str, Any]:
    labels = {key: w(key) for key in ("available", "expected_payout", "p95_payout", "p99_payout")}
    lev = side["leverage"]
    return {
        "data": side,
        "depleted": {r["subfund"] for r in side["subfunds"] if Decimal(r["depletion_probability"]) > 0},
        "leverage": w("leverage", outstanding=money_text(lev["outstanding"]), available=money_text(lev["payer_available"]),
                      used=lev["used"] or "—", limit=lev["limit"] or "—", after=lev["used_after_expected_payout"] or "—"),
        "bars": simulation_charts.payout_chart(side["subfunds"], title=w("bars"), labels=labels),
        "curve": simulation_charts.depletion_chart(side["subfunds"], title=w("curve"), month_label=w("month")),
    }


def comparison_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per sub-fund: expected / P95 / P99 payout and depletion probability, current and
    draft, with the change (exact fen)."""
    if result.get("draft") is None:
        return []
    current = {r["subfund"]: r for r in result["current"]["subfunds"]}
    draft = {r["subfund"]: r for r in result["draft"]["subfunds"]}
    rows = []
    for code in sorted(set(current) | set(draft)):
        a, b = current.get(code), draft.get(code)
        row: dict[str, Any] = {"subfund": code}
        for key in ("expected_payout", "p95_payout", "p99_payout"):
            before = parse_amount(a[key]) if a else 0
            after = parse_amount(b[key]) if b else 0
            row[key] = (before, after, after - before)
        row["depletion"] = (a["depletion_probability"] if a else "0", b["depletion_probability"] if b else "0")
        rows.append(row)
    return rows


def comparison_context(result: dict[str, Any]) -> dict[str, Any]:
    """What the result and comparison partials render (see the module doc)."""
    return {
        "result": result,
        "current": side_context(result["current"]),
        "draft": side_context(result["draft"]) if result.get("draft") is not None else None,
        "comparison": comparison_rows(result),
        "w": w,
    }


def _draft_document() -> dict[str, Any] | None:
    """The draft from the upload, else the text area: JSON when it starts with ``{``, else TOML."""
    upload = request.files.get("rules_file")
    text = ""
    if upload is not None and upload.filename:
        text = upload.read(1_000_000).decode("utf-8")
    if not text.strip():
        text = request.form.get("rules", "")
    if not text.strip():
        return None
    return read_document(text)


def _integer(name: str, default: int) -> int | str:
    text = request.form.get(name, "").strip()
    if not text:
        return default
    return int(text) if text.isdigit() and text.isascii() else text  # the schema names a bad one


def _form_body() -> dict[str, Any]:
    rate = request.form.get("default_rate", "").strip()
    default_rate: Any = json.loads(rate) if rate.startswith("{") else rate
    return {
        "scheme": request.form.get("scheme", "").strip(),
        "scenario": {
            "as_of": request.form.get("as_of", "").strip(),
            "horizon_months": _integer("horizon_months", 12),
            "default_rate": default_rate,
            "recovery_rate": request.form.get("recovery_rate", "").strip(),
            "runs": _integer("runs", 1000),
            "seed": _integer("seed", 1),
        },
    }


@bp.route("/simulations", methods=["GET", "POST"])
@roles_required(PAGE_ROLES["simulations"])
def simulations_page():  # type: ignore[no-untyped-def]
    if db.has_session():
        # The login lookup ran on the request's writing session: end it so SQLite's write
        # lock is not held while the simulation runs on the read-only one below.
        db.session().commit()
    session = current_app.extensions["ledger_readonly_sessions"]()
    try:
        schemes = list(session.scalars(select(Scheme.code).order_by(Scheme.code)))
        form = {"scheme": schemes[0] if schemes else "", "as_of": context.today().isoformat(),
                "horizon_months": "12", "default_rate": "0.02", "recovery_rate": "0.3", "runs": "1000",
                "seed": "1", "rules": ""}
        error, sim = None, None
        if request.method == "POST":
            form.update({k: v for k, v in request.form.items() if k in form})
            try:
                body = _form_body()
                draft = _draft_document()
                data = SimulationIn().load({**body, "rules": draft})
                scenario = service.parse_scenario(data["scenario"])
                result = service.run_simulation(
                    session, data["scheme"], scenario, draft_document=data["rules"],
                    max_loan_runs=current_app.config.get("SIMULATION_MAX_LOAN_RUNS", MAX_LOAN_RUNS))
                sim = comparison_context(result)
            except ValidationError as err:
                error = field_errors(err.messages)  # type: ignore[arg-type]
            except DomainError as exc:
                error = error_message(exc) + (" " + field_errors(exc.errors) if exc.errors else "")
            except (ValueError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                error = w("bad_draft", error=str(exc)[:200])
        return render_template("console/simulations.html", schemes=schemes, form=form, error=error, sim=sim, w=w,
                               max_runs=MAX_API_RUNS)
    finally:
        session.rollback()
        session.close()


__all__ = ["comparison_context", "comparison_rows", "simulations_page"]
