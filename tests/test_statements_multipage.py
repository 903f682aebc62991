"""A long sub-fund statement: over 1,000 movements on many pages, with "page x of y" on
every page and running balances that carry across the page breaks (issue 6)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from ledger import journal, statements, subfunds
from rules.money import format_grouped

FUND = "广东省科技信贷风险补偿资金池"
TODAY = date(2026, 6, 30)
PERIOD = statements.Period(date(2026, 1, 1), date(2026, 6, 30))
AMOUNT_LINE = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")


def build_busy_subfund(session: Session, code: str = "GD-BUSY", movements: int = 1_000) -> None:
    """An opening contribution in December, then ``movements`` movements in the first half
    of 2026: contributions, reservations, payouts and releases, some with long Chinese memos."""
    subfund = subfunds.create_subfund(session, code=code, name="广东省科技信贷风险准备金（压力测试）",
                                      owner_type="province", region="440000", actor="test")
    subfunds.contribute(session, code, amount=900_000_000_00, received_on=date(2025, 12, 20), reference="OPENING",
                        actor="test")
    available = subfunds.subfund_account(session, subfund, "available")
    reserved = subfunds.subfund_account(session, subfund, "reserved")
    contributions = subfunds.subfund_account(session, subfund, "contributions")
    paid = subfunds.subfund_account(session, subfund, "paid")
    pending = []
    day = date(2026, 1, 2)
    for i in range(movements):
        day = date(2026, 1, 2) + timedelta(days=i * 178 // movements)
        amount = 1_000_00 + (i * 7_919_37) % 2_500_000_00
        choice = i % 10
        if choice in (4, 5, 6):
            pending.append(journal.reserve(session, source=available, hold=reserved, amount=amount // 3,
                                           effective_on=day, purpose=f"claim {i}"))
        elif choice in (7, 8) and pending:
            journal.post_reservation(session, pending.pop(0), to=paid, effective_on=day, memo=f"Claim payout {i}",
                                     reference=f"PAY-{i:05d}")
        elif choice == 9 and pending:
            journal.release_reservation(session, pending.pop(), effective_on=day, memo=f"Claim {i} withdrawn")
        else:
            memo = f"第{i}笔注资" if i % 7 else f"第{i}笔注资：省财政厅拨付科技信贷风险补偿专项资金（2026年度第二批次，粤财科教〔2026〕{i}号）"
            journal.post_transaction(session, kind="contribution", legs=[journal.debit(available, amount),
                                     journal.credit(contributions, amount)], effective_on=day, memo=memo,
                                     reference=f"C-{i:05d}")
    session.commit()


@pytest.fixture
def busy(session: Session) -> str:
    build_busy_subfund(session)
    return "GD-BUSY"


def test_a_thousand_movements_over_many_pages(busy, session):
    row, data = statements.issue_statement(session, "subfund", busy, PERIOD, "zh", "auditor", FUND, today=TODAY)
    session.commit()
    built, _ = statements.subfund_statement_data(session, busy, PERIOD)
    assert len(built["movements"]) == 1_000
    assert {k["kind"]: k["count"] for k in built["by_kind"]} == {"contribution": 400, "reservation": 300,
                                                                 "payout": 200, "release": 100}

    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    total = len(pages)
    assert total >= 20
    for number, text in enumerate(pages, 1):
        assert f"第 {number} 页 / 共 {total} 页" in text
        assert row.number in text and row.state_sha256 in text  # header and footer on every page

    # Read the running balances back from the PDF alone: after the opening row, each
    # movement row ends with three amounts (available, reserved, balance); each balance
    # is the previous one plus the row's two changes, across every page break.
    lines = [line.strip() for text in pages for line in text.splitlines()]
    start = lines.index("四、资金变动明细（余额 = 可用 + 冻结）")
    end = lines.index("本期合计 / 期末余额", start)
    body = lines[start:end]
    opening_at = body.index("期初余额")
    balance = _fen(next(line for line in body[opening_at:] if AMOUNT_LINE.match(line)))
    assert balance == built["opening"]["total"] == 900_000_000_00
    rows = 0
    i = body.index(format_grouped(balance), opening_at) + 1
    while i < len(body):
        if AMOUNT_LINE.match(body[i]):
            change_available, change_reserved, shown = (_fen(x) for x in body[i:i + 3])
            balance += change_available + change_reserved
            assert shown == balance, f"row {rows + 1}"
            rows += 1
            i += 3
        else:
            i += 1
    assert rows == 1_000
    closing = built["closing"]["total"]
    assert balance == closing == built["movements"][-1]["balance"]
    cached = subfunds.balances(session, subfunds.get_subfund(session, busy))
    assert closing == cached["available"] + cached["reserved"]
    assert f"{format_grouped(closing)}" in pages[-1] or f"{format_grouped(closing)}" in pages[-2]


def test_the_long_statement_is_deterministic(busy, session):
    first = statements.render_statement(session, "subfund", busy, PERIOD, "en", FUND, "ZJD-2026-999999", today=TODAY)
    second = statements.render_statement(session, "subfund", busy, PERIOD, "en", FUND, "ZJD-2026-999999", today=TODAY)
    assert first == second
    pages = PdfReader(io.BytesIO(first)).pages
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1].extract_text()


def _fen(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    yuan, cents = text.lstrip("-").replace(",", "").split(".")
    return sign * (int(yuan) * 100 + int(cents))
