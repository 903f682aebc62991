"""The simulation's files: the PDF report is deterministic and readable in Chinese,
the workbook carries the exact amounts (SPEC §8, §6)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pypdf
import pytest

import rules
from ledger.simulations import report_pdf, workbook
from rules.simulation import Portfolio, SimLoan, parse_scenario, simulate

from .conftest import EXAMPLE_RULES


@pytest.fixture(scope="module")
def answer():
    gd = rules.load_file(EXAMPLE_RULES / "gd-kjd.toml")
    draft = rules.parse_rules({**gd.document, "base_ratio": "0.60"})
    loans = [SimLoan(i, f"BANK-{i % 3}", f"E{i}", region, ("tech_sme",), 1_000_000_00 + i * 1_234_567,
                     900_000_00 + i * 1_000_001, 2026, 1)
             for i, region in enumerate(["440106", "440703", "440511", "441900"] * 10)]
    portfolio = Portfolio("GD-KJD", date(2026, 6, 30), loans, {1: gd},
                          {code: 5_000_000_00 for code in ("GD-PROV", "INS-PICC", "CITY-440700", "CITY-440500")})
    scenario = parse_scenario({"as_of": "2026-06-30", "horizon_months": 18, "default_rate": "0.4",
                               "recovery_rate": "0.25", "runs": 200, "seed": 3})
    return simulate(portfolio, scenario, draft=draft)


def test_the_report_is_the_same_bytes_for_the_same_answer(answer):
    first = report_pdf(answer, lang="zh", fund_name="科技信贷风险补偿资金池")
    assert first == report_pdf(answer, lang="zh", fund_name="科技信贷风险补偿资金池")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(first)).pages)
    assert "风险补偿资金压力测试报告" in text and "草案与现行规则对比" in text
    gd = next(r for r in answer["current"]["subfunds"] if r["subfund"] == "GD-PROV")
    assert rules.money.format_grouped(rules.money.parse_amount(gd["p99_payout"])) in text


def test_the_workbook_holds_exact_amounts(answer):
    book = openpyxl.load_workbook(io.BytesIO(workbook(answer)))
    rows = {r[0]: r for r in book["draft-subfunds"].iter_rows(min_row=2, values_only=True)}
    for row in answer["draft"]["subfunds"]:
        assert Decimal(str(rows[row["subfund"]][3])) == Decimal(row["expected_payout"])
    curve = list(book["current-depletion"].iter_rows(values_only=True))
    assert len(curve) == 1 + 18
