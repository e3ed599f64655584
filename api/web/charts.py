"""Charts as inline SVG, drawn on the server: bars and lines, labels escaped, no scripts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

COLORS = {"red": "#c62828", "yellow": "#f2a900", "blue": "#1565c0", "grey": "#78909c", "green": "#2e7d32"}


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bar_chart(*, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], title: str,
              width: int = 480, height: int = 220) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series (name, values, color)."""
    left, right, top, bottom = 36, 10, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _n, values, _c in series for v in values] + [1])
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(4.0, group_w * 0.8 / max(len(series), 1))
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#90a4ae"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10" fill="#546e7a">{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#546e7a">0</text>']
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s, (name, values, color) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = plot_h * value / peak
            x = x0 + s * bar_w
            y = top + plot_h - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{color}">'
                         f'<title>{escape(str(label))} · {escape(name)}: {_fmt(value)}</title></rect>')
            if value:
                parts.append(f'<text x="{x + (bar_w - 1) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                             f'font-size="10" fill="#263238">{_fmt(value)}</text>')
        parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                     f'font-size="10" fill="#37474f">{escape(str(label))[:18]}</text>')
    parts.append(_legend(series, x=left, y=height - 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(*, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float], str]], title: str,
               width: int = 480, height: int = 220) -> Markup:
    """One polyline per series over evenly spaced labels (e.g. weeks)."""
    left, right, top, bottom = 36, 14, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _n, values, _c in series for v in values] + [1])
    step = plot_w / max(len(labels) - 1, 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#90a4ae"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10" fill="#546e7a">{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#546e7a">0</text>']
    for i, label in enumerate(labels):
        if len(labels) <= 8 or i % 2 == 0:
            parts.append(f'<text x="{left + i * step:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                         f'font-size="10" fill="#37474f">{escape(str(label))}</text>')
    for name, values, color in series:
        points = [(left + i * step, top + plot_h - plot_h * v / peak) for i, v in enumerate(values)]
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        for (x, y), v, label in zip(points, values, labels, strict=False):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                         f'<title>{escape(str(label))} · {escape(name)}: {_fmt(v)}</title></circle>')
    parts.append(_legend(series, x=left, y=height - 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_bar(*, rate: float | None, label: str, width: int = 240, color: str = COLORS["green"]) -> Markup:
    """A single horizontal bar for a rate (0–1)."""
    filled = 0 if rate is None else max(0.0, min(1.0, rate)) * (width - 2)
    text = "—" if rate is None else f"{rate * 100:.1f}%"
    return Markup(
        f'<svg class="rate" role="img" viewBox="0 0 {width} 22" width="{width}" height="22" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}: {text}</title>'
        f'<rect x="1" y="3" width="{width - 2}" height="16" fill="#eceff1" stroke="#b0bec5"/>'
        f'<rect x="1" y="3" width="{filled:.1f}" height="16" fill="{color}"/>'
        f'<text x="{width / 2:.0f}" y="15" text-anchor="middle" font-size="11" fill="#102027">{text}</text></svg>')


def _legend(series: Sequence[tuple[str, Sequence[float], str]], *, x: int, y: int) -> str:
    parts = []
    for name, _values, color in series:
        parts.append(f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="{y + 1}" font-size="10" fill="#37474f">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    return "".join(parts)
