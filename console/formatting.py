"""How the console shows numbers and dates: ``¥1,234,567.89``, ISO dates, Beijing time."""

from __future__ import annotations

from datetime import date, datetime, timezone
from fractions import Fraction
from typing import Any

from ledger.clock import BUSINESS_TZ
from rules.money import AmountError, format_amount, format_grouped, parse_amount, ratio_text
from rules.regions import region_label


def to_fen(value: Any) -> int | None:
    """Integer fen, or a wire amount (``"1200000.00"``) as ``claim_dict`` gives it."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return parse_amount(str(value), allow_negative=True)
    except AmountError:
        return None


def money_text(value: Any) -> str:
    """``123456789`` fen (or ``"1234567.89"``) -> ``¥1,234,567.89``; negatives ``-¥12.00``."""
    fen = to_fen(value)
    if fen is None:
        return "" if value in (None, "") else str(value)
    grouped = format_grouped(abs(fen))
    return f"-¥{grouped}" if fen < 0 else f"¥{grouped}"


def plain_amount(value: Any) -> str:
    """``60000000`` fen -> ``600000.00``: what an amount field accepts (no ¥, no commas),
    for placeholders that show the officer what to type."""
    fen = to_fen(value)
    return "" if fen is None else format_amount(fen)


def date_text(value: date | datetime | str | None) -> str:
    """ISO ``YYYY-MM-DD``; a moment is shown in Beijing time as ``YYYY-MM-DD HH:MM:SS``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
        return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def ratio_display(value: Fraction | None) -> str:
    return "—" if value is None else ratio_text(value, places=2)


def ratio4_display(value: Fraction | None) -> str:
    """A ratio against a four-decimal threshold (NPL ratios, utilisation): four decimals."""
    return "—" if value is None else ratio_text(value, places=4)


def init_app(app: Any) -> None:
    app.add_template_filter(money_text, "money")
    app.add_template_filter(date_text, "isodate")
    app.add_template_filter(ratio_display, "ratio")
    app.add_template_filter(ratio4_display, "ratio4")
    app.add_template_filter(plain_amount, "plain_amount")
    app.add_template_filter(region_label, "region")  # 440703 江门市蓬江区 (SPEC §2)
