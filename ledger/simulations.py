"""The live portfolio as of a date, for the simulation engine (SPEC §8); and running it.

Reads only: loans, their events up to the date, the rule versions they froze, claims
approved by the date and the sub-funds' available balances at the end of that day
(postings with an effective date not after it). Nothing is written — not the journal,
not the audit log, not a balance — so a simulation can run inside any read
transaction.

A loan is in the portfolio when it was registered and disbursed by the date and its
status that day (its last event on or before it; ``active`` without events) is live:
``active`` loans may default in the scenario; ``defaulted`` and ``claimed`` ones have
defaulted already and, unless their claim was approved by the date (then the money is
reserved and no longer available), are compensated in the first month of every run.
Caps already used (per enterprise, per bank and year, per vintage) count claims
approved or paid with an approval date not after the date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules import simulation
from rules import RuleSet
from rules.simulation import Portfolio, Scenario, SimLoan

from .errors import ValidationFailed
from .models import Account, Bank, Claim, Enterprise, JournalTransaction, Loan, LoanEvent, Posting, RuleVersion, SubFund
from .schemes import get_scheme, parse_document, ruleset_of

#: Loan statuses that are still the pool's risk.
_LIVE = ("active", "defaulted", "claimed")
_APPROVED = ("approved", "paid")


def available_as_of(session: Session, as_of: date) -> dict[str, int]:
    """Every sub-fund's available balance at the end of ``as_of`` (fen), from postings."""
    codes = list(session.scalars(select(SubFund.code).order_by(SubFund.code)))
    accounts = {f"subfund:{code}:available": code for code in codes}
    rows = session.execute(
        select(Account.code, func.coalesce(func.sum(Posting.amount), 0))
        .join(Posting, Posting.account_id == Account.id)
        .join(JournalTransaction, JournalTransaction.id == Posting.transaction_id)
        .where(Account.code.in_(list(accounts)), JournalTransaction.effective_on <= as_of)
        .group_by(Account.code)
    ).all()
    balances = dict.fromkeys(codes, 0)
    for account, amount in rows:
        balances[accounts[account]] = int(amount)  # available is debit-normal: the signed sum
    return balances


def snapshot(session: Session, scheme_code: str, as_of: date) -> Portfolio:
    """The scheme's live portfolio and the history its caps depend on, as of ``as_of``."""
    scheme = get_scheme(session, scheme_code)
    versions = {v.id: v for v in scheme.versions}
    rulesets: dict[int, RuleSet] = {v.version: ruleset_of(v) for v in scheme.versions}
    banks = dict(session.execute(select(Bank.id, Bank.code)).all())

    # Each loan's last event on or before the date: its outstanding and status then. A
    # loan without any event is as it stands; one whose events all come later is as
    # registered (full principal, active).
    with_events = set(session.scalars(
        select(LoanEvent.loan_id).join(Loan, Loan.id == LoanEvent.loan_id).where(Loan.scheme_id == scheme.id)
        .distinct()))
    state: dict[int, tuple[int, str]] = {}
    for loan_id, outstanding, status in session.execute(
        select(LoanEvent.loan_id, LoanEvent.outstanding_after, LoanEvent.status_after)
        .join(Loan, Loan.id == LoanEvent.loan_id)
        .where(Loan.scheme_id == scheme.id, LoanEvent.on <= as_of)
        .order_by(LoanEvent.loan_id, LoanEvent.on, LoanEvent.id)
    ):
        state[loan_id] = (int(outstanding), status)

    approved_loans: set[int] = set()
    enterprise_used: dict[str, int] = defaultdict(int)
    annual_used: dict[tuple[str, int], int] = defaultdict(int)
    vintage_used: dict[tuple[str, int], int] = defaultdict(int)
    for loan_id, bank_id, credit_code, disbursed_on, approved_on, amount in session.execute(
        select(Claim.loan_id, Claim.bank_id, Enterprise.credit_code, Loan.disbursed_on, Claim.approved_on,
               Claim.approved_amount)
        .join(Loan, Loan.id == Claim.loan_id).join(Enterprise, Enterprise.id == Loan.enterprise_id)
        .where(Claim.scheme_id == scheme.id, Claim.status.in_(_APPROVED), Claim.approved_on <= as_of)
    ):
        approved_loans.add(loan_id)
        bank = banks[bank_id]
        enterprise_used[credit_code] += int(amount or 0)
        annual_used[(bank, approved_on.year)] += int(amount or 0)
        vintage_used[(bank, disbursed_on.year)] += int(amount or 0)

    loans: list[SimLoan] = []
    registered: dict[tuple[str, int], int] = defaultdict(int)
    categories_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
    for row in session.execute(
        select(Loan.id, Loan.bank_id, Enterprise.credit_code, Loan.region, Loan.categories, Loan.principal,
               Loan.disbursed_on, Loan.rule_version_id, Loan.outstanding, Loan.status)
        .join(Enterprise, Enterprise.id == Loan.enterprise_id)
        .where(Loan.scheme_id == scheme.id, Loan.registered_on <= as_of, Loan.disbursed_on <= as_of)
        .order_by(Loan.id)
    ):
        loan_id, bank_id, credit_code, region, categories, principal, disbursed_on, version_id, now, now_status = row
        if loan_id in state:
            outstanding, status = state[loan_id]
        elif loan_id in with_events:
            outstanding, status = int(principal), "active"
        else:
            outstanding, status = int(now), now_status
        bank = banks[bank_id]
        if status != "cancelled":
            registered[(bank, disbursed_on.year)] += int(principal)
        if status not in _LIVE or loan_id in approved_loans:
            continue
        key = tuple(sorted(categories))
        cats = categories_cache.setdefault(key, key)
        loans.append(SimLoan(loan_id, bank, credit_code, region, cats, int(principal), outstanding,
                             disbursed_on.year, versions[version_id].version, defaulted=status != "active"))
    return Portfolio(
        scheme=scheme.code, as_of=as_of, loans=loans, versions=rulesets, available=available_as_of(session, as_of),
        enterprise_compensated=dict(enterprise_used), bank_annual_approved=dict(annual_used),
        vintage_registered=dict(registered), vintage_approved=dict(vintage_used),
    )


def draft_rules(scheme_code: str, document: Mapping[str, Any]) -> RuleSet:
    """A draft rule document validated exactly as publishing validates it (never published)."""
    try:
        draft = parse_document(document)
    except ValidationFailed as exc:
        # The same problems publishing reports, located inside the request (``rules.…``).
        raise ValidationFailed("The draft rule document is invalid.", code="invalid_rules",
                               errors={f"rules.{path}": messages for path, messages in exc.errors.items()}) from None
    if draft.scheme != scheme_code:
        raise ValidationFailed(f"The draft is for scheme {draft.scheme}, not {scheme_code}.",
                               code="scheme_mismatch", errors={"rules.scheme": [f"must be {scheme_code}"]})
    return draft


def parse_scenario(data: Any) -> Scenario:
    """A scenario, or 422 ``invalid_scenario`` naming every bad field (``scenario.runs``)."""
    try:
        return simulation.parse_scenario(data)
    except simulation.ScenarioError as exc:
        raise ValidationFailed("The scenario is invalid.", code="invalid_scenario",
                               errors={f"scenario.{path}": messages for path, messages in exc.errors.items()}) from None


def run_simulation(session: Session, scheme_code: str, scenario: Scenario, *,
                   draft_document: Mapping[str, Any] | None = None,
                   progress: simulation.engine.Progress | None = None,
                   max_loan_runs: int | None = None) -> dict[str, Any]:
    """SPEC §8 over the ledger's portfolio as of the scenario's date; writes nothing.

    ``max_loan_runs`` bounds loans x runs (x2 with a draft): a request must not hold a
    worker for minutes; the CLI has no bound."""
    draft = draft_rules(scheme_code, draft_document) if draft_document is not None else None
    portfolio = snapshot(session, scheme_code, scenario.as_of)
    cells = len(portfolio.loans) * scenario.runs * (2 if draft is not None else 1)
    if max_loan_runs is not None and cells > max_loan_runs:
        most = max(1, max_loan_runs // max(1, len(portfolio.loans) * (2 if draft is not None else 1)))
        raise ValidationFailed(
            f"{len(portfolio.loans):,} loans x {scenario.runs:,} runs is more than one request simulates; "
            f"use at most {most:,} runs, or ledger-admin simulate.",
            code="simulation_too_large", errors={"scenario.runs": [f"at most {most} for this portfolio"]})
    return simulation.simulate(portfolio, scenario, draft=draft, progress=progress)


# -- the answer as files: an XLSX workbook and a PDF report ---------------------------------


def workbook(result: dict[str, Any]) -> bytes:
    """The answer as an XLSX workbook: the scenario, then per side (current, draft) a
    sheet of sub-funds, banks, steps and the depletion curve. Amounts are numbers (so a
    spreadsheet can sum them) written from the exact decimal strings, digit for digit,
    never through a Python float."""
    import io
    from decimal import Decimal

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "scenario"
    sheet.append(["scheme", result["scheme"]])
    sheet.append(["as_of", result["as_of"]])
    sheet.append(["loans", result["loans"]])
    for key, value in result["scenario"].items():
        if isinstance(value, dict):
            sheet.append([key, "default", value["default"]])
            for group in ("banks", "regions", "categories"):
                for name, rate in value.get(group, {}).items():
                    sheet.append([key, f"{group}.{name}", rate])
        else:
            sheet.append([key, value])

    def amount(text: str) -> Decimal:
        return Decimal(text)  # openpyxl writes a Decimal's digits as they are

    for side in ("current", "draft"):
        data = result[side]
        if data is None:
            continue
        subfunds = book.create_sheet(f"{side}-subfunds")
        subfunds.append(["subfund", "available", "contingent_liability", "expected_payout", "p95_payout",
                         "p99_payout", "max_payout", "depletion_probability", "expected_depletion_month"])
        for row in data["subfunds"]:
            subfunds.append([row["subfund"], *(amount(row[k]) for k in (
                "available", "contingent_liability", "expected_payout", "p95_payout", "p99_payout", "max_payout")),
                Decimal(row["depletion_probability"]),
                None if row["expected_depletion_month"] is None else Decimal(row["expected_depletion_month"])])
        for cells in subfunds.iter_rows(min_row=2, min_col=2, max_col=7):
            for cell in cells:
                cell.number_format = "#,##0.00"
        curve = book.create_sheet(f"{side}-depletion")
        curve.append(["month", *(row["subfund"] for row in data["subfunds"])])
        months = len(data["subfunds"][0]["depletion_curve"]) if data["subfunds"] else 0
        for m in range(months):
            curve.append([m + 1, *(Decimal(row["depletion_curve"][m]) for row in data["subfunds"])])
        banks = book.create_sheet(f"{side}-banks")
        banks.append(["bank", "contingent_liability", "expected_payout", "p95_payout", "portfolio_cap_used"])
        for row in data["banks"]:
            banks.append([row["bank"], amount(row["contingent_liability"]), amount(row["expected_payout"]),
                          amount(row["p95_payout"]), row["portfolio_cap_used"]])
        steps = book.create_sheet(f"{side}-steps")
        steps.append(["rule", "basis", "loans", "compensation", "reduced_by"])
        for row in data["steps"]:
            steps.append([row["rule"], row["basis"], row["loans"], amount(row["compensation"]),
                          amount(row["reduced_by"]) if "reduced_by" in row else None])
        lev = data["leverage"]
        for key, value in lev.items():  # on the scenario sheet: one figure a row
            sheet.append([f"{side}.leverage.{key}", value])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def report_pdf(result: dict[str, Any], *, lang: str = "zh", fund_name: str = "", font: Any = None) -> bytes:
    """The answer as a PDF report (``pdf.simulation_report``, a pure renderer)."""
    import hashlib
    import io
    from datetime import datetime, time

    from pdf import load_font
    from pdf.layout import StatementMeta
    from pdf.simulation_report import TITLE, render

    from rules.simulation import dumps

    digest = hashlib.sha256(dumps(result)).hexdigest()
    scenario = result["scenario"]
    meta = StatementMeta(
        number=f"SIM-{result['scheme']}-{result['as_of']}-{scenario['seed']}", title=TITLE[lang],
        fund_name=fund_name, lang=lang, state_sha256=digest,
        as_of=datetime.combine(date.fromisoformat(result["as_of"]), time(0)), subject=f"simulation {result['scheme']}")
    buffer = io.BytesIO()
    render(result, meta, font or load_font(), buffer)
    return buffer.getvalue()


__all__ = ["available_as_of", "draft_rules", "parse_scenario", "report_pdf", "run_simulation", "snapshot",
           "workbook"]
