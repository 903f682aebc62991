"""The simulation page's charts, drawn on the server as inline SVG like
:mod:`console.charts`: per sub-fund bars (available against expected / P95 / P99
payout) and the depletion curve by month.

Bar lengths are whole pixels computed from integer fen (``span * fen // top``); the
figures beside them are the exact amounts. The curve's points are placed from the
probabilities' decimal strings, exactly (:func:`console.charts.pixels`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from markupsafe import Markup, escape

from rules.money import parse_amount, percent_text

from .charts import BAR_H, LABEL_W, ROW_GAP, TOP, VALUE_W, WIDTH, _legend, _svg, pixels
from .formatting import money_text

#: (field, css class, fill) of the payout bars; fills as SVG attributes (no inline style).
SERIES = (("expected_payout", "bar-expected", "#c98b8b"), ("p95_payout", "bar-p95", "#a65252"),
          ("p99_payout", "bar-p99", "#8b1a1a"))
LINE_COLOURS = ("#8b1a1a", "#1f5f8b", "#6b8e23", "#b8860b", "#5f4b8b", "#2f4f4f", "#a0522d", "#708090")


def payout_chart(rows: Sequence[Mapping[str, Any]], *, title: str, labels: Mapping[str, str]) -> Markup:
    span = WIDTH - LABEL_W - VALUE_W
    keys = ("available",) + tuple(key for key, _, _ in SERIES)
    top = max([1, *(parse_amount(r[k]) for r in rows for k in keys)])
    row_h = BAR_H + 3 * 6 + ROW_GAP
    height = TOP + max(1, len(rows)) * row_h + 6
    body = _legend([("bar-available", labels["available"])])
    x = LABEL_W + 30 + 14 * len(labels["available"])
    for key, css, fill in SERIES:
        body.append(f'<rect class="{css}" fill="{fill}" x="{x}" y="6" width="12" height="12"/>'
                    f'<text class="legend" x="{x + 18}" y="16">{escape(labels[key])}</text>')
        x += 30 + 9 * len(labels[key])
    for i, row in enumerate(rows):
        y = TOP + i * row_h
        code = escape(row["subfund"])
        available = parse_amount(row["available"])
        body.append(f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H - 2}" text-anchor="end">{code}</text>')
        body.append(f'<rect class="bar-available" x="{LABEL_W}" y="{y}" width="{span * available // top}" '
                    f'height="{BAR_H - 2}"><title>{code} {escape(labels["available"])} {money_text(available)}'
                    f'</title></rect>'
                    f'<text class="value" x="{WIDTH - VALUE_W + 8}" y="{y + BAR_H - 3}">{money_text(available)}</text>')
        for j, (key, css, fill) in enumerate(SERIES):
            fen = parse_amount(row[key])
            by = y + BAR_H + j * 6
            body.append(f'<rect class="{css}" fill="{fill}" x="{LABEL_W}" y="{by}" width="{span * fen // top}" '
                        f'height="5"><title>{code} {escape(labels[key])} {money_text(fen)}</title></rect>')
        p99 = parse_amount(row["p99_payout"])
        body.append(f'<text class="value" x="{WIDTH - VALUE_W + 8}" y="{y + BAR_H + 15}">'
                    f'P99 {money_text(p99)}</text>')
    return _svg(height, title, body)


def depletion_chart(rows: Sequence[Mapping[str, Any]], *, title: str, month_label: str) -> Markup | None:
    """Cumulative probability that each sub-fund is depleted by month m (those that can be)."""
    shown = [r for r in rows if Decimal(r["depletion_probability"]) > 0]
    if not shown:
        return None
    months = len(shown[0]["depletion_curve"])
    left, right, height = 60, VALUE_W, 220
    plot_w, plot_h, top = WIDTH - left - right, height - 60, TOP
    base = top + plot_h
    body = [f'<line class="axis" stroke="#555" x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}"/>',
            f'<line class="axis" stroke="#555" x1="{left}" y1="{top}" x2="{left}" y2="{base}"/>',
            f'<text class="label" x="{left - 6}" y="{top + 4}" text-anchor="end">100%</text>',
            f'<text class="label" x="{left - 6}" y="{base + 4}" text-anchor="end">0%</text>',
            f'<text class="label" x="{left + plot_w}" y="{base + 16}" text-anchor="end">'
            f'{escape(month_label)} {months}</text>',
            f'<text class="label" x="{left}" y="{base + 16}">1</text>']
    for n, row in enumerate(shown):
        colour = LINE_COLOURS[n % len(LINE_COLOURS)]
        points = [f"{left},{base}"] + [
            f"{pixels(left + Fraction(plot_w * m, months))},{pixels(base - plot_h * Fraction(p))}"
            for m, p in enumerate(row["depletion_curve"], 1)]
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}">'
                    f'<title>{escape(row["subfund"])}</title></polyline>')
        body.append(f'<text class="legend" fill="{colour}" x="{left + plot_w + 8}" y="{top + 12 + 14 * n}">'
                    f'{escape(row["subfund"])} {percent_text(row["depletion_probability"], 1)}</text>')
    return _svg(height, title, body)


__all__ = ["depletion_chart", "payout_chart"]
