"""Integer-fen arithmetic over numpy arrays, the same methods as :mod:`rules` (SPEC §1).

Money never becomes a float here: amounts are int64 fen, ratios are integer
numerator/denominator pairs, and every rounding is ROUND_HALF_UP written as
``floor((2·n + d) / 2d)`` on non-negative integers. Where a product could leave int64
(a loan near the 10^13-yuan ceiling), the arrays switch to Python integers
(``dtype=object``): slower, still exact.
"""

from __future__ import annotations

import numpy as np

#: Products below this stay inside int64 with room for the ``2·n + d`` of a rounding.
_SAFE = 2**61


def _exact_dtype(*bounds: int) -> type | np.dtype:
    product = 1
    for bound in bounds:
        product *= max(int(bound), 1)
    return np.int64 if product < _SAFE else object


def round_half_up_div(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """ROUND_HALF_UP(num / den) for non-negative ``num`` and positive ``den``."""
    return (2 * num + den) // (2 * den)


def split_rows(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of each ``totals[e]`` by the row ``weights[e, :]``.

    Row by row the same answer as :func:`rules.split.split_integer_weights`: floor
    every part, then one leftover fen each to the largest remainders, ties to the
    earlier column (payer order). Rows whose weights are all zero (nothing was paid,
    so nothing is shared back) come out as zeros; their total must be zero.
    """
    totals = np.asarray(totals)
    weights = np.asarray(weights)
    n, k = weights.shape
    if n == 0:
        return np.zeros((0, k), dtype=np.int64)
    weight_sum = weights.sum(axis=1)
    dtype = _exact_dtype(int(totals.max(initial=0)), int(weights.max(initial=0)))
    t = totals.astype(dtype)[:, None]
    w = weights.astype(dtype)
    s = np.where(weight_sum == 0, 1, weight_sum).astype(dtype)[:, None]
    product = t * w
    parts = product // s
    remainders = product - parts * s
    leftover = (totals.astype(dtype) - parts.sum(axis=1)).astype(np.int64)
    if leftover.any():
        # Rank columns by remainder, descending, ties to the earlier column: a stable
        # sort of the negated remainders keeps column order among equals.
        if dtype is np.int64:
            order = np.argsort(-remainders, axis=1, kind="stable")
        else:
            order = _object_order(remainders)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(k)[None, :].repeat(n, axis=0), axis=1)
        parts = parts + (rank < leftover[:, None])
    return parts.astype(np.int64)


def _object_order(remainders: np.ndarray) -> np.ndarray:
    """Column order by remainder for Python-integer rows (exact, no float)."""
    return np.array([sorted(range(len(row)), key=lambda j, row=row: (-row[j], j)) for row in remainders],
                    dtype=np.int64).reshape(remainders.shape)


def recovery_shares(eligible_loss: np.ndarray, compensation: np.ndarray, recovered: np.ndarray) -> np.ndarray:
    """The pool's share of recoveries, ROUND_HALF_UP(min(R, L) × C / L), per row (SPEC §3.2);
    0 where the eligible loss is 0, as :func:`rules.recoveries.recovery_share`."""
    if eligible_loss.size == 0:
        return np.zeros(0, dtype=np.int64)
    dtype = _exact_dtype(2, int(recovered.max(initial=0)), int(compensation.max(initial=0)))
    loss = eligible_loss.astype(dtype)
    r = np.minimum(recovered, eligible_loss).astype(dtype)
    safe_loss = np.where(eligible_loss == 0, 1, loss)
    share = round_half_up_div(r * compensation.astype(dtype), safe_loss)
    return np.where(eligible_loss == 0, 0, share).astype(np.int64)


def segment_starts(keys: np.ndarray) -> np.ndarray:
    """Indices where a run of equal ``keys`` (already sorted) begins."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def capped_in_order(keys: np.ndarray, limits: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Apply a running cap within each group, events taken in their given order.

    ``keys`` names each event's group (e.g. run × bank × year), ``limits`` what is left
    of the cap for that event (int64; ``NO_LIMIT`` when its rules have none),
    ``amounts`` the compensation before this cap. Event k of a group gets
    min(amount_k, limit - paid before it): the same as approving the claims one after
    the other. With one limit per group, what the group has paid after event k is
    min(limit, cumulative amounts), so the capped amounts are differences of that —
    one sort and one cumulative sum. Groups whose events carry different limits (loans
    frozen on versions with different caps) are walked one event at a time.
    """
    n = keys.size
    if n == 0:
        return amounts.copy()
    order = np.argsort(keys, kind="stable")
    k, lim, amt = keys[order], limits[order], amounts[order]
    starts = segment_starts(k)
    lengths = np.diff(np.r_[starts, n])
    group_of = np.repeat(np.arange(starts.size), lengths)
    cumulative = np.cumsum(amt)
    base = (cumulative[starts] - amt[starts])[group_of]
    running = cumulative - base  # inclusive, within the group
    low = np.minimum.reduceat(lim, starts)
    high = np.maximum.reduceat(lim, starts)
    group_limit = low[group_of]
    out = np.minimum(group_limit, running) - np.minimum(group_limit, running - amt)
    for g in np.flatnonzero(low != high):
        start, stop = starts[g], starts[g] + lengths[g]
        paid = 0
        for j in range(start, stop):
            left = max(0, int(lim[j]) - paid)
            out[j] = min(int(amt[j]), left)
            paid += int(out[j])
    result = np.empty_like(amounts)
    result[order] = out
    return result


#: A limit that never binds (no cap in the loan's rules); far above any sum of fen.
NO_LIMIT = np.int64(2**62)

__all__ = ["NO_LIMIT", "capped_in_order", "recovery_shares", "round_half_up_div", "segment_starts", "split_rows"]
