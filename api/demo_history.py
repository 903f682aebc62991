"""A year of demo history (issue 14): a living fund a new user can explore.

Four banks with performing books registered month by month, their monthly loan-level
reports (CCB-JM's always late), a few defaults reported in them, claims in every state
with their dossiers, a recovery and a clawback. Everything goes through the ledger's own
services with the business date of the day it happened, so the journal, the audit chain,
the as-of reads and the early-warning series are exactly what the services would have
built. ICBC-GD's book is large and clean: its claims can be approved as they come.
Deterministic (a fixed seed), and quick (bulk reports, a few hundred loans).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import approvals, claims, clawbacks, creditcode, dossiers, enterprises, loan_reports, recoveries, schemes
from ledger.claims import ClaimInput
from ledger.errors import DomainError
from ledger.loans import LoanRequest, register_loan
from ledger.models import Bank, Loan, User

#: New GD-KJD rules from the second month: the optional duties of SPEC §3 switched on.
FUND_KEYS = {
    "claims": {"portfolio_cap_rate": "0.08", "decision_days": 30,
               "required_documents": ["loan_contract", "iou", "collection_evidence"]},
    "reporting": {"monthly_report_due_day": 10},
}
#: (bank, loans registered per month, borrower regions): ICBC-GD's book is the large one.
BOOKS = [
    ("ICBC-GD", 24, ["440106", "440703", "441900", "440511"]),
    ("CCB-JM", 14, ["440703", "440704", "440781"]),
    ("ABC-DG", 8, ["441900"]),
    ("GDRCB-ST", 6, ["440511", "440513"]),
]
EXTRA_BANKS = [("ABC-DG", "中国农业银行东莞分行"), ("GDRCB-ST", "汕头农村商业银行")]
#: The bank whose monthly reports arrive after the due day.
LATE_BANK = "CCB-JM"
FIRMS = ["智能装备", "新材料", "生物医药", "电子信息", "新能源", "数字科技", "精密制造", "农业科技"]

# Minimal documents of each format the dossier accepts (recognised by their first bytes).
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"


@dataclass
class History:
    start: date
    loans: int = 0
    reports: int = 0
    claims: dict[str, int] = field(default_factory=dict)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def months_between(start: date, today: date) -> list[tuple[int, int]]:
    out, (year, month) = [], (start.year, start.month)
    while (year, month) < (today.year, today.month):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def load_history(session: Session, *, today: date, actor: str) -> History:
    """Build the history up to ``today`` (the last twelve months, not before the example rules)."""
    rnd = random.Random(2026)
    first = date(today.year - 1, today.month, 1)
    start = max(date(2026, 1, 1), first)
    history = History(start)
    # The optional duties from the second month on (a new version takes effect later).
    document = schemes.ruleset_of(schemes.version_in_force(session, schemes.get_scheme(session, "GD-KJD"),
                                                           start)).document
    for section, values in FUND_KEYS.items():
        document[section] = {**document.get(section, {}), **values}
    document["effective_from"] = (start + timedelta(days=31)).replace(day=1).isoformat()
    schemes.publish(session, "GD-KJD", document, actor=actor)

    banks = {b.code: b for b in session.scalars(select(Bank))}
    reviewer = session.scalars(select(User).where(User.name == "reviewer1")).one()
    approver = session.scalars(select(User).where(User.name == "approver1")).one()
    # Each bank's own borrowers; registered once, lent to month after month.
    borrowers: dict[str, list[str]] = {}
    serial = 0
    for code, per_month, regions in BOOKS:
        borrowers[code] = []
        for i in range(per_month * 3):
            serial += 1
            region = regions[i % len(regions)]
            body = "".join(creditcode.CHARSET[(serial // 31**k) % 31] for k in range(6))
            credit = creditcode.complete(f"91{region}MA{body}")
            categories = ["tech_sme"] + (["agri_tech"] if i % 7 == 0 else []) + (["high_tech"] if i % 3 == 0 else [])
            enterprises.register_enterprise(session, bank_id=banks[code].id, credit_code=credit,
                                            name=f"{'江门汕头东莞广州'[i % 4 * 2:i % 4 * 2 + 2]}"
                                                 f"{FIRMS[i % len(FIRMS)]}有限公司{serial:03d}",
                                            region=region, categories=categories, actor=actor)
            borrowers[code].append(credit)

    months = months_between(start, today)
    #: (bank, month index) -> how many of that month's report lines turn into defaults.
    # Late enough that each book is large, early enough that the claim windows are open now.
    defaults = {("ICBC-GD", 3): 1, ("ICBC-GD", 4): 1, ("ICBC-GD", 5): 1, ("ICBC-GD", 6): 1, ("CCB-JM", 4): 1,
                ("CCB-JM", 5): 1, ("ABC-DG", 4): 1, ("ABC-DG", 6): 1, ("GDRCB-ST", 5): 1}
    for index, (year, month) in enumerate(months):
        end = _month_end(year, month)
        for code, per_month, _regions in BOOKS:
            bank = banks[code]
            for n in range(per_month):
                day = date(year, month, 3 + (n * 23) // per_month)
                if day > today - timedelta(days=1):
                    continue
                principal = rnd.randrange(80, 800) * 1_000_000 if code != "ICBC-GD" else rnd.randrange(300, 1000) * 1_000_000
                request = LoanRequest(external_id=f"{code}-{year % 100:02d}{month:02d}-{n + 1:03d}", scheme="GD-KJD",
                                      credit_code=rnd.choice(borrowers[code]), principal=principal,
                                      disbursed_on=day, maturity_on=day + timedelta(days=rnd.choice((365, 720, 1080))),
                                      interest_rate="0.0385", collateral_type=rnd.choice(["信用", "保证", "抵押"]))
                try:
                    register_loan(session, request, bank_id=bank.id, today=day + timedelta(days=2),
                                  actor=f"{actor} for {code}")
                except DomainError:
                    continue  # e.g. the bank's NPL ratio suspends its registrations that month
                history.loans += 1
            # The month's report, on the 6th of the next month (CCB-JM's on the 14th: late).
            received = end + timedelta(days=14 if code == LATE_BANK else 6)
            if received >= today:
                continue
            lines = _report_lines(session, bank.id, end, rnd, defaults.get((code, index), 0))
            loan_reports.apply_report(session, bank_id=bank.id, period=f"{year:04d}-{month:02d}", lines=lines,
                                      today=received, actor=f"{actor} for {code}", source="json",
                                      body=f"demo {code} {year}-{month}".encode())
            history.reports += 1
    _claims(session, banks, reviewer, approver, today=today, actor=actor, history=history)
    return history


def _report_lines(session: Session, bank_id: int, end: date, rnd: random.Random,
                  new_defaults: int) -> list[loan_reports.ReportLine]:
    """The bank's live loans at the month's end: amortised, some repaid, a few defaulted."""
    lines = []
    loans = session.execute(select(Loan.external_id, Loan.principal, Loan.outstanding, Loan.status, Loan.maturity_on,
                                   Loan.disbursed_on, Loan.default_on)
                            .where(Loan.bank_id == bank_id, Loan.disbursed_on <= end,
                                   Loan.status.in_(("active", "defaulted", "claimed", "compensated")))
                            .order_by(Loan.id)).all()
    # Defaults fall on the smaller loans (the riskier, younger firms): each bank's NPL
    # ratio stays under its suspension thresholds, as a working demo needs.
    candidates = sorted((row for row in loans if row.status == "active" and (end - row.disbursed_on).days > 40),
                        key=lambda row: row.outstanding)
    candidates = candidates[: max(1, len(candidates) // 4)]
    chosen = {row.external_id for row in rnd.sample(candidates, min(new_defaults, len(candidates)))}
    for external_id, principal, outstanding, status, maturity, disbursed, default_on in loans:
        if status != "active":
            lines.append(loan_reports.ReportLine(external_id, outstanding, "default", 120, default_on))
        elif external_id in chosen:
            lines.append(loan_reports.ReportLine(external_id, outstanding, "default", 95, end - timedelta(days=10)))
        elif maturity <= end or rnd.random() < 0.01:
            lines.append(loan_reports.ReportLine(external_id, 0, "repaid", 0, None))
        elif int(external_id[-3:]) % 3:
            # Most SME loans pay interest monthly and the principal at maturity (按月付息，到期还本).
            lines.append(loan_reports.ReportLine(external_id, outstanding, "current", 0, None))
        else:
            # The others repay equal monthly principal over the term, rounded to the yuan.
            months = max(1, (maturity - disbursed).days // 30)
            left = max(0, outstanding - principal // months // 100 * 100) if end >= disbursed + timedelta(days=25) \
                else outstanding
            lines.append(loan_reports.ReportLine(external_id, left, "current", 0, None))
    return lines


def _dossier(session: Session, claim, actor: str, *, complete: bool = True) -> None:  # type: ignore[no-untyped-def]
    dossiers.upload_document(session, claim, kind="loan_contract", filename="借款合同.pdf", data=PDF, actor=actor)
    dossiers.upload_document(session, claim, kind="iou", filename="借据.jpg", data=JPEG, actor=actor)
    if complete:
        dossiers.upload_document(session, claim, kind="collection_evidence", filename="催收记录.pdf", data=PDF,
                                 actor=actor)


def _claims(session: Session, banks: dict[str, Bank], reviewer: User, approver: User, *, today: date, actor: str,
            history: History) -> None:
    """One claim in each state, on the defaults the reports recorded, at dates that fit."""
    defaulted = {code: list(session.scalars(select(Loan).where(Loan.bank_id == bank.id, Loan.status == "defaulted")
                                            .order_by(Loan.default_on, Loan.id)))
                 for code, bank in banks.items()}
    plan = [("ICBC-GD", "paid_recovered"), ("ICBC-GD", "approved"), ("ICBC-GD", "reviewed"), ("ICBC-GD", "submitted"),
            ("CCB-JM", "paid_clawed_back"), ("CCB-JM", "returned"), ("ABC-DG", "rejected"), ("ABC-DG", "withdrawn"),
            ("GDRCB-ST", "submitted_incomplete")]
    for code, outcome in plan:
        if not defaulted.get(code):
            continue
        loan = defaulted[code].pop(0)
        # Within the filing window (90-180 days after the default), with room before today
        # for the review, approval, payment and recovery that follow.
        filed = loan.default_on + timedelta(days=100)
        if filed > today - timedelta(days=30):
            continue
        try:
            with session.begin_nested():
                _one_claim(session, banks[code], loan, outcome, reviewer, approver, filed=filed, today=today,
                           actor=actor, history=history)
        except DomainError:
            history.claims.pop(outcome, None)  # a demo claim the rules refuse is left out; the rest stands


def _one_claim(session: Session, bank: Bank, loan: Loan, outcome: str, reviewer: User, approver: User, *,
               filed: date, today: date, actor: str, history: History) -> None:
    code = bank.code
    bank_actor = f"{actor} for {code}"
    claim = claims.submit_claim(session, ClaimInput(loan.id, loan.default_on, loan.outstanding),
                                bank_id=bank.id, actor=bank_actor, today=filed)
    _dossier(session, claim, bank_actor, complete=outcome != "submitted_incomplete")
    history.claims[outcome] = claim.id
    if outcome.startswith("submitted"):
        return
    if outcome == "returned":
        claims.review_claim(session, claim, reviewer=reviewer, recommendation="return",
                            comment="请补充抵押物处置进展说明")
        return
    claims.review_claim(session, claim, reviewer=reviewer, recommendation="reject" if outcome == "rejected"
                        else "approve", comment="材料齐全，符合补偿条件" if outcome != "rejected" else "借款人不属于科技型企业")
    decided = min(today, filed + timedelta(days=12))
    if outcome == "rejected":
        approvals.reject_claim(session, claim, approver=approver, reason="借款人资质不符合方案条件", today=decided)
        return
    if outcome == "reviewed":
        return
    approvals.approve_claim(session, claim, approver=approver, today=decided)
    if outcome == "withdrawn":
        claims.withdraw_claim(session, claim, reason="借款人已恢复还款", actor=bank_actor, today=decided)
        return
    if outcome == "approved":
        return
    paid = min(today, decided + timedelta(days=5))
    approvals.pay_claim(session, claim, actor=actor, payment_reference=f"DEMO-PAY-{claim.id:04d}", paid_on=paid,
                        today=paid)
    if outcome == "paid_recovered":
        recovered = min(today, paid + timedelta(days=10))
        recoveries.record_recovery(session, claim, amount=claim.eligible_loss // 5 // 100 * 100,
                                   recovered_on=recovered, actor=bank_actor, today=recovered)
    elif outcome == "paid_clawed_back":
        clawbacks.claw_back(session, claim, approver=approver, reason="事后核查：贷款发放时企业不符合科技型中小企业认定",
                            today=min(today, paid + timedelta(days=10)))


def summary(history: History) -> str:
    states = ", ".join(f"{state} #{claim_id}" for state, claim_id in history.claims.items())
    return (f"History from {history.start}: {history.loans} loans, {history.reports} monthly reports "
            f"({LATE_BANK}'s late), claims: {states}.")
