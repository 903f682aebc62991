"""The pool behind a scheme's leverage limit: the payer sub-funds and their available balance."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules import RuleSet
from rules.regions import is_region, region_level, template_placeholders

from ..models import Account


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^{}]*\}", template)
    return re.compile("^" + r"(\d{6})".join(re.escape(p) for p in parts) + "$")


def pool_subfunds(rules: RuleSet, existing: Iterable[str]) -> list[str]:
    """The sub-funds that can pay the scheme's claims under ``rules`` (see module doc)."""
    existing = sorted(set(existing))
    chosen: dict[str, None] = {}
    for payer in rules.payer_templates:
        if "{" not in payer.subfund:
            if payer.subfund in existing:
                chosen[payer.subfund] = None
        else:
            pattern, names = _template_pattern(payer.subfund), template_placeholders(payer.subfund)
            for code in existing:
                match = pattern.match(code)
                if match and all(is_region(v) and region_level(v) == n for v, n in zip(match.groups(), names, strict=True)):
                    chosen[code] = None
        if payer.fallback is not None and payer.fallback in existing:
            chosen[payer.fallback] = None
    return list(chosen)


def available_balance(session: Session, subfund_codes: Sequence[str]) -> int:
    if not subfund_codes:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(Account.balance), 0))
        .where(Account.code.in_([f"subfund:{code}:available" for code in subfund_codes]))
    )
    return int(total or 0)
