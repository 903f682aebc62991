"""The embedded CJK font every statement is set in.

reportlab's built-in CID font ``STSong-Light`` is only *referenced*, never embedded:
on a machine without that font every Chinese character prints as an empty box. We
embed a TrueType CJK font instead (subsetted by reportlab, with a ToUnicode map so the
text extracts again). WenQuanYi Micro Hei ships as a TrueType Collection; reportlab
reads one face of it through ``TTFont(..., subfontIndex=N)``. OpenType-CFF fonts
(Noto CJK, Source Han) are refused by reportlab and skipped here.

Where no CJK font can be found we do not pretend: the error is logged, the PDF's
metadata says ``CJK font missing`` and Latin text falls back to Helvetica.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

#: Where Debian/Ubuntu (``fonts-wqy-microhei``, ``fonts-wqy-zenhei``, ``fonts-arphic-*``,
#: ``fonts-droid-fallback``) and Fedora put TrueType CJK fonts, best first. A ``#N``
#: suffix picks face N of a collection.
DEFAULT_FONT_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc#0",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc#0",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc#0",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc#0",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc#0",
    "/usr/share/fonts/truetype/arphic/ukai.ttc#0",
)

#: The note put into the PDF metadata (subject and keywords) when Chinese cannot be set.
FONT_MISSING_NOTE = "CJK font missing"
LATIN_FALLBACK = "Helvetica"

#: Characters we may print that a font could lack, and a safe stand-in for each.
_STAND_INS = {"\u2212": "-", "\u2192": "->", "\u00d7": "x", "\u00f7": "/", "\u2014": "-", "\u2013": "-"}


@dataclass(frozen=True)
class FontSetup:
    """The font statements are set in, as found on this machine."""

    #: reportlab font name to use for all text.
    name: str
    #: True when a CJK TrueType font is embedded; False means the Helvetica fallback.
    cjk: bool
    #: File and collection index the font came from ("" for the fallback).
    path: str = ""
    index: int = 0
    #: Face name inside the file, e.g. ``WenQuanYiMicroHei``.
    face_name: str = ""
    #: Why candidates were refused, for the log and the report.
    problems: tuple[str, ...] = field(default=())

    @property
    def note(self) -> str:
        return "" if self.cjk else FONT_MISSING_NOTE

    def has_glyph(self, char: str) -> bool:
        return has_glyph(self, char)

    def missing_glyphs(self, text: str) -> set[str]:
        return {ch for ch in set(text) if not ch.isspace() and not has_glyph(self, ch)}

    def safe_text(self, text: str) -> str:
        """``text`` with characters the font lacks replaced by a stand-in (or ``?``),
        so nothing prints as an empty box unnoticed."""
        if not self.cjk:
            return text  # nothing to map to: the metadata already says so
        if _charset(self.name).issuperset(map(ord, text)):
            return text
        missing = self.missing_glyphs(text)
        if not missing:
            return text
        log.warning("Font %s lacks glyphs for %s; printing stand-ins", self.face_name,
                    ", ".join(f"U+{ord(c):04X}" for c in sorted(missing)))
        return "".join((_STAND_INS.get(ch, "?") if ch in missing else ch) for ch in text)


def _split_spec(spec: str) -> tuple[str, int]:
    path, sep, index = spec.rpartition("#")
    if sep and index.isdigit():
        return path, int(index)
    return spec, 0


def _register(path: str, index: int) -> FontSetup:
    digest = hashlib.sha256(f"{os.path.abspath(path)}#{index}".encode()).hexdigest()[:8]
    name = f"RCL-CJK-{digest}"
    try:
        font = pdfmetrics.getFont(name)
    except KeyError:
        font = TTFont(name, path, subfontIndex=index)
        _cache_tables(font.face)
        pdfmetrics.registerFont(font)
    face = font.face
    # A CJK font worth the name covers the common Han characters we print.
    if not all(ord(ch) in face.charToGlyph for ch in "补偿结算单资金对账银行元页共第"):
        raise ValueError("the font has no glyphs for common Chinese characters")
    face_name = face.name.decode("latin-1") if isinstance(face.name, bytes) else str(face.name)
    return FontSetup(name=name, cjk=True, path=path, index=index, face_name=face_name)


def _cache_tables(face) -> None:  # type: ignore[no-untyped-def]
    """Keep the font's tables once read. reportlab copies the whole ``glyf`` table (a few
    MB for a CJK font) out of the file for every 256-glyph subset it embeds; a Chinese
    statement has two or three subsets. The font file never changes, so the copies can
    be shared (reads happen under ``layout.RENDER_LOCK``)."""
    read = face.get_table
    tables: dict[str, bytes] = {}

    def get_table(tag: str) -> bytes:
        data = tables.get(tag)
        if data is None:
            data = tables[tag] = read(tag)
        return data

    face.get_table = get_table


@functools.lru_cache(maxsize=8)
def _load(override: str | None, candidates: tuple[str, ...]) -> FontSetup:
    problems: list[str] = []
    specs: Iterable[str] = ((override,) if override else ()) + candidates
    for spec in specs:
        path, index = _split_spec(spec)
        if not os.path.isfile(path):
            if spec == override:
                problems.append(f"PDF_FONT_PATH {spec}: no such file")
                log.error("PDF_FONT_PATH=%s: no such file; looking for a CJK font elsewhere", spec)
            continue
        try:
            setup = _register(path, index)
        except Exception as exc:  # noqa: BLE001 - any unreadable font is just skipped
            problems.append(f"{spec}: {exc}")
            log.error("Cannot use %s as the statements' CJK font: %s", spec, exc)
            continue
        return FontSetup(setup.name, True, setup.path, setup.index, setup.face_name, tuple(problems))
    log.error(
        "No TrueType CJK font found (tried %s). Statements will say '%s' in their metadata and "
        "Chinese text will not display; install fonts-wqy-microhei or set PDF_FONT_PATH.",
        ", ".join(specs) or "nothing", FONT_MISSING_NOTE,
    )
    return FontSetup(name=LATIN_FALLBACK, cjk=False, problems=tuple(problems))


def load_font(override: str | None = None, candidates: tuple[str, ...] | None = None) -> FontSetup:
    """The statements' font: ``override`` (config/env ``PDF_FONT_PATH``, ``path`` or
    ``path#index``) first, then the usual system paths. Cached per argument set."""
    if override is None:
        override = os.environ.get("PDF_FONT_PATH") or None
    return _load(override, DEFAULT_FONT_PATHS if candidates is None else tuple(candidates))


@functools.lru_cache(maxsize=8)
def _charset(name: str) -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(name).face.charToGlyph)


def has_glyph(setup: FontSetup, char: str) -> bool:
    if not setup.cjk:
        return ord(char) < 256
    return ord(char) in _charset(setup.name)


__all__ = ["DEFAULT_FONT_PATHS", "FONT_MISSING_NOTE", "FontSetup", "has_glyph", "load_font"]
