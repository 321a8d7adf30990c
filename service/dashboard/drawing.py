"""What the dashboard's SVG figures are made of, computed on the server (the templates only write it out).

- The map (choropleth): each place's path, filled by the class of its protected value; a place
  "fewer than k" gets a hatch pattern and an uncertain one a dotted pattern, so status never
  rests on colour alone. Classes are quantiles of the values shown, in a sequential single-hue
  palette (ColorBrewer Blues, safe for colour-blind readers), with a legend.
- The series chart: a point per week for a value shown, its interval as a bar, a line between
  consecutive shown weeks, and a hollow mark on the axis for a week not shown.

Nothing here sees a value that is not shown: callers pass the published cells, whose hidden
values are None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.dashboard.maps import Outline

# ColorBrewer "Blues", 5 classes: sequential, distinguishable by colour-blind readers and in grey.
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
PATTERNS = {"below_k": "url(#hatch-below)", "uncertain": "url(#dots-uncertain)", "suppressed": "url(#hatch-below)"}


def classes(values: Sequence[int]) -> list[tuple[int, int]]:
    """Up to five classes (low, high) covering the values, split at their quantiles."""
    ordered = sorted(values)
    if not ordered:
        return []
    uppers: list[int] = []
    for i in range(1, len(PALETTE) + 1):
        upper = ordered[min(len(ordered) - 1, (i * len(ordered) + len(PALETTE) - 1) // len(PALETTE) - 1)]
        if not uppers or upper > uppers[-1]:
            uppers.append(upper)
    uppers[-1] = ordered[-1]
    bounds, low = [], ordered[0]
    for upper in uppers:
        bounds.append((low, upper))
        low = upper + 1
    return bounds


def _class_of(value: int, bounds: Sequence[tuple[int, int]]) -> int:
    for index, (_, upper) in enumerate(bounds):
        if value <= upper:
            return index
    return len(bounds) - 1


def choropleth(cells: Sequence[Mapping[str, Any]], outline: Outline) -> dict[str, Any]:
    """The map of `cells` (published cells with key, name, status, value, low, high) on `outline`."""
    bounds = classes([cell["value"] for cell in cells if cell["shown"]])
    # Spread the used classes over the palette so two classes never get neighbouring light shades.
    colours = [PALETTE[round(i * (len(PALETTE) - 1) / max(1, len(bounds) - 1))] for i in range(len(bounds))] if len(bounds) > 1 else list(PALETTE[2:3])
    shapes = []
    for cell in cells:
        d = outline.paths.get(cell["key"])
        if not d:
            continue
        fill = colours[_class_of(cell["value"], bounds)] if cell["shown"] else PATTERNS.get(cell["status"], "url(#hatch-below)")
        shapes.append({"d": d, "fill": fill, "cell": cell})
    return {
        "view_box": outline.view_box, "width": outline.width, "height": outline.height, "shapes": shapes,
        "legend": [{"low": low, "high": high, "colour": colours[i]} for i, (low, high) in enumerate(bounds)],
        "statuses": sorted({cell["status"] for cell in cells if not cell["shown"]}),
        "missing": [cell["name"] for cell in cells if cell["key"] not in outline.paths],
    }


CHART_W, CHART_H = 720.0, 260.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 16.0, 12.0, 44.0


def _nice(top: float) -> int:
    """A round axis maximum at or above `top`."""
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if top <= step * 4:
            return int(step * -(-top // step)) or step
    return int(top) + 1


def series_chart(points: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any] | None:
    """A chart of a series of published cells (each with label, shown, value, low, high), in order."""
    if not points:
        return None
    top = _nice(max([k, *(p["high"] or p["value"] or 0 for p in points if p["shown"])]))
    inner_w, inner_h = CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM
    step = inner_w / max(1, len(points))

    def y(value: float) -> float:
        return round(TOP + inner_h * (1 - max(0.0, value) / top), 1)

    marks: list[dict[str, Any]] = []
    lines: list[str] = []
    line: list[str] = []
    every = max(1, -(-len(points) // 12))
    for index, point in enumerate(points):
        x = round(LEFT + step * (index + 0.5), 1)
        mark = {"x": x, "point": point, "tick": index % every == 0}
        if point["shown"]:
            mark.update(y=y(point["value"]), low=y(point["low"] if point["low"] is not None else point["value"]),
                        high=y(point["high"] if point["high"] is not None else point["value"]))
            line.append(f"{x},{mark['y']}")
        else:
            mark.update(y=y(0))
            if len(line) > 1:
                lines.append(" ".join(line))
            line = []
        marks.append(mark)
    if len(line) > 1:
        lines.append(" ".join(line))
    grid = [{"y": y(v), "value": v} for v in (0, top // 2, top)]
    return {"view_box": f"0 0 {CHART_W:g} {CHART_H:g}", "marks": marks, "lines": lines, "grid": grid, "left": LEFT,
            "right": CHART_W - RIGHT, "base": y(0), "label_y": CHART_H - BOTTOM + 18, "k_y": y(k), "k": k}
