"""Marshmallow fields for money (SPEC §1), strict where marshmallow's own are lenient."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from rules.money import AmountError, format_amount, parse_amount


class Money(fields.Field):
    """Yuan as a decimal string on the wire, integer fen inside.

    Unlike ``fields.Decimal(places=2)`` it never rounds (``"1.005"`` is an error, not
    1.00) and never accepts a float that is not exactly a two-decimal amount.
    """

    def __init__(self, *, allow_negative: bool = False, allow_zero: bool = True, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "example": "1200000.00"}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)
        self.allow_negative = allow_negative
        self.allow_zero = allow_zero

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return parse_amount(value, allow_negative=self.allow_negative, allow_zero=self.allow_zero)
        except AmountError as exc:
            raise ValidationError(exc.message) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_amount(int(value))
