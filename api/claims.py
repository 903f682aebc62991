"""Claims: the bank files and follows them, the bureau reviews, approves, pays (SPEC §4, §6)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError
from sqlalchemy.orm.util import identity_key
from sqlalchemy import func, select

from ledger import approvals, claims, clawbacks, dossiers, recoveries
from ledger.claims import ClaimInput
from ledger.models import CLAIM_STATUSES, Claim, Recovery, User
from rules import Step
from rules.money import format_amount

from . import context, db
from .auth import BUREAU_READ, actor_name, bank_id_of_caller, current_user, require_roles
from .decision import PayerOut, StepOut, step_dict
from .fields import Code, Date, DateTime, Int, Money, Pattern, Text, utc_isoformat
from .idempotency import idempotent
from .pagination import PageQuery, envelope, page_schema
from .parsing import Blueprint

blp = Blueprint("claims", __name__, url_prefix="/api/v1/claims", description="Loss claims and their lifecycle")
OWNER_OR_BUREAU = ("bank", *BUREAU_READ)
#: ClaimQuery's filters, passed to ledger.claims.queue_query as they are.
QUEUE_FILTERS = ("status", "bank", "scheme", "region", "min_age_days", "max_age_days", "overdue", "decide_by_before")
#: Age filters reach back a century at most (and so stay far from date.min).
MAX_AGE_DAYS = 36_500


# -- schemas ---------------------------------------------------------------------------------


class ClaimIn(Schema):
    loan_id = Int(required=True, strict=True, minimum=1)
    default_on = Date(required=True)
    outstanding_principal = Money(required=True)


class ClaimAmendIn(Schema):
    default_on = Date(required=True)
    outstanding_principal = Money(required=True)


class ReasonIn(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class ReviewIn(Schema):
    recommendation = Code(required=True, validate=validate.OneOf(["approve", "reject", "return"]))
    comment = Text(required=True, validate=validate.Length(min=1, max=2000))


class ApproveIn(Schema):
    amount = Money(load_default=None, allow_zero=False,
                   metadata={"description": "Approve less than computed (a repair); needs a reason"})
    reason = Text(load_default=None, validate=validate.Length(max=2000))


class PayIn(Schema):
    payment_reference = Code(required=True, validate=validate.Length(min=1, max=120))
    paid_on = Date(required=True)


class RecoveryIn(Schema):
    amount = Money(required=True, allow_zero=False)
    recovered_on = Date(required=True)


class ClawbackIn(Schema):
    amount = Money(load_default=None, allow_zero=False, metadata={"description": "Default: everything still clawable"})
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class ClaimQuery(PageQuery):
    status = Code(validate=validate.OneOf(CLAIM_STATUSES))
    bank = Code()
    scheme = Code()
    region = Code(validate=Pattern(r"^[0-9]{2,6}$"),
                           metadata={"description": "A region code or its prefix: 44 (province), 4407 (city)"})
    min_age_days = Int(maximum=MAX_AGE_DAYS, metadata={"description": "Submitted at least N days ago"})
    max_age_days = Int(maximum=MAX_AGE_DAYS, metadata={"description": "Submitted at most N days ago"})
    overdue = fields.Boolean(metadata={"description": "Only claims awaiting a decision past decide_by (true) or the others (false)"})
    decide_by_before = Date(metadata={"description": "Only claims due on or before this date"})
    sort = Code(load_default="submitted_at", validate=validate.OneOf(claims.QUEUE_SORTS),
                         metadata={"description": "submitted_at (oldest first), decide_by (earliest due first); - reverses"})

    @validates_schema
    def _ages(self, data, **_kwargs):  # type: ignore[no-untyped-def]
        if data.get("min_age_days") is not None and data.get("max_age_days") is not None \
                and data["min_age_days"] > data["max_age_days"]:
            raise ValidationError("must not exceed max_age_days", "min_age_days")


class ClaimPayerOut(PayerOut):
    reserved = fields.Boolean(metadata={"description": "Held in the sub-fund (approved, not yet paid)"})
    paid = fields.String(metadata={"description": "Paid out to the bank"})
    offset = fields.String(metadata={"description": "Kept back from the payout against the bank's clawback debt"})
    recovered = fields.String(metadata={"description": "Returned to this sub-fund from recoveries"})


class EventOut(Schema):
    action = fields.String()
    from_status = fields.String(allow_none=True, metadata={"enum": [*CLAIM_STATUSES, None]})
    to_status = fields.String(metadata={"enum": list(CLAIM_STATUSES)})
    actor = fields.String()
    comment = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)
    at = DateTime()


class RecoveryOut(Schema):
    id = fields.Integer()
    amount = fields.String()
    recovered_on = fields.Date()
    cumulative = fields.String(metadata={"description": "Net recoveries so far, this one included"})
    pool_share_cumulative = fields.String(metadata={"description": "ROUND_HALF_UP(min(R, L) × C / L)"})
    returned = fields.String(metadata={"description": "Returned to the payers by this recovery"})
    lines = fields.List(fields.Dict())


class ClawbackOut(Schema):
    id = fields.Integer()
    amount = fields.String()
    reason = fields.String()
    lines = fields.List(fields.Dict())
    created_by = fields.String()
    created_at = DateTime()


class ClaimOut(Schema):
    id = fields.Integer()
    loan_id = fields.Integer()
    bank = fields.String()
    scheme = fields.String()
    rule_version = fields.Integer()
    region = fields.String()
    enterprise = fields.Dict()
    status = fields.String(metadata={"enum": list(CLAIM_STATUSES)})
    default_on = fields.Date()
    claimed_on = fields.Date(metadata={"description": "Business date of (re)submission"})
    decide_by = fields.Date(allow_none=True, metadata={
        "description": "SLA clock: claimed_on + the rules' decision_days (null without decision_days)"})
    overdue = fields.Boolean(metadata={"description": "Undecided after decide_by"})
    documents_missing = fields.List(fields.String(), metadata={
        "description": "Kinds in the scheme's required_documents without a document"})
    outstanding_principal = fields.String()
    ratio = fields.String()
    eligible_loss = fields.String()
    compensation = fields.String(metadata={"description": "As computed at submission"})
    approved_amount = fields.String(allow_none=True)
    payers = fields.List(fields.Nested(ClaimPayerOut))
    steps = fields.List(fields.Nested(StepOut))
    review = fields.Dict(allow_none=True)
    return_reason = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    approver = fields.String(allow_none=True)
    approved_at = DateTime(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    recovered = fields.String()
    clawed_back = fields.String()
    recoveries = fields.List(fields.Nested(RecoveryOut))
    clawbacks = fields.List(fields.Nested(ClawbackOut))
    history = fields.List(fields.Nested(EventOut))
    submitted_at = DateTime()


# -- rendering -------------------------------------------------------------------------------


def _recovery_dict(r: Recovery) -> dict:  # type: ignore[type-arg]
    return {"id": r.id, "amount": format_amount(r.amount), "recovered_on": r.recovered_on,
            "cumulative": format_amount(r.cumulative), "pool_share_cumulative": format_amount(r.pool_share_cumulative),
            "returned": format_amount(r.returned), "lines": r.lines}


def _names(session, claim: Claim) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The reviewer's and approver's names: a user this request loaded (the one who just
    reviewed or approved) from the identity map, else the names read with the claim
    (ledger.claims.get_claim), else one query."""
    names: dict[int, str] = {}
    missing = []
    for user_id, key in ((claim.reviewer_id, "reviewer_name"), (claim.approver_id, "approver_name")):
        if user_id is None:
            continue
        user = session.identity_map.get(identity_key(User, user_id))
        if user is not None and "name" in user.__dict__:
            names[user_id] = user.name
        elif key in claim.__dict__ and claim.__dict__[key] is not None:
            names[user_id] = claim.__dict__[key]
        else:
            missing.append(user_id)
    if missing:
        names.update(session.execute(select(User.id, User.name).where(User.id.in_(missing))).all())
    return names


def claim_dict(claim: Claim) -> dict:  # type: ignore[type-arg]
    session = db.session()
    bank = claim.bank
    names = _names(session, claim)
    payers = []
    lines = sorted(claim.payer_lines, key=lambda line: line.position)
    for line, stored in zip(lines, claims.stored_payer_lines(claim), strict=True):
        reservation = line.reservation
        payers.append({
            **stored,
            "subfund": line.subfund_code, "share": line.share, "amount": format_amount(line.amount),
            "reserved": bool(reservation and reservation.status == "pending"),
            "paid": format_amount(line.amount if reservation and reservation.status == "posted" else 0),
            "offset": format_amount(line.offset_amount), "recovered": format_amount(line.recovered_amount),
        })
    # Recoveries and clawbacks exist only for paid claims (SPEC §4); a payment sets both
    # lists empty instead of reading them.
    recs = claim.recoveries if claim.status == "paid" else []
    claws = claim.clawbacks if claim.status == "paid" else []
    history = claim.history
    loan = claim.loan
    return {
        "id": claim.id, "loan_id": claim.loan_id, "bank": bank.code, "scheme": loan.rule_version.scheme.code,
        "rule_version": loan.rule_version.version, "region": claim.region,
        "enterprise": {"credit_code": loan.enterprise.credit_code, "name": loan.enterprise.name,
                       "categories": loan.categories},
        "status": claim.status, "default_on": claim.default_on, "claimed_on": claim.claimed_on,
        "decide_by": claim.decide_by, "overdue": claims.is_overdue(claim, context.today()),
        "documents_missing": dossiers.missing_kinds(session, claim),
        "outstanding_principal": format_amount(claim.outstanding_principal), "ratio": claim.ratio,
        "eligible_loss": format_amount(claim.eligible_loss), "compensation": format_amount(claim.compensation),
        "approved_amount": None if claim.approved_amount is None else format_amount(claim.approved_amount),
        "payers": payers,
        "steps": [step_dict(Step.from_dict(s)) for s in claim.decision.get("steps", [])],
        "review": None if claim.review_recommendation is None else {
            "recommendation": claim.review_recommendation, "comment": claim.review_comment,
            "reviewer": names.get(claim.reviewer_id), "reviewed_at": utc_isoformat(claim.reviewed_at) if claim.reviewed_at else None},
        "return_reason": claim.return_reason, "decision_reason": claim.decision_reason,
        "approver": names.get(claim.approver_id), "approved_at": claim.approved_at,
        "payment_reference": claim.payment_reference, "paid_on": claim.paid_on,
        "recovered": format_amount(sum(r.returned for r in recs)),
        "clawed_back": format_amount(sum(c.amount for c in claws)),
        "recoveries": [_recovery_dict(r) for r in recs],
        "clawbacks": [{"id": c.id, "amount": format_amount(c.amount), "reason": c.reason, "lines": c.lines,
                       "created_by": c.created_by, "created_at": c.created_at} for c in claws],
        "history": [{"action": e.action, "from_status": e.from_status, "to_status": e.to_status, "actor": e.actor,
                     "comment": e.comment, "data": e.data, "at": e.at} for e in history],
        "submitted_at": claim.submitted_at,
    }


def _claim(claim_id: int, *, for_approval: bool = False, accounts: bool = False) -> Claim:
    """The caller's view of a claim; locked for the rest of the request when it will change it
    (with its payer lines' accounts when it will move money)."""
    return claims.get_claim(db.session(), claim_id, bank_id=bank_id_of_caller(), lock=request.method != "GET",
                            for_approval=for_approval, accounts=accounts)


# -- views -----------------------------------------------------------------------------------


@blp.route("")
class Claims(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.arguments(ClaimQuery, location="query")
    @blp.response(200, page_schema(ClaimOut, "ClaimPage"))
    def get(self, query):  # type: ignore[no-untyped-def]
        """The claim queue: filter by status, bank, scheme, region, age, SLA clock; oldest first by default."""
        session = db.session()
        filters = {k: query.get(k) for k in QUEUE_FILTERS}
        stmt = claims.queue_query(today=context.today(), bank_id=bank_id_of_caller(), sort=query["sort"], **filters)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.limit(query["per_page"]).offset((query["page"] - 1) * query["per_page"])).all()
        return envelope([claim_dict(c) for c in rows], query, total)

    @require_roles("bank")
    @idempotent
    @blp.arguments(ClaimIn)
    @blp.response(201, ClaimOut)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"}}])
    def post(self, data):  # type: ignore[no-untyped-def]
        """File a loss claim (bank). Every failed check is listed at once in ``details``."""
        claim = claims.submit_claim(db.session(), ClaimInput(**data), bank_id=current_user().bank_id,
                                    actor=actor_name(), today=context.today())
        return claim_dict(claim)


@blp.route("/<int:claim_id>")
class ClaimResource(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.response(200, ClaimOut)
    def get(self, claim_id: int):  # type: ignore[no-untyped-def]
        """A claim with its steps, payer lines, history, recoveries and clawbacks."""
        return claim_dict(_claim(claim_id))

    @require_roles("bank")
    @blp.arguments(ClaimAmendIn)
    @blp.response(200, ClaimOut)
    def put(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Amend and resubmit a claim the reviewer returned for information (bank)."""
        claim = _claim(claim_id)
        claims.amend_claim(db.session(), claim, ClaimInput(loan_id=claim.loan_id, **data), actor=actor_name(),
                           today=context.today())
        return claim_dict(claim)


@blp.route("/<int:claim_id>/withdraw")
class Withdraw(MethodView):
    @require_roles("bank")
    @blp.arguments(ReasonIn)
    @blp.response(200, ClaimOut)
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Withdraw a claim (bank); an approved claim's reservations are released."""
        claim = _claim(claim_id)
        claims.withdraw_claim(db.session(), claim, reason=data["reason"], actor=actor_name(), today=context.today())
        return claim_dict(claim)


@blp.route("/<int:claim_id>/review")
class Review(MethodView):
    @require_roles("reviewer")
    @blp.arguments(ReviewIn)
    @blp.response(200, ClaimOut)
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Recommend approve or reject, or return the claim to the bank for information (reviewer)."""
        claim = _claim(claim_id)
        claims.review_claim(db.session(), claim, reviewer=current_user(), **data)
        return claim_dict(claim)


@blp.route("/<int:claim_id>/approve")
class Approve(MethodView):
    @require_roles("approver")
    @blp.arguments(ApproveIn)
    @blp.response(200, ClaimOut)
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Approve a reviewed claim and reserve every payer's line (approver, never its reviewer).

        409 ``insufficient_funds`` names the sub-fund and the shortfall; nothing is reserved then.
        """
        claim = _claim(claim_id, for_approval=True, accounts=True)
        approvals.approve_claim(db.session(), claim, approver=current_user(), today=context.today(), **data)
        db.commit()  # the answer is built from what the request holds
        return claim_dict(claim)


@blp.route("/<int:claim_id>/reject")
class Reject(MethodView):
    @require_roles("approver")
    @blp.arguments(ReasonIn)
    @blp.response(200, ClaimOut)
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Reject a claim with a reason (approver); reservations are released."""
        claim = _claim(claim_id)
        approvals.reject_claim(db.session(), claim, approver=current_user(), reason=data["reason"],
                               today=context.today())
        return claim_dict(claim)


@blp.route("/<int:claim_id>/pay")
class Pay(MethodView):
    @require_roles("approver", "fund_admin")
    @blp.arguments(PayIn)
    @blp.response(200, ClaimOut)
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Record the payment of an approved claim; the same reference again changes nothing."""
        claim = _claim(claim_id, accounts=True)
        approvals.pay_claim(db.session(), claim, actor=actor_name(), today=context.today(), **data)
        db.commit()  # the answer is built from what the request holds
        return claim_dict(claim)


@blp.route("/<int:claim_id>/recoveries")
class Recoveries(MethodView):
    @require_roles(*OWNER_OR_BUREAU)
    @blp.response(200, RecoveryOut(many=True))
    def get(self, claim_id: int):  # type: ignore[no-untyped-def]
        """Recoveries reported on the claim and what each returned."""
        claim = _claim(claim_id)
        rows = db.session().scalars(select(Recovery).where(Recovery.claim_id == claim.id).order_by(Recovery.id))
        return [_recovery_dict(r) for r in rows]

    @require_roles("bank")
    @idempotent
    @blp.arguments(RecoveryIn)
    @blp.response(201, RecoveryOut)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"}}])
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Report net money recovered on a paid claim; the pool's share goes back to the payers."""
        claim = _claim(claim_id)
        recovery = recoveries.record_recovery(db.session(), claim, actor=actor_name(), today=context.today(), **data)
        return _recovery_dict(recovery)


@blp.route("/<int:claim_id>/clawback")
class ClawbackResource(MethodView):
    @require_roles("approver")
    @blp.arguments(ClawbackIn)
    @blp.response(201, ClawbackOut)
    def post(self, data, claim_id: int):  # type: ignore[no-untyped-def]
        """Claw back a paid claim found ineligible (approver, reason mandatory): the bank owes it to the payers."""
        claim = _claim(claim_id)
        c = clawbacks.claw_back(db.session(), claim, approver=current_user(), today=context.today(), **data)
        return {"id": c.id, "amount": format_amount(c.amount), "reason": c.reason, "lines": c.lines,
                "created_by": c.created_by, "created_at": c.created_at}
