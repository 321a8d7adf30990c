"""Aggregated signals: the release calendar, computing releases, the budget ledger, and what an
analyst organisation may open.

A week (an ISO week of local time in the deployment's zone, by the hour a report was observed:
service.signals.weeks) is released `delay` after it ends: the delay outlasts the intake window, so
no report of a released week can still arrive. A release is computed once per municipality and
stored; every organisation whose territory holds the municipality reads the same numbers, so
asking again, or asking from another organisation, averages nothing away.

Budget. The privacy unit is one reporting organisation's reports in one area and category in one
week (see protection.py): each weekly release is epsilon-DP for it, and the same unit followed over
a quarter composes to the sum of the quarter's releases. Municipalities hold disjoint areas, so
opening a week for a whole territory costs one release's epsilon (parallel composition). The
ledger records, per analyst organisation, each week it opened and what it cost; opening a week
again costs nothing; a week that would take a quarter's spending past the budget is refused.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from service.areas import Area, rollup
from service.partners.models import Organisation
from service.signals import noise
from service.signals import schemas
from service.signals.ears import EarsRules, c2_many
from service.signals.models import BudgetSpend, Release, Tally, Territory, part_column
from service.signals.parts import PartCache
from service.signals.protection import (
    CONFIDENCE,
    GEO_LEVELS,
    PARTS,
    TAX_LEVELS,
    Grid,
    ProtectionRules,
    Status,
    compute,
    decode_part,
    encode_columns,
    encode_table,
    part_name,
)
from service.signals.schemas import CountCell
from service.signals.weeks import WeekCalendar, quarter_of, week_label
from service.taxonomy import Taxonomy

# Floating-point slack when comparing sums of epsilons with the budget.
_SLACK = 1e-9
T = TypeVar("T")


class SignalsError(Exception):
    """A signals request that cannot be served; subclasses say why."""


class NotReleased(SignalsError):
    """The week is not on the release calendar, or not yet released."""


class NoTerritory(SignalsError):
    """The organisation has no municipality to see."""


class BadTerritory(SignalsError):
    """A territory that cannot be set: an unknown municipality, or not a prevention service."""


class BudgetExhausted(SignalsError):
    """Opening this week would take the quarter's spending past the budget."""

    def __init__(self, quarter: str, budget: float, remaining: float, needed: float):
        super().__init__(
            f"The privacy budget of {quarter} is spent: {remaining:g} of {budget:g} remaining, "
            f"and opening this week needs {needed:g}."
        )
        self.quarter, self.budget, self.remaining, self.needed = quarter, budget, remaining, needed


@dataclass(frozen=True)
class SignalRules:
    """The deployment's release settings."""

    protection: ProtectionRules
    budget_per_quarter: float
    delay: dt.timedelta
    tallies_kept: dt.timedelta  # the tallies' retention period
    ears: EarsRules
    weeks: WeekCalendar  # when each week starts and ends (the deployment's time zone)
    # How long before it is received a report may say it was observed (intake window + clock skew):
    # the first week a report can count in starts this long before the first organisation existed.
    backdating: dt.timedelta = dt.timedelta(days=7)


@dataclass(frozen=True)
class Signals:
    """What the signals services need; built once per app."""

    grids: Mapping[str, Grid]  # municipality -> its grid
    taxonomy_version: str
    areas_etag: str
    rules: SignalRules
    # Stored releases' parts as alerts read them, kept by release id (releases never change).
    parts: PartCache = field(default_factory=PartCache, compare=False, repr=False)

    @classmethod
    def build(cls, areas: Sequence[Area], taxonomy: Taxonomy, areas_etag: str, rules: SignalRules) -> Signals:
        """The grid of every municipality of these areas, over the whole taxonomy."""
        phenomena = {code: category.phenomenon for code, category in taxonomy.categories.items()}
        districts: dict[str, dict[str, str]] = {}
        for area in areas:
            code, district, municipality = rollup(area)
            districts.setdefault(municipality, {})[code] = district
        grids = {m: Grid(m, d, phenomena) for m, d in sorted(districts.items())}
        return cls(grids, taxonomy.version, areas_etag, rules)



def release_at(week: dt.date, rules: SignalRules) -> dt.datetime:
    """When a week is released: the end of the week (local Monday 00:00) plus the delay, in UTC.

    The delay is elapsed time, not calendar days: it must outlast the intake window, and 8 days
    on the wall clock across the spring change are 191 hours. So a release whose delay spans a
    change falls at 01:00 (spring) or 23:00 (autumn) local time.
    """
    return rules.weeks.end(week) + rules.delay


def _tallies_held(week: dt.date, rules: SignalRules, now: dt.datetime) -> bool:
    """Whether retention still holds the week's tallies.

    The week starts at local Monday 00:00, but retention counts a tally's age from its Monday at
    00:00 UTC (the week is a date column: retention.holdings). Count from whichever comes first,
    so that no week is taken for held once retention may have deleted its tallies: east of UTC
    (Brussels) that is the local start, west of it the UTC midnight.
    """
    utc_monday = dt.datetime.combine(week, dt.time(), tzinfo=dt.timezone.utc)
    return min(rules.weeks.start(week), utc_monday) + rules.tallies_kept > now


@dataclass(frozen=True)
class CalendarWeek:
    week: dt.date
    release_at: dt.datetime
    status: str  # released | due | scheduled
    opened: bool


def calendar(
    session: Session, signals: Signals, organisation_id: uuid.UUID | None, now: dt.datetime, limit: int = 60
) -> list[CalendarWeek]:
    """The weeks an analyst can open or will be able to, newest first.

    Released weeks, weeks due (their release time has passed; the first request or the scheduler
    computes them) and weeks scheduled, from the deployment's first week (first_week). A week
    whose tallies retention has removed before anyone released it is not listed: it can never be.
    """
    rules = signals.rules
    released = set(session.scalars(select(Release.week).distinct().order_by(Release.week.desc()).limit(limit)))
    opened = set() if organisation_id is None else set(
        session.scalars(select(BudgetSpend.week).where(BudgetSpend.organisation_id == organisation_id))
    )
    weeks = released | set(_counted_weeks(session, signals, now)[:limit])
    listed = []
    for week in sorted(weeks, reverse=True)[:limit]:
        at = release_at(week, rules)
        status = "released" if week in released else "due" if at <= now else "scheduled"
        listed.append(CalendarWeek(week, at, status, week in opened))
    return listed


def releasable(week: dt.date, signals: Signals, now: dt.datetime) -> bool:
    """Whether the week's release time has passed and its tallies are still held."""
    return release_at(week, signals.rules) <= now and _tallies_held(week, signals.rules, now)


def compute_missing(
    reading: Session, signals: Signals, week: dt.date, now: dt.datetime, since: dt.date | None = None,
) -> list[Release]:
    """The week's releases not stored yet, computed but not added to any session. `since` replaces
    the deployment's first week (the demo's synthetic history starts before its organisations).

    It only reads, so callers run it on a read-only session: computing a release (up to a second
    for a large, sparse grid) never holds SQLite's write lock, and intake goes on meanwhile.
    An empty list when everything is stored, or when the week is not releasable but some of it was
    (a territory can only read what was released in time). NotReleased when none of it can be.
    """
    stored = {r.municipality: r.params for r in reading.execute(select(Release.municipality, Release.params).where(Release.week == week))}
    missing = [m for m in signals.grids if m not in stored]
    if not missing:
        return []
    if any(msgspec.json.decode(params).get("areas_etag") != signals.areas_etag for params in stored.values()):
        # The area file changed since part of this week was released. A new municipality may hold
        # areas an earlier release already covered: releasing them again would draw fresh noise
        # for the same counts. Changed areas count from the next week not yet released.
        return []
    if not releasable(week, signals, now) or (first := since or first_week(reading, signals)) is None or week < first:
        if stored:
            return []
        raise NotReleased(_not_released_message(week, signals, now))
    rules = signals.rules.protection
    bounded_n = case((Tally.n > rules.cap, rules.cap), else_=Tally.n)
    rows = reading.execute(
        select(Tally.area, Tally.category, func.sum(bounded_n)).where(Tally.week == week).group_by(Tally.area, Tally.category)
    )
    bounded = {(area, category): int(total) for area, category, total in rows}
    computed = []
    for municipality in missing:
        grid = signals.grids[municipality]
        table = compute(grid, bounded, rules, noise.noisy)
        statuses = list(table.status.values())
        # The grid goes with the release, so it reads the same after the area file or the
        # taxonomy changes.
        params = msgspec.json.encode({
            "k": rules.k, "cap": rules.cap, "epsilon": rules.epsilon, "split": dict(rules.split),
            "scales": {part_name(part): rules.scale(part) for part in PARTS}, "confidence": CONFIDENCE,
            "mechanism": noise.MECHANISM, "taxonomy_version": signals.taxonomy_version, "areas_etag": signals.areas_etag,
            "districts": grid.districts, "phenomena": grid.phenomena,
            "cells": len(statuses), "shown": sum(status == Status.SHOWN for status in statuses),
        })
        computed.append(Release(
            id=uuid.uuid4(), municipality=municipality, week=week, computed_at=now,
            epsilon=rules.epsilon, params=params, cells=encode_table(table),
            **{part_column(*part): columns for part, columns in encode_columns(table).items()},
        ))
    return computed


def store(session: Session, releases: Sequence[Release], audit: Callable[..., int], actor: str) -> None:
    """Add computed releases with their audit entries, in the session's transaction. Another
    process storing the same (municipality, week) first makes the commit fail on the unique key:
    the caller rolls back and reads theirs (with_race_retry)."""
    for release in releases:
        session.add(release)
        session.flush()
        params = msgspec.json.decode(release.params)
        audit(
            session.connection(), "signals.released", actor,
            release_id=str(release.id), municipality=release.municipality, week=week_label(release.week),
            epsilon=release.epsilon, cells=params["cells"], shown=params["shown"],
        )


def release_week(
    session: Session, signals: Signals, week: dt.date, now: dt.datetime,
    audit: Callable[..., int], actor: str, since: dt.date | None = None,
) -> list[Release]:
    """The week's releases, computing and storing those missing, all in the session's transaction.

    NotReleased if the week is not due, or lapsed with none of it released.
    """
    store(session, compute_missing(session, signals, week, now, since), audit, actor)
    return list(session.scalars(select(Release).where(Release.week == week)))


def first_week(session: Session, signals: Signals) -> dt.date | None:
    """The first week of the deployment: the first week a report of its first organisation could
    count in, or the first week released, if earlier. Weeks before it are not released.

    It never reads a tally: when the calendar starts must not say whether anyone reported (a week
    that exists only because a report does would be an exact-count bit outside the noise)."""
    created = session.scalar(select(func.min(Organisation.created_at)))
    firsts = [session.scalar(select(func.min(Release.week)))]
    if created is not None:
        firsts.append(signals.rules.weeks.week_of(created - signals.rules.backdating))
    known = [week for week in firsts if week is not None]
    return min(known) if known else None


def due_weeks(reading: Session, signals: Signals, now: dt.datetime) -> list[dt.date]:
    """Weeks whose release time has passed, whose tallies are still held, from the deployment's
    first week, not yet released for every municipality; oldest first."""
    released = {week: count for week, count in reading.execute(select(Release.week, func.count()).group_by(Release.week))}
    return sorted(
        week for week in _counted_weeks(reading, signals, now)
        if release_at(week, signals.rules) <= now and released.get(week, 0) < len(signals.grids)
    )


def _counted_weeks(session: Session, signals: Signals, now: dt.datetime) -> list[dt.date]:
    """Weeks whose tallies are still held, from the current one back to the deployment's first
    week; newest first. Only these can still be released."""
    first = first_week(session, signals)
    weeks = []
    week = signals.rules.weeks.week_of(now)
    while first is not None and week >= first and _tallies_held(week, signals.rules, now):
        weeks.append(week)
        week -= dt.timedelta(days=7)
    return weeks


def set_territory(
    session: Session, signals: Signals, organisation: Organisation, municipalities: Sequence[str],
    audit: Callable[..., int], actor: str,
) -> None:
    """Replace an analyst organisation's territory (audited); BadTerritory names the problem."""
    unknown = sorted(set(municipalities) - set(signals.grids))
    if unknown:
        raise BadTerritory(f"not a municipality of this deployment: {', '.join(unknown)} (known: {', '.join(signals.grids)})")
    if organisation.kind != "prevention_service":
        raise BadTerritory("only a prevention service has a territory")
    for row in session.scalars(select(Territory).where(Territory.organisation_id == organisation.id)):
        session.delete(row)
    session.flush()
    session.add_all(Territory(organisation_id=organisation.id, municipality=m) for m in sorted(set(municipalities)))
    session.flush()
    audit(session.connection(), "signals.territory", actor,
          organisation_id=str(organisation.id), municipalities=sorted(set(municipalities)))


def _not_released_message(week: dt.date, signals: Signals, now: dt.datetime) -> str:
    at = release_at(week, signals.rules)
    if at > now:
        return (f"Week {week_label(week)} is not released yet; it will be at {at.isoformat()} "
                f"({signals.rules.delay.days} days after it ends).")
    return (f"Week {week_label(week)} cannot be released: it is before the first week this service counted, "
            "or retention deleted its tallies before it was released.")


def territory(session: Session, organisation_id: uuid.UUID) -> list[str]:
    """The municipalities an organisation may see."""
    return list(session.scalars(
        select(Territory.municipality).where(Territory.organisation_id == organisation_id).order_by(Territory.municipality)
    ))


@dataclass(frozen=True)
class Opened:
    """A week as an organisation sees it: its territory's releases and what opening cost."""

    week: dt.date
    releases: list[Release]
    charged: float  # 0 when the organisation had opened the week before


def reopen(
    session: Session, signals: Signals, organisation_id: uuid.UUID, week: dt.date, *, cells: bool = True,
) -> Opened | None:
    """The week as `open_week` gives it, if the organisation already opened it for its whole
    current territory; reads only. None when open_week has something to do. With cells=False
    the releases' cells are loaded only if accessed, in this session: for a caller that reads
    them through `part_rows` (the cells are one document of every part, 330 kB for a city)."""
    opened = _reopen_weeks(session, signals, organisation_id, [week], cells=cells)
    return None if opened is None else opened[week]


def reopened(session: Session, signals: Signals, organisation_id: uuid.UUID) -> list[Opened]:
    """Every week the organisation opened that `reopen` would give, oldest first, each as it
    gives it (cells not loaded: read them through `part_rows` or `series`); three queries."""
    return list(_readable(session, signals, organisation_id, None, every=False, cells=False).values())


def _reopen_weeks(
    session: Session, signals: Signals, organisation_id: uuid.UUID, weeks: Sequence[dt.date], *, cells: bool,
) -> dict[dt.date, Opened] | None:
    """`reopen` of every week, in three queries whatever their number; None when open_week has
    something to do for any of them. With cells=False the releases' cells are loaded on first
    access, in this session (alerts read them from signals.parts, which seldom needs them)."""
    opened = _readable(session, signals, organisation_id, weeks, every=True, cells=cells)
    return None if opened is None else {week: opened[week] for week in weeks}


def _readable(
    session: Session, signals: Signals, organisation_id: uuid.UUID, weeks: Sequence[dt.date] | None, *,
    every: bool, cells: bool,
) -> dict[dt.date, Opened] | None:
    """Of `weeks` (None: every week the organisation opened), those the organisation opened for its
    whole current territory and whose releases are stored, oldest first. With `every`, None as
    soon as one of `weeks` is not (so that no more is read)."""
    query = select(BudgetSpend).where(BudgetSpend.organisation_id == organisation_id)
    spends = {spend.week: spend for spend in session.scalars(query if weeks is None else query.where(BudgetSpend.week.in_(weeks)))}
    if every and any(week not in spends for week in weeks or ()):
        return None
    municipalities = [m for m in territory(session, organisation_id) if m in signals.grids]
    # A week the territory grew since: open_week records (and audits) the rest.
    whole = [week for week, spend in spends.items() if set(municipalities) <= set(spend.municipalities.split(","))]
    if every and len(whole) < len(spends):
        return None
    query = select(Release).where(Release.week.in_(whole), Release.municipality.in_(municipalities))
    releases: dict[dt.date, list[Release]] = {}
    for release in session.scalars(query if cells else query.options(defer(Release.cells))) if whole else ():
        releases.setdefault(release.week, []).append(release)
    if every and len(releases) < len(whole):
        return None
    return {week: Opened(week, releases[week], 0.0) for week in sorted(releases)}


def open_week(
    session: Session, signals: Signals, organisation_id: uuid.UUID, week: dt.date, now: dt.datetime,
    audit: Callable[..., int], actor: str,
) -> Opened:
    """The week's releases for the organisation's territory, charging its budget the first time.

    Opening a week costs the highest epsilon of its releases, once: municipalities are disjoint,
    so a territory that grows later adds no cost for the week (only the difference if the new
    releases carry a higher epsilon), but its new releases are recorded and audited.
    Raises NoTerritory, NotReleased or BudgetExhausted (and then charges nothing).
    """
    municipalities = [m for m in territory(session, organisation_id) if m in signals.grids]
    if not municipalities:
        raise NoTerritory("This organisation has no municipality of this deployment in its territory; ask the operator.")
    # One budget decision at a time per organisation: PostgreSQL locks the row; SQLite has
    # already taken the database's write lock at BEGIN.
    session.execute(select(Organisation.id).where(Organisation.id == organisation_id).with_for_update())
    releases = [r for r in release_week(session, signals, week, now, audit, "signals") if r.municipality in municipalities]
    if not releases:
        raise NotReleased(_not_released_message(week, signals, now))
    spend = session.scalar(
        select(BudgetSpend).where(BudgetSpend.organisation_id == organisation_id, BudgetSpend.week == week)
    )
    seen = set(spend.municipalities.split(",")) if spend is not None else set()
    new = [r for r in releases if r.municipality not in seen]
    if not new:
        return Opened(week, releases, 0.0)
    already = spend.epsilon if spend is not None else 0.0
    cost = max(0.0, max(r.epsilon for r in new) - already)
    quarter = quarter_of(week)
    remaining = _remaining(session, signals, organisation_id, quarter)
    if cost > remaining + _SLACK:
        raise BudgetExhausted(quarter, signals.rules.budget_per_quarter, round(remaining, 6), cost)
    opened = ",".join(sorted(seen | {r.municipality for r in new}))
    if spend is None:
        session.add(BudgetSpend(
            id=uuid.uuid4(), organisation_id=organisation_id, week=week, quarter=quarter, epsilon=cost,
            municipalities=opened, spent_at=now,
        ))
    else:
        spend.epsilon, spend.municipalities = already + cost, opened
    session.flush()
    audit(
        session.connection(), "signals.opened", actor,
        organisation_id=str(organisation_id), week=week_label(week), quarter=quarter, epsilon=cost,
        release_ids=[str(r.id) for r in new], cells=sum(msgspec.json.decode(r.params)["cells"] for r in new),
        remaining=round(remaining - cost, 6),
    )
    return Opened(week, releases, cost)


def _remaining(session: Session, signals: Signals, organisation_id: uuid.UUID, quarter: str) -> float:
    spent = session.scalar(
        select(func.coalesce(func.sum(BudgetSpend.epsilon), 0.0)).where(
            BudgetSpend.organisation_id == organisation_id, BudgetSpend.quarter == quarter
        )
    )
    return max(0.0, signals.rules.budget_per_quarter - float(spent))


def with_race_retry(action: Callable[[], T], session: Session, attempts: int = 3) -> T:
    """Run `action`; if another process stored the same release or spend first, roll back and
    run it again (it then reads what the other stored)."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except IntegrityError:
            session.rollback()
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _released_weeks(session: Session, organisation_id: uuid.UUID, weeks: Sequence[dt.date]) -> set[dt.date]:
    """Of `weeks`, those with a stored release of a municipality in the organisation's territory."""
    return set(session.scalars(select(Release.week).distinct().where(
        Release.week.in_(weeks), Release.municipality.in_(territory(session, organisation_id)))))


@dataclass(frozen=True)
class Charge:
    """What opening one week would take from an organisation's budget."""

    week: dt.date
    quarter: str
    epsilon: float


def charges(
    session: Session, signals: Signals, organisation_id: uuid.UUID, weeks: Sequence[dt.date], now: dt.datetime,
) -> list[Charge]:
    """What opening `weeks` would charge the organisation, week by week, before anything is spent:
    weeks it opened already cost nothing (and are left out), as do weeks that cannot be opened
    (not released yet, before the deployment's first week, or never released and their tallies
    gone). Reads only; open_week decides, and may still refuse (the budget of the quarter)."""
    first = first_week(session, signals)
    municipalities = set(territory(session, organisation_id)) & set(signals.grids)
    spends = {spend.week: spend for spend in session.scalars(
        select(BudgetSpend).where(BudgetSpend.organisation_id == organisation_id, BudgetSpend.week.in_(weeks)))}
    stored: dict[dt.date, dict[str, float]] = {}
    for week, municipality, epsilon in session.execute(
        select(Release.week, Release.municipality, Release.epsilon).where(Release.week.in_(weeks))
    ):
        stored.setdefault(week, {})[municipality] = epsilon
    result = []
    for week in sorted(set(weeks)):
        if first is None or week < first:
            continue
        held = stored.get(week, {})
        # What open_week would find for the territory: the releases stored, and those
        # compute_missing would add while the week can still be released.
        found = {m: e for m, e in held.items() if m in municipalities}
        if releasable(week, signals, now):
            found.update({m: signals.rules.protection.epsilon for m in municipalities if m not in held})
        spend = spends.get(week)
        seen = set(spend.municipalities.split(",")) if spend is not None else set()
        new = [e for m, e in found.items() if m not in seen]
        cost = max(new, default=0.0) - (spend.epsilon if spend is not None else 0.0)
        if new and cost > _SLACK:
            result.append(Charge(week, quarter_of(week), round(cost, 6)))
    return result


@dataclass(frozen=True)
class QuarterBudget:
    quarter: str
    budget: float
    spent: float
    remaining: float
    weeks: list[dt.date]


def budget(session: Session, signals: Signals, organisation_id: uuid.UUID, now: dt.datetime) -> list[QuarterBudget]:
    """The organisation's ledger by quarter, the current quarter first even when nothing is spent."""
    quarters: dict[str, list[BudgetSpend]] = {quarter_of(signals.rules.weeks.week_of(now)): []}
    for spend in session.scalars(
        select(BudgetSpend).where(BudgetSpend.organisation_id == organisation_id).order_by(BudgetSpend.week.desc())
    ):
        quarters.setdefault(spend.quarter, []).append(spend)
    total = signals.rules.budget_per_quarter
    summary = []
    for quarter in sorted(quarters, reverse=True):
        spent = sum(s.epsilon for s in quarters[quarter])
        summary.append(QuarterBudget(
            quarter, total, round(spent, 6), round(max(0.0, total - spent), 6), sorted(s.week for s in quarters[quarter])
        ))
    return summary


# One published cell with its place in both hierarchies: the wire type itself, a msgspec Struct
# built once per cell (a city's area part has 5,000 cells; an intermediate object per cell cost
# more than decoding and encoding together).
Row = CountCell


def rows(releases: Sequence[Release], geo: str, taxonomy: str) -> list[Row]:
    """The cells of one part (geo level x taxonomy level) of the releases, ordered, as published.
    (parts.row_keys places the cells the same way for alerts.)"""
    if geo not in GEO_LEVELS or taxonomy not in TAX_LEVELS:
        raise ValueError("unknown level")
    result: list[Row] = []
    for release in sorted(releases, key=lambda r: r.municipality):
        params = msgspec.json.decode(release.params)
        municipality, districts, phenomena = release.municipality, params["districts"], params["phenomena"]
        for cell in decode_part(release.cells, geo, taxonomy):
            code = cell.geo_code
            area = code if geo == "area" else None
            district = districts.get(code) if geo == "area" else code if geo == "district" else None
            category = cell.tax_code if taxonomy == "category" else None
            phenomenon = phenomena.get(category, "") if category is not None else cell.tax_code
            result.append(CountCell(municipality, district, area, phenomenon, category, cell.value, cell.status,  # type: ignore[arg-type]
                                    cell.low, cell.high, cell.sd))
    return result


def part_rows(
    session: Session, signals: Signals, releases: Sequence[Release], geo: str, taxonomy: str, code: str | None = None,
    *, positions: Sequence[int] | None = None,
) -> list[Row]:
    """`rows(releases, geo, taxonomy)`, field for field, read from the releases' part columns
    (signals.parts: the parts not kept yet in one query) instead of their cells. With `code`, only
    the cells of that phenomenon or category (of `taxonomy`); with `positions` (ascending), only the
    cells at those places of the whole list (an alert's place: alerts list the cells as rows do)."""
    if geo not in GEO_LEVELS or taxonomy not in TAX_LEVELS:
        raise ValueError("unknown level")
    signals.parts.load(session, releases, geo, taxonomy)
    at = _TAX_AT[taxonomy]
    result: list[Row] = []
    start = 0
    for release in sorted(releases, key=lambda r: r.municipality):
        part = signals.parts.get(release, geo, taxonomy)
        picked: list[int] | None = None
        if code is not None:
            picked = [i for i, key in enumerate(part.keys) if key[at] == code]
        if positions is not None:
            mine = [p - start for p in positions if start <= p < start + len(part.keys)]
            picked = mine if picked is None else sorted(set(picked) & set(mine))
        start += len(part.keys)
        result += part.rows(picked)
    return result


# Where a row key (parts.RowKey) holds the code of a taxonomy level.
_TAX_AT = {"phenomenon": 3, "category": 4}
Place = tuple[str, str]  # (municipality, code of the area, district or municipality)


def place_of(key: tuple[str, str | None, str | None, str, str | None], geo: str) -> Place:
    """The place a row key (parts.RowKey: municipality, district, area, ...) counts in at `geo`."""
    municipality, district, area = key[:3]
    return (municipality, (area if geo == "area" else district if geo == "district" else municipality) or municipality)


def places(opened: Opened, geo: str) -> list[Place]:
    """The places of `geo` that the week's releases count in (their grids' areas, districts or
    municipalities: what `rows` of any part would place), read from the releases' parameters."""
    found: dict[Place, None] = {}
    for release in sorted(opened.releases, key=lambda r: r.municipality):
        m, districts = release.municipality, msgspec.json.decode(release.params)["districts"]
        codes = sorted(districts) if geo == "area" else sorted(set(districts.values())) if geo == "district" else [m]
        found.update(dict.fromkeys((m, code) for code in codes))
    return list(found)


def series(
    session: Session, signals: Signals, opened: Sequence[Opened], geo: str, taxonomy: str, place: Place, code: str,
) -> list[tuple[dt.date, Row]]:
    """One cell in each of the weeks `opened`, in their order, as `rows` publishes it: the cell of
    `place` at `geo` and of the phenomenon or category `code` of `taxonomy`. A week whose releases
    have no such cell is left out. The weeks' parts are read in one query (signals.parts), and
    only the cell asked for is built: a year of weeks costs a few milliseconds, not 52 releases."""
    if geo not in GEO_LEVELS or taxonomy not in TAX_LEVELS:
        raise ValueError("unknown level")
    releases = {o.week: [r for r in o.releases if r.municipality == place[0]] for o in opened}
    signals.parts.load(session, [r for mine in releases.values() for r in mine], geo, taxonomy)
    at = _TAX_AT[taxonomy]
    points = []
    keys: tuple[Any, ...] | None = None
    index: int | None = None
    for week, mine in releases.items():
        for release in mine:
            part = signals.parts.get(release, geo, taxonomy)
            if part.keys is not keys:  # weeks of one grid share their keys: found once for them all
                keys = part.keys
                index = next((i for i, key in enumerate(keys) if key[at] == code and place_of(key, geo) == place), None)
            if index is not None:
                points.append((week, part.rows([index])[0]))
    return points


def baseline_weeks(week: dt.date, rules: SignalRules) -> list[dt.date]:
    """The weeks EARS reads for `week`, oldest first, the tested week last; the guard weeks
    between baseline and tested week are never read, so never opened."""
    ears = rules.ears
    first = 1 + ears.guard + ears.baseline - 1
    baseline = [week - dt.timedelta(days=7 * back) for back in range(first, ears.guard, -1)]
    return [*baseline, week]


def guard_weeks(week: dt.date, rules: SignalRules) -> list[dt.date]:
    """The weeks between the baseline and the tested week, oldest first."""
    return [week - dt.timedelta(days=7 * back) for back in range(rules.ears.guard, 0, -1)]


@dataclass(frozen=True)
class Alerts:
    """EARS verdicts of one week, with the weeks read and what opening them cost."""

    baseline: list[dt.date]
    guard: list[dt.date]
    charged: float
    flagged: int
    cells: list[schemas.Alert]  # as published: one per cell of the part, in counts' order
    # The tested week's releases as read (cells not loaded): its counts are `part_rows` of them.
    releases: list[Release] = field(default_factory=list)


def alerts(
    session: Session, signals: Signals, organisation_id: uuid.UUID, week: dt.date, geo: str, taxonomy: str,
    now: dt.datetime, audit: Callable[..., int], actor: str,
) -> Alerts:
    """EARS C2 verdicts for every cell of one part in `week`, from protected values only.

    The tested week and the baseline weeks are opened like any other week (each charged once, to
    its own quarter); the guard weeks are not read. A baseline week that was never released and
    can no longer be is missing from the baseline. All or nothing: a refusal charges nothing.
    """
    opened = {week: open_week(session, signals, organisation_id, week, now, audit, actor)}
    for past in baseline_weeks(week, signals.rules)[:-1]:
        try:
            opened[past] = open_week(session, signals, organisation_id, past, now, audit, actor)
        except NotReleased:
            continue
    return _verdicts(session, signals, week, geo, taxonomy, opened)


def realerts(
    session: Session, signals: Signals, organisation_id: uuid.UUID, week: dt.date, geo: str, taxonomy: str,
    now: dt.datetime | None = None,
) -> Alerts | None:
    """`alerts` for an organisation that opened the week and every baseline week before; reads
    only. None when alerts has something to open (or to refuse). Given `now`, a baseline week that
    can no longer be released is left out too, as alerts leaves it out."""
    # Baseline weeks before the deployment's first can never be released: alerts leave them out,
    # and so does reading again (else every repeat would take the write path for nothing).
    first = first_week(session, signals)
    weeks = [past for past in baseline_weeks(week, signals.rules) if past == week or first is None or past >= first]
    if now is not None:
        # Nor can a week none of the territory's releases holds once retention took its tallies
        # (open_week refuses it, alerts skips it): a page must not ask to open it every time.
        stored = _released_weeks(session, organisation_id, weeks)
        weeks = [past for past in weeks if past == week or past in stored or releasable(past, signals, now)]
    opened = _reopen_weeks(session, signals, organisation_id, weeks, cells=False)
    return None if opened is None else _verdicts(session, signals, week, geo, taxonomy, opened)


def _verdicts(
    session: Session, signals: Signals, week: dt.date, geo: str, taxonomy: str, opened: Mapping[dt.date, Opened],
) -> Alerts:
    if geo not in GEO_LEVELS or taxonomy not in TAX_LEVELS:
        raise ValueError("unknown level")
    # The weeks' parts not kept yet, in one query.
    signals.parts.load(session, [r for o in opened.values() for r in o.releases], geo, taxonomy)
    weeks = baseline_weeks(week, signals.rules)
    ears = signals.rules.ears
    # The series c2 reads, one row per cell of the tested week (as counts orders them), one
    # column per week: the baseline, the (unread) guard weeks, the tested week. Every week gives
    # its protected values, shown or not: they are post-processing of the noise like the shown
    # ones, and a baseline without its small weeks would be biased upwards. The tested week's
    # verdict is only given for a cell shown that week.
    tested = [signals.parts.get(r, geo, taxonomy) for r in sorted(opened[week].releases, key=lambda r: r.municipality)]
    keys = [key for part in tested for key in part.keys]
    values = np.zeros((len(keys), len(weeks) + ears.guard), dtype=np.int64)
    present = np.zeros(values.shape, dtype=bool)
    starts = np.cumsum([0] + [len(part.keys) for part in tested]).tolist()
    index: dict[tuple[str, str | None, str | None, str, str | None], int] = {}
    for column, past in enumerate(weeks[:-1]):
        for release in opened[past].releases if past in opened else ():
            part = signals.parts.get(release, geo, taxonomy)
            same = [start for start, mine in zip(starts, tested) if part.keys is mine.keys or part.keys == mine.keys]
            if same:  # the same grid: the same cells in the same order
                values[same[0]: same[0] + len(part.keys), column] = part.values
                present[same[0]: same[0] + len(part.keys), column] = part.stored
                continue
            # The area file or the taxonomy changed between the weeks: cell by cell.
            index = index or {key: i for i, key in enumerate(keys)}
            for key, value, stored in zip(part.keys, part.values.tolist(), part.stored.tolist()):
                if (i := index.get(key)) is not None:
                    values[i, column], present[i, column] = value, stored
    if tested:
        values[:, -1] = np.concatenate([part.values for part in tested])
        present[:, -1] = np.concatenate([part.stored & part.shown for part in tested])
    noise_sd = np.concatenate([part.sd for part in tested]) if tested else np.zeros(0)
    verdicts = c2_many(values, present, ears, noise_sd=noise_sd)
    charged = sum(o.charged for o in opened.values())
    # The baseline as read: a week never released (before the service's first week) is not in it,
    # and naming it would claim a verdict rests on a week it did not see.
    read = [past for past in weeks[:-1] if past in opened]
    observed = [v if shown else None for v, shown in zip(verdicts.observed.tolist(), verdicts.shown.tolist())]
    cells = [
        schemas.Alert(*key, *figures)  # type: ignore[arg-type]
        for key, figures in zip(keys, zip(
            observed, _published(verdicts.expected), _published(verdicts.sd), _published(verdicts.rise),
            _published(verdicts.statistic), verdicts.flagged.tolist(), verdicts.reason))
    ]
    return Alerts(read, guard_weeks(week, signals.rules), round(charged, 6), int(verdicts.flagged.sum()), cells,
                  opened[week].releases)


def _published(column: np.ndarray) -> list[float | None]:
    """A column of verdict figures as published: each to a thousandth (Python's round, exact on the
    binary value), None for NaN. A column holds few distinct values (means of a few small counts),
    so each is rounded once."""
    distinct, inverse = np.unique(column.view(np.int64), return_inverse=True)  # by bits: -0.0 is not 0.0
    rounded = np.array([None if math.isnan(v) else round(v, 3) for v in distinct.view(np.float64).tolist()], dtype=object)
    return rounded[inverse.reshape(-1)].tolist()  # type: ignore[no-any-return]
