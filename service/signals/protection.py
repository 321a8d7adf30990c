"""Computing one municipality's protected table for one week: bound, measure with noise, make
consistent, then decide what is shown from the protected values alone.

The table has six parts, every combination of a geographic level (area, district, municipality)
and a taxonomy level (category, phenomenon). Every cell of every part is in the release, whatever
was reported; there are no free filters, so the grid is fixed in advance.

1. Contribution bounding. A reporting organisation's tally in an (area, category) cell counts at
   most `cap`. Bounded counts roll up exactly: a district's count is the sum of its areas'.
2. Measurement. One organisation's week in one (area, category) cell changes one cell of each
   part by at most `cap`: each part has L1 sensitivity `cap`. Each part measured gets its share of
   the release's epsilon (`split`) and independent discrete Laplace noise of scale cap / its
   epsilon (service.signals.noise); a part with no share is not measured. The release is
   epsilon-DP by sequential composition over the parts, the shares summing to epsilon.
3. Consistency (service.signals.estimation). The noisy parts are combined by weighted least
   squares into one estimate of the area x category table, rounded to integers (signs kept)
   top-down; every published value is a sum of those, so every total adds up.
4. What is shown. Each cell's protected value comes with the standard deviation of its estimate
   (exact, from the noise scales and the grid alone) and a 90% interval. A cell is shown when its
   interval lies at or above k: a cell of k-1 reports is then shown only when the noise pushes it
   past the interval's half-width, about 5% of the time at most. Otherwise it is `below_k` (the
   protected value is under k: "fewer than 5") or `uncertain` (at least k, but not clearly).

Steps 3 and 4 read the noisy values only, never an exact count: everything published (values,
intervals, statuses, and the alerts computed from them) is post-processing of the noisy
measurements, so the release as a whole is epsilon-DP, pattern included.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec
import numpy as np

from service.signals import noise
from service.signals.estimation import GEO_LEVELS, PARTS, TAX_LEVELS, Estimator, Hierarchy, Part, rounded

# The levels and parts are estimation's; callers (views, services) import them from here too.
__all__ = ["GEO_LEVELS", "PARTS", "TAX_LEVELS"]

# The two-sided 90% quantile of the standard normal: the interval published with every value.
# The estimate's error is a weighted sum of discrete Laplace draws; at 90% the normal quantile
# (1.645 sd) and the Laplace one (ln 10 / sqrt 2 = 1.628 sd) nearly agree, so the interval holds
# whether one draw dominates (an area) or many (a municipality). bench/signals_utility.py
# measures the coverage.
CONFIDENCE = 0.9
Z = 1.6448536269514722
MAX_SCALE = 1e6
VARIANCE_FLOOR = 1e-3

# How the release's epsilon is shared between the parts, by default: most where analysts read
# (district x category, the API's default view), the rest on the neighbourhood views; the totals
# above district are sums, and consistency makes them exact sums. docs/signals.md gives the
# figures behind the choice (bench/signals_utility.py --splits).
DEFAULT_SPLIT: dict[str, float] = {
    "area/category": 0.2, "area/phenomenon": 0.2, "district/category": 0.6,
    "district/phenomenon": 0.0, "municipality/category": 0.0, "municipality/phenomenon": 0.0,
}


class Status(StrEnum):
    """What a published cell says. Decided on the protected value and its interval only."""

    SHOWN = "shown"  # the 90% interval lies at or above k
    BELOW_K = "below_k"  # the protected value is under k ("fewer than k")
    UNCERTAIN = "uncertain"  # the protected value is at least k, its interval reaches below k


# A cell's key: (geo level, geo code, taxonomy level, taxonomy code).
CellKey = tuple[str, str, str, str]


class Cell(msgspec.Struct, array_like=True, frozen=True):
    """One cell. `value`, `low` and `high` are None unless the cell is shown (or read protected)."""

    geo_level: str
    geo_code: str
    tax_level: str
    tax_code: str
    value: int | None
    status: str
    low: int | None = None
    high: int | None = None
    sd: float | None = None  # the standard deviation of the protected value's noise

    @property
    def key(self) -> CellKey:
        """(geo level, geo code, taxonomy level, taxonomy code)."""
        return (self.geo_level, self.geo_code, self.tax_level, self.tax_code)


@dataclass(frozen=True)
class Grid:
    """One municipality's areas (with their district) and the taxonomy's categories (with their
    phenomenon): the cells a release covers, whatever was reported."""

    municipality: str
    districts: Mapping[str, str]  # area code -> district code
    phenomena: Mapping[str, str]  # category code -> phenomenon code

    def hierarchy(self) -> Hierarchy:
        return Hierarchy.of(self.districts, self.phenomena)

    def codes(self, level: str) -> list[str]:
        """The codes of one level, in the order of every part's rows or columns."""
        if level == "area":
            return sorted(self.districts)
        if level == "district":
            return sorted(set(self.districts.values()))
        if level == "municipality":
            return [self.municipality]
        return sorted(self.phenomena) if level == "category" else sorted(set(self.phenomena.values()))

    def keys(self) -> list[CellKey]:
        """Every cell of the six parts, in a fixed order."""
        return [(g, gc, t, tc) for g in GEO_LEVELS for gc in self.codes(g) for t in TAX_LEVELS for tc in self.codes(t)]

    def equations(self) -> list[tuple[CellKey, list[CellKey]]]:
        """Every (total, its children) relation of the table, along both hierarchies."""
        areas_of: dict[str, list[str]] = {}
        for area, district in sorted(self.districts.items()):
            areas_of.setdefault(district, []).append(area)
        categories_of: dict[str, list[str]] = {}
        for category, phenomenon in sorted(self.phenomena.items()):
            categories_of.setdefault(phenomenon, []).append(category)
        tax_nodes = [("category", c) for c in sorted(self.phenomena)] + [("phenomenon", p) for p in sorted(categories_of)]
        geo_nodes = [("area", a) for a in sorted(self.districts)] + [("district", d) for d in sorted(areas_of)]
        geo_nodes.append(("municipality", self.municipality))
        relations: list[tuple[CellKey, list[CellKey]]] = []
        for tl, tc in tax_nodes:
            for district, areas in areas_of.items():
                relations.append((("district", district, tl, tc), [("area", a, tl, tc) for a in areas]))
            relations.append(
                (("municipality", self.municipality, tl, tc), [("district", d, tl, tc) for d in sorted(areas_of)])
            )
        for gl, gc in geo_nodes:
            for phenomenon, categories in categories_of.items():
                relations.append(((gl, gc, "phenomenon", phenomenon), [(gl, gc, "category", c) for c in categories]))
        return relations


def part_name(part: Part) -> str:
    return f"{part[0]}/{part[1]}"


@dataclass(frozen=True)
class ProtectionRules:
    """k, the contribution cap, the release's epsilon and how it is shared between the parts."""

    k: int = 5
    cap: int = 2
    epsilon: float = 1.0
    split: tuple[tuple[str, float], ...] = tuple(DEFAULT_SPLIT.items())

    def __post_init__(self) -> None:
        if not (isinstance(self.k, int) and self.k >= 1):
            raise ValueError("k must be a positive integer")
        if not (isinstance(self.cap, int) and self.cap >= 1):
            raise ValueError("the contribution cap must be a positive integer")
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError("epsilon must be positive")
        shares = dict(self.split)
        names = {part_name(part) for part in PARTS}
        if set(shares) != names:
            raise ValueError("the split must give a share to each of the six parts: " + ", ".join(sorted(names)))
        if any(isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0) for v in shares.values()):
            raise ValueError("every share of the split must be a number of at least 0")
        # A part's epsilon so small that its noise scale passes a million reports is no measurement
        # (and its variance is no longer a finite float): give it 0 instead.
        if any(0 < v * self.epsilon < self.cap / MAX_SCALE for v in shares.values()):
            raise ValueError(f"a measured part needs a share of epsilon of at least {self.cap / MAX_SCALE:g} "
                             "(its noise scale would pass a million); give it 0 to leave it unmeasured")
        if abs(sum(shares.values()) - 1) > 1e-9:
            raise ValueError("the shares of the split must add up to 1")
        if shares["area/category"] <= 0:
            raise ValueError("area/category must have a share: every other part is a sum of it")

    def share(self, part: Part) -> float:
        return dict(self.split)[part_name(part)]

    def scale(self, part: Part) -> float | None:
        """The discrete Laplace scale of a part (sensitivity cap at its share of epsilon); None
        when the part is not measured."""
        share = self.share(part)
        return noise.scale_for(self.cap, self.epsilon * share) if share > 0 else None

    def variance(self, part: Part) -> float:
        """The variance of a part's noise; infinite when the part is not measured."""
        scale = self.scale(part)
        return noise.variance(scale) if scale is not None else math.inf

    def spent(self) -> float:
        """The release's epsilon as OpenDP's privacy maps give it, summed over the measured parts."""
        return sum(noise.epsilon(scale, self.cap) for part in PARTS if (scale := self.scale(part)) is not None)


@dataclass
class Table:
    """A computed release: exact counts (never published nor stored) and what is published."""

    exact: dict[CellKey, int]
    protected: dict[CellKey, int]
    sd: dict[CellKey, float]
    status: dict[CellKey, Status] = field(default_factory=dict)

    def cells(self, *, protected: bool = False) -> list[Cell]:
        """The published cells (values of shown cells only), or every protected value."""
        return [self._cell(key, protected) for key in self.exact]

    def _cell(self, key: CellKey, protected: bool) -> Cell:
        status, sd = self.status[key], round(self.sd[key], 3)  # as stored
        if status != Status.SHOWN and not protected:
            return Cell(*key, value=None, status=status.value, sd=sd)
        value = self.protected[key]
        return Cell(*key, value, status.value, *interval(value, sd), sd)


def interval(value: int, sd: float) -> tuple[int, int]:
    """The published 90% interval around a protected value, value -+ 1.645 sd rounded to whole
    reports (halves up), never below 0."""
    return max(0, math.floor(value - Z * sd + 0.5)), math.floor(value + Z * sd + 0.5)


def exact_parts(grid: Grid, h: Hierarchy, bounded: Mapping[tuple[str, str], int]) -> dict[Part, np.ndarray]:
    """Exact bounded counts of every part, from the (area, category) counts (others count 0)."""
    area_index = {a: i for i, a in enumerate(h.areas)}
    category_index = {c: i for i, c in enumerate(h.categories)}
    base = np.zeros((len(h.areas), len(h.categories)), dtype=np.int64)
    for (area, category), n in bounded.items():
        if area in area_index and category in category_index:  # else not in this municipality's grid
            base[area_index[area], category_index[category]] += n
    return {part: np.rint(v).astype(np.int64) for part, v in h.totals(base.astype(float)).items()}


def compute(
    grid: Grid,
    bounded: Mapping[tuple[str, str], int],
    rules: ProtectionRules,
    draw: Callable[[Sequence[int], float], list[int]],
) -> Table:
    """The protected table of `grid` for these bounded (area, category) counts. `draw` adds noise
    of a scale to counts (service.signals.noise.noisy); everything after it reads its output only."""
    h = grid.hierarchy()
    exact = exact_parts(grid, h, bounded)
    noisy = {}
    for part in PARTS:
        scale = rules.scale(part)
        if scale is not None:
            noisy[part] = np.array(draw(exact[part].reshape(-1).tolist(), scale), dtype=float).reshape(exact[part].shape)
    return protect(grid, h, exact, noisy, rules)


def protect(
    grid: Grid, h: Hierarchy, exact: Mapping[Part, np.ndarray], noisy: Mapping[Part, np.ndarray], rules: ProtectionRules,
) -> Table:
    """The published table from the noisy parts. `exact` only labels the table's cells for the
    caller (tests compare); nothing here reads it."""
    # A variance floor of a thousandth of a report squared: at a tiny scale (epsilon in the
    # hundreds, as the attack tests set) the discrete Laplace variance falls below 1e-40 and the
    # weights' ratios would overflow double precision. The floor only errs on the safe side: the
    # stated sd is then at most 0.03 instead of nearly 0.
    estimator = Estimator(h, {part: max(rules.variance(part), VARIANCE_FLOOR) for part in PARTS})
    published = h.totals(rounded(h, estimator.estimate(noisy)).astype(float))
    variances = estimator.variances()
    table = Table({}, {}, {})
    for g, t in PARTS:
        geo_codes, tax_codes = grid.codes(g), grid.codes(t)
        values, sds = published[g, t], np.sqrt(variances[g, t])
        for i, gc in enumerate(geo_codes):
            for j, tc in enumerate(tax_codes):
                key = (g, gc, t, tc)
                value, sd = int(round(values[i, j])), float(sds[i, j])
                table.exact[key] = int(exact[g, t][i, j])
                table.protected[key], table.sd[key] = value, sd
                table.status[key] = (
                    Status.SHOWN if interval(value, round(sd, 3))[0] >= rules.k
                    else Status.BELOW_K if value < rules.k else Status.UNCERTAIN
                )
    return table


class _Entry(msgspec.Struct, array_like=True, frozen=True):
    """A stored cell. Releases stored before issue 12 have no `sd`, and `value` only when shown."""

    geo_code: str
    tax_code: str
    value: int | None
    status: str
    sd: float | None = None


def encode_table(table: Table) -> bytes:
    """The stored form of a release: one list per part ("area/category" ...), so that a read
    decodes only the part it serves, with every cell's protected value and its noise sd."""
    parts: dict[str, list[_Entry]] = {f"{g}/{t}": [] for g, t in PARTS}
    for key in table.exact:
        g, gc, t, tc = key
        parts[f"{g}/{t}"].append(_Entry(gc, tc, table.protected[key], table.status[key].value, round(table.sd[key], 3)))
    return msgspec.json.encode(parts)


_parts = msgspec.json.Decoder(dict[str, msgspec.Raw])
_entries = msgspec.json.Decoder(list[_Entry])


def decode_entries(data: bytes, geo: str, taxonomy: str) -> list[_Entry]:
    """The stored cells of one part of a stored release, as stored; the other parts are skipped."""
    raw = _parts.decode(data).get(f"{geo}/{taxonomy}")
    return [] if raw is None else _entries.decode(raw)


def decode_part(data: bytes, geo: str, taxonomy: str, *, protected: bool = False) -> list[Cell]:
    """The cells of one part of a stored release, as published (values of shown cells only), or
    with every protected value; the other parts are skipped, not built."""
    cells = []
    for e in decode_entries(data, geo, taxonomy):
        if e.value is None or (e.status != Status.SHOWN and not protected):
            cells.append(Cell(geo, e.geo_code, taxonomy, e.tax_code, None, e.status, sd=e.sd))
        elif e.sd is None:  # stored before intervals were (its hidden cells say "suppressed")
            cells.append(Cell(geo, e.geo_code, taxonomy, e.tax_code, e.value, e.status))
        else:
            cells.append(Cell(geo, e.geo_code, taxonomy, e.tax_code, e.value, e.status, *interval(e.value, e.sd), e.sd))
    return cells


def decode_cells(data: bytes, *, protected: bool = False) -> list[Cell]:
    """Every cell of a stored release."""
    return [cell for g, t in PARTS for cell in decode_part(data, g, t, protected=protected)]


# --- one part stored column by column ---------------------------------------------------------------
# What alerts read (service.signals.parts): a part's protected values, statuses and sds, without
# fetching and parsing the whole release. The cells blob above stays the release as published;
# these columns repeat its figures in a form read with numpy.frombuffer.

STATUS_CODES = (Status.SHOWN, Status.BELOW_K, Status.UNCERTAIN)  # a status's byte is its index here


class Columns(msgspec.Struct, array_like=True, frozen=True):
    """One part of a release, column by column (msgpack). Its cells are every (geo code, taxonomy
    code) pair, geo codes outer, in the order `encode_table` stores them."""

    geo_codes: list[str]
    tax_codes: list[str]
    values: bytes  # int64 little-endian: every cell's protected value
    statuses: bytes  # a byte per cell: its status's index in STATUS_CODES
    sds: bytes  # float64 little-endian: the sd as stored in the cells (to a thousandth)


_columns = msgspec.msgpack.Decoder(Columns)


def encode_columns(table: Table) -> dict[Part, bytes]:
    """Every part of the table, column by column."""
    cells: dict[Part, list[tuple[str, str, int, int, float]]] = {part: [] for part in PARTS}
    code = {status: i for i, status in enumerate(STATUS_CODES)}
    for key in table.exact:
        g, gc, t, tc = key
        cells[g, t].append((gc, tc, table.protected[key], code[table.status[key]], round(table.sd[key], 3)))
    encoded = {}
    for part, rows in cells.items():
        geo_codes, tax_codes = list(dict.fromkeys(r[0] for r in rows)), list(dict.fromkeys(r[1] for r in rows))
        if [r[:2] for r in rows] != [(g, t) for g in geo_codes for t in tax_codes]:
            raise ValueError(f"the cells of {part_name(part)} are not its grid in order")
        encoded[part] = msgspec.msgpack.encode(Columns(
            geo_codes, tax_codes,
            np.array([r[2] for r in rows], dtype="<i8").tobytes(),
            np.array([r[3] for r in rows], dtype=np.uint8).tobytes(),
            np.array([r[4] for r in rows], dtype="<f8").tobytes(),
        ))
    return encoded


def decode_columns(data: bytes) -> Columns:
    """A part stored by `encode_columns`; ValueError if its columns do not fit its grid."""
    columns = _columns.decode(data)
    n = len(columns.geo_codes) * len(columns.tax_codes)
    if (len(columns.values), len(columns.statuses), len(columns.sds)) != (8 * n, n, 8 * n):
        raise ValueError("a stored part's columns do not fit its grid")
    return columns
