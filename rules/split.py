"""Largest-remainder split for integer weights, in integer arithmetic only.

The same method and tie-break as :func:`rules.money.split_largest_remainder` (SPEC §1:
floor every part, leftover fen to the largest remainders, ties to the earlier part),
which works for any weights through ``Fraction``. Payer shares (integer millionths)
and amounts paid (fen) are integers, and the calculator splits every claim, so this
avoids a dozen Fraction objects per split. The test suite checks that both functions
agree on arbitrary inputs.
"""

from __future__ import annotations

from collections.abc import Sequence


def split_integer_weights(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` fen in proportion to non-negative integer ``weights``."""
    if total < 0:
        raise ValueError("cannot split a negative total")
    weight_sum = sum(weights)
    if not weights or weight_sum <= 0 or min(weights) < 0:
        raise ValueError("weights must be non-negative and sum to more than zero")
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        part, remainder = divmod(total * weight, weight_sum)
        parts.append(part)
        remainders.append(remainder)
    leftover = total - sum(parts)
    if leftover:
        # Remainders share the denominator weight_sum, so comparing numerators is exact.
        order = sorted(range(len(parts)), key=lambda i: (-remainders[i], i))
        for i in order[:leftover]:
            parts[i] += 1
    return parts


__all__ = ["split_integer_weights"]
