"""PDF statements (SPEC §6): ledger data in, deterministic PDF bytes out.

Knows nothing of HTTP or the database: ``ledger.statements`` gathers the data (plain
dicts, amounts in fen) and the register; the modules here lay it out.

- :mod:`pdf.fonts` finds and embeds the CJK TrueType font.
- :mod:`pdf.layout` holds the page template (header, footer, "page x of y"), styles
  and table helpers shared by the statements.
- :mod:`pdf.claim_statement` 补偿结算单, :mod:`pdf.subfund_statement` 资金对账单,
  :mod:`pdf.bank_statement` 合作银行对账单.
"""

from __future__ import annotations

from typing import IO, Any

from . import bank_statement, claim_statement, layout, subfund_statement
from .fonts import FONT_MISSING_NOTE, FontSetup, load_font
from .layout import StatementMeta

RENDERERS = {
    "claim": claim_statement,
    "subfund": subfund_statement,
    "bank": bank_statement,
}


def title(kind: str, lang: str) -> str:
    return RENDERERS[kind].TITLE[lang]


def render(kind: str, data: dict[str, Any], meta: StatementMeta, font: FontSetup, out: IO[bytes]) -> int:
    """Render a statement of ``kind`` into ``out``; returns its page count.

    Each statement module builds its story (the flowables) from the data; the page
    template, fonts and the PDF itself are ``pdf.layout``'s."""
    return layout.build_pdf(meta, font, RENDERERS[kind].story(data, meta, font), out)


__all__ = ["FONT_MISSING_NOTE", "RENDERERS", "FontSetup", "StatementMeta", "load_font", "render", "title"]
