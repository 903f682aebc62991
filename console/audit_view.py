"""The audit log as an officer reads it: actions in words, before/after as a
field-by-field diff, and a link from an entry to what it concerns (issue 17).

Kept apart from ``console/audit.py`` (the routes) so the words live in one table; the
stored entries are untouched — this is only how they are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for
from werkzeug.routing import BuildError

from ledger.models import AuditEntry
from rules.regions import region_label

from .i18n import CATEGORIES, STATUS, Words, current_lang, label

#: action -> words, in the catalogs under ``audit.action.``.
ACTION_WORDS = Words("audit.action.")

ENTITY_WORDS = Words("audit.entity.")

#: Stored field names as people read them; others are shown as stored.
FIELD_WORDS = Words("audit.field.")


def action_text(action: str) -> str:
    """``claim.approve`` -> 批准理赔 / claim approved; an action without words yet is
    named by its entity and kept verbatim after it."""
    words = ACTION_WORDS.get(action)
    if words is not None:
        return words
    entity, _, verb = action.partition(".")
    return f"{entity_text(entity)}：{verb}" if current_lang() == "zh" else f"{entity_text(entity)}: {verb}"


def entity_text(entity_type: str) -> str:
    return ENTITY_WORDS.get(entity_type, entity_type)


def field_text(name: str) -> str:
    return FIELD_WORDS.get(name, name)


#: Fields whose stored values are codes with words of their own.
_VALUE_WORDS = {"status": STATUS, "from_status": STATUS, "to_status": STATUS, "categories": CATEGORIES}


def _value(name: str, value: Any) -> str:
    """A stored value as shown: statuses and categories in words, regions with names."""
    table = _VALUE_WORDS.get(name)
    if table is not None and isinstance(value, str):
        return label(table, value)
    if table is not None and isinstance(value, (list, tuple)):
        return _shown([label(table, v) if isinstance(v, str) else v for v in value])
    if name == "region" and isinstance(value, str):
        return region_label(value)
    return _shown(value)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) if current_lang() == "zh" else ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{field_text(str(k))}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return ("是" if value else "否") if current_lang() == "zh" else ("yes" if value else "no")
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: str | None  # None: the entry recorded no "before" (a creation)
    after: str | None  # None: the field is gone afterwards
    changed: bool


def entry_diff(entry: AuditEntry) -> list[FieldChange]:
    """Field by field: every field of ``after`` (and of ``before`` that is gone), the
    changed ones marked; no raw JSON."""
    before = entry.before if isinstance(entry.before, Mapping) else ({} if entry.before is None else {"": entry.before})
    after = entry.after if isinstance(entry.after, Mapping) else ({} if entry.after is None else {"": entry.after})
    has_before = entry.before is not None
    changes = []
    for name in list(after) + [k for k in before if k not in after]:
        old = _value(name, before[name]) if has_before and name in before else None
        new = _value(name, after[name]) if name in after else None
        changes.append(FieldChange(name, field_text(name) if name else "", old, new,
                                   changed=has_before and before.get(name) != after.get(name)))
    return changes


def entity_link(entry: AuditEntry) -> str | None:
    """The console page of what the entry concerns, when there is one."""
    targets = {"claim": ("console.claim_detail", "claim_id"), "subfund": ("console.subfund_page", "code"),
               "bank": ("console.bank_page", "code")}
    target = targets.get(entry.entity_type)
    if target is None and entry.entity_type == "loan":
        # No page of its own: the claims queue filtered to the loan's claims would need the
        # claim; the audit log filtered to the loan is the loan's history.
        return url_for("console.audit_log", entity_type="loan", entity_id=entry.entity_id)
    if target is None:
        return None
    endpoint, arg = target
    try:
        return url_for(endpoint, **{arg: int(entry.entity_id) if arg == "claim_id" else entry.entity_id})
    except (BuildError, ValueError):
        return None


__all__ = ["ACTION_WORDS", "ENTITY_WORDS", "FieldChange", "action_text", "entity_link", "entity_text", "entry_diff",
           "field_text"]
