"""The compensation of a claim (SPEC §3.1), with the steps that explain it.

All arithmetic is on integers: amounts in fen, rule ratios in ten-thousandths, and a
blended size-tier ratio as an exact numerator/denominator pair. Nothing is rounded
until the compensation itself, once, ROUND_HALF_UP (SPEC §1).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from rules.money import format_amount, parse_amount, ratio_text
from rules.ruleset import RATIO_SCALE, SHARE_SCALE, PayerTemplate, RegionMatch, RuleSet
from rules.split import split_integer_weights
from rules.steps import Step, make_step, show_ratio, show_units

SubfundExists = Callable[[str], bool]


@dataclass(frozen=True)
class ClaimFacts:
    """What the calculator needs to know about a defaulted loan (amounts in fen)."""

    #: The borrower's 6-digit region code.
    region: str
    #: Any collection of category names; kept as a frozenset.
    categories: frozenset[str] | Collection[str]
    loan_principal: int
    #: Outstanding principal at default; interest and penalties are never compensated.
    outstanding_principal: int

    def __post_init__(self) -> None:
        if isinstance(self.categories, str):
            raise TypeError("categories must be a collection of category names, not one string")
        if not isinstance(self.categories, frozenset):
            # Any collection is accepted; a frozenset keeps the facts hashable.
            object.__setattr__(self, "categories", frozenset(self.categories))
        for name in ("loan_principal", "outstanding_principal"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int number of fen")
        if self.loan_principal <= 0:
            raise ValueError("loan_principal must be greater than 0")
        if self.outstanding_principal < 0:
            raise ValueError("outstanding_principal must not be negative")


class PayerLine(NamedTuple):
    """One payer's part of a compensation (immutable; a named tuple because every
    claim makes several and they are cheapest to build)."""

    #: The sub-fund that pays: the template expanded, or its fallback.
    subfund: str
    share: Decimal
    amount: int
    #: The payer line as written in the rule file, e.g. ``CITY-{city}``.
    template: str
    fallback_used: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "subfund": self.subfund,
            "share": format(self.share, "f"),
            "amount": format_amount(self.amount),
            "template": self.template,
            "fallback_used": self.fallback_used,
        }


class Decision:
    """A computed compensation: the figures and every step that produced them.

    Immutable. The steps are built on first read: ``compute`` records what they need
    (a few tuples) and the wording is produced only when someone looks, so that
    portfolio-wide what-ifs over many loans do not pay for sentences nobody reads.
    """

    __slots__ = ("ratio", "eligible_loss", "compensation", "payers", "_steps", "_trace")

    #: Exact; a size-tier blend may have more than four decimals.
    ratio: Fraction
    eligible_loss: int
    compensation: int
    payers: tuple[PayerLine, ...]

    def __init__(
        self,
        ratio: Fraction,
        eligible_loss: int,
        compensation: int,
        payers: tuple[PayerLine, ...],
        steps: Sequence[Step],
    ) -> None:
        self._init(ratio, eligible_loss, compensation, tuple(payers), tuple(steps), None)

    def _init(
        self,
        ratio: Fraction,
        eligible_loss: int,
        compensation: int,
        payers: tuple[PayerLine, ...],
        steps: tuple[Step, ...] | None,
        trace: list[tuple[Any, ...]] | None,
    ) -> None:
        put = object.__setattr__
        put(self, "ratio", ratio)
        put(self, "eligible_loss", eligible_loss)
        put(self, "compensation", compensation)
        put(self, "payers", payers)
        put(self, "_steps", steps)
        put(self, "_trace", trace)

    @classmethod
    def _traced(
        cls,
        ratio: Fraction,
        eligible_loss: int,
        compensation: int,
        payers: tuple[PayerLine, ...],
        trace: list[tuple[Any, ...]],
    ) -> Decision:
        decision = cls.__new__(cls)
        decision._init(ratio, eligible_loss, compensation, payers, None, trace)
        return decision

    @property
    def steps(self) -> tuple[Step, ...]:
        steps = self._steps
        if steps is None:
            trace = self._trace
            if trace is None:  # another thread built them just now (it sets _steps first)
                return self._steps  # type: ignore[return-value]
            # Each trace entry is (step builder, its arguments), in computation order.
            steps = tuple(build(*args) for build, *args in trace)
            object.__setattr__(self, "_steps", steps)
            object.__setattr__(self, "_trace", None)
        return steps

    @property
    def ratio_text(self) -> str:
        """The ratio shown to four decimals (display only)."""
        return ratio_text(self.ratio)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[object, ...]:
        return (self.ratio, self.eligible_loss, self.compensation, self.payers, self.steps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # steps hold dicts, like Step itself

    def __reduce__(self) -> tuple[object, ...]:
        # copy and pickle rebuild through __init__, since attributes cannot be set.
        return (Decision, (self.ratio, self.eligible_loss, self.compensation, self.payers, self.steps))

    def __repr__(self) -> str:
        return (
            f"Decision(ratio={self.ratio!r}, eligible_loss={self.eligible_loss!r}, "
            f"compensation={self.compensation!r}, payers={self.payers!r}, steps={self.steps!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form; :meth:`from_dict` restores an equal Decision."""
        return {
            "ratio": self.ratio_text,
            "ratio_exact": f"{self.ratio.numerator}/{self.ratio.denominator}",
            "eligible_loss": format_amount(self.eligible_loss),
            "compensation": format_amount(self.compensation),
            "payers": [line.to_dict() for line in self.payers],
            "steps": [step.to_dict() for step in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        return cls(
            ratio=Fraction(data["ratio_exact"]),
            eligible_loss=parse_amount(data["eligible_loss"]),
            compensation=parse_amount(data["compensation"]),
            payers=tuple(
                PayerLine(
                    subfund=line["subfund"],
                    share=Decimal(line["share"]),
                    amount=parse_amount(line["amount"]),
                    template=line["template"],
                    fallback_used=bool(line["fallback_used"]),
                )
                for line in data["payers"]
            ),
            steps=tuple(Step.from_dict(step) for step in data["steps"]),
        )


def compute(
    rules: RuleSet,
    facts: ClaimFacts,
    *,
    subfund_exists: SubfundExists,
    enterprise_compensated: int = 0,
    bank_annual_remaining: int | None = None,
) -> Decision:
    """The compensation for one claim under one rule version.

    ``enterprise_compensated`` is what the enterprise has already been compensated in
    this scheme (for ``per_enterprise_cap``); ``bank_annual_remaining`` is what is left
    of the bank's ``per_bank_annual_cap`` this year, given only at approval. A quote
    passes neither. ``subfund_exists`` tells which sub-funds the ledger knows, for
    placeholder expansion and fallbacks.
    """
    if enterprise_compensated < 0:
        raise ValueError("enterprise_compensated must not be negative")
    if bank_annual_remaining is not None and bank_annual_remaining < 0:
        raise ValueError("bank_annual_remaining must not be negative")
    region = facts.region
    # (builder, args...) for each step, turned into Steps only when they are read.
    trace: list[tuple[Any, ...]] = []

    # 1. Region ratio: county -> city -> province; else base_ratio or the size tier.
    # The ratio is num/den throughout; den is a multiple of RATIO_SCALE.
    match = rules.match_region(region)
    trace.append((_region_step, rules, region, match))
    if match.entry is not None:
        num, den = match.units, RATIO_SCALE
    elif rules.size_tiers:
        num, den, tier_step = _size_tier_ratio(rules, facts.loan_principal)
        trace.append(tier_step)
    else:
        num, den = rules.base_units, RATIO_SCALE  # type: ignore[assignment]

    # 2. Uplift: sum or max of the uplifts of the enterprise's categories.
    categories = facts.categories
    items = [item for item in rules.uplift_items if item[0] in categories]
    if items:
        units = [item[1] for item in items]
        uplift = max(units) if rules.uplift_mode == "max" else sum(units)
        num += uplift * (den // RATIO_SCALE)
        trace.append((_uplift_step, rules.uplift_mode, items, uplift))

    # 3. Ratio = min(max_ratio, region ratio + uplift); without a max_ratio, never above 1.
    max_units = rules.max_units
    capped = num * RATIO_SCALE > max_units * den
    if rules.max_ratio is not None or capped:
        before = (num, den)
        if capped:
            num, den = max_units, RATIO_SCALE
        trace.append((_max_ratio_step, before, max_units, (num, den), capped, rules.max_ratio is None))

    # 4. Eligible loss: principal only.
    principal, outstanding = facts.loan_principal, facts.outstanding_principal
    eligible_loss = outstanding if outstanding < principal else principal
    trace.append((_eligible_loss_step, outstanding, principal, eligible_loss))

    # 5. Compensation, rounded once (ROUND_HALF_UP of a non-negative exact quotient:
    # floor(x + 1/2)), then the limits in SPEC order; each one that bites is a step.
    compensation = (2 * num * eligible_loss + den) // (2 * den)
    trace.append((_compensation_step, num, den, eligible_loss, compensation))
    limits = rules.claims
    cap = limits.per_claim_cap
    if cap is not None and compensation > cap:
        trace.append((_cap_step, "per_claim_cap", compensation, cap, cap))
        compensation = cap
    cap = limits.per_enterprise_cap
    if cap is not None:
        left = cap - enterprise_compensated if cap > enterprise_compensated else 0
        if compensation > left:
            trace.append((_enterprise_cap_step, compensation, left, cap, enterprise_compensated))
            compensation = left
    if bank_annual_remaining is not None and compensation > bank_annual_remaining:
        trace.append((_cap_step, "per_bank_annual_cap", compensation, bank_annual_remaining, bank_annual_remaining))
        compensation = bank_annual_remaining

    # 6. Split among the payers (a matching region entry's own list replaces the default).
    amounts = split_integer_weights(compensation, match.share_units)
    lines = []
    for payer, expanded, amount in zip(match.payers, match.expanded, amounts):
        if expanded is not None and subfund_exists(expanded):
            lines.append(PayerLine(expanded, payer.share, amount, payer.subfund, False))
        else:
            lines.append(_fallback_line(payer, expanded, amount, region, subfund_exists, trace))
    payers = tuple(lines)
    trace.append((_split_step, compensation, payers, match.payer_source))
    return Decision._traced(Fraction(num, den), eligible_loss, compensation, payers, trace)


def share_units(share: Decimal) -> int:
    """A payer share (at most six decimals) in millionths: exact."""
    return int(share * SHARE_SCALE)


def _show(num: int, den: int) -> str:
    if den == RATIO_SCALE:
        return show_units(num)
    return show_ratio(Fraction(num, den))


def _size_tier_ratio(rules: RuleSet, principal: int) -> tuple[int, int, tuple[Any, ...]]:
    """The ratio from ``size_tiers`` for a loan of ``principal`` fen, as num/den, and
    the trace entry of its step.

    ``up_to`` is inclusive. A principal above the last tier's ``up_to`` takes the last
    tier's ratio (whole), or its excess does (marginal): the rule file sets no upper
    bound on the tiers, and ``eligibility.max_loan_principal`` is where large loans are
    refused.
    """
    tiers = rules.tier_table
    if rules.tier_mode == "whole":
        for index, (up_to, units, _) in enumerate(tiers):
            if principal <= up_to:
                break
        else:
            index, (up_to, units, _) = len(tiers) - 1, tiers[-1]
        return units, RATIO_SCALE, (_whole_tier_step, rules, principal, index)

    # Marginal: each slice of the principal at its own tier's ratio, blended exactly.
    weighted = 0
    lower = 0
    last = len(tiers) - 1
    for index, (up_to, units, _) in enumerate(tiers):
        top = principal if index == last else min(principal, up_to)
        if top > lower:
            weighted += (top - lower) * units
        lower = up_to
        if principal <= up_to:
            break
    # Keep the unreduced pair: den stays a multiple of RATIO_SCALE for the uplift.
    return weighted, principal * RATIO_SCALE, (_marginal_tier_step, rules, principal, weighted)


def _fallback_line(
    payer: PayerTemplate,
    expanded: str | None,
    amount: int,
    region: str,
    subfund_exists: SubfundExists,
    trace: list[tuple[Any, ...]],
) -> PayerLine:
    """The line of a payer whose expanded sub-fund does not exist (or cannot be filled
    for this region): its fallback pays, if that exists.

    When neither exists the line still names the expanded code (or the template, if
    the region cannot fill it): the ledger refuses to reserve from a sub-fund it does
    not have, so such a claim cannot be approved until the sub-fund is created, and a
    ``payer_missing`` step says why.
    """
    fallback = payer.fallback
    if fallback is not None and subfund_exists(fallback):
        trace.append((_payer_step, "payer_fallback", payer, expanded, region))
        return PayerLine(fallback, payer.share, amount, payer.subfund, True)
    trace.append((_payer_step, "payer_missing", payer, expanded, region))
    return PayerLine(expanded if expanded is not None else payer.subfund, payer.share, amount, payer.subfund, False)


# -- step builders: called when a decision's steps are first read ------------------------


def _region_step(rules: RuleSet, region: str, match: RegionMatch) -> Step:
    entry = match.entry
    if entry is not None:
        return make_step(
            "region_ratio",
            region=region,
            matched=match.matched,
            source="region" if entry.region is not None else "group",
            group=entry.group,
            entry=entry.path,
            ratio=match.text,
        )
    if rules.size_tiers:
        return make_step("region_ratio", region=region, matched=None, source="size_tiers", ratio=None)
    return make_step(
        "region_ratio", region=region, matched=None, source="base_ratio", ratio=show_units(rules.base_units or 0)
    )


def _whole_tier_step(rules: RuleSet, principal: int, index: int) -> Step:
    up_to, _, text = rules.tier_table[index]
    return make_step(
        "size_tier",
        mode="whole",
        principal=format_amount(principal),
        tier=index,
        up_to=format_amount(up_to),
        above_last=principal > up_to,
        ratio=text,
    )


def _marginal_tier_step(rules: RuleSet, principal: int, weighted: int) -> Step:
    slices: list[dict[str, str]] = []
    lower = 0
    last = len(rules.tier_table) - 1
    for index, (up_to, _, text) in enumerate(rules.tier_table):
        top = principal if index == last else min(principal, up_to)
        if top > lower:
            slices.append({"amount": format_amount(top - lower), "ratio": text})
        lower = up_to
        if principal <= up_to:
            break
    exact = Fraction(weighted, principal * RATIO_SCALE)
    return make_step(
        "size_tier",
        mode="marginal",
        principal=format_amount(principal),
        slices=slices,
        ratio=show_ratio(exact),
        exact=f"{exact.numerator}/{exact.denominator}",
    )


def _uplift_step(mode: str, items: list[tuple[str, int, str]], uplift: int) -> Step:
    return make_step(
        "uplift",
        mode=mode,
        items=[{"category": category, "uplift": text} for category, _, text in items],
        uplift=show_units(uplift),
    )


def _max_ratio_step(
    before: tuple[int, int], max_units: int, after: tuple[int, int], capped: bool, implicit: bool
) -> Step:
    return make_step(
        "max_ratio",
        before=_show(*before),
        max=show_units(max_units),
        ratio=_show(*after),
        capped=capped,
        implicit=implicit,
    )


def _eligible_loss_step(outstanding: int, principal: int, eligible_loss: int) -> Step:
    return make_step(
        "eligible_loss",
        outstanding=format_amount(outstanding),
        principal=format_amount(principal),
        eligible_loss=format_amount(eligible_loss),
    )


def _compensation_step(num: int, den: int, eligible_loss: int, compensation: int) -> Step:
    return make_step(
        "compensation",
        ratio=_show(num, den),
        eligible_loss=format_amount(eligible_loss),
        compensation=format_amount(compensation),
    )


def _cap_step(rule: str, before: int, after: int, cap: int) -> Step:
    return make_step(rule, before=format_amount(before), cap=format_amount(cap), after=format_amount(after))


def _enterprise_cap_step(before: int, after: int, cap: int, used: int) -> Step:
    return make_step(
        "per_enterprise_cap",
        before=format_amount(before),
        cap=format_amount(cap),
        used=format_amount(used),
        after=format_amount(after),
    )


def _payer_step(rule: str, payer: PayerTemplate, expanded: str | None, region: str) -> Step:
    return make_step(rule, template=payer.subfund, expanded=expanded, region=region, fallback=payer.fallback)


def _split_step(total: int, payers: tuple[PayerLine, ...], source: str) -> Step:
    return make_step(
        "split",
        total=format_amount(total),
        source=source,
        lines=[
            {"subfund": p.subfund, "share": format(p.share, "f"), "amount": format_amount(p.amount)} for p in payers
        ],
    )


# -- later changes: approval-time limits and repairs ------------------------------------


def _resplit(decision: Decision, compensation: int, step: Step) -> Decision:
    """The same decision with a lower compensation: the new limit's step and a fresh
    split replace the old split (fallback steps stay: the payers are the same)."""
    steps = list(decision.steps)
    source = "payers"
    for i in range(len(steps) - 1, -1, -1):
        if steps[i].rule == "split":
            source = steps[i].params.get("source", "payers")
            del steps[i]
            break
    amounts = split_integer_weights(compensation, [share_units(line.share) for line in decision.payers])
    payers = tuple(
        PayerLine(line.subfund, line.share, amount, line.template, line.fallback_used)
        for line, amount in zip(decision.payers, amounts)
    )
    steps += [step, _split_step(compensation, payers, source)]
    return Decision(decision.ratio, decision.eligible_loss, compensation, payers, steps)


def limit_to(decision: Decision, cap: int, rule: str) -> Decision:
    """Apply a limit known only later (e.g. what is left of ``per_bank_annual_cap`` at
    approval), recorded as a step named ``rule``. A limit that does not bite changes
    nothing and adds no step."""
    if cap < 0:
        raise ValueError("a cap must not be negative")
    if decision.compensation <= cap:
        return decision
    return _resplit(decision, cap, _cap_step(rule, decision.compensation, cap, cap))


def portfolio_cap(rate: Decimal, registered_principal: int) -> int:
    """The portfolio cap of one vintage in fen: ROUND_HALF_UP(rate x registered principal)
    (SPEC §3.1 step 5), rounded once from the exact product."""
    if registered_principal < 0:
        raise ValueError("registered principal must not be negative")
    product = Fraction(rate) * registered_principal
    return (2 * product.numerator + product.denominator) // (2 * product.denominator)


def limit_by_portfolio_cap(decision: Decision, *, vintage: int, rate: Decimal, registered: int, used: int) -> Decision:
    """Apply the bank's portfolio cap for the loan's disbursement year at approval, after
    the annual cap (SPEC §3.1 step 5): what is left of ROUND_HALF_UP(rate x principal the
    bank registered for that vintage) minus what was already approved on it. Recorded as
    a ``portfolio_cap`` step when it bites; otherwise the decision comes back unchanged."""
    cap = portfolio_cap(rate, registered)
    left = cap - used if cap > used else 0
    if decision.compensation <= left:
        return decision
    step = make_step(
        "portfolio_cap",
        vintage=vintage,
        rate=format(rate, "f"),
        registered=format_amount(registered),
        cap=format_amount(cap),
        used=format_amount(used),
        before=format_amount(decision.compensation),
        after=format_amount(left),
    )
    return _resplit(decision, left, step)


def repair(decision: Decision, amount: int, reason: str) -> Decision:
    """The approver approves less than computed (SPEC §4), with a mandatory reason.

    Approving exactly the computed amount is not a repair: the decision comes back
    unchanged.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount must be an int number of fen")
    if not 0 <= amount <= decision.compensation:
        raise ValueError(
            f"a repaired amount must be between 0.00 and the computed {format_amount(decision.compensation)}"
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a repair needs a reason")
    if amount == decision.compensation:
        return decision
    step = make_step(
        "repair",
        before=format_amount(decision.compensation),
        after=format_amount(amount),
        reason=reason.strip(),
    )
    return _resplit(decision, amount, step)


__all__ = [
    "ClaimFacts",
    "Decision",
    "PayerLine",
    "compute",
    "limit_by_portfolio_cap",
    "limit_to",
    "portfolio_cap",
    "repair",
]
