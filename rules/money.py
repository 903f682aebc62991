"""Money and ratio arithmetic shared by every layer (SPEC §1).

Amounts are integer fen everywhere inside the system; this module is the only place
that turns them into decimal strings and back. It lives in ``rules`` because that is
the innermost package: the calculator needs it and everything else may import it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

#: SPEC §1: anything above 10^13 yuan is refused.
MAX_YUAN = 10**13
MAX_FEN = MAX_YUAN * 100

#: SPEC §1 "strict text": ASCII digits, an optional "." with digits (more than two is
#: reported as too_many_decimals), a minus only where negatives are allowed. No spaces,
#: no full-width or other Unicode digits, no exponent, no separators.
_AMOUNT_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


class AmountError(ValueError):
    """A value that is not an acceptable amount; ``code`` is stable for API clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_amount(value: object, *, allow_negative: bool = False, allow_zero: bool = True) -> int:
    """Parse an amount in yuan (decimal string, int, Decimal or exact float) into fen.

    Strict by design: more than two decimals is an error, never a rounding, because a
    bank that sends ``"1.005"`` has a bug we must not hide.
    """
    if isinstance(value, bool):
        raise AmountError("invalid_amount", "Not a valid amount.")
    if isinstance(value, str):
        text = value
        if not _AMOUNT_RE.fullmatch(text):
            raise AmountError(
                "invalid_amount",
                "Not a valid amount: use a decimal string with at most two decimals, e.g. \"1200000.00\".",
            )
        if text.startswith("-") and not allow_negative:
            raise AmountError("negative_amount", "Amount must not be negative.")
        if len(text.partition(".")[2]) > 2:
            raise AmountError("too_many_decimals", "Amounts have at most two decimals (fen).")
        number = Decimal(text)
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        # A JSON number that reached us as a float is accepted only when its binary
        # value is exactly a two-decimal amount (0.5, 12.25); 0.1 is not.
        number = Decimal(value)
    else:
        raise AmountError("invalid_amount", "Not a valid amount.")
    if not number.is_finite():
        raise AmountError("invalid_amount", "Not a valid amount: NaN and infinity are refused.")
    if abs(number) > MAX_YUAN:
        raise AmountError("amount_too_large", f"Amount exceeds the maximum of {MAX_YUAN} yuan.")
    # Exact, from the digits: neither Decimal arithmetic (rounds past 28 digits) nor a
    # Fraction of 1E-999999999 (a 10^999999999 denominator) on a client's number.
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    kept = list(digits)
    while exponent < -2 and kept and kept[-1] == 0:  # 1.000 is exactly 1.00
        kept.pop()
        exponent += 1
    if exponent < -2 and any(kept):
        raise AmountError("too_many_decimals", "Amounts have at most two decimals (fen).")
    magnitude = int("".join(map(str, kept)) or "0")
    fen = magnitude * 10 ** (exponent + 2) if exponent >= -2 else 0
    result = -fen if sign else fen
    if result < 0 and not allow_negative:
        raise AmountError("negative_amount", "Amount must not be negative.")
    if result == 0 and not allow_zero:
        raise AmountError("zero_amount", "Amount must be greater than zero.")
    return result


def format_amount(fen: int) -> str:
    """Integer fen -> wire format ``"1200000.00"``."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def format_grouped(fen: int) -> str:
    """Integer fen -> ``"1,200,000.00"`` for documents and the console."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}"


def to_decimal(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def parse_ratio(value: object, *, places: int = 4) -> Decimal:
    """A ratio or share from a rule document: decimal string, at most ``places`` decimals, in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError("must be a decimal string such as \"0.50\"")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal string such as \"0.50\"") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if number < 0 or number > 1:
        raise ValueError("must be between 0 and 1")
    if (Fraction(number) * 10**places).denominator != 1:
        raise ValueError(f"has more than {places} decimals")
    return number


def round_half_up(value: Decimal | Fraction | int) -> int:
    """Round an exact fen quantity to whole fen, ROUND_HALF_UP (四舍五入), once."""
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        # Exact: floor(x + 1/2) for x >= 0, mirrored for negatives.
        if value >= 0:
            return int((value + Fraction(1, 2)).__floor__())
        return -int((-value + Fraction(1, 2)).__floor__())
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split_largest_remainder(total: int, weights: Sequence[Decimal | Fraction | int]) -> list[int]:
    """Split ``total`` fen in proportion to ``weights`` so the parts sum to ``total`` exactly.

    SPEC §1: floor every part, then hand the leftover fen one at a time to the parts
    with the largest remainders; ties go to the earlier part (rule order).
    """
    if total < 0:
        raise ValueError("cannot split a negative total")
    fractions = [Fraction(w) for w in weights]
    weight_sum = sum(fractions, Fraction(0))
    if not fractions or weight_sum <= 0 or any(f < 0 for f in fractions):
        raise ValueError("weights must be non-negative and sum to more than zero")
    exact = [total * f / weight_sum for f in fractions]
    parts = [int(x.__floor__()) for x in exact]
    leftover = total - sum(parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def ratio_text(value: Decimal | Fraction, places: int = 4) -> str:
    """A ratio shown to ``places`` decimals, ROUND_HALF_UP (display only, never computed on)."""
    scaled = round_half_up(Fraction(value) * 10**places)
    return str(Decimal(scaled).scaleb(-places))


def percent_text(value: Decimal | Fraction | str, places: int = 2) -> str:
    """A ratio (or its decimal string) as a percentage, ROUND_HALF_UP: ``"0.012345"`` -> ``"1.23%"``."""
    return ratio_text(Fraction(value) * 100, places) + "%"


__all__ = [
    "MAX_FEN",
    "MAX_YUAN",
    "AmountError",
    "format_amount",
    "format_grouped",
    "parse_amount",
    "parse_ratio",
    "percent_text",
    "ratio_text",
    "round_half_up",
    "split_largest_remainder",
    "to_decimal",
]
