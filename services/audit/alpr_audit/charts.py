"""Charts drawn on the server as inline SVG: the report's HTML page needs no script, no font and
nothing from the network, and prints as it shows."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f5f99", "#c4622d", "#3b8a3e", "#8a3b8a", "#7a7a7a", "#b59b00")
_FONT = 'font-family="sans-serif" font-size="12"'


def _svg(width: int, height: int, title: str, body: list[str], chart: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(chart)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def bar_chart(chart: str, title: str, rows: Sequence[tuple[str, int]], *, width: int = 640) -> str:
    """Horizontal bars, one per category, value at the end of each bar."""
    if not rows:
        return _empty(chart, title, width)
    label_w, row_h, top = 170, 22, 24
    bar_room = width - label_w - 60
    peak = max(v for _, v in rows) or 1
    body = [f'<text x="0" y="14" {_FONT} font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = round(bar_room * value / peak)
        shown = label if len(label) <= 26 else label[:25] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" {_FONT}>{escape(shown)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w}" height="{row_h - 6}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_w + w + 4}" y="{y + 15}" {_FONT}>{value}</text>'
        )
    return _svg(width, top + len(rows) * row_h + 6, title, body, chart)


def line_chart(
    chart: str, title: str, points: Sequence[tuple[str, int]], *, width: int = 640
) -> str:
    """A trend over time: one point per period, the first and last labelled below."""
    if not points:
        return _empty(chart, title, width)
    left, right, top, bottom, height = 50, 20, 24, 40, 200
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(v for _, v in points) or 1
    step = plot_w / max(len(points) - 1, 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top + plot_h - plot_h * v / peak

    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    body = [
        f'<text x="0" y="14" {_FONT} font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" {_FONT}>{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {_FONT}>0</text>',
        '<polyline class="series" fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            PALETTE[0], " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        ),
    ]
    for (label, value), (x, y) in zip(points, coords, strict=True):
        body.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value}</title></circle>"
        )
    for i in sorted({0, len(points) - 1}):
        x, _ = coords[i]
        anchor = "start" if i == 0 else "end"
        body.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}" {_FONT}>'
            f"{escape(points[i][0])}</text>"
        )
    return _svg(width, height, title, body, chart)


def stacked_bars(
    chart: str,
    title: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 640,
) -> str:
    """One horizontal bar per row, split into the series, with a legend."""
    if not rows or not any(sum(v) for _, v in rows):
        return _empty(chart, title, width)
    label_w, row_h, top = 170, 22, 44
    bar_room = width - label_w - 60
    peak = max(sum(v) for _, v in rows) or 1
    body = [f'<text x="0" y="14" {_FONT} font-weight="bold">{escape(title)}</text>']
    x = 0
    for i, name in enumerate(series):
        body.append(
            f'<rect x="{x}" y="22" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="31" {_FONT}>{escape(name)}</text>'
        )
        x += 20 + 7 * len(name)
    for r, (label, values) in enumerate(rows):
        y = top + r * row_h
        shown = label if len(label) <= 26 else label[:25] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" {_FONT}>{escape(shown)}</text>'
        )
        offset = float(label_w)
        for i, value in enumerate(values):
            if not value:
                continue
            w = bar_room * value / peak
            body.append(
                f'<rect class="bar" x="{offset:.1f}" y="{y + 3}" width="{w:.1f}" '
                f'height="{row_h - 6}" fill="{PALETTE[i % len(PALETTE)]}">'
                f"<title>{escape(label)}, {escape(series[i])}: {value}</title></rect>"
            )
            offset += w
        body.append(f'<text x="{offset + 4:.1f}" y="{y + 15}" {_FONT}>{sum(values)}</text>')
    return _svg(width, top + len(rows) * row_h + 6, title, body, chart)


def _empty(chart: str, title: str, width: int) -> str:
    body = [
        f'<text x="0" y="14" {_FONT} font-weight="bold">{escape(title)}</text>',
        f'<text x="0" y="36" {_FONT} fill="#555">Nothing to show for this period.</text>',
    ]
    return _svg(width, 48, title, body, chart)
