"""Rendering a prepared statement to PDF bytes, hashing them on the way out (deterministic)."""

from __future__ import annotations

import logging
import hashlib
import io
from datetime import date
from typing import IO

from sqlalchemy.orm import Session

import pdf
from pdf.fonts import FontSetup, load_font

from .kinds import Period
from .state import Prepared, prepare

log = logging.getLogger(__name__)


class _HashingWriter:
    """A write-only file that hashes and counts what passes through to ``target``."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()


def render_prepared(prepared: Prepared, number: str, font: FontSetup, out: IO[bytes]) -> tuple[str, int, int]:
    """Render under ``number`` into ``out``; returns (sha256, size, pages)."""
    if not font.cjk:
        log.error("Statement %s is rendered WITHOUT a CJK font (metadata says so); install fonts-wqy-microhei "
                  "or set PDF_FONT_PATH.", number)
    writer = _HashingWriter(out)
    pages = pdf.render(prepared.kind, prepared.data, prepared.meta(number), font, writer)  # type: ignore[arg-type]
    return writer.sha.hexdigest(), writer.size, pages


def render_statement(session: Session, kind: str, scope: str, period: Period | None, lang: str, fund_name: str,
                     number: str, *, today: date | None = None, font: FontSetup | None = None) -> bytes:
    """Render without registering anything (previews, tests, benchmarks)."""
    prepared = prepare(session, kind, scope, period, lang, fund_name, today=today)
    buffer = io.BytesIO()
    render_prepared(prepared, number, font or load_font(), buffer)
    return buffer.getvalue()
