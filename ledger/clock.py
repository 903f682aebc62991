"""What the ledger treats as today."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

#: The fund is Chinese: a claim filed at 01:00 Beijing time belongs to that day.
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def today(business_date: date | str | None = None) -> date:
    """``business_date`` (config ``BUSINESS_DATE``) when set, else today in Asia/Shanghai."""
    if isinstance(business_date, date):
        return business_date
    if business_date:
        return date.fromisoformat(business_date)
    return datetime.now(BUSINESS_TZ).date()
