"""Sharing back what the bank recovers after a compensation was paid (SPEC §3.2).

Everything is computed on *cumulative* figures and differenced: the pool's cumulative
share is ROUND_HALF_UP(min(R, L) × C / L), and each payer's cumulative return is the
largest-remainder split of that share by what each payer paid. A recovery's lines are
the differences to what the same formulas gave before it, so however the bank batches
its recoveries, every payer ends up with the same total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.money import format_amount
from rules.split import split_integer_weights
from rules.steps import Step, make_step


class RecoveryExceedsLoss(ValueError):
    """Cumulative recoveries above the eligible loss: the bank cannot recover more
    principal than it lost (the ledger answers 422)."""

    def __init__(self, eligible_loss: int, recovered: int) -> None:
        self.eligible_loss = eligible_loss
        self.recovered = recovered
        super().__init__(
            f"cumulative recoveries {format_amount(recovered)} exceed the eligible loss {format_amount(eligible_loss)}"
        )


@dataclass(frozen=True)
class RecoveryResult:
    #: The pool's share of all recoveries so far, this one included.
    cumulative_share: int
    #: What earlier recoveries already returned to the payers.
    returned_before: int
    #: What this recovery returns: ``cumulative_share - returned_before``.
    returned_now: int
    #: (sub-fund, amount) per payer, in the order of ``paid``; sums to ``returned_now``.
    lines: tuple[tuple[str, int], ...]
    steps: tuple[Step, ...]


def recovery_share(eligible_loss: int, compensation: int, cumulative_recoveries: int) -> int:
    """The pool's cumulative share: ROUND_HALF_UP(min(R, L) × C / L), in fen."""
    if eligible_loss < 0 or compensation < 0 or cumulative_recoveries < 0:
        raise ValueError("amounts must not be negative")
    if eligible_loss == 0:
        return 0
    recovered = min(cumulative_recoveries, eligible_loss)
    # Integer ROUND_HALF_UP of a non-negative quotient: floor(x / L + 1/2).
    return (2 * recovered * compensation + eligible_loss) // (2 * eligible_loss)


def _payer_totals(share: int, paid: Sequence[tuple[str, int]]) -> list[int]:
    """Each payer's cumulative return for a cumulative pool share."""
    return split_integer_weights(share, [amount for _, amount in paid])


def recovery_returns(
    *,
    eligible_loss: int,
    compensation: int,
    paid: Sequence[tuple[str, int]],
    recovered_before: int,
    recovered_now: int,
) -> RecoveryResult:
    """What a new recovery returns to each payer.

    ``paid`` lists (sub-fund, amount paid) for the claim, summing to ``compensation``;
    ``recovered_before`` is the total of the bank's earlier recoveries on the claim.

    Largest remainder is not monotone in the total (the Alabama paradox): when one
    payer's exact part of ``returned_now`` is below one fen, its line can be -1 fen while
    another's is one more. The cumulative totals stay exact and path-independent.
    """
    if recovered_before < 0 or recovered_now < 0:
        raise ValueError("recoveries must not be negative")
    if compensation > eligible_loss:
        raise ValueError("the compensation cannot exceed the eligible loss")
    if not paid or any(amount < 0 for _, amount in paid):
        raise ValueError("paid must list what each payer paid, none negative")
    if sum(amount for _, amount in paid) != compensation:
        raise ValueError("what the payers paid must sum to the compensation")
    recovered = recovered_before + recovered_now
    if recovered > eligible_loss:
        raise RecoveryExceedsLoss(eligible_loss, recovered)

    cumulative = recovery_share(eligible_loss, compensation, recovered)
    before = recovery_share(eligible_loss, compensation, recovered_before)
    now = cumulative - before
    if compensation == 0:
        amounts = [0] * len(paid)
    else:
        after_totals = _payer_totals(cumulative, paid)
        before_totals = _payer_totals(before, paid)
        amounts = [a - b for a, b in zip(after_totals, before_totals)]
    lines = tuple((subfund, amount) for (subfund, _), amount in zip(paid, amounts))

    steps = (
        make_step(
            "recovery_share",
            recovered=format_amount(recovered),
            eligible_loss=format_amount(eligible_loss),
            compensation=format_amount(compensation),
            share=format_amount(cumulative),
        ),
        make_step(
            "recovery_return",
            cumulative_share=format_amount(cumulative),
            returned_before=format_amount(before),
            returned_now=format_amount(now),
        ),
        make_step(
            "recovery_split",
            total=format_amount(now),
            lines=[
                {"subfund": subfund, "paid": format_amount(paid_amount), "amount": format_amount(amount)}
                for (subfund, paid_amount), amount in zip(paid, amounts)
            ],
        ),
    )
    return RecoveryResult(cumulative, before, now, lines, steps)


__all__ = ["RecoveryExceedsLoss", "RecoveryResult", "recovery_returns", "recovery_share"]
