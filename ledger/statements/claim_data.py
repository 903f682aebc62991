"""The data of a claim statement (补偿结算单, BCJ): exactly what it prints."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.regions import region_name


from ..clock import BUSINESS_TZ
from ..claims import stored_payer_lines
from ..errors import InvalidTransition, NotFound
from ..models import (
    Bank,
    Claim,
    ClaimEvent,
    ClaimPayerLine,
    Clawback,
    Enterprise,
    Loan,
    Recovery,
    RuleVersion,
    Scheme,
    SubFund,
    User,
)
from .kinds import as_utc, iso_date, local_date, local_text


def _user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def get_claim(session: Session, claim_id: int) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"No claim {claim_id}.", code="claim_not_found")
    return claim


def claim_statement_data(session: Session, claim_id: int) -> tuple[dict[str, Any], datetime]:
    """Everything the 补偿结算单 of a paid claim shows, and the moment it reflects."""
    claim = get_claim(session, claim_id)
    if claim.status != "paid":
        raise InvalidTransition(
            f"Claim {claim_id} is {claim.status}; a compensation statement exists only for a paid claim.",
            code="claim_not_paid", extra={"current_status": claim.status},
        )
    loan: Loan = claim.loan
    enterprise: Enterprise = loan.enterprise
    bank = session.get_one(Bank, claim.bank_id)
    version = session.get_one(RuleVersion, claim.rule_version_id)
    scheme = session.get_one(Scheme, claim.scheme_id)
    events = session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.at, ClaimEvent.id)
    ).all()
    recoveries = session.scalars(
        select(Recovery).where(Recovery.claim_id == claim.id).order_by(Recovery.recovered_on, Recovery.id)
    ).all()
    clawbacks = session.scalars(
        select(Clawback).where(Clawback.claim_id == claim.id).order_by(Clawback.created_at, Clawback.id)
    ).all()
    lines = session.scalars(
        select(ClaimPayerLine).where(ClaimPayerLine.claim_id == claim.id).order_by(ClaimPayerLine.position)
    ).all()
    subfund_names = dict(session.execute(
        select(SubFund.code, SubFund.name).where(SubFund.code.in_({line.subfund_code for line in lines}))
    ).all())
    names = _user_names(session, (claim.reviewer_id, claim.approver_id))

    moments = [claim.submitted_at, claim.reviewed_at, claim.approved_at]
    moments += [e.at for e in events] + [r.created_at for r in recoveries] + [c.created_at for c in clawbacks]
    as_of = max(as_utc(m) for m in moments if m is not None).astimezone(BUSINESS_TZ).replace(microsecond=0)

    decision = claim.decision or {}
    data = {
        "claim": {
            "id": claim.id,
            "status": claim.status,
            "claimed_on": iso_date(claim.claimed_on),
            "default_on": iso_date(claim.default_on),
            "outstanding_principal": claim.outstanding_principal,
            "ratio": claim.ratio,
            "eligible_loss": claim.eligible_loss,
            "compensation": claim.compensation,
            "approved_amount": claim.approved_amount,
            "payment_reference": claim.payment_reference,
            "paid_on": iso_date(claim.paid_on),
        },
        "scheme": {"code": scheme.code, "version": version.version, "effective_from": iso_date(version.effective_from),
                   "document_sha256": version.document_sha256},
        "bank": {"code": bank.code, "name": bank.name},
        "enterprise": {"name": enterprise.name, "credit_code": enterprise.credit_code, "region": enterprise.region,
                       "region_name": region_name(enterprise.region)},
        "loan": {"external_id": loan.external_id, "principal": loan.principal, "disbursed_on": iso_date(loan.disbursed_on),
                 "maturity_on": iso_date(loan.maturity_on), "categories": sorted(loan.categories or [])},
        "steps": [{"rule": s["rule"], "detail": s.get("detail", ""), "params": s.get("params") or {}}
                  for s in decision.get("steps", [])],
        # Each line's own label (a sub-fund may pay several lines: its share and, as the
        # fallback, another's), paired by position with the stored decision.
        "payers": [{"position": line.position, "subfund": line.subfund_code,
                    "subfund_name": subfund_names.get(line.subfund_code, ""), "share": line.share,
                    "amount": line.amount, "offset_amount": line.offset_amount,
                    "recovered_amount": line.recovered_amount,
                    "template": label.get("template"), "fallback_used": bool(label.get("fallback_used"))}
                   for line, label in zip(lines, stored_payer_lines(claim), strict=True)],
        "review": {"by": names.get(claim.reviewer_id) if claim.reviewer_id else None,
                   "at": local_text(claim.reviewed_at), "recommendation": claim.review_recommendation,
                   "comment": claim.review_comment},
        "approval": {"by": names.get(claim.approver_id) if claim.approver_id else None,
                     "at": local_text(claim.approved_at), "reason": claim.decision_reason},
        "events": [{"at": local_text(e.at), "action": e.action, "from_status": e.from_status,
                    "to_status": e.to_status, "actor": e.actor, "comment": e.comment} for e in events],
        "recoveries": [{"recovered_on": iso_date(r.recovered_on), "amount": r.amount, "cumulative": r.cumulative,
                        "pool_share_cumulative": r.pool_share_cumulative, "returned": r.returned}
                       for r in recoveries],
        "clawbacks": [{"on": local_date(c.created_at).isoformat(), "amount": c.amount, "reason": c.reason}  # type: ignore[union-attr]
                      for c in clawbacks],
        # One clock with the other statements: the business date of the claim's latest
        # dated fact, "as of the end of that day" (the wall-clock moment stays the PDF's
        # creation date only).
        "as_of": max(d for d in (claim.claimed_on, claim.paid_on, *(r.recovered_on for r in recoveries),
                                 *(local_date(c.created_at) for c in clawbacks)) if d is not None).isoformat(),
    }
    return data, as_of
