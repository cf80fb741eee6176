"""Bar and line charts as SVG, drawn on the server: no script, no third-party service.

Strict CSP allows no ``style`` attributes, so colours and lines are presentation attributes
(``fill=``, ``stroke=``), which CSP does not govern. Every chart has ``role="img"``, a
``<title>`` and a ``<desc>``; the page puts its data table beside it, which is what a screen
reader reads. Numbers are formatted by the caller's formatter (German format in the German UI).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Colour-blind-safe (Okabe-Ito), each with at least 3:1 contrast against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
TEXT = "#1B1B1B"
GRID = "#8A8A8A"
WIDTH = 640
LABEL_WIDTH = 230
MAX_LABEL = 34

_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"


def _open(height: int, title: str, description: str) -> tuple[list[str], str]:
    chart_id = f"chart{next(_ids)}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'class="report-chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
             f'focusable="false">',
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape(description)}</desc>']
    return parts, chart_id


def _legend(series: Sequence[Series], y: int) -> list[str]:
    parts, x = [], LABEL_WIDTH
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 11}" font-size="12" fill="{TEXT}">'
                     f'{escape(_short(item.name))}</text>')
        x += 30 + 7 * min(len(item.name), MAX_LABEL)
    return parts


def bar_chart(title: str, description: str, labels: Sequence[str], series: Sequence[Series],
              fmt: Callable[[float], str]) -> Markup:
    """Horizontal bars, one group per label (long German labels stay readable)."""
    bar, gap = 14, 10
    group = bar * len(series) + gap
    top = 24 if len(series) > 1 else 6
    height = top + group * max(len(labels), 1) + 6
    parts, _chart_id = _open(height, title, description)
    if len(series) > 1:
        parts += _legend(series, 4)
    largest = max((abs(v) for s in series for v in s.values), default=0) or 1
    room = WIDTH - LABEL_WIDTH - 90
    for row, label in enumerate(labels):
        y = top + row * group
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + bar * len(series) / 2 + 4:.0f}" '
                     f'font-size="12" text-anchor="end" fill="{TEXT}">'
                     f'{escape(_short(label))}</text>')
        for index, item in enumerate(series):
            value = item.values[row] if row < len(item.values) else 0
            length = max(room * abs(value) / largest, 0)
            by = y + index * bar
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{by}" width="{length:.1f}" '
                         f'height="{bar - 2}" fill="{PALETTE[index % len(PALETTE)]}"/>')
            parts.append(f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{by + bar - 4}" '
                         f'font-size="11" fill="{TEXT}">{escape(fmt(value))}</text>')
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{top - 2}" x2="{LABEL_WIDTH}" '
                 f'y2="{height - 4}" stroke="{GRID}" stroke-width="1"/>')
    parts.append("</svg>")
    # Every text that came from outside went through escape() above.
    return Markup("".join(parts))  # noqa: S704


def line_chart(title: str, description: str, labels: Sequence[str], series: Sequence[Series],
               fmt: Callable[[float], str]) -> Markup:
    """Lines over ordered labels (months), with the largest value marked on the axis."""
    height, left, right, top, bottom = 260, 90, 20, 28, 40
    parts, _chart_id = _open(height, title, description)
    parts += _legend(series, 6)
    largest = max((v for s in series for v in s.values), default=0) or 1
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    steps = max(len(labels) - 1, 1)

    def point(i: int, value: float) -> tuple[float, float]:
        return left + plot_w * i / steps, top + plot_h * (1 - max(value, 0) / largest)

    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="{TEXT}">{escape(fmt(largest * fraction))}</text>')
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            x, _y = point(i, 0)
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="11" '
                         f'text-anchor="middle" fill="{TEXT}">{escape(label)}</text>')
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = [point(i, v) for i, v in enumerate(item.values)]
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (texts escaped above)
