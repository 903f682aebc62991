"""A registration request as a bank sends it, and the checks it needs no database for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any


from rules import Violation
from rules.money import format_amount

from .. import creditcode
from ..errors import ValidationFailed


EXTERNAL_ID_MAX = 64
COLLATERAL_MAX = 40
_EXTERNAL_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?\Z")
#: What :func:`normalise_rate` produces ("0", "0.0435"): requests carry rates in this form.
_NORMALISED_RATE_RE = re.compile(r"^0(\.[0-9]{0,5}[1-9])?\Z")


def normalise_rate(value: object) -> str | None:
    """An annual interest rate as a decimal fraction ("0.0435"), at most 6 decimals,
    in [0, 1); shown without trailing zeros. None or "" means not given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('must be a decimal string such as "0.0435"')
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError('must be a decimal string such as "0.0435"') from None
    if not rate.is_finite() or rate < 0 or rate >= 1:
        raise ValueError("must be a fraction between 0 and 1 (4.35 % is 0.0435)")
    if rate != rate.quantize(Decimal("0.000001")):
        raise ValueError("has more than 6 decimals")
    text = format(rate.normalize(), "f")
    return text


@dataclass(frozen=True)
class LoanRequest:
    """A registration as the bank sent it (amounts in fen, dates parsed)."""

    external_id: str
    scheme: str
    credit_code: str
    principal: int
    disbursed_on: date
    maturity_on: date
    interest_rate: str | None = None
    collateral_type: str | None = None

    def registration(self) -> dict[str, Any]:
        """The canonical content compared when the same external_id comes again."""
        return {
            "scheme": self.scheme,
            "credit_code": creditcode.normalise(self.credit_code),
            "principal": format_amount(self.principal),
            "disbursed_on": self.disbursed_on.isoformat(),
            "maturity_on": self.maturity_on.isoformat(),
            "interest_rate": self.interest_rate,
            "collateral_type": self.collateral_type,
        }


def request_violations(req: LoanRequest) -> list[Violation]:
    """Problems with the request's own fields (no database needed)."""
    found = []
    if not req.external_id or len(req.external_id) > EXTERNAL_ID_MAX or not _EXTERNAL_ID_RE.fullmatch(req.external_id):
        found.append(Violation("invalid_external_id", "external_id",
                               f"1-{EXTERNAL_ID_MAX} characters, no control characters or surrounding spaces"))
    if req.collateral_type is not None and len(req.collateral_type) > COLLATERAL_MAX:
        found.append(Violation("too_long", "collateral_type", f"at most {COLLATERAL_MAX} characters"))
    if req.interest_rate is not None and not _NORMALISED_RATE_RE.match(req.interest_rate):
        found.append(Violation("invalid_rate", "interest_rate", "not a rate as normalise_rate() writes it"))
    problem = creditcode.problem(req.credit_code)
    if problem is not None:
        found.append(Violation(problem.code, "credit_code", problem.message))
    return found


def refused(violations: Sequence[Violation]) -> ValidationFailed:
    errors: dict[str, list[str]] = {}
    for v in violations:
        errors.setdefault(v.field, []).append(v.message)
    codes = ", ".join(dict.fromkeys(v.code for v in violations))
    return ValidationFailed(f"The loan cannot be registered: {codes}.", code="registration_refused",
                            errors=errors, details=[v.__dict__ for v in violations])
