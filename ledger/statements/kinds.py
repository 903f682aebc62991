"""What a statement is: its kinds, numbers, languages and period, and business-time helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone



from ..clock import BUSINESS_TZ
from ..errors import DomainError, ValidationFailed


#: Statement kinds and their number prefixes.
PREFIXES = {"claim": "BCJ", "subfund": "ZJD", "bank": "YHD"}
KINDS = tuple(PREFIXES)
LANGS = ("zh", "en")
#: Part of every state hash: a change to what the statements show (a new section, a
#: different layout of the same data) is a new state, so it gets a new number rather
#: than a re-render that no longer matches its register entry.
LAYOUT_VERSION = 1
NUMBER_RE = re.compile(r"\b(BCJ|ZJD|YHD)-(\d{4})-(\d{6,})\b")
_NUMBER_BYTES_RE = re.compile(rb"(BCJ|ZJD|YHD)-\d{4}-\d{6,}")
#: Keys of the PostgreSQL advisory locks that serialise numbering per kind.
_LOCK_KEYS = {"claim": 7_106_001, "subfund": 7_106_002, "bank": 7_106_003}


class LedgerInconsistent(DomainError):
    """The journal and the cached balances disagree: no statement is issued on them."""

    category = "conflict"
    code = "ledger_inconsistent"


@dataclass(frozen=True)
class Period:
    start: date
    end: date


# -- time -----------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def local(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment).astimezone(BUSINESS_TZ)


def local_text(moment: datetime | None) -> str | None:
    """A moment as printed: Beijing time to the second."""
    value = local(moment)
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def local_date(moment: datetime | None) -> date | None:
    value = local(moment)
    return None if value is None else value.date()


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=BUSINESS_TZ)


def iso_date(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def parse_period(start: date | None, end: date | None, *, today: date) -> Period:
    """A statement period; by default the current month up to today. A period may not
    end after today: a statement of days not yet over could not stay true."""
    end = end or today
    start = start or end.replace(day=1)
    errors: dict[str, list[str]] = {}
    if start > end:
        errors["from"] = [f"must not be after 'to' ({end.isoformat()})"]
    if end > today:
        errors["to"] = [f"must not be after today ({today.isoformat()})"]
    if errors:
        code = "period_in_future" if "to" in errors and "from" not in errors else "invalid_period"
        raise ValidationFailed("Invalid statement period.", code=code, errors=errors)
    return Period(start, end)


def check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValidationFailed(f"Language must be one of {', '.join(LANGS)}.", code="invalid_language",
                               errors={"lang": [f"must be one of {', '.join(LANGS)}"]})
