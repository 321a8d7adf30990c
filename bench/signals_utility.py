"""The utility of the signals releases: how much of a city's weekly table is shown, how far the
published values are from the counts, and how well alerts find a real rise, at the default settings
and at others.

The issue asks, on the city grid at the default settings: the share of cells shown per level; the
median relative error per level, before and after the consistency step; how often a planted rise
(a district x category doubling from 20 to 40 reports a week, and from 50 to 100) is flagged, and
how many false alarms per 100 cell-weeks come with it. Targets: district x category median error at
most 10%; the 50 -> 100 rise flagged in at least 90% of runs with at most 1 false alarm per 100
cell-weeks. Where the defaults miss a target: the epsilon (and cap) that would meet it, and its cost.
And the figures behind the split of epsilon between the six parts.

It measures the mechanism, not the service around it: no database, no HTTP. Every release is the
service's own `service.signals.protection.compute(grid, bounded, rules, service.signals.noise.noisy)`
(real OpenDP discrete Laplace noise, the weighted least-squares consistency, the rounding, the
statuses), and every alert verdict is `service.signals.ears.c2(series, EarsRules(), noise_sd=sd)`
called as `service.signals.services._verdicts` calls it.

The city (one seed, the same in every run):

  grid       one municipality "city", 200 areas in 20 districts of 10 (as the audit's city grid),
             the shipped taxonomy (service/taxonomy/default_taxonomy.json: 25 categories in 4
             phenomena).
  means      a stable expected count per (area, category) cell, about 50,000 reports a week in all:
             50,000 x area weight x category weight x a cell factor, normalised. Area weights are
             Zipf-like (1 / rank^0.8 over a shuffled order: the busiest area has 69 times the
             quietest's weight), category weights too (1 / rank^1.1: 35 times), and each cell has a
             log-normal factor (sigma 0.5), so districts differ in their mix of categories, as
             bench/signals.py's city does. A median area x category cell expects about 3 reports, a
             median district x category cell about 40.
  weeks      each week's count of every cell is an independent Poisson draw around its mean, so
             baseline weeks vary as real ones do. The counts are already bounded: they stand for
             what is left after the contribution cap (at most `cap` per organisation per cell and
             week), so a cap other than the default changes the noise here, not the counts.
  plants     two district x category cells are set to expect exactly 20 and 50 reports a week (the
             cells whose means were nearest; their areas' means scaled, so about 50,000 stays the
             total), in different districts and categories. In a tested week each of the two is
             doubled (every area of the cell twice its mean): 20 -> 40 and 50 -> 100.

What is measured:

  levels     over the stable weeks of the alert runs (every baseline week, `--runs` x 7 releases),
             per part (geo level x taxonomy level): the share of cells shown, and of cells whose
             count is at least k (what an exact table would show); the median relative error
             |value - count| / count, pooled over the releases' cells whose count that week is above
             0, at three steps: before consistency (the part's own noisy measurement when the part is
             measured; for a part with no share, the sum of the measured part below it whose sum is
             the least noisy: district x category for every unmeasured part at the default split),
             the consistent estimate before rounding (`Estimator.estimate` on the same measurements,
             as protect() computes it), and published (the protected value), also over shown cells
             only; how many cells with a count are published as 0; the median sd; the coverage of the
             90% interval: value +- 1.645 sd around the unrounded estimate, and the published
             interval (protection.interval) over every cell and over shown cells; the share shown at
             other k. The noisy measurements are read by wrapping the `draw` callable compute() calls
             (noise.noisy itself, its output recorded on the way).
  alerts     `--runs` independent runs of 8 weeks: 7 baseline weeks at the stable means and a tested
             week with both plants doubled, each week a fresh Poisson draw and a fresh release. Per
             cell the series c2 reads is the protected values of the 7 baseline weeks (shown or not,
             as stored), the 2 guard weeks absent, and the tested week's value when shown (None
             otherwise: no verdict); noise_sd is the cell's sd as stored (3 decimals). Detection: the
             share of runs whose planted cell is flagged (not shown counts as missed), with a 95%
             Wilson interval. False alarms: flagged cells among every OTHER district x category cell
             of the tested week (498 a run), per 100 cell-weeks, with a 95% Wilson interval; the same
             at every level, leaving out the cells that hold a planted cell. The two plants share
             their runs: the estimate is linear in independent noise, so a rise in one cell does not
             move another's expected value (the rounding couples them by a report at most).
  epsilon    at the default cap and split, for a range of epsilon: the exact sds, the median
             relative errors simulated from the noise alone (`simulated_error`: the estimate is
             linear, so its error is the estimate of the noise; numpy's discrete Laplace, 20 draws;
             it matches the measured unrounded error) and the predicted shares shown (normal
             approximation); the smallest epsilon meeting the error target; then `--sweep-runs` alert
             runs at each of `--sweep`. The noise scale is cap / (epsilon x share), so cap 1 at
             epsilon e adds the same noise as cap 2 at 2e: each row holds for both.
  splits     (--splits) for candidate splits of epsilon between the six parts: the exact sd of every
             part after consistency (`Estimator(...).variances()`, no sampling), the simulated
             median error and the predicted share shown, and both measured on `--split-releases`
             real releases per split. Then a search over every split whose shares are multiples of
             `--search-step` (area x category measured): of those meeting the district x category
             error target, the three with the highest predicted share shown averaged over the six
             parts are measured like the candidates.

Nothing here asserts on time; the figures are what matter. OPENBLAS_NUM_THREADS=1 unless set, as
the service's own processes do (one core of a shared machine).
Usage: .venv/bin/python bench/signals_utility.py [--quick] [--splits] [--runs 200] [--sweep 0.5,0.75,2]
--quick is a smoke run of a few seconds: one run, no sweep, the split tables on a coarse search.
A full run (200 runs, --sweep 0.5,0.75,2 x 40 runs, --splits) takes about 8 minutes on one core.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.signals import noise  # noqa: E402
from service.signals.ears import EarsRules, c2  # noqa: E402
from service.signals.estimation import GEO_LEVELS, PARTS, TAX_LEVELS, Estimator, Hierarchy, Part  # noqa: E402
from service.signals.protection import (  # noqa: E402
    DEFAULT_SPLIT,
    VARIANCE_FLOOR,
    Z,
    Grid,
    ProtectionRules,
    Status,
    compute,
    part_name,
)

MUNICIPALITY = "city"
AREAS, DISTRICTS = 200, 20
REPORTS_PER_WEEK = 50_000
AREA_ZIPF, CATEGORY_ZIPF, CELL_SIGMA = 0.8, 1.1, 0.5
PLANTS = (20.0, 50.0)  # district x category means doubled in the tested week
TARGET_ERROR = 0.10  # district x category median relative error
TARGET_DETECTION = 0.90  # of the 50 -> 100 rise
TARGET_FALSE_ALARMS = 1.0  # per 100 cell-weeks
WEEKS_PER_QUARTER = 13
KS = (3, 5, 10)  # k values whose share shown is also given
Z95 = 1.959963984540054
PART_LABELS = {part: f"{part[0]} x {part[1]}" for part in PARTS}

CANDIDATE_SPLITS: dict[str, dict[str, float]] = {
    "default": dict(DEFAULT_SPLIT),
    "equal sixths": {part_name(p): 1 / 6 for p in PARTS},
    "area x category only": {"area/category": 1.0},
    "district-heavy (0.1 / 0.9)": {"area/category": 0.1, "district/category": 0.9},
    "area + district (0.4 / 0.6)": {"area/category": 0.4, "district/category": 0.6},
    "area + district (0.5 / 0.5)": {"area/category": 0.5, "district/category": 0.5},
    "area-heavy (0.4 / 0.2 / 0.4)": {"area/category": 0.4, "area/phenomenon": 0.2, "district/category": 0.4},
    "every level a little": {"area/category": 0.2, "area/phenomenon": 0.1, "district/category": 0.5,
                             "district/phenomenon": 0.1, "municipality/category": 0.1},
}


def full_split(shares: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """A split naming all six parts (the unnamed get 0), as ProtectionRules wants it."""
    return tuple((part_name(p), float(shares.get(part_name(p), 0.0))) for p in PARTS)


# --- the city ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plant:
    """A district x category cell whose mean doubles in the tested week."""

    district: str
    category: str
    before: float
    after: float


@dataclass
class City:
    """The grid, the stable means per (area, category), the tested week's means, and the plants."""

    grid: Grid
    h: Hierarchy
    areas: list[str]
    categories: list[str]
    means: np.ndarray  # areas x categories
    risen: np.ndarray  # the tested week's means
    plants: list[Plant]
    estimators: dict[ProtectionRules, Estimator] = field(default_factory=dict)
    order: list[tuple[str, str, str, str]] = field(default_factory=list)  # protect()'s order of cells

    def __post_init__(self) -> None:
        self.order = [(g, gc, t, tc) for g, t in PARTS for gc in self.grid.codes(g) for tc in self.grid.codes(t)]

    def estimator(self, rules: ProtectionRules) -> Estimator:
        """The estimator protect() builds for these rules (the same variances, floor included)."""
        if rules not in self.estimators:
            self.estimators[rules] = Estimator(self.h, {p: max(rules.variance(p), VARIANCE_FLOOR) for p in PARTS})
        return self.estimators[rules]

    def mean_parts(self, means: np.ndarray) -> dict[Part, np.ndarray]:
        return self.h.totals(means)

    def bounded(self, counts: np.ndarray) -> dict[tuple[str, str], int]:
        """The (area, category) counts compute() takes, from an areas x categories array."""
        rows, cols = np.nonzero(counts)
        return {(self.areas[i], self.categories[j]): int(counts[i, j]) for i, j in zip(rows, cols)}


def build_city(seed: int) -> City:
    """The city of the module docstring, from the seed."""
    from service.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(None)
    rng = np.random.default_rng(seed)
    areas = [f"city-{i:03d}" for i in range(AREAS)]
    per_district = AREAS // DISTRICTS
    grid = Grid(MUNICIPALITY, {a: f"district-{i // per_district:02d}" for i, a in enumerate(areas)},
                {code: c.phenomenon for code, c in taxonomy.categories.items()})
    h = grid.hierarchy()
    assert list(h.areas) == areas
    categories = list(h.categories)
    zipf = lambda n, s: 1 / np.arange(1, n + 1) ** s  # noqa: E731
    area_weight = zipf(AREAS, AREA_ZIPF)[rng.permutation(AREAS)]
    category_weight = zipf(len(categories), CATEGORY_ZIPF)[rng.permutation(len(categories))]
    means = np.outer(area_weight, category_weight) * rng.lognormal(0.0, CELL_SIGMA, (AREAS, len(categories)))
    means *= REPORTS_PER_WEEK / means.sum()
    risen = means.copy()
    plants, used_d, used_c = [], set(), set()
    for target in PLANTS:
        by_district = h.geo_sum("district", means)
        distance = np.abs(by_district - target)
        distance[list(used_d), :] = np.inf
        distance[:, list(used_c)] = np.inf
        d, c = np.unravel_index(int(np.argmin(distance)), distance.shape)
        used_d.add(d)
        used_c.add(c)
        members = h.area_district == d
        means[members, c] *= target / by_district[d, c]
        risen[members, c] = 2 * means[members, c]
        plants.append(Plant(h.districts[d], categories[c], target, 2 * target))
    return City(grid, h, areas, categories, means, risen, plants)


# --- releases ----------------------------------------------------------------------------------------


@dataclass
class Release:
    """One computed release, per part as arrays (geo nodes x taxonomy nodes, in the grid's order)."""

    exact: dict[Part, np.ndarray]
    protected: dict[Part, np.ndarray]
    sd: dict[Part, np.ndarray]  # as stored: 3 decimals
    shown: dict[Part, np.ndarray]
    raw: dict[Part, np.ndarray]  # the noisy measurement of each measured part
    consistent: dict[Part, np.ndarray]  # the least-squares estimate before rounding (real)


def release(city: City, counts: np.ndarray, rules: ProtectionRules) -> Release:
    """compute() on one week's counts, with its noisy measurements recorded on the way."""
    recorded: list[list[int]] = []

    def draw(values: Sequence[int], scale: float) -> list[int]:
        out = noise.noisy(values, scale)
        recorded.append(out)
        return out

    table = compute(city.grid, city.bounded(counts), rules, draw)
    measured = [part for part in PARTS if rules.scale(part) is not None]
    # compute() draws once per measured part, in PARTS order (protection.compute).
    if len(recorded) != len(measured):
        raise RuntimeError("compute() drew noise for other parts than the measured ones")
    # protect() fills the table part by part, row-major, as city.order lists the cells.
    if list(table.exact) != city.order:
        raise RuntimeError("the table's cells are not in the order this bench reads them")
    exact = np.fromiter(table.exact.values(), dtype=float, count=len(city.order))
    protected = np.fromiter(table.protected.values(), dtype=float, count=len(city.order))
    sd = np.round(np.fromiter(table.sd.values(), dtype=float, count=len(city.order)), 3)
    shown = np.fromiter((s == Status.SHOWN for s in table.status.values()), dtype=bool, count=len(city.order))
    out = Release({}, {}, {}, {}, {}, {})
    start = 0
    for part in PARTS:
        shape = (city.h.nodes(part[0]), city.h.nodes(part[1]))
        end = start + shape[0] * shape[1]
        out.exact[part], out.protected[part] = exact[start:end].reshape(shape), protected[start:end].reshape(shape)
        out.sd[part], out.shown[part] = sd[start:end].reshape(shape), shown[start:end].reshape(shape)
        start = end
    for part, values in zip(measured, recorded):
        out.raw[part] = np.array(values, dtype=float).reshape(out.exact[part].shape)
    out.consistent = city.h.totals(city.estimator(rules).estimate(out.raw))
    return out


def finer(a: str, b: str, levels: Sequence[str]) -> bool:
    """Whether level a is b or below it (levels ordered finest first)."""
    return levels.index(a) <= levels.index(b)


def before_source(rules: ProtectionRules, h: Hierarchy) -> dict[Part, Part]:
    """For each part, the measured part its value before consistency comes from: itself when
    measured, else the measured part below it whose sum has the least total variance."""
    source = {}
    for g, t in PARTS:
        if rules.scale((g, t)) is not None:
            source[g, t] = (g, t)
            continue
        below = [(g2, t2) for g2, t2 in PARTS if rules.scale((g2, t2)) is not None
                 and finer(g2, g, GEO_LEVELS) and finer(t2, t, TAX_LEVELS)]
        source[g, t] = min(below, key=lambda p: rules.variance(p) * h.nodes(p[0]) * h.nodes(p[1]))
    return source


def summed(h: Hierarchy, x: np.ndarray, source: Part, target: Part) -> np.ndarray:
    """The cells of `source` (a part) summed up to the cells of `target` (a coarser part)."""
    (g, t), (g2, t2) = source, target
    if g != g2:
        x = x.sum(axis=0, keepdims=True) if g2 == "municipality" else h.geo_sum(g2, x)
    if t != t2:
        x = h.tax_sum(t2, x)
    return x


def before(rel: Release, source: dict[Part, Part], h: Hierarchy) -> dict[Part, np.ndarray]:
    """Every part's values before the consistency step."""
    return {part: summed(h, rel.raw[source[part]], source[part], part) for part in PARTS}


def low_end(value: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """protection.interval's low end, vectorised: value - Z sd rounded halves up, at least 0."""
    return np.maximum(0, np.floor(value - Z * sd + 0.5))


def high_end(value: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """protection.interval's high end, vectorised."""
    return np.floor(value + Z * sd + 0.5)


# --- per-level figures -------------------------------------------------------------------------------


@dataclass
class LevelFigures:
    """Pooled over the releases of one setting, per part."""

    releases: int = 0
    cells: dict[Part, int] = field(default_factory=dict)
    shown: dict[Part, int] = field(default_factory=dict)
    shown_k: dict[tuple[Part, int], int] = field(default_factory=dict)
    at_least_k: dict[Part, int] = field(default_factory=dict)
    positive: dict[Part, int] = field(default_factory=dict)  # cells with a count above 0
    zeroed: dict[Part, int] = field(default_factory=dict)  # of which published as 0
    covered: dict[Part, int] = field(default_factory=dict)
    covered_shown: dict[Part, int] = field(default_factory=dict)
    covered_consistent: dict[Part, int] = field(default_factory=dict)
    rel_before: dict[Part, list[np.ndarray]] = field(default_factory=dict)
    rel_consistent: dict[Part, list[np.ndarray]] = field(default_factory=dict)
    rel_after: dict[Part, list[np.ndarray]] = field(default_factory=dict)
    rel_shown: dict[Part, list[np.ndarray]] = field(default_factory=dict)
    sd: dict[Part, np.ndarray] = field(default_factory=dict)

    def add(self, rel: Release, source: dict[Part, Part], h: Hierarchy, k: int) -> None:
        self.releases += 1
        raw = before(rel, source, h)
        for part in PARTS:
            exact, value, sd, shown = rel.exact[part], rel.protected[part], rel.sd[part], rel.shown[part]
            add = lambda d, n: d.__setitem__(part, d.get(part, 0) + int(n))  # noqa: E731
            add(self.cells, exact.size)
            add(self.shown, shown.sum())
            add(self.at_least_k, (exact >= k).sum())
            inside = (low_end(value, sd) <= exact) & (exact <= high_end(value, sd))
            add(self.covered, inside.sum())
            add(self.covered_shown, (inside & shown).sum())
            add(self.covered_consistent, (np.abs(rel.consistent[part] - exact) <= Z * sd).sum())
            for kk in KS:
                self.shown_k[part, kk] = self.shown_k.get((part, kk), 0) + int((low_end(value, sd) >= kk).sum())
            positive = exact > 0
            add(self.positive, positive.sum())
            add(self.zeroed, (positive & (value == 0)).sum())
            self.rel_before.setdefault(part, []).append((np.abs(raw[part] - exact)[positive] / exact[positive]).astype(np.float32))
            self.rel_consistent.setdefault(part, []).append((np.abs(rel.consistent[part] - exact)[positive] / exact[positive]).astype(np.float32))
            self.rel_after.setdefault(part, []).append((np.abs(value - exact)[positive] / exact[positive]).astype(np.float32))
            keep = positive & shown
            self.rel_shown.setdefault(part, []).append(np.abs(value - exact)[keep] / exact[keep])
            self.sd[part] = sd

    def median(self, which: dict[Part, list[np.ndarray]], part: Part) -> float:
        values = np.concatenate(which[part]) if which.get(part) else np.array([])
        return float(np.median(values)) if values.size else math.nan

    def share(self, which: dict[Part, int], part: Part) -> float:
        return which[part] / self.cells[part]


# --- alerts ------------------------------------------------------------------------------------------


@dataclass
class AlertFigures:
    """Pooled over the alert runs of one setting: detections per plant, false alarms per part."""

    runs: int = 0
    detected: dict[int, int] = field(default_factory=dict)  # plant index -> runs flagged
    tested_shown: dict[int, int] = field(default_factory=dict)  # plant index -> runs shown
    statistic: dict[int, list[float]] = field(default_factory=dict)
    cell_weeks: dict[Part, int] = field(default_factory=dict)  # other cells tested, per part
    verdicts: dict[Part, int] = field(default_factory=dict)  # of which shown (given a verdict)
    alarms: dict[Part, int] = field(default_factory=dict)


def affected(city: City) -> dict[Part, np.ndarray]:
    """Per part, the cells whose expected count the plants change (left out of false alarms)."""
    base, risen = city.mean_parts(city.means), city.mean_parts(city.risen)
    return {part: ~np.isclose(base[part], risen[part]) for part in PARTS}


def alert_run(city: City, rules: ProtectionRules, rng: np.random.Generator, figures: AlertFigures,
              levels: LevelFigures | None, ears: EarsRules) -> None:
    """One run: 7 baseline weeks and a tested week with the plants doubled, each released, then
    c2 on every cell as services._verdicts reads it."""
    source = before_source(rules, city.h)
    baseline = []
    for _ in range(ears.baseline):
        rel = release(city, rng.poisson(city.means), rules)
        if levels is not None:
            levels.add(rel, source, city.h, rules.k)
        baseline.append(rel)
    tested = release(city, rng.poisson(city.risen), rules)
    skip = affected(city)
    figures.runs += 1
    d_index = {d: i for i, d in enumerate(city.h.districts)}
    c_index = {c: j for j, c in enumerate(city.categories)}
    for part in PARTS:
        history = np.stack([rel.protected[part] for rel in baseline])  # weeks x geo x tax
        value, shown, sd = tested.protected[part], tested.shown[part], tested.sd[part]
        for i, j in itertools.product(range(value.shape[0]), range(value.shape[1])):
            series: list[int | None] = [int(v) for v in history[:, i, j]]
            series += [None] * ears.guard + [int(value[i, j]) if shown[i, j] else None]
            verdict = c2(series, ears, noise_sd=float(sd[i, j]))
            if skip[part][i, j]:
                for n, plant in enumerate(city.plants):
                    if part == ("district", "category") and (i, j) == (d_index[plant.district], c_index[plant.category]):
                        figures.detected[n] = figures.detected.get(n, 0) + verdict.flagged
                        figures.tested_shown[n] = figures.tested_shown.get(n, 0) + bool(shown[i, j])
                        if verdict.statistic is not None:
                            figures.statistic.setdefault(n, []).append(verdict.statistic)
                continue
            figures.cell_weeks[part] = figures.cell_weeks.get(part, 0) + 1
            figures.verdicts[part] = figures.verdicts.get(part, 0) + (verdict.statistic is not None)
            figures.alarms[part] = figures.alarms.get(part, 0) + verdict.flagged


def run_setting(city: City, rules: ProtectionRules, runs: int, seed: int, *, levels: bool) -> tuple[AlertFigures, LevelFigures | None, float]:
    """`runs` alert runs at these rules; the per-level figures of their baseline weeks if asked."""
    rng = np.random.default_rng([seed, 1])
    alerts, level_figures = AlertFigures(), LevelFigures() if levels else None
    started = time.perf_counter()
    for _ in range(runs):
        alert_run(city, rules, rng, alerts, level_figures, EarsRules())
    return alerts, level_figures, time.perf_counter() - started


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# --- predictions from the exact variances ------------------------------------------------------------

def phi(x: np.ndarray) -> np.ndarray:
    """The standard normal distribution function, vectorised (Abramowitz and Stegun 7.1.26 for
    erf: absolute error under 1.5e-7, far below anything these figures print)."""
    z = np.abs(np.asarray(x, dtype=float)) / math.sqrt(2)
    t = 1 / (1 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1 - poly * np.exp(-z * z)
    return 0.5 * (1 + np.sign(x) * erf)


def part_sds(h: Hierarchy, rules: ProtectionRules) -> dict[Part, np.ndarray]:
    """The exact sd of every published cell after consistency, per part (as protect() computes it)."""
    estimator = Estimator(h, {part: max(rules.variance(part), VARIANCE_FLOOR) for part in PARTS})
    return {part: np.sqrt(v) for part, v in estimator.variances().items()}


def predicted_error(means: np.ndarray, sd: np.ndarray) -> float:
    """The median of |error| / count pooled over cells (count at its mean, error normal with the
    cell's sd): the m at which the cells' mean P(|error| / count <= m) is one half."""
    n, s = means.reshape(-1), np.broadcast_to(sd, means.shape).reshape(-1)
    keep = n > 0
    n, s = n[keep], s[keep]
    low, high = 0.0, 1.0
    while np.mean(2 * phi(high * n / s) - 1) < 0.5:
        high *= 2
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if np.mean(2 * phi(mid * n / s) - 1) < 0.5 else (low, mid)
    return (low + high) / 2


def predicted_shown(means: np.ndarray, sd: np.ndarray, k: int) -> float:
    """The expected share shown: P(count + noise >= k - 0.5 + Z sd), the count Poisson around its
    mean and both normal."""
    s = np.broadcast_to(sd, means.shape)
    return float(np.mean(phi((means - (k - 0.5 + Z * s)) / np.sqrt(means + s**2))))


def simulated_error(city: City, rules: ProtectionRules, draws: int = 20, seed: int = 0) -> dict[Part, float]:
    """The median relative error of the consistent (unrounded) estimate, per part, from noise
    alone: the estimate is linear and unbiased, so its error is the estimate of the noise. numpy's
    discrete Laplace (the difference of two geometric draws, P(z) proportional to q^|z|) at each
    measured part's scale, relative to a Poisson week of the city (cells with a count above 0, as
    measured). The normal approximation (predicted_error) overstates it where one Laplace draw
    dominates a cell: the Laplace's median |error| is 0.49 sd, the normal's 0.67."""
    rng = np.random.default_rng(seed)
    estimator = city.estimator(rules)
    errors: dict[Part, list[np.ndarray]] = {part: [] for part in PARTS}
    for _ in range(draws):
        counts = city.mean_parts(rng.poisson(city.means).astype(float))
        drawn = {}
        for g, t in PARTS:
            scale = rules.scale((g, t))
            if scale is not None:
                shape, q = (city.h.nodes(g), city.h.nodes(t)), math.exp(-1 / scale)
                drawn[g, t] = (rng.geometric(1 - q, shape) - rng.geometric(1 - q, shape)).astype(float)
        totals = city.h.totals(estimator.estimate(drawn))
        for part in PARTS:
            keep = counts[part] > 0
            errors[part].append(np.abs(totals[part][keep]) / counts[part][keep])
    return {part: float(np.median(np.concatenate(errors[part]))) for part in PARTS}


@dataclass
class Prediction:
    """What the exact variances say about one setting, per part."""

    sd: dict[Part, float]  # median over the part's cells
    error: dict[Part, float]  # simulated_error
    shown: dict[Part, float]

    @property
    def mean_shown(self) -> float:
        return sum(self.shown.values()) / len(self.shown)


def predict(city: City, rules: ProtectionRules) -> Prediction:
    """Median sd, simulated median error and predicted share shown of every part."""
    sds, means = part_sds(city.h, rules), city.mean_parts(city.means)
    return Prediction({p: float(np.median(sds[p])) for p in PARTS}, simulated_error(city, rules),
                      {p: predicted_shown(means[p], sds[p], rules.k) for p in PARTS})


def meets_error_target(city: City, rules: ProtectionRules) -> bool:
    """District x category median error at most the target. The normal approximation settles
    most splits (it overstates the error, by at most 1 / 0.73); simulation settles the rest."""
    dc = ("district", "category")
    normal = predicted_error(city.mean_parts(city.means)[dc], part_sds(city.h, rules)[dc])
    if normal <= TARGET_ERROR or normal > TARGET_ERROR / 0.72:
        return normal <= TARGET_ERROR
    return simulated_error(city, rules)[dc] <= TARGET_ERROR


def search_splits(city: City, rules: ProtectionRules, step: float) -> tuple[int, list[tuple[float, dict[str, float]]]]:
    """Every split in steps of `step` with area x category measured: how many there are, and those
    meeting the district x category error target, the best predicted mean share shown first."""
    units = round(1 / step)
    tried, found = 0, []
    means = city.mean_parts(city.means)
    for combo in itertools.product(range(units + 1), repeat=len(PARTS) - 1):
        rest = units - sum(combo)
        if rest < 0 or combo[0] == 0:
            continue
        tried += 1
        shares = {part_name(p): n / units for p, n in zip(PARTS, (*combo, rest))}
        candidate = ProtectionRules(k=rules.k, cap=rules.cap, epsilon=rules.epsilon, split=full_split(shares))
        ok = meets_error_target(city, candidate)
        city.estimators.pop(candidate, None)  # thousands of estimators would be kept otherwise
        if not ok:
            continue
        sds = part_sds(city.h, candidate)
        found.append((sum(predicted_shown(means[p], sds[p], rules.k) for p in PARTS) / len(PARTS), shares))
    found.sort(key=lambda item: -item[0])
    return tried, found


# --- printing ----------------------------------------------------------------------------------------


def pct(x: float, digits: int = 1) -> str:
    """A share as a percentage, or n/a."""
    return "n/a" if math.isnan(x) else f"{100 * x:.{digits}f}%"


def city_lines(city: City) -> list[str]:
    """The city's cells per part: how many, their expected counts, and the plants."""
    means = city.mean_parts(city.means)
    lines = ["| part | cells | expected count per cell: p10 / median / p90 | cells expecting >= 5 |", "|---|---|---|---|"]
    for part in PARTS:
        m = means[part]
        q = np.percentile(m, [10, 50, 90])
        lines.append(f"| {PART_LABELS[part]} | {m.size:,} | {q[0]:.1f} / {q[1]:.1f} / {q[2]:.1f} | {pct(float((m >= 5).mean()), 0)} |")
    plants = "; ".join(f"{p.district} x {p.category}: {p.before:.0f} -> {p.after:.0f}" for p in city.plants)
    return lines + ["", f"Planted rises (tested week only): {plants}. Total {city.means.sum():,.0f} reports a week "
                        f"({city.risen.sum():,.0f} in the tested week)."]


def level_lines(f: LevelFigures, prediction: Prediction, k: int) -> list[str]:
    """Two tables: what is shown and how far it is; the intervals and other k."""
    lines = [f"| part | shown | count >= {k} | median relative error: before consistency | consistent, unrounded "
             "(simulated) | **published** | published, shown cells only | count > 0 published as 0 | median sd |",
             "|---|---|---|---|---|---|---|---|---|"]
    for part in PARTS:
        lines.append(
            f"| {PART_LABELS[part]} | {pct(f.share(f.shown, part))} | {pct(f.share(f.at_least_k, part))} | "
            f"{pct(f.median(f.rel_before, part))} | {pct(f.median(f.rel_consistent, part))} ({pct(prediction.error[part])}) | "
            f"**{pct(f.median(f.rel_after, part))}** | {pct(f.median(f.rel_shown, part))} | "
            f"{pct(f.zeroed[part] / f.positive[part])} | {float(np.median(f.sd[part])):.2f} |")
    lines += ["", "| part | 90% interval coverage: consistent, unrounded (+- 1.645 sd) | published interval, every cell | "
                  "published interval, shown cells | " + " | ".join(f"shown at k = {kk}" for kk in KS) + " |",
              "|---|---|---|---|" + "---|" * len(KS)]
    for part in PARTS:
        lines.append(
            f"| {PART_LABELS[part]} | {pct(f.covered_consistent[part] / f.cells[part])} | {pct(f.covered[part] / f.cells[part])} | "
            f"{pct(f.covered_shown[part] / f.shown[part]) if f.shown[part] else 'n/a'} | "
            + " | ".join(pct(f.shown_k[part, kk] / f.cells[part]) for kk in KS) + " |")
    return lines


def alert_lines(city: City, a: AlertFigures) -> list[str]:
    """Two tables: each plant's detection rate; false alarms per part."""
    lines = ["| planted rise (district x category) | runs | shown in the tested week | flagged | 95% interval | median statistic |",
             "|---|---|---|---|---|---|"]
    for n, plant in enumerate(city.plants):
        hits = a.detected.get(n, 0)
        low, high = wilson(hits, a.runs)
        stats = a.statistic.get(n, [])
        lines.append(f"| {plant.before:.0f} -> {plant.after:.0f} a week ({plant.district} x {plant.category}) | {a.runs} | "
                     f"{pct(a.tested_shown.get(n, 0) / a.runs, 0)} | **{pct(hits / a.runs)}** | {pct(low)} - {pct(high)} | "
                     f"{np.median(stats) if stats else math.nan:.1f} |")
    lines += ["", "| false alarms, cells without a planted rise | cell-weeks | given a verdict (shown) | flagged | "
                  "per 100 cell-weeks | 95% interval | per 100 shown cell-weeks |", "|---|---|---|---|---|---|---|"]
    for part in PARTS:
        n, v, x = a.cell_weeks.get(part, 0), a.verdicts.get(part, 0), a.alarms.get(part, 0)
        low, high = wilson(x, n)
        strong = "**" if part == ("district", "category") else ""
        lines.append(f"| {PART_LABELS[part]} | {n:,} | {pct(v / n if n else math.nan, 0)} | {x} | "
                     f"{strong}{100 * x / n:.2f}{strong} | {100 * low:.2f} - {100 * high:.2f} | "
                     f"{100 * x / v if v else math.nan:.2f} |")
    return lines


SHORT = {"area/category": "ac", "area/phenomenon": "ap", "district/category": "dc", "district/phenomenon": "dp",
         "municipality/category": "mc", "municipality/phenomenon": "mp"}


def shares_label(split: dict[str, float]) -> str:
    """A split's non-zero shares, shortly ("ac 0.2 ap 0.2 dc 0.6")."""
    return " ".join(f"{SHORT[name]} {v:.2f}".rstrip("0").rstrip(".") for name, v in split.items() if v > 0)


def split_lines(city: City, rules: ProtectionRules, rows: list[tuple[str, dict[str, float]]],
                measured: dict[str, LevelFigures]) -> list[str]:
    """The split tables: sds, errors and shares shown per part, predicted and measured."""
    head = " | ".join(PART_LABELS[p] for p in PARTS)
    sd_lines = [f"| split (shares) | {head} |", "|---|" + "---|" * len(PARTS)]
    err_lines = [f"| split | {head} |", "|---|" + "---|" * len(PARTS)]
    shown_lines = [f"| split | {head} | mean of the six |", "|---|" + "---|" * (len(PARTS) + 1)]
    coverage_lines = [f"| split | {head} |", "|---|" + "---|" * len(PARTS)]
    for name, split in rows:
        candidate = ProtectionRules(k=rules.k, cap=rules.cap, epsilon=rules.epsilon, split=full_split(split))
        p, m = predict(city, candidate), measured[name]
        sd_lines.append(f"| {name} ({shares_label(split)}) | " + " | ".join(f"{p.sd[part]:.2f}" for part in PARTS) + " |")
        err_lines.append(f"| {name} | " + " | ".join(
            f"{pct(p.error[part], 1 if p.error[part] < 0.1 else 0)} / {pct(m.median(m.rel_after, part), 1 if p.error[part] < 0.1 else 0)}"
            for part in PARTS) + " |")
        shown_lines.append(f"| {name} | " + " | ".join(f"{pct(p.shown[part], 0)} / {pct(m.share(m.shown, part), 0)}" for part in PARTS)
                           + f" | {pct(p.mean_shown)} / {pct(sum(m.share(m.shown, q) for q in PARTS) / len(PARTS))} |")
        coverage_lines.append(f"| {name} | " + " | ".join(
            pct(m.covered_shown[part] / m.shown[part], 0) if m.shown[part] else "n/a" for part in PARTS) + " |")
    return (["Median sd of a published value (exact, `Estimator(...).variances()`):", ""] + sd_lines
            + ["", "Median relative error: consistent and unrounded, simulated from the noise alone / published, measured "
                   "on real releases:", ""] + err_lines
            + ["", f"Share of cells shown (k = {rules.k}): predicted / measured:", ""] + shown_lines
            + ["", "Coverage of the published 90% interval over shown cells, measured:", ""] + coverage_lines)


def smallest_epsilon(city: City, rules: ProtectionRules, step: float = 0.05) -> float | None:
    """The smallest epsilon, in steps of `step`, whose simulated district x category median error
    is at most the target (at the rules' cap and split), or None under 10."""
    grid = [round(step * n, 6) for n in range(1, round(10 / step) + 1)]
    meets = lambda eps: simulated_error(city, ProtectionRules(  # noqa: E731
        k=rules.k, cap=rules.cap, epsilon=eps, split=rules.split))[("district", "category")] <= TARGET_ERROR
    if not meets(grid[-1]):
        return None
    low, high = -1, len(grid) - 1  # meets(grid[high]); not known below
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if meets(grid[mid]) else (mid, high)
    return grid[high]


def sweep_prediction_lines(city: City, rules: ProtectionRules, epsilons: Sequence[float]) -> list[str]:
    """The predicted figures of each epsilon at the rules' cap and split."""
    lines = ["| epsilon per release (cap 2; = cap 1 at half) | budget per quarter (13 weeks) | district x category sd | "
             "median error: district x category | area x phenomenon | municipality x phenomenon | "
             "shown: district x category | area x phenomenon | area x category |", "|---|---|---|---|---|---|---|---|---|"]
    dc, ap, ac, mp = ("district", "category"), ("area", "phenomenon"), ("area", "category"), ("municipality", "phenomenon")
    for eps in epsilons:
        p = predict(city, ProtectionRules(k=rules.k, cap=rules.cap, epsilon=eps, split=rules.split))
        strong = "**" if p.error[dc] <= TARGET_ERROR else ""
        lines.append(f"| {eps:g} | {WEEKS_PER_QUARTER * eps:g} | {p.sd[dc]:.2f} | {strong}{pct(p.error[dc])}{strong} | "
                     f"{pct(p.error[ap])} | {pct(p.error[mp], 2)} | {pct(p.shown[dc], 0)} | {pct(p.shown[ap], 0)} | "
                     f"{pct(p.shown[ac], 0)} |")
    return lines


def sweep_lines(city: City, results: list[tuple[float, AlertFigures, LevelFigures]]) -> list[str]:
    """The measured figures of each epsilon run."""
    lines = ["| epsilon (cap 2; = cap 1 at half) | budget per quarter | runs | median error district x category | "
             + " | ".join(f"{p.before:.0f} -> {p.after:.0f} flagged (95%)" for p in city.plants)
             + " | false alarms per 100 district x category cell-weeks (95%) | shown: district x category | "
             "area x phenomenon | area x category |", "|---|---|---|---|" + "---|" * len(city.plants) + "---|---|---|---|"]
    dc, ap, ac = ("district", "category"), ("area", "phenomenon"), ("area", "category")
    for eps, a, f in results:
        flagged = []
        for n in range(len(city.plants)):
            low, high = wilson(a.detected.get(n, 0), a.runs)
            flagged.append(f"{pct(a.detected.get(n, 0) / a.runs, 0)} ({pct(low, 0)} - {pct(high, 0)})")
        x, n = a.alarms.get(dc, 0), a.cell_weeks.get(dc, 0)
        low, high = wilson(x, n)
        lines.append(f"| {eps:g} | {WEEKS_PER_QUARTER * eps:g} | {a.runs} | {pct(f.median(f.rel_after, dc))} | "
                     + " | ".join(flagged) + f" | {100 * x / n:.2f} ({100 * low:.2f} - {100 * high:.2f}) | "
                     f"{pct(f.share(f.shown, dc), 0)} | {pct(f.share(f.shown, ap), 0)} | {pct(f.share(f.shown, ac), 0)} |")
    return lines


def main() -> None:
    """Run what the arguments ask and print the tables (Markdown, as docs/benchmarks.md holds them)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds (with --splits, coarsely)")
    parser.add_argument("--splits", action="store_true", help="the split tables: exact sds, predictions, a search, measured releases")
    parser.add_argument("--runs", type=int, default=200, help="alert runs (8 releases each) at the default settings")
    parser.add_argument("--sweep", default="0.5,0.75,2", help="epsilons whose alerts are run too (comma-separated; '' for none)")
    parser.add_argument("--sweep-runs", type=int, default=40, help="alert runs per swept epsilon")
    parser.add_argument("--split-releases", type=int, default=8, help="releases measured per split of the table")
    parser.add_argument("--search-step", type=float, default=0.1, help="the split search's step (shares are its multiples)")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.sweep, args.split_releases, args.search_step = 1, "", 1, 0.5
    started = time.perf_counter()
    rules = ProtectionRules()
    city = build_city(args.seed)

    def emit(*lines: str) -> None:
        print("\n".join(lines), flush=True)

    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    emit(f"bench/signals_utility.py {' '.join(sys.argv[1:])}: commit {commit or 'unknown'}, {platform.python_implementation()} "
         f"{platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
         f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, noise: {noise.MECHANISM}", "",
         f"### The city (seed {args.seed}): {AREAS} areas, {DISTRICTS} districts, {len(city.categories)} categories, "
         f"{len(city.h.phenomena)} phenomena", "", *city_lines(city), "")

    alerts, levels, seconds = run_setting(city, rules, args.runs, args.seed, levels=True)
    assert levels is not None
    emit(f"### Per level at the defaults (k {rules.k}, cap {rules.cap}, epsilon {rules.epsilon:g}, split "
         f"{shares_label(dict(rules.split))}): {levels.releases} stable-week releases "
         f"({seconds:.0f} s for {args.runs} runs of 8 releases)", "",
         *level_lines(levels, predict(city, rules), rules.k), "",
         f"### Alerts at the defaults: EARS C2, {args.runs} runs of 7 baseline weeks + a tested week", "",
         *alert_lines(city, alerts), "")

    emit("### Epsilon, predicted: exact sds, simulated errors, predicted shares shown (default split and k)", "",
         *sweep_prediction_lines(city, rules, [0.25, 0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 3.0]), "")
    target = smallest_epsilon(city, rules)
    emit(f"Smallest epsilon (in steps of 0.05) whose simulated district x category median error is at most "
         f"{TARGET_ERROR:.0%}: {target:g} at cap {rules.cap} (the same noise as cap 1 at {target / 2:g}); "
         f"{WEEKS_PER_QUARTER * target:g} a quarter of 13 weekly releases." if target else
         "No epsilon under 10 meets the error target.", "")
    results = [(rules.epsilon, alerts, levels)]
    for eps in [float(x) for x in args.sweep.split(",") if x]:
        r = ProtectionRules(k=rules.k, cap=rules.cap, epsilon=eps, split=rules.split)
        a, f, _ = run_setting(city, r, args.sweep_runs, args.seed + 1000 + round(eps * 100), levels=True)
        assert f is not None
        results.append((eps, a, f))
    if len(results) > 1:
        results.sort(key=lambda item: item[0])
        emit(f"### Epsilon, measured: {args.sweep_runs} alert runs per epsilon ({args.runs} at the default)", "",
             *sweep_lines(city, results), "")

    if args.splits or args.quick:
        t0 = time.perf_counter()
        tried, found = search_splits(city, rules, args.search_step)
        search_seconds = time.perf_counter() - t0
        rows = [(name, dict(full_split(split))) for name, split in CANDIDATE_SPLITS.items()]
        rows += [(f"search #{i + 1}", dict(full_split(split))) for i, (_, split) in enumerate(found[:3])]
        rng = np.random.default_rng([args.seed, 2])
        measured = {}
        for name, split in rows:
            r = ProtectionRules(k=rules.k, cap=rules.cap, epsilon=rules.epsilon, split=full_split(split))
            f = LevelFigures()
            for _ in range(args.split_releases):
                f.add(release(city, rng.poisson(city.means), r), before_source(r, city.h), city.h, r.k)
            measured[name] = f
        emit(f"### Splits of epsilon {rules.epsilon:g} (cap {rules.cap}, k {rules.k}), each measured on "
             f"{args.split_releases} releases", "",
             f"The search tried {tried:,} splits (every share a multiple of {args.search_step:g}, area x category "
             f"measured) in {search_seconds:.0f} s: {len(found):,} meet the district x category error target; "
             f"#1-#3 are those with the highest predicted mean share shown over the six parts.", "",
             *split_lines(city, rules, rows, measured), "")
    emit(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
