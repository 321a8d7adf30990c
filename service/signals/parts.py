"""One part of a stored release read column by column, and a bounded cache of them: what alerts
and the dashboard's pages read.

An alerts request reads one part (area x category of a city: 5,000 cells) of the tested week and
of its seven baseline weeks, and tests every cell. Read as published, that is a msgspec struct per
cell per week and a verdict per cell, 40,000 objects: most of its 150-230 ms. Here a part is read
once into columns: the cells' keys, in the release's order, and numpy arrays of their protected
values, of which are stored and of which are shown, and of their noise sd, which
`ears.c2_many` tests all at once.

A stored release never changes (a week is computed once; a new one is a new row with a new id),
so a part read is kept by release id. The cache is per app (`Signals.parts`), least recently used
first out, bounded by cells: a city's whole year (52 weeks x 6,119 cells) fits in a third of it.
What a cell costs: 8 bytes of value and 2 flags. The keys and the sds, the same for every week of
one grid and settings, are kept once for all those weeks.

The dashboard reads its cells as published from the same columns (`PartColumns.rows`): a series
is one cell of 52 weeks, which decoding the weeks' whole releases made cost 100-400 ms.

A part is read from its own column of the release (protection.encode_columns: numpy arrays as
bytes), the parts an alerts request misses all in one query (`load`). Releases stored before those
columns existed are read from their cells document, which holds all six parts as JSON: on
PostgreSQL a miss then costs about 10 ms a week for a city's area part (5-7 to fetch the 330 kB
document, 3-6 to parse it), against 1-2 ms from the column (docs/benchmarks.md).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.signals.models import Release, part_column
from service.signals.protection import STATUS_CODES, Status, decode_columns, decode_entries, interval
from service.signals.schemas import CountCell

# A published cell's place in both hierarchies: (municipality, district, area, phenomenon,
# category), as services.rows gives it; None where the level is above the cell's.
RowKey = tuple[str, str | None, str | None, str, str | None]

MAX_CELLS = 1_000_000
_SHOWN = STATUS_CODES.index(Status.SHOWN)  # its byte in a stored statuses column
# A cell's status by its byte in PartColumns.status: a stored column's bytes, then what releases
# stored before issue 12 also say ("suppressed"). Plain strings, as decoded from the cells.
STATUSES = (*(str(status.value) for status in STATUS_CODES), "suppressed")
_MAX_SHARED = 1024  # distinct key lists and sd columns kept for sharing (a few per grid and settings)


@dataclass(frozen=True)
class PartColumns:
    """One part of one release, a cell per row, in the release's order."""

    keys: tuple[RowKey, ...]
    values: np.ndarray  # int64: the protected value; 0 where none is stored
    stored: np.ndarray  # bool: a protected value is stored (releases before issue 12 kept hidden cells' out)
    shown: np.ndarray  # bool: the status is shown, so the value is published
    sd: np.ndarray  # float64: the noise sd as published; NaN where none is stored (before issue 12)
    status: np.ndarray  # uint8: the status, as its index in STATUSES

    def rows(self, indices: Sequence[int] | None = None) -> list[CountCell]:
        """The cells (all, or those at `indices`) as services.rows publishes them: a value and its
        interval only where the cell is shown, the sd where one is stored."""
        picked = range(len(self.keys)) if indices is None else indices
        keys, values, shown = self.keys, self.values.tolist(), (self.shown & self.stored).tolist()
        sds, statuses = self.sd.tolist(), self.status.tolist()
        result = []
        for i in picked:
            sd = None if math.isnan(sds[i]) else sds[i]
            if not shown[i]:
                result.append(CountCell(*keys[i], None, STATUSES[statuses[i]], sd=sd))  # type: ignore[arg-type]
            elif sd is None:  # stored before intervals were
                result.append(CountCell(*keys[i], values[i], STATUSES[statuses[i]]))  # type: ignore[arg-type]
            else:
                result.append(CountCell(*keys[i], values[i], STATUSES[statuses[i]], *interval(values[i], sd), sd))  # type: ignore[arg-type]
        return result


class PartCache:
    """Parts of stored releases as columns, by (release id, geo level, taxonomy level); at most
    `max_cells` cells, least recently used out first. Safe to share between a worker's threads."""

    def __init__(self, max_cells: int = MAX_CELLS):
        self.max_cells = max_cells
        self._parts: OrderedDict[tuple[uuid.UUID, str, str], PartColumns] = OrderedDict()
        self._cells = 0
        self._shared: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, release: Release, geo: str, taxonomy: str) -> PartColumns:
        """The part of `release`, read on first use (from its column, else from its cells)."""
        key = (release.id, geo, taxonomy)
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
                return part
        return self._put(key, self._read(release, geo, taxonomy, getattr(release, part_column(geo, taxonomy))))

    def load(self, session: Session, releases: Sequence[Release], geo: str, taxonomy: str) -> None:
        """Read the parts of `releases` not kept yet, their columns in one query (only that part's
        column is fetched), so that `get` finds them."""
        with self._lock:
            missing = {r.id: r for r in releases if (r.id, geo, taxonomy) not in self._parts}
        if not missing:
            return
        column = getattr(Release, part_column(geo, taxonomy))
        stored = dict(session.execute(select(Release.id, column).where(Release.id.in_(list(missing)))).all())
        for release_id, release in missing.items():
            self._put((release_id, geo, taxonomy), self._read(release, geo, taxonomy, stored.get(release_id)))

    def _put(self, key: tuple[uuid.UUID, str, str], part: PartColumns) -> PartColumns:
        with self._lock:
            if key not in self._parts:
                self._parts[key] = part
                self._cells += len(part.keys)
                while self._cells > self.max_cells and len(self._parts) > 1:
                    _, old = self._parts.popitem(last=False)
                    self._cells -= len(old.keys)
            else:
                part = self._parts[key]
        return part

    def __len__(self) -> int:
        return len(self._parts)

    def _read(self, release: Release, geo: str, taxonomy: str, columns: bytes | None) -> PartColumns:
        """A part from its stored columns; from the cells document if it has none (stored before 0007)."""
        if columns is not None:
            stored = decode_columns(columns)
            tax_count = len(stored.tax_codes)
            sd = np.frombuffer(stored.sds, dtype="<f8")
            return PartColumns(
                keys=self._keys(release, geo, taxonomy, [g for g in stored.geo_codes for _ in range(tax_count)],
                                stored.tax_codes * len(stored.geo_codes)),
                values=np.frombuffer(stored.values, dtype="<i8"),
                stored=np.ones(len(sd), dtype=bool),
                shown=np.frombuffer(stored.statuses, dtype=np.uint8) == _SHOWN,
                sd=self._shared_value(("sd", stored.sds), sd),
                status=np.frombuffer(stored.statuses, dtype=np.uint8),
            )
        entries = decode_entries(release.cells, geo, taxonomy)
        sd = np.array([np.nan if e.sd is None else e.sd for e in entries], dtype=float)
        return PartColumns(
            keys=self._keys(release, geo, taxonomy, [e.geo_code for e in entries], [e.tax_code for e in entries]),
            values=np.array([0 if e.value is None else e.value for e in entries], dtype=np.int64),
            stored=np.array([e.value is not None for e in entries], dtype=bool),
            shown=np.array([e.status == Status.SHOWN for e in entries], dtype=bool),
            sd=self._shared_value(("sd", sd.tobytes()), sd),
            status=np.array([STATUSES.index(e.status) for e in entries], dtype=np.uint8),
        )

    def _keys(self, release: Release, geo: str, taxonomy: str, geo_codes: list[str], tax_codes: list[str]) -> tuple[RowKey, ...]:
        """The part's row keys, built once per grid: the same municipality, districts and
        phenomena, and the cells in the same order (checked, not assumed)."""
        params = msgspec.json.decode(release.params)
        districts, phenomena = params["districts"], params["phenomena"]
        grid = ("keys", release.municipality, geo, taxonomy, msgspec.json.encode(districts), msgspec.json.encode(phenomena))
        with self._lock:
            known = self._shared.get(grid)
        if known is not None and known[0] == geo_codes and known[1] == tax_codes:
            return known[2]  # type: ignore[no-any-return]
        keys = row_keys(release.municipality, districts, phenomena, geo, taxonomy, list(zip(geo_codes, tax_codes)))
        with self._lock:
            self._room()
            self._shared[grid] = (geo_codes, tax_codes, keys)
        return keys

    def _shared_value(self, key: Any, column: np.ndarray) -> np.ndarray:
        """One array for equal ones: every week of one grid and settings has the same sds."""
        column.setflags(write=False)
        with self._lock:
            self._room()
            return self._shared.setdefault(key, column)  # type: ignore[no-any-return]

    def _room(self) -> None:
        if len(self._shared) >= _MAX_SHARED:
            self._shared.clear()  # parts already read keep theirs; new ones are read anew


def row_keys(
    municipality: str, districts: dict[str, str], phenomena: dict[str, str], geo: str, taxonomy: str,
    codes: list[tuple[str, str]],
) -> tuple[RowKey, ...]:
    """The row keys of a part's cells (geo code, taxonomy code), as services.rows places them."""
    keys = []
    for geo_code, tax_code in codes:
        area = geo_code if geo == "area" else None
        district = districts.get(geo_code) if geo == "area" else geo_code if geo == "district" else None
        category = tax_code if taxonomy == "category" else None
        phenomenon = phenomena.get(category, "") if category is not None else tax_code
        keys.append((municipality, district, area, phenomenon, category))
    return tuple(keys)
