"""A statement's state: its data gathered and hashed (the state hash printed in every footer)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

import pdf
from pdf.layout import StatementMeta

from .. import clock
from ..audit import canonical_json
from ..errors import NotFound, ValidationFailed
from .kinds import KINDS, LAYOUT_VERSION, Period, check_lang, parse_period
from .claim_data import claim_statement_data
from .subfund_data import subfund_statement_data
from .bank_data import bank_statement_data


@dataclass(frozen=True)
class Prepared:
    """A statement's data, gathered and hashed, ready to render under a number."""

    kind: str
    scope: str
    period: Period | None
    lang: str
    fund_name: str
    data: dict[str, Any]
    as_of: datetime
    state_sha256: str
    subject: str

    @property
    def title(self) -> str:
        return pdf.title(self.kind, self.lang)

    def meta(self, number: str) -> StatementMeta:
        return StatementMeta(number=number, title=self.title, fund_name=self.fund_name, lang=self.lang,
                             state_sha256=self.state_sha256, as_of=self.as_of, subject=self.subject)


def _latest_checkpoint(session: Session) -> dict[str, Any] | None:
    from .. import checkpoints

    row = checkpoints.latest(session)
    return None if row is None else {**checkpoints.as_dict(row)}


def state_hash(kind: str, scope: str, period: Period | None, lang: str, fund_name: str, data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of exactly what the statement shows."""
    document = {
        "layout": LAYOUT_VERSION,
        "kind": kind,
        "scope": scope,
        "period": None if period is None else {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "lang": lang,
        "fund_name": fund_name,
        "data": data,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def prepare(session: Session, kind: str, scope: str, period: Period | None, lang: str, fund_name: str, *,
            today: date | None = None) -> Prepared:
    """Gather and hash a statement's data (validating kind, scope, period, language)."""
    check_lang(lang)
    today = today or clock.today()
    if kind == "claim":
        try:
            claim_id = int(scope)
        except (TypeError, ValueError):
            raise NotFound(f"No claim {scope}.", code="claim_not_found") from None
        data, as_of = claim_statement_data(session, claim_id)
        scope, period = str(claim_id), None
        subject = f"claim {claim_id}"
    elif kind in ("subfund", "bank"):
        if period is None:
            period = parse_period(None, None, today=today)
        else:
            period = parse_period(period.start, period.end, today=today)
        if kind == "subfund":
            data, as_of = subfund_statement_data(session, scope, period)
        else:
            data, as_of = bank_statement_data(session, scope, period, today=today)
        checkpoint = _latest_checkpoint(session)
        if checkpoint is not None:
            # Hands the chain's head to banks and sub-fund owners with every statement
            # (SPEC §5.1): kept outside, it later proves history was not rewritten.
            data = {**data, "checkpoint": checkpoint}
        subject = f"{kind} {scope}, {period.start.isoformat()} to {period.end.isoformat()}"
    else:
        raise ValidationFailed(f"Statement kinds are {', '.join(KINDS)}.", code="invalid_kind",
                               errors={"kind": [f"must be one of {', '.join(KINDS)}"]})
    digest = state_hash(kind, scope, period, lang, fund_name, data)
    return Prepared(kind, scope, period, lang, fund_name, data, as_of, digest, subject)
