"""How the console shows numbers and dates: money by Babel for the page's locale
(``¥1,234,567.89`` on the Chinese page, ``CN¥1,234,567.89`` on the English one), ISO
dates and Beijing time in both languages (business dates read the same on every page
and statement)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

from babel import Locale
from babel.numbers import format_currency
from flask_babel import get_locale

from ledger.clock import BUSINESS_TZ
from rules.money import AmountError, format_amount, parse_amount, percent_text, ratio_text
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
    """``123456789`` fen (or ``"1234567.89"``) -> ``¥1,234,567.89``; negatives ``-¥12.00``
    (``CN¥…`` on the English page, as Babel's CLDR data writes the yuan in English)."""
    fen = to_fen(value)
    if fen is None:
        return "" if value in (None, "") else str(value)
    # Decimal from integer fen is exact; Babel formats Decimals without a float.
    return format_currency(Decimal(fen).scaleb(-2), "CNY", locale=_locale())


def _locale() -> Locale:
    """The page's locale (Flask-Babel's, from the language switch); Chinese outside a request."""
    return get_locale() or _DEFAULT_LOCALE


_DEFAULT_LOCALE = Locale.parse("zh")


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


def percent_display(value: str | None) -> str:
    """A probability as answered (``"0.012345"``) as ``1.23%``."""
    return "—" if value is None else percent_text(value)


def init_app(app: Any) -> None:
    app.add_template_filter(money_text, "money")
    app.add_template_filter(date_text, "isodate")
    app.add_template_filter(ratio_display, "ratio")
    app.add_template_filter(ratio4_display, "ratio4")
    app.add_template_filter(percent_display, "percent")
    app.add_template_filter(plain_amount, "plain_amount")
    app.add_template_filter(region_label, "region")  # 440703 江门市蓬江区 (SPEC §2)
