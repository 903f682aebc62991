"""The vectorised integer helpers agree with the calculator's own functions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.recoveries import recovery_share
from rules.split import split_integer_weights
from rules.simulation.arrays import NO_LIMIT, capped_in_order, recovery_shares, split_rows

weights_rows = st.lists(st.integers(0, 1_000_000), min_size=1, max_size=5).filter(lambda w: sum(w) > 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**12), weights_rows), min_size=1, max_size=20))
def test_split_rows_is_the_largest_remainder_split(rows):
    width = max(len(w) for _, w in rows)
    totals = np.array([t for t, _ in rows], dtype=np.int64)
    weights = np.array([w + [0] * (width - len(w)) for _, w in rows], dtype=np.int64)
    got = split_rows(totals, weights)
    for (total, w), parts in zip(rows, got.tolist()):
        assert parts[: len(w)] == split_integer_weights(total, w)
        assert sum(parts) == total


def test_split_rows_is_exact_past_int64_products():
    totals = np.array([10**15 - 1], dtype=np.int64)
    weights = np.array([[10**15, 10**15 - 7, 3]], dtype=np.int64)
    assert split_rows(totals, weights).tolist()[0] == split_integer_weights(10**15 - 1, [10**15, 10**15 - 7, 3])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**11), st.integers(0, 10**11), st.integers(0, 10**11)), min_size=1,
                max_size=20))
def test_recovery_shares_match_the_rules(rows):
    rows = [(loss, min(comp, loss), rec) for loss, comp, rec in rows]
    got = recovery_shares(*(np.array(col, dtype=np.int64) for col in zip(*rows)))
    assert got.tolist() == [recovery_share(loss, comp, min(rec, loss)) for loss, comp, rec in rows]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0, 50, 100, 250, None]), st.integers(0, 120)),
                max_size=30))
def test_running_caps_equal_approving_one_claim_after_another(events):
    keys = np.array([k for k, _, _ in events], dtype=np.int64)
    limits = np.array([NO_LIMIT if lim is None else lim for _, lim, _ in events], dtype=np.int64)
    amounts = np.array([a for _, _, a in events], dtype=np.int64)
    paid: dict[int, int] = {}
    expected = []
    for key, limit, amount in events:
        left = amount if limit is None else max(0, limit - paid.get(key, 0))
        granted = min(amount, left)
        paid[key] = paid.get(key, 0) + granted
        expected.append(granted)
    assert capped_in_order(keys, limits, amounts).tolist() == expected
