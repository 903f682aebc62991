"""SPEC §3.2: recoveries shared back to the payers, computed cumulatively."""

from __future__ import annotations

import pytest

from rules import RecoveryExceedsLoss, recovery_returns, recovery_share

PAID = [("GD-PROV", 1_050_000_00), ("CITY-440700", 630_000_00), ("INS-PICC", 420_000_00)]
LOSS, COMPENSATION = 3_000_000_00, 2_100_000_00


def returns(before: int, now: int, paid=PAID, loss=LOSS, compensation=COMPENSATION):
    return recovery_returns(
        eligible_loss=loss, compensation=compensation, paid=paid, recovered_before=before, recovered_now=now
    )


def test_second_recovery_returns_the_difference_to_the_cumulative_share():
    # Example 2 again: after 1,000,000.00 recovered (700,000.00 returned), the bank
    # recovers 500,000.00 more: cumulative 1,500,000.00 x 0.7 = 1,050,000.00, so 350,000.00 now.
    result = returns(1_000_000_00, 500_000_00)

    assert (result.cumulative_share, result.returned_before, result.returned_now) == (
        1_050_000_00,
        700_000_00,
        350_000_00,
    )
    assert result.lines == (("GD-PROV", 175_000_00), ("CITY-440700", 105_000_00), ("INS-PICC", 70_000_00))
    assert [s.detail for s in result.steps] == [
        "recovery_share: min(1500000.00, 3000000.00) x 2100000.00 / 3000000.00 -> 1050000.00",
        "recovery_return: 1050000.00 less 700000.00 already returned -> 350000.00",
        "recovery_split: 350000.00 by amounts paid -> GD-PROV 175000.00, CITY-440700 105000.00, INS-PICC 70000.00",
    ]
    assert result.steps[1].render("zh") == "本次返还：1050000.00 − 已返还 700000.00 → 350000.00"


def test_rounding_is_cumulative_so_batching_does_not_matter():
    # Compensation 1.00 on a loss of 3.00: each 1.00 recovered is worth 0.333... Three
    # separate recoveries of 1.00 return 0.33 + 0.34 + 0.33 = 1.00, as one of 3.00 does.
    shares = [recovery_share(300, 100, r) for r in (100, 200, 300)]

    assert shares == [33, 67, 100]
    assert [returns(before, 100, paid=[("P", 100)], loss=300, compensation=100).returned_now for before in (0, 100, 200)] == [
        33,
        34,
        33,
    ]


def test_recovery_share_rounds_half_up():
    # 1 x 1 / 2 = 0.5 fen -> 1
    assert recovery_share(2, 1, 1) == 1


def test_recovering_more_than_the_loss_is_refused():
    with pytest.raises(RecoveryExceedsLoss) as caught:
        returns(2_500_000_00, 500_000_01)

    assert caught.value.eligible_loss == LOSS
    assert caught.value.recovered == 3_000_000_01
    assert str(caught.value) == "cumulative recoveries 3000000.01 exceed the eligible loss 3000000.00"
    assert isinstance(caught.value, ValueError)


def test_paid_must_add_up_to_the_compensation():
    with pytest.raises(ValueError, match="sum to the compensation"):
        returns(0, 1, paid=PAID[:2])


def test_a_payer_named_twice_gets_two_lines():
    # Example 1's GD-PROV paid its own share and, as fallback, the city's.
    result = returns(
        0,
        1_500_000_00,
        paid=[("GD-PROV", 375_000_00), ("GD-PROV", 225_000_00), ("INS-PICC", 150_000_00)],
        loss=1_500_000_00,
        compensation=750_000_00,
    )

    assert result.lines == (("GD-PROV", 375_000_00), ("GD-PROV", 225_000_00), ("INS-PICC", 150_000_00))


def test_largest_remainder_paradox_is_confined_to_sub_fen_returns():
    # Largest remainder is not monotone in the total (the "Alabama paradox"). With paid
    # amounts 6.00 / 6.00 / 2.00 and a cumulative share going from 0.03 to 0.04, the
    # cumulative per-payer split goes from 0.01/0.01/0.01 to 0.02/0.02/0.00, so this
    # one-fen return is +1/+1/-1. It needs a payer's exact part of the return to be
    # below one fen; per-payer totals stay path-independent (see the property tests).
    paid = [("A", 600), ("B", 600), ("C", 200)]

    result = returns(3, 1, paid=paid, loss=1400, compensation=1400)

    assert result.returned_now == 1
    assert result.lines == (("A", 1), ("B", 1), ("C", -1))
