"""Small charts as inline SVG text: bars by label, columns and lines over time. No I/O.

Drawn here rather than with a plotting library: three chart shapes of a few dozen elements
each do not earn matplotlib's import time on every run, and SVG made by hand holds no script
and loads nothing. Every label is HTML-escaped here; callers pass plain text. Sizes are in
SVG user units (px at 100 %); each chart scales to its container through `viewBox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

WIDTH: Final = 720
HEIGHT: Final = 220
_LEFT: Final = 64  # room for the y axis's labels
_BOTTOM: Final = 28  # room for the x axis's labels
_TOP: Final = 12
_BAR: Final = 26  # height of one bar of `bars`, gap included


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    # SVG inline in HTML needs no xmlns: the page holds no URL, not even a namespace's
    label = escape(title)
    return (
        f'<svg viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}" class="chart"><title>{label}</title>'
        + "".join(body)
        + "</svg>"
    )


def bars(title: str, items: Sequence[tuple[str, int, str]]) -> str:
    """Return horizontal bars, one per `(label, count, colour)`, each labelled with its count."""
    top = max((n for _, n, _ in items), default=0) or 1
    height = _BAR * len(items) + 8
    span = WIDTH - 160 - 80
    body: list[str] = []
    for i, (label, count, colour) in enumerate(items):
        y = 4 + i * _BAR
        length = round(span * count / top, 1)
        body += [
            f'<text x="150" y="{y + 17}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="160" y="{y + 3}" width="{length}" height="{_BAR - 8}" fill="{colour}"/>',
            f'<text x="{160 + length + 6}" y="{y + 17}">{count:,}</text>',
        ]
    return _svg(WIDTH, height, title, body)


def nice_top(value: float) -> float:
    """Return a round number >= `value` for an axis's top: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    step = 10.0 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    while step > value:  # below 1: come down to its power of ten
        step /= 10
    for factor in (1, 2, 5, 10):
        if factor * step >= value:
            return factor * step
    return 10 * step  # not reached: 10 * step >= value by construction


_TIME_STEPS: Final = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
"""Steps of a time axis past a minute, in seconds: whole minutes and hours a person reads."""


def _divisions(top: float) -> int:
    """Return how many steps split a count axis of `top` (a `nice_top`) into whole numbers."""
    for parts in (4, 5, 2):
        if top >= parts and top % parts == 0:
            return parts
    return 1


def time_step(span: float) -> float:
    """Return a round step for a time axis of `span` seconds: at most 5 steps fit in it."""
    if span <= 0:
        return 1.0
    if span / 5 <= 12:  # under a minute a step: 0.1, 0.2, 0.5, 1, 2, 5, 10 s
        return nice_top(span / 5)
    for step in _TIME_STEPS:
        if span / step <= 5:
            return float(step)
    return 86_400 * nice_top(span / 5 / 86_400)  # days


def _frame(top: float, seconds: float, unit: str, whole: bool = False) -> list[str]:
    """Return the axes: y from 0 to `top` (`unit`; `whole`: marked at whole numbers only),
    x from 0 to `seconds` of the run, marked at round times (`time_step`)."""
    plot_h = HEIGHT - _TOP - _BOTTOM
    right = WIDTH - 8
    parts = [
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" class="axis"/>',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{right}" y2="{_TOP + plot_h}" class="axis"/>',
    ]
    steps = _divisions(top) if whole else 4
    for i in range(steps + 1):
        value = top * i / steps
        y = round(_TOP + plot_h - plot_h * i / steps, 1)
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">{_number(value)}{unit}</text>'
        )
        if i:
            parts.append(f'<line x1="{_LEFT}" y1="{y}" x2="{right}" y2="{y}" class="grid"/>')
    step = time_step(seconds)
    for i in range(int(seconds / step + 1e-9) + 1):
        moment = i * step
        x = round(_LEFT + (right - _LEFT) * moment / (seconds or 1), 1)
        anchor = "end" if right - x < 24 else "middle"  # a label at the edge stays inside
        parts.append(
            f'<text x="{x}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{escape(_when(moment, seconds))}</text>"
        )
    return parts


def columns(
    title: str, width: float, stacks: Sequence[Sequence[float]], colours: Sequence[str]
) -> str:
    """Return stacked columns over time: bin i covers `[i * width, (i + 1) * width)` seconds,
    `stacks[i]` its values bottom up, drawn in `colours`; the y axis counts rows per bin."""
    top = nice_top(max((sum(s) for s in stacks), default=0))
    plot_h, plot_w = HEIGHT - _TOP - _BOTTOM, WIDTH - 8 - _LEFT
    step = plot_w / max(len(stacks), 1)
    body = _frame(top, width * max(len(stacks), 1), "", whole=True)
    for i, stack in enumerate(stacks):
        base = float(_TOP + plot_h)
        for value, colour in zip(stack, colours, strict=False):
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            body.append(
                f'<rect x="{_LEFT + i * step + 0.5:.1f}" y="{base:.1f}" '
                f'width="{max(step - 1, 0.5):.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
    return _svg(WIDTH, HEIGHT, title, body)


def lines(
    title: str,
    width: float,
    series: Sequence[tuple[Sequence[float | None], str]],
    unit: str,
) -> str:
    """Return lines over time: each `(values, colour)` has a point per bin (None: no point,
    the line breaks), bin i drawn at the middle of `[i * width, (i + 1) * width)` seconds."""
    values = [v for points, _ in series for v in points if v is not None]
    top = nice_top(max(values, default=0))
    plot_h, plot_w = HEIGHT - _TOP - _BOTTOM, WIDTH - 8 - _LEFT
    count = max((len(points) for points, _ in series), default=1) or 1
    step = plot_w / count
    body = _frame(top, width * count, unit)
    for points, colour in series:
        path: list[str] = []
        pen = "M"
        for i, value in enumerate(points):
            if value is None:
                pen = "M"
                continue
            x = _LEFT + (i + 0.5) * step
            y = _TOP + plot_h - plot_h * value / top
            path.append(f"{pen}{x:.1f} {y:.1f}")
            pen = "L"
            # a point alone between gaps draws no line: each point is a dot too
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        if path:
            body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" class="line"/>')
    return _svg(WIDTH, HEIGHT, title, body)


def clock(seconds: float) -> str:
    """Return seconds since the start as "0:00", "1:05", "2:03:09" (h:mm:ss past an hour)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def duration(seconds: float) -> str:
    """Return a length of time to read: "0.4 s", "51.2 s", "6 min 50 s", "1 h 49 min 14 s"."""
    if seconds < 60:
        return f"{seconds:.3g} s"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    said = [(hours, "h"), (minutes, "min"), (secs, "s")]
    return " ".join(f"{n} {unit}" for n, unit in said if n)


def _when(seconds: float, span: float) -> str:
    """Return an x axis label: "2.5 s" on a chart under a minute long, else `clock`."""
    return f"{seconds:.3g} s" if span < 60 else clock(seconds)


def _number(value: float) -> str:
    """Return an axis value short: 1,500 / 2.5 / 0.25."""
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"
