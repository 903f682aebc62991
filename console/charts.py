"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, printable.

Two horizontal bar charts for the sub-funds dashboard: contingent liability beside
available money per sub-fund, and leverage used against its limit per scheme. Colours
come from the page's CSS classes (``console.css``), text is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from markupsafe import Markup, escape

from rules.money import ratio_text, round_half_up

from .formatting import money_text

WIDTH = 760
LABEL_W = 130
VALUE_W = 170
BAR_H = 14
ROW_GAP = 14
TOP = 34


@dataclass(frozen=True)
class Pair:
    """One sub-fund: contingent liability and available money, in fen."""

    label: str
    contingent: int
    available: int


@dataclass(frozen=True)
class Leverage:
    """One scheme: leverage used (None when no payer money) and its limit."""

    label: str
    used: Fraction | None
    limit: Fraction | None


def pixels(value: Fraction | Decimal | int) -> Decimal:
    """A position or length in pixels to a tenth, ROUND_HALF_UP from the exact figure
    (fen or a ratio scaled to the chart): an SVG attribute is text, so no float is needed."""
    return Decimal(round_half_up(Fraction(value) * 10)).scaleb(-1)


def _svg(height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], LABEL_W
    for css, text in items:
        out.append(f'<rect class="{css}" x="{x}" y="6" width="12" height="12"/>'
                   f'<text class="legend" x="{x + 18}" y="16">{escape(text)}</text>')
        x += 30 + 14 * len(text)
    return out


def exposure_chart(rows: Sequence[Pair], *, title: str, contingent_label: str, available_label: str) -> Markup:
    span = WIDTH - LABEL_W - VALUE_W
    top = max([1, *(r.contingent for r in rows), *(r.available for r in rows)])
    row_h = 2 * BAR_H + ROW_GAP
    height = TOP + max(1, len(rows)) * row_h + 6
    body = _legend([("bar-contingent", contingent_label), ("bar-available", available_label)])
    for i, row in enumerate(rows):
        y = TOP + i * row_h
        body.append(f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H + 4}" text-anchor="end">'
                    f"{escape(row.label)}</text>")
        for j, (css, value, name) in enumerate((("bar-contingent", row.contingent, contingent_label),
                                                ("bar-available", row.available, available_label))):
            width = pixels(Fraction(span * value, top))
            by = y + j * BAR_H
            text = money_text(value)
            body.append(f'<rect class="{css}" x="{LABEL_W}" y="{by}" width="{width}" height="{BAR_H - 2}">'
                        f"<title>{escape(row.label)} {escape(name)} {escape(text)}</title></rect>"
                        f'<text class="value" x="{LABEL_W + width + 6}" y="{by + BAR_H - 3}">{escape(text)}</text>')
    return _svg(height, title, body)


def _plain(value: Fraction) -> str:
    """A limit as the rule file writes it: 10, not 10.00."""
    return str(value.numerator) if value.denominator == 1 else ratio_text(value, 2)


def leverage_chart(rows: Sequence[Leverage], *, title: str, used_label: str, limit_label: str) -> Markup:
    span = WIDTH - LABEL_W - VALUE_W
    top = max([Fraction(1), *(r.used for r in rows if r.used is not None),
               *(r.limit for r in rows if r.limit is not None)]) * Fraction(11, 10)
    row_h = BAR_H + 2 * ROW_GAP
    height = TOP + max(1, len(rows)) * row_h + 6
    body = _legend([("bar-used", used_label), ("limit-mark", limit_label)])
    for i, row in enumerate(rows):
        y = TOP + i * row_h + ROW_GAP // 2
        body.append(f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H - 2}" text-anchor="end">'
                    f"{escape(row.label)}</text>")
        used = row.used or Fraction(0)
        over = row.limit is not None and used > row.limit
        width = pixels(span * used / top)
        used_text = "—" if row.used is None else f"{ratio_text(row.used, 2)}×"
        limit_text = "—" if row.limit is None else f"{_plain(row.limit)}×"
        body.append(f'<rect class="{"bar-over" if over else "bar-used"}" x="{LABEL_W}" y="{y}" width="{width}" '
                    f'height="{BAR_H}"><title>{escape(row.label)} {escape(used_label)} {used_text}</title></rect>')
        if row.limit is not None:
            x = pixels(LABEL_W + span * row.limit / top)
            body.append(f'<line class="limit-mark" x1="{x}" x2="{x}" y1="{y - 5}" y2="{y + BAR_H + 5}">'
                        f"<title>{escape(limit_label)} {limit_text}</title></line>")
        body.append(f'<text class="value" x="{WIDTH - VALUE_W + 8}" y="{y + BAR_H - 2}">'
                    f"{used_text} / {limit_text}</text>")
    return _svg(height, title, body)


@dataclass(frozen=True)
class Utilisation:
    """A cap and what is used of it, in fen (a portfolio cap's vintage)."""

    label: str
    used: int
    cap: int


def utilisation_chart(rows: Sequence[Utilisation], *, title: str, used_label: str, cap_label: str) -> Markup:
    """Used against the cap per row, scaled to the largest cap; a used bar past its cap
    mark is drawn as over (it cannot be by the rules, but a chart must not hide it)."""
    span = WIDTH - LABEL_W - VALUE_W
    top = max([1, *(r.cap for r in rows), *(r.used for r in rows)])
    row_h = BAR_H + 2 * ROW_GAP
    height = TOP + max(1, len(rows)) * row_h + 6
    body = _legend([("bar-used", used_label), ("limit-mark", cap_label)])
    for i, row in enumerate(rows):
        y = TOP + i * row_h + ROW_GAP // 2
        body.append(f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H - 2}" text-anchor="end">'
                    f"{escape(row.label)}</text>")
        width = pixels(Fraction(span * row.used, top))
        css = "bar-over" if row.used > row.cap else "bar-used"
        share = "—" if row.cap == 0 else ratio_text(Fraction(row.used, row.cap), 4)
        body.append(f'<rect class="{css}" x="{LABEL_W}" y="{y}" width="{width}" height="{BAR_H}">'
                    f"<title>{escape(row.label)} {escape(used_label)} {money_text(row.used)}</title></rect>")
        x = pixels(LABEL_W + Fraction(span * row.cap, top))
        body.append(f'<line class="limit-mark" x1="{x}" x2="{x}" y1="{y - 5}" y2="{y + BAR_H + 5}">'
                    f"<title>{escape(cap_label)} {money_text(row.cap)}</title></line>")
        body.append(f'<text class="value" x="{WIDTH - VALUE_W + 8}" y="{y + BAR_H - 2}">'
                    f"{money_text(row.used)} / {money_text(row.cap)} ({share})</text>")
    return _svg(height, title, body)


@dataclass(frozen=True)
class RatioPoint:
    label: str
    ratio: Fraction


def npl_chart(points: Sequence[RatioPoint], *, limits: Sequence[tuple[str, Fraction]], title: str) -> Markup:
    """A bank's NPL ratio month by month as a line, with each suspension threshold as a
    dashed line and the early-warning band (four fifths of the lowest) shaded."""
    height, left, right, top, bottom = 220, 60, 20, 30, 40
    span_x, span_y = WIDTH - left - right, height - top - bottom
    ceiling = max([Fraction(1, 100), *(p.ratio for p in points), *(v for _n, v in limits)]) * Fraction(6, 5)

    def y(value: Fraction) -> Decimal:
        return pixels(top + span_y - span_y * value / ceiling)

    def x(i: int) -> Decimal:
        return pixels(left + Fraction(span_x * i, max(1, len(points) - 1)))

    body = [f'<line class="axis" x1="{left}" x2="{WIDTH - right}" y1="{top + span_y}" y2="{top + span_y}"/>']
    if limits:
        low = min(v for _n, v in limits)
        band = y(low * Fraction(4, 5))
        body.append(f'<rect class="warn-band" x="{left}" y="{y(low)}" width="{span_x}" height="{band - y(low)}">'
                    f"<title>{escape(ratio_text(low * Fraction(4, 5)))} – {escape(ratio_text(low))}</title></rect>")
    for name, value in limits:
        body.append(f'<line class="limit-mark" stroke-dasharray="6 4" x1="{left}" x2="{WIDTH - right}" '
                    f'y1="{y(value)}" y2="{y(value)}"><title>{escape(name)} {ratio_text(value)}</title></line>'
                    f'<text class="value" x="{WIDTH - right - 4}" y="{y(value) - 4}" text-anchor="end">'
                    f"{escape(name)} {ratio_text(value)}</text>")
    if points:
        path = " ".join(f"{x(i)},{y(p.ratio)}" for i, p in enumerate(points))
        body.append(f'<polyline class="npl-line" fill="none" points="{path}"/>')
        for i, p in enumerate(points):
            body.append(f'<circle class="npl-point" cx="{x(i)}" cy="{y(p.ratio)}" r="3">'
                        f"<title>{escape(p.label)} {ratio_text(p.ratio)}</title></circle>")
            if i % max(1, len(points) // 12) == 0 or i == len(points) - 1:
                body.append(f'<text class="label" x="{x(i)}" y="{top + span_y + 16}" text-anchor="middle">'
                            f"{escape(p.label)}</text>")
    body.append(f'<text class="label" x="{left - 6}" y="{top + 4}" text-anchor="end">{ratio_text(ceiling, 2)}</text>'
                f'<text class="label" x="{left - 6}" y="{top + span_y}" text-anchor="end">0</text>')
    return _svg(height, title, body)
