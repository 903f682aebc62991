"""PDF statements (SPEC §6, issue 6): what the three statements say, in Chinese and
English, with the CJK font embedded and every glyph present, rendered byte for byte
the same from the same ledger state.

The world here is SPEC §3.3's: example 2 (Jiangmen, 2,100,000.00 split 1,050,000.00 /
630,000.00 / 420,000.00, then a 1,000,000.00 recovery returning 700,000.00) and example 4
(Dongguan, 166,666.67) approved lower as a repair and later partly clawed back. Claims
are written as model rows (the claims service is built elsewhere) and their money moves
through ``ledger.journal`` exactly as approval, payment and recovery move it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from ledger import auth, journal, schemes, statements, subfunds
from ledger.loans import book
from ledger.models import (
    Account,
    Bank,
    Claim,
    ClaimEvent,
    ClaimPayerLine,
    Clawback,
    Enterprise,
    EnterpriseBank,
    Loan,
    LoanEvent,
    Recovery,
    User,
)
from pdf.fonts import FONT_MISSING_NOTE, load_font
from rules.money import format_grouped

RULES = Path(__file__).resolve().parent.parent / "rules" / "examples"
FUND = "广东省科技信贷风险补偿资金池"
CST = timezone(timedelta(hours=8))
TODAY = date(2026, 6, 30)


@dataclass
class World:
    bank: Bank
    other_bank: Bank
    claim: Claim  # example 2, paid, with a recovery
    repaired: Claim  # example 4, repaired, paid, with a clawback
    submitted: Claim  # not paid
    enterprise: Enterprise


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(timezone.utc)


def make_enterprise(session: Session, bank: Bank, credit_code: str, name: str, region: str,
                    categories: list[str]) -> Enterprise:
    enterprise = Enterprise(credit_code=credit_code, name=name, region=region, categories=sorted(categories))
    session.add(enterprise)
    session.flush()
    session.add(EnterpriseBank(enterprise_id=enterprise.id, bank_id=bank.id))
    return enterprise


def make_loan(session: Session, bank: Bank, enterprise: Enterprise, external_id: str, principal: int, *,
              disbursed_on: date = date(2026, 1, 10), status: str = "active", outstanding: int | None = None) -> Loan:
    scheme = schemes.get_scheme(session, "GD-KJD")
    version = schemes.version_in_force(session, scheme, disbursed_on)
    loan = Loan(bank_id=bank.id, external_id=external_id, scheme_id=scheme.id, rule_version_id=version.id,
                enterprise_id=enterprise.id, region=enterprise.region, categories=enterprise.categories,
                principal=principal, outstanding=principal if outstanding is None else outstanding,
                disbursed_on=disbursed_on, maturity_on=disbursed_on.replace(year=disbursed_on.year + 2),
                status=status, registered_on=disbursed_on + timedelta(days=3),
                registration={"external_id": external_id})
    session.add(loan)
    session.flush()
    book.recount(session, scheme.id, bank.id)  # as registration would have counted it
    return loan


def make_claim(session: Session, loan: Loan, *, outstanding: int, default_on: date, claimed_on: date,
               reviewer: User, approver: User, repair: tuple[int, str] | None = None,
               pay: tuple[str, date] | None = None, day: str = "2026-05") -> Claim:
    """A claim computed by the rules, reviewed, approved (reserved) and, with ``pay``, paid."""
    version = loan.rule_version
    facts = rules.ClaimFacts(region=loan.region, categories=frozenset(loan.categories),
                             loan_principal=loan.principal, outstanding_principal=outstanding)
    computed = rules.compute(schemes.ruleset_of(version), facts, subfund_exists=schemes.subfund_exists_in(session))
    decision = rules.repair(computed, *repair) if repair else computed
    claim = Claim(loan_id=loan.id, bank_id=loan.bank_id, scheme_id=loan.scheme_id, rule_version_id=version.id,
                  region=loan.region, status="approved", default_on=default_on, outstanding_principal=outstanding,
                  claimed_on=claimed_on, ratio=computed.ratio_text,
                  ratio_exact=f"{computed.ratio.numerator}/{computed.ratio.denominator}",
                  eligible_loss=computed.eligible_loss, compensation=computed.compensation,
                  approved_amount=decision.compensation, decision=decision.to_dict(),
                  review_recommendation="approve", review_comment="材料齐全，符合条件",
                  reviewer_id=reviewer.id, reviewed_at=at(f"{day}-12T10:00:00"),
                  approver_id=approver.id, approved_at=at(f"{day}-13T15:30:00"),
                  decision_reason=repair[1] if repair else None, submitted_at=at(f"{day}-10T09:00:00"))
    session.add(claim)
    session.flush()
    bank_user = f"bank-{session.get_one(Bank, loan.bank_id).code}"
    events = [("submit", None, "submitted", bank_user, None, f"{day}-10T09:00:00"),
              ("review", "submitted", "reviewed", reviewer.name, "材料齐全，符合条件", f"{day}-12T10:00:00"),
              ("approve", "reviewed", "approved", approver.name, repair[1] if repair else None, f"{day}-13T15:30:00")]
    for position, line in enumerate(decision.payers):
        subfund = subfunds.get_subfund(session, line.subfund)
        reservation = journal.reserve(
            session, source=subfunds.subfund_account(session, subfund, "available"),
            hold=subfunds.subfund_account(session, subfund, "reserved"), amount=line.amount,
            effective_on=at(f"{day}-13T15:30:00").astimezone(CST).date(), purpose=f"claim {claim.id}")
        session.add(ClaimPayerLine(claim_id=claim.id, position=position, subfund_code=line.subfund,
                                   share=format(line.share, "f"), amount=line.amount, reservation_id=reservation.id))
        if pay:
            journal.post_reservation(session, reservation, to=subfunds.subfund_account(session, subfund, "paid"),
                                     effective_on=pay[1], memo=f"Compensation of claim {claim.id}", reference=pay[0])
    if pay:
        claim.status, claim.payment_reference, claim.paid_on = "paid", pay[0], pay[1]
        events.append(("pay", "approved", "paid", approver.name, None, f"{pay[1].isoformat()}T11:00:00"))
    for action, before, after, actor, comment, moment in events:
        session.add(ClaimEvent(claim_id=claim.id, action=action, from_status=before, to_status=after, actor=actor,
                               comment=comment, at=at(moment)))
    loan.status, loan.default_on = ("compensated" if pay else "claimed"), default_on
    session.add(LoanEvent(loan_id=loan.id, type="default", on=default_on, amount=None,
                          outstanding_after=outstanding, status_after="defaulted", created_by=bank_user))
    loan.outstanding = outstanding
    session.flush()
    return claim


def record_recovery(session: Session, claim: Claim, amount: int, recovered_on: date) -> Recovery:
    """SPEC §3.2, one recovery: the pool's share goes back to the payers by what each paid."""
    lines = sorted(claim.payer_lines, key=lambda line: line.position)
    result = rules.recovery_returns(eligible_loss=claim.eligible_loss, compensation=sum(line.amount for line in lines),
                                    paid=[(line.subfund_code, line.amount) for line in lines],
                                    recovered_before=0, recovered_now=amount)
    share, parts = result.returned_now, [part for _code, part in result.lines]
    posted = None
    for line, part in zip(lines, parts):
        subfund = subfunds.get_subfund(session, line.subfund_code)
        posted = journal.post_transaction(
            session, kind="recovery",
            legs=[journal.debit(subfunds.subfund_account(session, subfund, "available"), part),
                  journal.credit(subfunds.subfund_account(session, subfund, "recovered"), part)],
            effective_on=recovered_on, memo=f"Recovery on claim {claim.id}", reference=f"REC-{claim.id}-1")
        line.recovered_amount += part
    recovery = Recovery(claim_id=claim.id, amount=amount, recovered_on=recovered_on, cumulative=amount,
                        pool_share_cumulative=share, returned=share,
                        lines=[{"subfund": line.subfund_code, "amount": part} for line, part in zip(lines, parts)],
                        transaction_id=posted.id if posted else None, created_by="bank", created_at=at("2026-06-20T10:00:00"))
    session.add(recovery)
    session.flush()
    return recovery


def build_world(session: Session) -> World:
    bank, _ = auth.create_bank(session, "CCB-JM", "中国建设银行江门分行", actor="test")
    other, _ = auth.create_bank(session, "ICBC-GD", "中国工商银行广东省分行", actor="test")
    reviewer, _ = auth.create_user(session, "审核员张三", ["reviewer"], actor="test")
    approver, _ = auth.create_user(session, "审批员李四", ["approver"], actor="test")
    for code, name, owner, region in [("GD-PROV", "广东省科技信贷风险准备金", "province", "440000"),
                                      ("CITY-440700", "江门市子基金", "city", "440700"),
                                      ("CITY-441900", "东莞市子基金", "city", "441900"),
                                      ("INS-PICC", "人保财险风险分担子基金", "insurer", "440000")]:
        subfunds.create_subfund(session, code=code, name=name, owner_type=owner, region=region, actor="test")
        subfunds.contribute(session, code, amount=50_000_000_00, received_on=date(2026, 1, 5),
                            reference=f"OPEN-{code}", actor="test")
    schemes.publish(session, "GD-KJD", rules.load_file(RULES / "gd-kjd.toml").document, actor="test")
    jiangmen = make_enterprise(session, bank, "91440703MA4UJ8XX0B", "江门市蓬江区智造农业科技有限公司", "440703",
                               ["tech_sme", "agri_tech"])
    dongguan = make_enterprise(session, bank, "91441900MA51ABCD1X", "东莞松山湖微电子技术有限公司", "441900", ["tech_sme"])
    loan2 = make_loan(session, bank, jiangmen, "JM-2026-0001", 3_000_000_00)
    loan4 = make_loan(session, bank, dongguan, "DG-2026-0042", 1_000_000_00)
    loan5 = make_loan(session, bank, dongguan, "DG-2026-0043", 2_000_000_00)
    make_loan(session, bank, jiangmen, "JM-2026-0002", 5_000_000_00)
    claim2 = make_claim(session, loan2, outstanding=3_000_000_00, default_on=date(2026, 2, 1),
                        claimed_on=date(2026, 5, 10), reviewer=reviewer, approver=approver,
                        pay=("PAY-2026-0518-001", date(2026, 5, 18)))
    record_recovery(session, claim2, 1_000_000_00, date(2026, 6, 20))
    claim4 = make_claim(session, loan4, outstanding=333_333_33, default_on=date(2026, 2, 2),
                        claimed_on=date(2026, 5, 11), reviewer=reviewer, approver=approver,
                        repair=(150_000_00, "抵押物处置所得未计入，按核实损失调减"),
                        pay=("PAY-2026-0519-002", date(2026, 5, 19)), day="2026-05")
    session.add(Clawback(claim_id=claim4.id, amount=20_000_00, reason="贷后检查发现部分贷款资金挪用，相应补偿追回",
                         lines=[], created_by=approver.name, created_at=at("2026-06-25T16:00:00")))
    submitted = make_claim(session, loan5, outstanding=2_000_000_00, default_on=date(2026, 2, 3),
                           claimed_on=date(2026, 5, 12), reviewer=reviewer, approver=approver, day="2026-06")
    session.commit()
    return World(bank=bank, other_bank=other, claim=claim2, repaired=claim4, submitted=submitted, enterprise=jiangmen)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pages_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def render(session: Session, kind: str, scope: str, period=None, lang: str = "zh", number: str = "TST-2026-000001") -> bytes:
    if period is not None:
        period = statements.Period(*period)
    return statements.render_statement(session, kind, scope, period, lang, FUND, number, today=TODAY)


def squash(text: str) -> str:
    """Extracted text without line breaks (a wrapped cell comes back as two lines)."""
    return re.sub(r"\s+", "", text)


# -- the claim statement ----------------------------------------------------------------


def test_claim_statement_shows_everything_about_the_compensation(world, session):
    data = render(session, "claim", str(world.claim.id))
    text = text_of(data)
    flat = squash(text)
    for heading in ("补偿结算单", "基本信息", "补偿计算过程", "审批调减", "出资分摊", "审核与审批", "支付凭证号", "追偿返还", "追回"):
        assert heading in text
    assert FUND in text and "TST-2026-000001" in text
    assert world.enterprise.name in flat and world.enterprise.credit_code in text
    assert "440703 江门市蓬江区" in text  # the region's name beside its code (SPEC §2)
    assert "中国建设银行江门分行" in flat and "JM-2026-0001" in text and "GD-KJD" in text
    assert "2026-01-10" in text and "2028-01-10" in text  # disbursed and maturity
    assert "2026-02-01" in text and "2026-05-10" in text  # default and claim dates
    # One clock (issue 17): as of the business date of the latest fact (the recovery of
    # 2026-06-20), end of day, as the sub-fund and bank statements say it.
    assert "数据截至 2026-06-20 日终" in text and "北京时间）" not in text.split("\n")[1]
    assert "3,000,000.00 元" in text  # principal and outstanding
    # Every computation step, rendered in Chinese from its stored parameters.
    for step in world.claim.decision["steps"]:
        assert squash(rules.Step.from_dict(step).render("zh")) in flat
    assert "地区比例：440700 → 0.60" in text and "类别上浮：农业类科技企业 +0.10" in text
    # Payer lines and the payment: the amounts the journal moved, formatted.
    for line, amount in zip(world.claim.payer_lines, ("1,050,000.00", "630,000.00", "420,000.00")):
        assert format_grouped(line.amount) == amount and amount in text
    assert "2,100,000.00" in text and "PAY-2026-0518-001" in text and "2026-05-18" in text
    # Four eyes, with times in Beijing time.
    assert "审核员张三" in text and "审批员李四" in text
    assert "2026-05-12 10:00:00" in text and "2026-05-13 15:30:00" in text
    # The recovery: 1,000,000.00 recovered, 700,000.00 returned (SPEC §3.3).
    assert "1,000,000.00" in text and "700,000.00" in text and "2026-06-20" in text
    assert "无追回" in flat


def test_claim_amounts_are_the_journals(world, session):
    """Each payer's payout and recovery return is printed exactly as the journal posted it."""
    text = text_of(render(session, "claim", str(world.claim.id)))
    from ledger.models import JournalTransaction, Posting

    for line in world.claim.payer_lines:
        paid = session.scalar(
            select(Posting.amount).join(JournalTransaction, JournalTransaction.id == Posting.transaction_id)
            .join(Account, Account.id == Posting.account_id)
            .where(JournalTransaction.kind == "payout", JournalTransaction.reference == "PAY-2026-0518-001",
                   Account.code == f"subfund:{line.subfund_code}:paid"))
        returned = session.scalar(
            select(Posting.amount).join(JournalTransaction, JournalTransaction.id == Posting.transaction_id)
            .join(Account, Account.id == Posting.account_id)
            .where(JournalTransaction.kind == "recovery", Account.code == f"subfund:{line.subfund_code}:available"))
        assert format_grouped(paid) in text and format_grouped(returned) in text


def test_repair_and_clawback_are_shown(world, session):
    text = text_of(render(session, "claim", str(world.repaired.id)))
    flat = squash(text)
    assert "审批调减：166666.67 → 150000.00" in text
    assert "166,666.67" in text and "150,000.00" in text  # computed, approved
    assert "抵押物处置所得未计入，按核实损失调减" in flat
    assert "20,000.00" in text and squash("贷后检查发现部分贷款资金挪用") in flat
    assert "东莞松山湖微电子技术有限公司" in flat


def test_english_statement(world, session):
    text = text_of(render(session, "claim", str(world.claim.id), lang="en"))
    for words in ("Compensation Statement", "Computation", "Payers", "Review and approval", "Page 1 of 2"):
        assert words in text
    assert "region_ratio: 440700 -> 0.60" in text
    assert "1,050,000.00" in text and world.enterprise.name in squash(text)


def test_a_claim_that_is_not_paid_has_no_statement(world, session):
    from ledger.errors import InvalidTransition

    with pytest.raises(InvalidTransition) as error:
        render(session, "claim", str(world.submitted.id))
    assert error.value.code == "claim_not_paid"


# -- the sub-fund and bank statements ------------------------------------------------------


def test_subfund_statement_reconciles_with_the_journal(world, session):
    data = render(session, "subfund", "GD-PROV", (date(2026, 5, 1), date(2026, 6, 30)))
    text = text_of(data)
    for heading in ("资金对账单", "余额汇总", "按业务类型汇总", "资金变动明细", "期初余额", "期末余额"):
        assert heading in text
    assert "440000 广东省" in text
    built, _as_of = statements.subfund_statement_data(session, "GD-PROV",
                                                      statements.Period(date(2026, 5, 1), date(2026, 6, 30)))
    opening, closing = built["opening"], built["closing"]
    movements = sum(m["net"] for m in built["movements"])
    assert closing["total"] == opening["total"] + movements
    balances = subfunds.balances(session, subfunds.get_subfund(session, "GD-PROV"))
    assert closing["available"] == balances["available"] and closing["reserved"] == balances["reserved"]
    assert closing["total"] == balances["available"] + balances["reserved"]
    # Opening: the 50,000,000.00 contribution of January. Movements: reservations,
    # payouts and the recovery of May and June, each with its running balance.
    assert opening["total"] == 50_000_000_00 and "50,000,000.00" in text
    for m in built["movements"]:
        assert format_grouped(m["balance"]) in text
        for key in ("available", "reserved"):
            assert format_grouped(m[key]) in text
    assert format_grouped(closing["total"]) in text and format_grouped(closing["reserved"]) in text
    assert built["movements"][-1]["balance"] == closing["total"]
    kinds = {k["kind"]: k for k in built["by_kind"]}
    assert set(kinds) == {"reservation", "payout", "recovery"}
    assert kinds["recovery"]["net"] == 350_000_00  # GD-PROV's half of the 700,000.00 returned


def test_bank_statement(world, session):
    text = text_of(render(session, "bank", "CCB-JM", (date(2026, 5, 1), date(2026, 6, 30))))
    flat = squash(text)
    for heading in ("合作银行对账单", "理赔情况", "本期资金往来", "备案贷款与不良率", "年度补偿额度", "本期支付补偿明细"):
        assert heading in text
    assert "中国建设银行江门分行" in flat
    # Paid 2,100,000.00 + 150,000.00; approved also the third claim's 1,000,000.00.
    assert "2,250,000.00" in text and "3,250,000.00" in text
    assert "700,000.00" in text and "20,000.00" in text  # returned to the pool, clawed back
    # Registered 11,000,000.00; outstanding 3,000,000.00 + 333,333.33 + 2,000,000.00 + 5,000,000.00.
    assert "11,000,000.00" in text and "10,333,333.33" in text
    # NPL: 5,333,333.33 / 10,333,333.33 = 51.61 % > 5 %: both suspensions.
    assert "5,333,333.33" in text and "51.61%" in text and "3.00%" in text and "5.00%" in text
    assert "暂停新增备案及补偿审批" in flat
    assert "50,000,000.00" in text and "46,750,000.00" in text  # annual cap and what is left


# -- font, glyphs, determinism ---------------------------------------------------------------


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """BaseFont -> has an embedded FontFile2 (TrueType) stream, over every page."""
    found: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            found[str(font["/BaseFont"])] = descriptor is not None and "/FontFile2" in descriptor.get_object()
    return found


@pytest.mark.parametrize("kind", ["claim", "subfund", "bank"])
def test_the_cjk_font_is_embedded_and_has_every_glyph(world, session, kind):
    scope = {"claim": str(world.claim.id), "subfund": "GD-PROV", "bank": "CCB-JM"}[kind]
    period = None if kind == "claim" else (date(2026, 5, 1), date(2026, 6, 30))
    data = render(session, kind, scope, period)
    fonts = embedded_fonts(data)
    cjk = {name: embedded for name, embedded in fonts.items() if "WenQuanYi" in name}
    assert cjk and all(cjk.values()), fonts
    face = pdfmetrics.getFont(load_font().name).face
    text = text_of(data)
    missing = {ch for ch in text if not ch.isspace() and ord(ch) not in face.charToGlyph}
    assert not missing
    assert "补偿" in text or "对账单" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rendering_is_deterministic(world, session, lang):
    first = render(session, "claim", str(world.claim.id), lang=lang)
    second = render(session, "claim", str(world.claim.id), lang=lang)
    assert first == second
    period = (date(2026, 1, 1), date(2026, 6, 30))
    assert render(session, "subfund", "GD-PROV", period, lang) == render(session, "subfund", "GD-PROV", period, lang)
    # The PDF's dates come from the data, not the clock.
    info = PdfReader(io.BytesIO(first)).metadata
    assert info["/CreationDate"] == "D:20260620100000+08'00'"  # its recovery, the latest data it shows
    assert info["/RCLStatementNumber"] == "TST-2026-000001"


def test_the_creation_date_is_the_latest_data_shown(world, session):
    info = PdfReader(io.BytesIO(render(session, "claim", str(world.repaired.id)))).metadata
    assert info["/CreationDate"] == "D:20260625160000+08'00'"  # its clawback
    period_info = PdfReader(io.BytesIO(render(session, "bank", "CCB-JM", (date(2026, 6, 1), date(2026, 6, 30))))).metadata
    assert period_info["/CreationDate"] == "D:20260630235959+08'00'"


def test_without_a_cjk_font_the_pdf_says_so(world, session, caplog, tmp_path):
    font = load_font(str(tmp_path / "no-such-font.ttf"), candidates=())
    assert not font.cjk
    prepared = statements.prepare(session, "claim", str(world.claim.id), None, "zh", FUND, today=TODAY)
    buffer = io.BytesIO()
    with caplog.at_level("ERROR"):
        statements.render_prepared(prepared, "TST-2026-000002", font, buffer)
    assert any(r.levelname == "ERROR" and "CJK" in r.getMessage() for r in caplog.records)
    info = PdfReader(io.BytesIO(buffer.getvalue())).metadata
    assert FONT_MISSING_NOTE in info["/Keywords"] and FONT_MISSING_NOTE in info["/Subject"]
    assert "CJK font missing" in text_of(buffer.getvalue())


def test_font_path_override(tmp_path):
    font = load_font("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc#1", candidates=())
    assert font.cjk and font.index == 1 and "Mono" in font.face_name
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    fallback = load_font(str(broken))
    assert fallback.cjk and fallback.face_name == "WenQuanYiMicroHei" and fallback.problems


def test_a_character_the_font_lacks_is_replaced_and_logged(caplog):
    font = load_font()
    rare = "\U0001F600"  # an emoji: not in WenQuanYi Micro Hei
    assert not font.has_glyph(rare) and font.has_glyph("补")
    with caplog.at_level("WARNING"):
        assert font.safe_text(f"东莞{rare}科技") == "东莞?科技"
    assert "U+1F600" in caplog.text
    assert font.safe_text("第 1 页 → 2") == "第 1 页 → 2"


def test_renders_in_parallel_threads_give_the_same_bytes(world, engine):
    """Threads rendering different statements at once share the embedded font safely."""
    from concurrent.futures import ThreadPoolExecutor

    from ledger.db import make_sessionmaker

    factory = make_sessionmaker(engine, readonly=True)
    half_year = (date(2026, 1, 1), date(2026, 6, 30))
    jobs = [("claim", str(world.claim.id), None), ("claim", str(world.repaired.id), None),
            ("subfund", "GD-PROV", half_year), ("bank", "CCB-JM", half_year)] * 3

    def run(job):  # type: ignore[no-untyped-def]
        with factory() as s:
            return render(s, *job)

    expected = {job: run(job) for job in set(jobs)}
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(run, jobs))
    assert all(result == expected[job] for result, job in zip(results, jobs))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_verification_note_is_never_a_page_of_its_own(world, session, lang):
    """Issue 17: the claim statement's second page held only the three-line note."""
    for claim in (world.claim, world.repaired):
        pages = pages_of(render(session, "claim", str(claim.id), lang=lang))
        heading = "核验信息" if lang == "zh" else "Verification:"
        last = squash(pages[-1])
        assert squash(heading) in last
        # Something of the statement itself shares the note's page: at least its last section.
        before_note = last.split(squash(heading))[0]
        assert len(pages) == 1 or ("七、" in before_note if lang == "zh" else "7." in before_note), before_note
