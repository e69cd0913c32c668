"""Charts drawn on the server as SVG: no script, no CDN, readable in a screenshot.

Framework-free: plain values in, markup out. Every text is escaped here, so
the markup may be placed in a page as it is. A chart is an `<svg role="img">`
with a `<title>` naming it, axes with labels, a legend, and a `<title>` on
every bar and point (the browser's tooltip); a bar or point given a link is
wrapped in an `<a>` to the rows behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 48
PALETTE = ("#1f4e79", "#f0a202", "#2e8540", "#c0392b", "#7d3c98", "#5d6d7e")
# The aging buckets, from harmless to worrying.
AGING_COLOURS = ("#2e8540", "#f1c40f", "#e67e22", "#d35400", "#c0392b")


@dataclass
class Series:
    name: str
    values: list[Decimal | None]
    links: list[str | None] = field(default_factory=list)
    colour: str = ""


def nice_max(value: float) -> float:
    """Return a round number at or above `value` for the top of an axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def tick_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


class Canvas:
    """An SVG being drawn: the plot area, the y scale, the parts."""

    def __init__(self, title: str, y_label: str, top: float, labels: list[str], testid: str):
        self.title, self.labels, self.top = title, labels, nice_max(top)
        self.parts: list[str] = []
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self.testid = testid
        self.y_label = y_label

    def y(self, value: float) -> float:
        return TOP + self.plot_h - value / self.top * self.plot_h

    def slot(self, index: int) -> tuple[float, float]:
        """Return the left edge and width of the x slot of a label."""
        width = self.plot_w / max(len(self.labels), 1)
        return LEFT + index * width, width

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def axes(self) -> None:
        for i in range(5):
            value = self.top * i / 4
            y = self.y(value)
            self.add(
                f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                'stroke="#dde3ea"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                f'fill="#555">{escape(tick_label(value))}</text>'
            )
        self.add(
            f'<text x="14" y="{TOP + self.plot_h / 2:.1f}" font-size="11" fill="#555" '
            f'text-anchor="middle" transform="rotate(-90 14 {TOP + self.plot_h / 2:.1f})">'
            f"{escape(self.y_label)}</text>"
        )
        every = max(1, math.ceil(len(self.labels) / 12))
        for i, label in enumerate(self.labels):
            if i % every:
                continue
            left, width = self.slot(i)
            self.add(
                f'<text class="x-label" x="{left + width / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle" font-size="11" fill="#333">{escape(label)}</text>'
            )

    def legend(self, entries: list[tuple[str, str]]) -> None:
        x = LEFT
        for name, colour in entries:
            self.add(
                f'<g class="legend"><rect x="{x}" y="10" width="12" height="12" fill="{colour}"/>'
                f'<text x="{x + 16}" y="20" font-size="12" fill="#333">{escape(name)}</text></g>'
            )
            x += 26 + 7 * len(name)

    def svg(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
            f'data-testid="{escape(self.testid)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" aria-label="{escape(self.title)}">'
            f"<title>{escape(self.title)}</title>" + "".join(self.parts) + "</svg>"
        )


def linked(markup: str, link: str | None) -> str:
    return f'<a href="{escape(link)}">{markup}</a>' if link else markup


def highest(series: list[Series], stacked: bool = False) -> float:
    if stacked:
        columns = zip(*(s.values for s in series), strict=True)
        return max((float(sum(v or 0 for v in column)) for column in columns), default=0)
    return max((float(v) for s in series for v in s.values if v is not None), default=0)


def colours(series: list[Series], palette: tuple[str, ...] = PALETTE) -> list[str]:
    return [s.colour or palette[i % len(palette)] for i, s in enumerate(series)]


def line_chart(
    title: str,
    labels: list[str],
    series: list[Series],
    y_label: str,
    testid: str,
    marker: tuple[int, str] | None = None,
    unit: str = "",
) -> str:
    """Return a line chart: a line per series, a point per label; `marker` flags one label."""
    canvas = Canvas(title, y_label, highest(series), labels, testid)
    canvas.axes()
    if marker is not None:
        index, text = marker
        left, width = canvas.slot(index)
        x = left + width / 2
        canvas.add(
            f'<g class="marker"><line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" '
            f'y2="{TOP + canvas.plot_h}" stroke="#888" stroke-dasharray="4 3"/>'
            f'<text x="{x + 4:.1f}" y="{TOP + 12}" font-size="11" fill="#555">'
            f"{escape(text)}</text></g>"
        )
    for s, colour in zip(series, colours(series), strict=True):
        points = []
        for i, value in enumerate(s.values):
            if value is None:
                continue
            left, width = canvas.slot(i)
            points.append((i, left + width / 2, canvas.y(float(value)), value))
        path = " ".join(f"{x:.1f},{y:.1f}" for _, x, y, _ in points)
        canvas.add(
            f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{path}"><title>{escape(s.name)}</title></polyline>'
        )
        for i, x, y, value in points:
            link = s.links[i] if i < len(s.links) else None
            tip = f"{s.name}, {labels[i]}: {value}{unit}"
            canvas.add(
                linked(
                    f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                    f"<title>{escape(tip)}</title></circle>",
                    link,
                )
            )
    canvas.legend([(s.name, c) for s, c in zip(series, colours(series), strict=True)])
    return canvas.svg()


def bar_chart(
    title: str,
    labels: list[str],
    series: list[Series],
    y_label: str,
    testid: str,
    stacked: bool = False,
    palette: tuple[str, ...] = PALETTE,
) -> str:
    """Return bars per label: side by side for each series, or stacked."""
    canvas = Canvas(title, y_label, highest(series, stacked), labels, testid)
    canvas.axes()
    tints = colours(series, palette)
    for i, label in enumerate(labels):
        left, width = canvas.slot(i)
        inner = width * 0.7
        base = 0.0
        for n, (s, colour) in enumerate(zip(series, tints, strict=True)):
            value = s.values[i]
            if not value:
                continue
            amount = float(value)
            if stacked:
                x, w = left + (width - inner) / 2, inner
                top, bottom = canvas.y(base + amount), canvas.y(base)
                base += amount
            else:
                w = inner / len(series)
                x = left + (width - inner) / 2 + n * w
                top, bottom = canvas.y(amount), canvas.y(0)
            link = s.links[i] if i < len(s.links) else None
            canvas.add(
                linked(
                    f'<rect class="bar" x="{x:.1f}" y="{top:.1f}" width="{w:.1f}" '
                    f'height="{max(bottom - top, 0.5):.1f}" fill="{colour}">'
                    f"<title>{escape(f'{label}, {s.name}: {value}')}</title></rect>",
                    link,
                )
            )
    canvas.legend([(s.name, c) for s, c in zip(series, tints, strict=True)])
    return canvas.svg()
