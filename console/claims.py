"""The claim queue, a claim's detail, and the bureau's actions on it.

Every action posts a form that is read with the API's schema and handed to the same
ledger service the API calls (``ledger.claims``, ``ledger.approvals``,
``ledger.clawbacks``); the console decides nothing about money. A refusal rolls the
request back before the redirect (a 302 would otherwise be committed by the request
boundary) and is shown as a sentence in the session's language.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, send_file, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy import select

from api import context, db
from api.claims import QUEUE_FILTERS, ApproveIn, ClaimQuery, ClawbackIn, PayIn, ReasonIn, ReviewIn, claim_dict
from ledger import approvals, claims, clawbacks, dossiers
from ledger.errors import DomainError
from ledger.models import CLAIM_STATUSES, Bank, Claim, Scheme, User
from rules import Step

from .auth import PAGE_ROLES, current_user, roles_required
from .blueprint import bp
from .forms import load_args, load_form
from .formatting import money_text
from .i18n import CATEGORIES, current_lang, error_message, field_errors, label, t
from .paging import paginate

#: What each action needs: the roles the service's API endpoint requires, and the
#: states in which the button is offered (the service still decides; this only keeps
#: buttons that cannot work off the page).
ACTIONS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "review": (frozenset({"reviewer"}), ("submitted",)),
    "approve": (frozenset({"approver"}), ("reviewed",)),
    "reject": (frozenset({"approver"}), ("submitted", "reviewed", "approved")),
    "pay": (frozenset({"approver", "fund_admin"}), ("approved",)),
    "clawback": (frozenset({"approver"}), ("paid",)),
}


def allowed_actions(user: User, claim: Claim) -> list[str]:
    return [name for name, (roles, states) in ACTIONS.items() if user.roles & roles and claim.status in states]


# -- queue ------------------------------------------------------------------------------------


@bp.get("/claims")
@roles_required(PAGE_ROLES["claims"])
def claims_queue():  # type: ignore[no-untyped-def]
    session = db.session()
    try:
        query = load_args(ClaimQuery())
    except ValidationError as err:
        flash(t("form.invalid", fields=field_errors(err.messages)), "error")  # type: ignore[arg-type]
        query = ClaimQuery().load({})
    today = context.today()
    filters = {k: query.get(k) for k in QUEUE_FILTERS}
    stmt = claims.queue_query(today=today, sort=query["sort"], **filters)
    page = paginate(session, stmt, query["page"])
    banks = dict(session.execute(select(Bank.id, Bank.code).order_by(Bank.code)).all())
    schemes = list(session.scalars(select(Scheme.code).order_by(Scheme.code)))
    return render_template("console/claims.html", page=page, query=query, banks=banks, schemes=schemes,
                           statuses=CLAIM_STATUSES, today=today, sorts=claims.QUEUE_SORTS,
                           awaiting=claims.AWAITING_DECISION)


# -- detail -----------------------------------------------------------------------------------


@bp.get("/claims/<int:claim_id>")
@roles_required(PAGE_ROLES["claims"])
def claim_detail(claim_id: int):  # type: ignore[no-untyped-def]
    claim = claims.get_claim(db.session(), claim_id)
    lang = current_lang()
    steps = [Step.from_dict(s) for s in claim.decision.get("steps", [])]
    return render_template(
        "console/claim.html", claim=claim, c=claim_dict(claim), loan=claim.loan,
        steps=[(s.rule, s.words(lang)) for s in steps],
        categories=("、" if lang == "zh" else ", ").join(label(CATEGORIES, c) for c in claim.loan.categories),
        actions=allowed_actions(current_user(), claim), today=context.today(),
        checklist=dossiers.checklist(db.session(), claim), documents=dossiers.documents_of(db.session(), claim),
        overdue=claims.is_overdue(claim, context.today()), kind_names=dossiers.KIND_NAMES_ZH,
    )


@bp.get("/claims/<int:claim_id>/documents/<int:document_id>")
@roles_required(PAGE_ROLES["claims"])
def claim_document(claim_id: int, document_id: int):  # type: ignore[no-untyped-def]
    """A dossier document, downloaded as the bank uploaded it."""
    session = db.session()
    document = dossiers.get_document(session, claims.get_claim(session, claim_id), document_id)
    response = send_file(io.BytesIO(document.content), mimetype=document.content_type, as_attachment=True,
                         download_name=document.filename, etag=document.sha256)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- actions ----------------------------------------------------------------------------------


def _act(claim_id: int, schema: Schema, run: Callable[[Claim, dict[str, Any]], str]):  # type: ignore[no-untyped-def]
    """Load the form, lock the claim, run the service; flash the outcome and go back."""
    session = db.session()
    try:
        data = load_form(schema)
        claim = claims.get_claim(session, claim_id, lock=True)
        message = run(claim, data)
    except ValidationError as err:
        session.rollback()
        flash(t("form.invalid", fields=field_errors(err.messages)), "error")  # type: ignore[arg-type]
    except DomainError as exc:
        session.rollback()  # nothing of a refused action may be committed
        flash(error_message(exc), "error")
    else:
        flash(message, "success")
    return redirect(url_for(".claim_detail", claim_id=claim_id))


def _roles(action: str) -> frozenset[str]:
    return ACTIONS[action][0]


@bp.post("/claims/<int:claim_id>/review")
@roles_required(_roles("review"))
def review(claim_id: int):  # type: ignore[no-untyped-def]
    def run(claim: Claim, data: dict[str, Any]) -> str:
        claims.review_claim(db.session(), claim, reviewer=current_user(), **data)
        if data["recommendation"] == "return":
            return t("done.return", id=claim.id)
        return t("done.review", id=claim.id)

    return _act(claim_id, ReviewIn(), run)


@bp.post("/claims/<int:claim_id>/approve")
@roles_required(_roles("approve"))
def approve(claim_id: int):  # type: ignore[no-untyped-def]
    def run(claim: Claim, data: dict[str, Any]) -> str:
        approvals.approve_claim(db.session(), claim, approver=current_user(), today=context.today(), **data)
        return t("done.approve", id=claim.id, amount=money_text(claim.approved_amount))

    return _act(claim_id, ApproveIn(), run)


@bp.post("/claims/<int:claim_id>/reject")
@roles_required(_roles("reject"))
def reject(claim_id: int):  # type: ignore[no-untyped-def]
    def run(claim: Claim, data: dict[str, Any]) -> str:
        approvals.reject_claim(db.session(), claim, approver=current_user(), reason=data["reason"],
                               today=context.today())
        return t("done.reject", id=claim.id)

    return _act(claim_id, ReasonIn(), run)


@bp.post("/claims/<int:claim_id>/pay")
@roles_required(_roles("pay"))
def pay(claim_id: int):  # type: ignore[no-untyped-def]
    def run(claim: Claim, data: dict[str, Any]) -> str:
        approvals.pay_claim(db.session(), claim, actor=current_user().name, today=context.today(), **data)
        return t("done.pay", id=claim.id)

    return _act(claim_id, PayIn(), run)


@bp.post("/claims/<int:claim_id>/clawback")
@roles_required(_roles("clawback"))
def clawback(claim_id: int):  # type: ignore[no-untyped-def]
    def run(claim: Claim, data: dict[str, Any]) -> str:
        made = clawbacks.claw_back(db.session(), claim, approver=current_user(), today=context.today(), **data)
        return t("done.clawback", id=claim.id, amount=money_text(made.amount))

    return _act(claim_id, ClawbackIn(), run)

