"""The inventory as a stacked bar chart, laid out here and drawn as SVG by the template.

No chart library and no script: the server computes every rectangle, the template writes them
with presentation attributes (fill, x, y), which a strict CSP allows. One bar per UTC day from
the oldest epoch held to the newest (a day without records is an empty slot, so the axis is
time), one segment per data class. The table under the chart carries the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Colours of the data classes' segments: each has a contrast of at least 4.5:1 against the white
# background (WCAG 1.4.11 asks 3:1 of graphics) and neighbours differ in hue.
PALETTE = ("#0b4f8a", "#a4161a", "#1d6b35", "#6b2c91", "#8a4b00", "#005f6b", "#4a5360", "#8c1d5a")

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 40
MAX_LABELS = 8
# A bar is never wider than this, so that two days held do not look like two walls.
MAX_BAR = 48.0


@dataclass(frozen=True)
class Segment:
    data_class: str
    records: int
    y: float
    height: float
    fill: str


@dataclass(frozen=True)
class Bar:
    epoch: dt.date
    total: int
    x: float
    width: float
    labelled: bool
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: float  # the y of the x axis
    right: float
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, int], ...]  # (y, value)
    legend: tuple[tuple[str, str], ...]  # (data class, fill)
    first: dt.date
    last: dt.date
    total: int


def nice_step(top: int, count: int = 4) -> int:
    """A step of 1, 2 or 5 times a power of ten giving about `count` ticks up to `top`."""
    raw = max(top, 1) / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(1, int(factor * power))
    return int(10 * power)  # pragma: no cover (the loop always returns)


def stacked(rows: Iterable[object], classes: Sequence[str] = ()) -> Chart | None:
    """The chart of inventory rows (data_class, epoch, records); None if there is nothing held."""
    counts: dict[dt.date, dict[str, int]] = {}
    seen: list[str] = list(classes)
    for row in rows:
        epoch = dt.date.fromisoformat(row.epoch)  # type: ignore[attr-defined]
        name = row.data_class  # type: ignore[attr-defined]
        counts.setdefault(epoch, {})
        counts[epoch][name] = counts[epoch].get(name, 0) + row.records  # type: ignore[attr-defined]
        if name not in seen:
            seen.append(name)
    if not counts:
        return None
    held = [name for name in seen if any(name in day for day in counts.values())]
    fills = {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(held)}
    first, last = min(counts), max(counts)
    days = (last - first).days + 1
    top = max(sum(day.values()) for day in counts.values())
    step = nice_step(top)
    scale_top = step * math.ceil(top / step)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / days
    width = min(MAX_BAR, slot - min(2.0, slot * 0.2))
    every = max(1, math.ceil(days / MAX_LABELS))
    bars = []
    for index in range(days):
        epoch = first + dt.timedelta(days=index)
        day = counts.get(epoch, {})
        y = float(TOP + plot_height)
        segments = []
        for name in held:
            records = day.get(name, 0)
            if not records:
                continue
            height = plot_height * records / scale_top
            y -= height
            segments.append(Segment(name, records, round(y, 2), round(height, 2), fills[name]))
        bars.append(Bar(epoch, sum(day.values()), round(LEFT + index * slot + (slot - width) / 2, 2), round(width, 2),
                        index % every == 0, tuple(segments)))
    ticks = tuple((round(TOP + plot_height - plot_height * value / scale_top, 2), value)
                  for value in range(0, scale_top + 1, step))
    return Chart(WIDTH, HEIGHT, LEFT, TOP, float(TOP + plot_height), float(WIDTH - RIGHT), tuple(bars), ticks,
                 tuple(fills.items()), first, last, sum(sum(day.values()) for day in counts.values()))
