"""Stored releases read column by column for alerts, and the cache that keeps them. Release rows
built in memory, and stored in the database for `load`."""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.signals import noise
from service.signals.estimation import PARTS
from service.signals.models import Release, part_column
from service.signals.parts import PartCache
from service.signals.protection import Grid, ProtectionRules, compute, decode_columns, decode_part, encode_columns, encode_table
from service.signals.services import Opened, Signals, part_rows, place_of, places, rows, series

GRID = Grid("m", {f"a{i:02d}": f"d{i % 3}" for i in range(9)}, {f"c{i:02d}": f"p{i % 2}" for i in range(5)})
CELLS = {(g, t): len(GRID.codes(g)) * len(GRID.codes(t)) for g, t in PARTS}


def release(seed: int, grid: Grid = GRID, cells: bytes | None = None, columns: bool = False) -> Release:
    """A release of `grid` with random counts (some cells shown, some not), as compute_missing made it
    before revision 0007 (its cells only), or with `columns` as it makes it now."""
    rng = random.Random(seed)
    bounded = {(a, c): rng.choice([0, 1, 3, 8, 20, 40]) for a in grid.districts for c in grid.phenomena}
    table = compute(grid, bounded, ProtectionRules(), noise.noisy)
    params = msgspec.json.encode({"districts": grid.districts, "phenomena": grid.phenomena})
    parts = {part_column(*part): data for part, data in encode_columns(table).items()} if columns else {}
    return Release(id=uuid.uuid4(), municipality=grid.municipality, week=dt.date(2026, 11, 16),
                   computed_at=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc), epsilon=1.0, params=params,
                   cells=encode_table(table) if cells is None else cells, **parts)


@pytest.mark.parametrize("geo, taxonomy", PARTS)
def test_a_part_reads_as_counts_publish_it_with_every_protected_value(geo, taxonomy):
    stored = release(1)

    part = PartCache().get(stored, geo, taxonomy)

    published = rows([stored], geo, taxonomy)
    protected = decode_part(stored.cells, geo, taxonomy, protected=True)
    assert part.keys == tuple((r.municipality, r.district, r.area, r.phenomenon, r.category) for r in published)
    assert part.values.tolist() == [c.value for c in protected] and part.stored.all()
    assert part.shown.tolist() == [r.status == "shown" for r in published]
    assert part.sd.tolist() == [r.sd for r in published]
    if geo == "area":  # some cells shown and some not, so that both kinds are compared
        assert any(part.shown) and not all(part.shown)


def test_a_release_stored_before_intervals_reads_with_its_hidden_values_missing():
    # The stored form before issue 12: no sd, a value for shown cells only, hidden ones "suppressed".
    old = {f"{g}/{t}": [] for g, t in PARTS}
    old["area/category"] = [["a00", "c00", 12, "shown"], ["a00", "c01", None, "suppressed"], ["a01", "c00", 7, "shown"]]
    stored = release(2, cells=msgspec.json.encode(old))

    part = PartCache().get(stored, "area", "category")

    assert [key[2:] for key in part.keys] == [("a00", "p0", "c00"), ("a00", "p1", "c01"), ("a01", "p0", "c00")]
    assert part.values.tolist() == [12, 0, 7]
    assert part.stored.tolist() == [True, False, True]
    assert part.shown.tolist() == [True, False, True]
    assert all(math.isnan(sd) for sd in part.sd.tolist())
    assert PartCache().get(stored, "district", "category").keys == ()


def test_a_part_is_read_once_per_release():
    cache = PartCache()
    stored = release(3)
    first = cache.get(stored, "area", "category")
    stored.cells = b"no longer read"  # a release never changes: its id is enough

    assert cache.get(stored, "area", "category") is first
    with pytest.raises(msgspec.DecodeError):
        cache.get(stored, "area", "phenomenon")  # another part is read from the cells
    with pytest.raises(msgspec.DecodeError):
        PartCache().get(stored, "area", "category")  # another app's cache has its own


def test_weeks_of_one_grid_share_their_keys_and_sds():
    cache = PartCache()
    first, second = cache.get(release(4), "area", "category"), cache.get(release(5), "area", "category")

    assert first.keys is second.keys and first.sd is second.sd
    assert first.values.tolist() != second.values.tolist()
    with pytest.raises(ValueError):
        first.sd[0] = 1.0  # shared: read-only


def test_the_cache_keeps_at_most_its_cells_the_least_recently_used_out_first():
    size = CELLS["area", "category"]
    cache = PartCache(max_cells=3 * size)
    releases = [release(10 + i) for i in range(4)]
    for stored in releases[:3]:
        cache.get(stored, "area", "category")
    cache.get(releases[0], "area", "category")  # used again: now the most recent

    cache.get(releases[3], "area", "category")  # one too many: releases[1] goes

    assert len(cache) == 3
    for stored in releases:
        stored.cells = b"gone"
    for kept in (releases[0], releases[2], releases[3]):
        cache.get(kept, "area", "category")
    with pytest.raises(msgspec.DecodeError):
        cache.get(releases[1], "area", "category")


def test_every_app_builds_its_own_cache():
    first = Signals({"m": GRID}, "v1", "etag", None)  # type: ignore[arg-type]
    second = Signals({"m": GRID}, "v1", "etag", None)  # type: ignore[arg-type]

    assert first.parts is not second.parts
    assert first == second  # the cache is not part of what the settings are


def test_the_keys_follow_each_releases_own_cells_on_one_grid():
    cache = PartCache()
    stored = release(6)
    first = cache.get(stored, "area", "category")
    parts = msgspec.json.decode(stored.cells)
    parts["area/category"].reverse()  # the same grid and params, the cells in another order

    reordered = cache.get(release(6, cells=msgspec.json.encode(parts)), "area", "category")

    assert reordered.keys == first.keys[::-1]
    assert reordered.values.tolist() == first.values.tolist()[::-1]


@pytest.mark.parametrize("geo, taxonomy", PARTS)
def test_a_part_reads_the_same_from_its_columns_as_from_the_cells(geo, taxonomy):
    stored = release(7, columns=True)
    from_cells = PartCache().get(release(7, cells=stored.cells), geo, taxonomy)
    stored.cells = b"not read"  # the columns are enough

    from_columns = PartCache().get(stored, geo, taxonomy)

    assert from_columns.keys == from_cells.keys
    for name in ("values", "stored", "shown", "sd"):
        column, expected = getattr(from_columns, name), getattr(from_cells, name)
        assert column.dtype == expected.dtype and column.tolist() == expected.tolist(), name
    if geo == "area":
        assert any(from_columns.shown) and not all(from_columns.shown)


def test_columns_that_do_not_fit_their_grid_are_refused():
    data = encode_columns(compute(GRID, {("a00", "c00"): 9}, ProtectionRules(), noise.noisy))["area", "category"]
    columns = msgspec.msgpack.decode(data)
    columns[0] = columns[0][:-1]  # one area fewer than the values

    with pytest.raises(ValueError):
        decode_columns(msgspec.msgpack.encode(columns))


def test_load_reads_new_releases_from_their_columns_and_older_ones_from_their_cells(db_engine):
    new, old = release(8, columns=True), release(9)
    expected = {new.id: PartCache().get(release(8, cells=new.cells), "area", "category"),
                old.id: PartCache().get(old, "area", "category")}
    new.cells = b"not read"  # stored so: only its columns can give its part
    old.week = dt.date(2026, 11, 9)
    with Session(db_engine) as session:
        session.add_all([new, old])
        session.commit()

    cache = PartCache()
    with Session(db_engine) as session:
        stored = list(session.scalars(select(Release)))
        cache.load(session, stored, "area", "category")
        parts = {r.id: cache.get(r, "area", "category") for r in stored}

    assert len(cache) == 2
    for release_id, part in parts.items():
        assert part.keys == expected[release_id].keys
        assert part.values.tolist() == expected[release_id].values.tolist()
        assert part.shown.tolist() == expected[release_id].shown.tolist()
        assert part.sd.tolist() == expected[release_id].sd.tolist()


# The cells as published, read from the parts (what the dashboard's pages show) ------------------


def _stored(db_engine, *releases: Release) -> list[Release]:
    with Session(db_engine) as session:
        session.add_all(releases)
        session.commit()
    return list(releases)


def _signals() -> Signals:
    return Signals({"m": GRID}, "v1", "etag", None)  # type: ignore[arg-type]


@pytest.mark.parametrize("columns", [True, False], ids=["columns", "cells"])
@pytest.mark.parametrize("geo, taxonomy", PARTS)
def test_part_rows_are_the_published_rows_field_for_field(db_engine, geo, taxonomy, columns):
    stored = release(20, columns=columns)
    expected = rows([stored], geo, taxonomy)
    if columns:
        stored.cells = b"not read"  # only its columns can give them
    _stored(db_engine, stored)

    with Session(db_engine) as session:
        found = part_rows(session, _signals(), list(session.scalars(select(Release))), geo, taxonomy)

    assert found == expected
    if geo == "area":  # shown cells with their intervals, and hidden ones without a value
        # (the noise is drawn afresh: a hidden cell is "below_k" or "uncertain", whichever it drew)
        statuses = {r.status for r in found}
        assert "shown" in statuses and statuses & {"below_k", "uncertain"}
        assert all((r.value is None) == (r.status != "shown") and (r.low is None) == (r.value is None) for r in found)


def test_part_rows_of_one_code_keep_the_published_order(db_engine):
    stored = release(21, columns=True)
    everything, phenomena = rows([stored], "area", "category"), rows([stored], "area", "phenomenon")
    _stored(db_engine, stored)

    with Session(db_engine) as session:
        mine = session.scalars(select(Release)).all()
        signals = _signals()
        assert part_rows(session, signals, mine, "area", "category", "c01") == [r for r in everything if r.category == "c01"]
        assert part_rows(session, signals, mine, "area", "phenomenon", "p1") == [r for r in phenomena if r.phenomenon == "p1"]
        assert part_rows(session, signals, mine, "area", "category", "nothing") == []
        with pytest.raises(ValueError):
            part_rows(session, signals, mine, "street", "category")


def test_part_rows_of_a_release_stored_before_intervals_say_what_it_said(db_engine):
    old = {f"{g}/{t}": [] for g, t in PARTS}
    old["area/category"] = [["a00", "c00", 12, "shown"], ["a00", "c01", None, "suppressed"], ["a01", "c00", 7, "shown"]]
    stored = release(22, cells=msgspec.json.encode(old))
    expected = rows([stored], "area", "category")
    _stored(db_engine, stored)

    with Session(db_engine) as session:
        found = part_rows(session, _signals(), session.scalars(select(Release)).all(), "area", "category")

    assert found == expected
    assert [(r.value, r.status, r.low, r.sd) for r in found] == [(12, "shown", None, None), (None, "suppressed", None, None),
                                                                  (7, "shown", None, None)]


def test_a_series_is_one_published_cell_per_week_in_the_weeks_order(db_engine):
    weeks = [dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)]
    stored = [release(30 + i, columns=True) for i in range(3)]
    for week, one in zip(weeks, stored):
        one.week = week
    stored[1] = release(31)  # a week stored before the columns: read from its cells
    stored[1].week = weeks[1]
    expected = {w: rows([r], "district", "category") for w, r in zip(weeks, stored)}
    _stored(db_engine, *stored)

    with Session(db_engine) as session:
        mine = {r.week: r for r in session.scalars(select(Release))}
        opened = [Opened(w, [mine[w]], 0.0) for w in reversed(weeks)]  # in the order given
        found = series(session, _signals(), opened, "district", "category", ("m", "d1"), "c03")
        phenomenon = series(session, _signals(), opened, "municipality", "phenomenon", ("m", "m"), "p0")
        elsewhere = series(session, _signals(), opened, "district", "category", ("other", "d1"), "c03")

    assert [w for w, _ in found] == list(reversed(weeks))
    assert [row for _, row in found] == [
        next(r for r in expected[w] if r.district == "d1" and r.category == "c03") for w in reversed(weeks)]
    assert [row for _, row in phenomenon] == [
        next(r for r in rows([mine[w]], "municipality", "phenomenon") if r.phenomenon == "p0") for w in reversed(weeks)]
    assert elsewhere == []


def test_places_are_those_the_weeks_rows_count_in():
    stored = release(40)
    opened = Opened(stored.week, [stored], 0.0)

    for geo in ("area", "district", "municipality"):
        counted = list(dict.fromkeys(place_of((r.municipality, r.district, r.area, r.phenomenon, r.category), geo)
                                     for r in rows([stored], geo, "phenomenon")))
        assert places(opened, geo) == counted
    assert places(opened, "district") == [("m", "d0"), ("m", "d1"), ("m", "d2")]


def test_part_rows_at_positions_are_those_cells_of_the_whole_territory(db_engine):
    # Two municipalities: positions run over both, in rows' order (by municipality).
    other = Grid("l", {"x1": "dx", "x2": "dx"}, GRID.phenomena)
    stored = [release(23, columns=True), release(24, grid=other, columns=True)]
    everything = rows(stored, "area", "category")
    _stored(db_engine, *stored)
    positions = [0, 3, len(everything) - 1]

    with Session(db_engine) as session:
        mine = session.scalars(select(Release)).all()
        at = part_rows(session, _signals(), mine, "area", "category", positions=positions)
        of_code = part_rows(session, _signals(), mine, "area", "category", "c00", positions=positions)

    assert at == [everything[p] for p in positions]
    assert {r.municipality for r in at} == {"l", "m"}
    assert of_code == [everything[p] for p in positions if everything[p].category == "c00"]
