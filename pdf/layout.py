"""What every statement shares: A4 pages, the header and footer, styles, tables.

Determinism (SPEC §6: same ledger state, same bytes) rests on four things here:
``invariant=1`` (no clock, no random document id), the PDF dates set from the data
(:attr:`StatementMeta.as_of`), no dict-order or locale dependence in what we draw, and
the single embedded font subsetted in first-use order.

"Page x of y" needs the page count while drawing page x: :class:`StatementCanvas`
keeps each finished page's drawing state and draws the header and footer of all pages
at the end (one layout pass, not two).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFInfo, PDFString
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from rules.money import format_grouped

from .fonts import FONT_MISSING_NOTE, FontSetup


def region_text(holder: dict[str, Any]) -> str:
    """``440703 江门市蓬江区``: the code with the name the caller passed in (SPEC §2)."""
    name = holder.get("region_name")
    return f"{holder['region']} {name}" if name else holder["region"]

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 22 * mm
MARGIN_BOTTOM = 17 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

INK = colors.HexColor("#1a1a1a")
ACCENT = colors.HexColor("#8b1a1a")  # the red of official seals and headings
RULE = colors.HexColor("#555555")
GRID = colors.HexColor("#9a9a9a")
HEADER_FILL = colors.HexColor("#ece7df")
LABEL_FILL = colors.HexColor("#f5f2ec")
TOTAL_FILL = colors.HexColor("#f0ece4")

CELL_PAD = 3
#: Serialises PDF builds in this process (see ``build_pdf``). Rendering is CPU-bound
#: Python, so little is lost; processes (gunicorn workers) render in parallel.
RENDER_LOCK = threading.Lock()
PRODUCER = "Risk Compensation Ledger (reportlab)"

# Languages --------------------------------------------------------------------------

LANGS = ("zh", "en")

COMMON = {
    "zh": {
        "no": "编号",
        "page": "第 {x} 页 / 共 {y} 页",
        "state": "账本状态 SHA-256：",
        "yuan": "元",
        "yuan_col": "（元）",
        "as_of": "数据截至",
        "verify_title": "核验信息",
        "verify_text": (
            "本{title}依据账本数据生成，编号 {number} 已登记于对账单登记簿并记入审计哈希链；所反映的账本状态 "
            "SHA-256 见页脚。将 PDF 原文件提交至 POST /api/v1/statements/verify 或运行 "
            "ledger-admin verify-statement 即可核验真伪。"
        ),
        "checkpoint": ("最新审计检查点：第 {seq} 条记录，链头 {head}，签发于 {issued_at}（密钥 {key_id}，签名 "
                       "{signature}）。请留存，日后可用 ledger-admin verify --checkpoint 证明历史未被改写。"),
        "font_missing": "警告：本机未找到可嵌入的中文字体，中文无法显示（CJK font missing）。",
        "none": "无",
        "dash": "—",
    },
    "en": {
        "no": "No.",
        "page": "Page {x} of {y}",
        "state": "Ledger state SHA-256: ",
        "yuan": "CNY",
        "yuan_col": " (CNY)",
        "as_of": "Data as of",
        "verify_title": "Verification",
        "verify_text": (
            "this {title} was generated from the ledger's records; number {number} is recorded in the statement "
            "register and the hash-chained audit log; the SHA-256 of the ledger state it reflects is in the footer. Verify the "
            "original PDF with POST /api/v1/statements/verify or ledger-admin verify-statement FILE."
        ),
        "checkpoint": ("Latest audit checkpoint: entry {seq}, head {head}, issued {issued_at} (key {key_id}, "
                       "signature {signature}). Keep it: ledger-admin verify --checkpoint proves later that history "
                       "up to it was not rewritten."),
        "font_missing": "Warning: no embeddable CJK font was found; Chinese text cannot be displayed (CJK font missing).",
        "none": "none",
        "dash": "—",
    },
}

#: Chinese and English names of claim statuses, journal kinds and claim actions; an
#: unknown key (written by a newer service) is shown as is.
STATUS_NAMES = {
    "zh": {"submitted": "已提交", "returned": "已退回补充", "reviewed": "已审核", "approved": "已批准",
           "paid": "已支付", "rejected": "已驳回", "withdrawn": "已撤回"},
    "en": {"submitted": "submitted", "returned": "returned", "reviewed": "reviewed", "approved": "approved",
           "paid": "paid", "rejected": "rejected", "withdrawn": "withdrawn"},
}
KIND_NAMES = {
    "zh": {"contribution": "注资", "reservation": "审批冻结", "payout": "补偿支付", "release": "解冻",
           "recovery": "追偿返还", "recovery_return": "追偿返还", "clawback": "追回", "clawback_offset": "追回抵扣",
           "clawback_repayment": "追回还款", "debt_repayment": "追回款归还", "reversal": "冲正", "transfer": "划转", "opening": "期初"},
    "en": {"contribution": "contribution", "reservation": "reservation", "payout": "payout", "release": "release",
           "recovery": "recovery returned", "recovery_return": "recovery returned", "clawback": "clawback",
           "clawback_offset": "clawback offset", "clawback_repayment": "clawback repayment",
           "debt_repayment": "clawback debt repaid",
           "reversal": "reversal", "transfer": "transfer", "opening": "opening"},
}
ACTION_NAMES = {
    "zh": {"submit": "提交", "resubmit": "重新提交", "review": "审核", "return": "退回补充", "approve": "批准",
           "reject": "驳回", "withdraw": "撤回", "pay": "支付", "recover": "追偿", "recovery": "追偿",
           "clawback": "追回", "amend": "修改"},
    "en": {},
}


def name_of(table: dict[str, dict[str, str]], lang: str, key: str | None) -> str:
    if key is None:
        return ""
    return table.get(lang, {}).get(key, key)


def money(fen: int | None) -> str:
    """An amount as printed: thousands separators, two decimals (SPEC §1)."""
    return "—" if fen is None else format_grouped(int(fen))


def money_yuan(fen: int | None, lang: str) -> str:
    return "—" if fen is None else f"{format_grouped(int(fen))} {COMMON[lang]['yuan']}"


def percent(ratio_text: str | None) -> str:
    """``"0.0235"`` -> ``"2.35%"`` (the ratio is already rounded to four decimals)."""
    if not ratio_text:
        return "—"
    from decimal import Decimal

    return f"{(Decimal(ratio_text) * 100).quantize(Decimal('0.01'))}%"


# The document -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementMeta:
    """What the header, footer and PDF metadata say about a statement."""

    number: str
    #: The statement's name in its language, e.g. 补偿结算单.
    title: str
    fund_name: str
    lang: str
    #: SHA-256 of the ledger state the statement shows (printed in every footer).
    state_sha256: str
    #: The moment the data reflects; also the PDF's creation date (never the clock).
    as_of: datetime
    #: One line for the metadata subject, e.g. "claim 17".
    subject: str


class Styles:
    """Paragraph styles in the statement's font; CJK wrapping where text needs it."""

    def __init__(self, font: FontSetup) -> None:
        self.setup = font
        self.font = font.name
        base = dict(fontName=font.name, textColor=INK)
        self.title = ParagraphStyle("title", fontSize=17, leading=21, alignment=TA_CENTER, spaceAfter=1, **base)
        self.subtitle = ParagraphStyle("subtitle", fontSize=9, leading=12, alignment=TA_CENTER,
                                       textColor=RULE, fontName=font.name, spaceAfter=4)
        # keepWithNext: a section heading never ends a page without its first lines.
        self.h2 = ParagraphStyle("h2", fontSize=10.5, leading=12.5, spaceBefore=5, spaceAfter=2.5,
                                 fontName=font.name, textColor=ACCENT, keepWithNext=1)
        self.body = ParagraphStyle("body", fontSize=8.5, leading=12, alignment=TA_LEFT, **base)
        self.small = ParagraphStyle("small", fontSize=7.5, leading=10.5, **base)
        self.caption = ParagraphStyle("caption", parent=self.small, keepWithNext=1)
        self.cell = ParagraphStyle("cell", fontSize=8, leading=10.5, **base)
        self.warning = ParagraphStyle("warning", fontSize=9, leading=13, fontName=font.name,
                                      textColor=colors.HexColor("#b00000"))
        self._cjk: dict[str, ParagraphStyle] = {}
        self._tables: dict[float, tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]] = {}

    @classmethod
    def of(cls, font: FontSetup) -> Styles:
        """The styles for ``font``, built once per process (they are never modified)."""
        styles = _STYLES.get(font.name)
        if styles is None:
            styles = _STYLES[font.name] = cls(font)
        return styles

    def table_styles(self, font_size: float) -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
        """(cell, header, right-aligned header) styles for a table set in ``font_size``."""
        styles = self._tables.get(font_size)
        if styles is None:
            cell = ParagraphStyle(f"cell-{font_size}", parent=self.cell, fontSize=font_size, leading=font_size + 2.5)
            styles = self._tables[font_size] = (
                cell, ParagraphStyle(f"header-{font_size}", parent=cell),
                ParagraphStyle(f"header-right-{font_size}", parent=cell, alignment=TA_RIGHT))
        return styles

    def wrapping(self, style: ParagraphStyle, text: str) -> ParagraphStyle:
        """CJK line breaking (anywhere between Han characters) for text that has any;
        Latin-only text keeps word wrapping so English words are not cut."""
        if not _has_cjk(text):
            return style
        key = style.name
        if key not in self._cjk:
            self._cjk[key] = ParagraphStyle(f"{key}-cjk", parent=style, wordWrap="CJK")
        return self._cjk[key]

    def para(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        style = style or self.body
        text = self.setup.safe_text(text)
        return Paragraph(escape(text).replace("\n", "<br/>"), self.wrapping(style, text))


_STYLES: dict[str, Styles] = {}


def _has_cjk(text: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in text)


class _StatementInfo(PDFInfo):
    """The PDF Info dictionary with the statement number and state hash as custom keys,
    so a verifier finds them even where the page text was altered."""

    number = ""
    state_sha256 = ""
    font_note = ""

    def format(self, document):  # type: ignore[no-untyped-def]
        from reportlab.pdfbase.pdfdoc import PDFDate, PDFDictionary, PDFName

        entries = {
            "Title": PDFString(self.title),
            "Author": PDFString(self.author),
            "Subject": PDFString(self.subject),
            "Keywords": PDFString(self.keywords),
            "Creator": PDFString(self.creator),
            "Producer": PDFString(self.producer),
            "Trapped": PDFName(self.trapped),
            "RCLStatementNumber": PDFString(self.number),
            "RCLStateSHA256": PDFString(self.state_sha256),
        }
        entries["CreationDate"] = entries["ModDate"] = PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter)
        if self.font_note:
            entries["RCLFontNote"] = PDFString(self.font_note)
        return PDFDictionary(entries).format(document)


def _pdf_date(moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hh, mm_ = divmod(abs(minutes), 60)
    return f"D:{moment:%Y%m%d%H%M%S}{sign}{hh:02d}'{mm_:02d}'"


def canvas_maker(meta: StatementMeta, font: FontSetup, on_pages: Callable[[int], None] | None = None):  # type: ignore[no-untyped-def]
    """A canvas class bound to one statement: it draws the header and footer, with
    "page x of y", on every page once the page count is known."""
    labels = COMMON[meta.lang]

    class StatementCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            info = _StatementInfo()
            info.number = meta.number
            info.state_sha256 = meta.state_sha256
            info.font_note = font.note
            self._doc.info = info
            stamp = _pdf_date(meta.as_of)
            self.setDateFormatter(lambda *_ymdhms: stamp)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._chrome(total)
                Canvas.showPage(self)
            self._pages = []
            if on_pages is not None:
                on_pages(total)
            Canvas.save(self)

        def _chrome(self, total: int) -> None:
            page = self._pageNumber
            self.saveState()
            top = PAGE_HEIGHT - 13 * mm
            self.setFillColor(INK)
            self.setFont(font.name, 9.5)
            self.drawString(MARGIN_X, top, font.safe_text(f"{meta.fund_name} · {meta.title}"))
            self.setFont(font.name, 9)
            self.drawRightString(PAGE_WIDTH - MARGIN_X, top, f"{labels['no']} {meta.number}")
            self.setStrokeColor(ACCENT)
            self.setLineWidth(1.2)
            self.line(MARGIN_X, top - 4, PAGE_WIDTH - MARGIN_X, top - 4)
            self.setLineWidth(0.4)
            self.line(MARGIN_X, top - 6, PAGE_WIDTH - MARGIN_X, top - 6)

            bottom = 11 * mm
            self.setStrokeColor(RULE)
            self.setLineWidth(0.4)
            self.line(MARGIN_X, bottom + 10, PAGE_WIDTH - MARGIN_X, bottom + 10)
            self.setFont(font.name, 6.5)
            self.setFillColor(RULE)
            self.drawString(MARGIN_X, bottom, f"{labels['state']}{meta.state_sha256}")
            self.setFont(font.name, 8.5)
            self.setFillColor(INK)
            self.drawRightString(PAGE_WIDTH - MARGIN_X, bottom, labels["page"].format(x=page, y=total))
            self.restoreState()

    return StatementCanvas


def build_pdf(meta: StatementMeta, font: FontSetup, story: list[Flowable], out: IO[bytes]) -> int:
    """Lay out ``story`` as an A4 statement into ``out``; returns the page count."""
    pages: list[int] = []
    keywords = [meta.number, f"state-sha256:{meta.state_sha256}"]
    subject = meta.subject
    if not font.cjk:
        keywords.append(FONT_MISSING_NOTE)
        subject = f"{FONT_MISSING_NOTE}: {subject}"
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"{meta.title} {meta.number}",
        author=meta.fund_name,
        subject=subject,
        keywords=", ".join(keywords),
        creator=PRODUCER,
        producer=PRODUCER,
        invariant=1,
        lang="zh-CN" if meta.lang == "zh" else "en",
        initialFontName=font.name,
    )
    # reportlab's TrueType face keeps a read position while it subsets the font at save
    # time: two threads embedding the same font at once would read each other's glyphs.
    with RENDER_LOCK:
        doc.build(story, canvasmaker=canvas_maker(meta, font, pages.append))
    return pages[0] if pages else 0


# Building blocks --------------------------------------------------------------------


def heading(styles: Styles, meta: StatementMeta, lines: Sequence[str], font: FontSetup) -> list[Flowable]:
    """The first page's title block; a visible warning when Chinese cannot be set."""
    safe = font.safe_text
    story: list[Flowable] = [Paragraph(escape(safe(meta.title)), styles.title)]
    if lines:
        story.append(Paragraph("<br/>".join(escape(safe(line)) for line in lines), styles.subtitle))
    if not font.cjk:
        story.append(Paragraph(escape(COMMON["en"]["font_missing"]), styles.warning))
    return story


def section(styles: Styles, text: str) -> Paragraph:
    return Paragraph(escape(styles.setup.safe_text(text)), styles.h2)


def fit_cell(styles: Styles, text: str, width: float, style: ParagraphStyle | None = None) -> str | Paragraph:
    """Plain text when it fits the column on one line (fast, and what the baseline
    does), a wrapping Paragraph when it does not."""
    style = style or styles.cell
    text = styles.setup.safe_text(text)
    if "\n" not in text and pdfmetrics.stringWidth(text, style.fontName, style.fontSize) <= width - 2 * CELL_PAD:
        return text
    return styles.para(text, style)


def kv_table(styles: Styles, pairs: Sequence[tuple[str, str]], *, columns: int = 2,
             label_width: float = 27 * mm) -> Table:
    """Label/value pairs, ``columns`` pairs per row, values wrapping in their cell."""
    value_width = FRAME_WIDTH / columns - label_width
    rows: list[list[Any]] = []
    for start in range(0, len(pairs), columns):
        row: list[Any] = []
        for label, value in pairs[start:start + columns]:
            row += [fit_cell(styles, label, label_width), fit_cell(styles, value, value_width)]
        row += [""] * (2 * columns - len(row))
        rows.append(row)
    table = Table(rows, colWidths=[label_width, value_width] * columns)
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), styles.font, 8, 10.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
    ]
    for c in range(0, 2 * columns, 2):
        commands.append(("BACKGROUND", (c, 0), (c, -1), LABEL_FILL))
    table.setStyle(TableStyle(commands))
    return table


@dataclass(frozen=True)
class Column:
    header: str
    #: "text" (left, wraps), "amount" (right, never wraps), "fixed" (left, never wraps).
    kind: str = "text"
    #: Minimum width in points; amount and fixed columns grow to fit their widest cell.
    min_width: float = 0.0
    #: Share of the leftover width given to text columns.
    weight: float = 1.0


def data_table(styles: Styles, columns: Sequence[Column], rows: Sequence[Sequence[str]], *,
               total_rows: int = 0, font_size: float = 8.0, repeat_header: bool = True) -> Table:
    """A grid with a header row repeated on every page. Amount columns are sized to
    their widest figure so an amount is never wrapped or cut (SPEC §6); the rest of the
    width goes to text columns, whose cells wrap when they must. Rows never split
    across pages. The last ``total_rows`` rows are set off as totals."""
    font = styles.font
    widths = _column_widths(columns, rows, font, font_size, cap_headers=False)
    if widths is None:
        # Headers wrap (in their cell) before any figure would.
        widths = _column_widths(columns, rows, font, font_size, cap_headers=True)
    if widths is None and font_size <= 5.5:
        raise ValueError("the figures do not fit an A4 page even at 5.5 pt")
    if widths is None:
        # Very large figures: shrink the font rather than cut an amount.
        return data_table(styles, columns, rows, total_rows=total_rows, font_size=font_size - 0.5,
                          repeat_header=repeat_header)
    text_columns = [i for i, c in enumerate(columns) if c.kind == "text"]

    cell_style, header_style, right_header = styles.table_styles(font_size)
    body: list[list[Any]] = [[fit_cell(styles, c.header, widths[i], right_header if c.kind == "amount" else header_style)
                              for i, c in enumerate(columns)]]
    text_idx = set(text_columns)
    for row in rows:
        body.append([fit_cell(styles, value, widths[i], cell_style) if i in text_idx else value
                     for i, value in enumerate(row)])
    # LongTable: row heights are not recomputed for the rest of the table at every
    # page break (a 1,000-row statement would otherwise pay that 40 times over).
    table_class = LongTable if len(body) > 60 else Table
    table = table_class(body, colWidths=widths, repeatRows=1 if repeat_header else 0)
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), font, font_size, font_size + 2.5),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, RULE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, GRID),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
    ]
    for i, column in enumerate(columns):
        if column.kind == "amount":
            commands.append(("ALIGN", (i, 0), (i, -1), "RIGHT"))
    if total_rows:
        commands += [("BACKGROUND", (0, -total_rows), (-1, -1), TOTAL_FILL),
                     ("LINEABOVE", (0, -total_rows), (-1, -total_rows), 0.6, RULE)]
    table.setStyle(TableStyle(commands))
    return table


def _column_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], font: str, font_size: float, *,
                   cap_headers: bool) -> list[float] | None:
    """Amount and fixed columns as wide as their widest cell (and header, unless
    ``cap_headers``); text columns share the rest. None when that does not fit."""
    widths: list[float] = []
    for index, column in enumerate(columns):
        if column.kind == "text":
            widths.append(0.0)
            continue
        widest = max((pdfmetrics.stringWidth(value, font, font_size) for value in _longest({row[index] for row in rows})),
                     default=0.0)
        header = pdfmetrics.stringWidth(column.header, font, font_size) + 2 * CELL_PAD + 1
        if cap_headers:
            header = min(header, 60.0)
        widths.append(max(column.min_width, math.ceil(widest) + 2 * CELL_PAD + 1, header))
    text_columns = [i for i, c in enumerate(columns) if c.kind == "text"]
    leftover = FRAME_WIDTH - sum(widths)
    weight = sum(columns[i].weight for i in text_columns) or 1.0
    for i in text_columns:
        widths[i] = max(columns[i].min_width, 40.0, leftover * columns[i].weight / weight)
    return widths if sum(widths) <= FRAME_WIDTH + 0.5 else None


def _longest(values: set[str]) -> list[str]:
    """The values that can be the widest: all of a few, else those within one character
    of the longest (figures and dates are made of characters of near-equal width, so a
    value two characters shorter cannot be wider; the padding absorbs the rest)."""
    if len(values) <= 64:
        return list(values)
    longest = max(map(len, values))
    return [v for v in values if len(v) >= longest - 1]


def verification_block(styles: Styles, meta: StatementMeta, checkpoint: dict | None = None) -> Flowable:  # type: ignore[type-arg]
    """How to check the statement: its number, the state hash, where to verify; and the
    latest signed audit checkpoint, for the reader to keep."""
    return KeepTogether(verification_parts(styles, meta, checkpoint))


def verification_parts(styles: Styles, meta: StatementMeta, checkpoint: dict | None = None) -> list[Flowable]:  # type: ignore[type-arg]
    """The verification note's flowables, for a caller that keeps them together with
    more (a KeepTogether inside another does not measure its height)."""
    labels = COMMON[meta.lang]
    text = labels["verify_text"].format(title=meta.title, number=meta.number, state=meta.state_sha256)
    if checkpoint:
        text += " " + labels["checkpoint"].format(**checkpoint)
    rule = Table([[""]], colWidths=[FRAME_WIDTH], rowHeights=[3])
    rule.setStyle(TableStyle([("LINEABOVE", (0, 0), (-1, 0), 0.6, ACCENT)]))
    return [Spacer(1, 4), rule, styles.para(f"{labels['verify_title']}：{text}" if meta.lang == "zh"
                                            else f"{labels['verify_title']}: {text}", styles.small)]


__all__ = [
    "ACTION_NAMES",
    "COMMON",
    "FRAME_WIDTH",
    "KIND_NAMES",
    "LANGS",
    "STATUS_NAMES",
    "Column",
    "StatementMeta",
    "Styles",
    "build_pdf",
    "data_table",
    "fit_cell",
    "heading",
    "kv_table",
    "money",
    "money_yuan",
    "name_of",
    "percent",
    "section",
    "verification_block",
]
