"""Wire types of the analysts' endpoints. Protected values and codes only: never a report, a
tally, an exact count or a reporter."""

from __future__ import annotations

from typing import Literal

import msgspec

GeoLevel = Literal["area", "district", "municipality"]
TaxonomyLevel = Literal["category", "phenomenon"]
# Decided on the protected value and its interval only (service.signals.protection): shown when
# the 90% interval lies at or above k; below_k when the protected value is under k; uncertain
# otherwise. "suppressed" is what releases computed by earlier versions say of every hidden cell.
CellStatus = Literal["shown", "below_k", "uncertain", "suppressed"]


class CalendarWeek(msgspec.Struct):
    """A week on the release calendar."""

    week: str  # ISO week, 2026-W48
    starts: str  # its Monday (a date, in the configured time zone)
    release_at: str  # when it is (or was) released
    status: Literal["released", "due", "scheduled"]
    opened: bool  # whether this organisation has opened it (reading it again costs nothing)


class PartNoise(msgspec.Struct):
    """How one part of every release is measured: its share of epsilon and its noise."""

    part: str  # geographic level / taxonomy level, e.g. district/category
    share: float  # of epsilon_per_release; 0 when the part is not measured but summed from the others
    epsilon: float
    scale: float | None  # of the discrete Laplace noise; null when not measured
    sd: float | None  # standard deviation of that noise, before the consistency step narrows it


class Calendar(msgspec.Struct):
    """The release calendar and the protection every release has."""

    delay_days: int
    time_zone: str  # weeks are ISO weeks of local time in this zone
    k: int
    contribution_cap: int
    epsilon_per_release: float
    budget_per_quarter: float
    confidence: float  # of the interval published with every shown value
    noise: list[PartNoise]
    weeks: list[CalendarWeek]


class QuarterBudget(msgspec.Struct):
    """Spending on one quarter's weeks."""

    quarter: str  # 2026-Q4: the quarter of the weeks' Mondays
    budget: float
    spent: float
    remaining: float
    weeks_opened: list[str]


class Budget(msgspec.Struct):
    """The organisation's privacy-budget ledger, by quarter, newest first."""

    quarters: list[QuarterBudget]


class CountCell(msgspec.Struct):
    """One cell. `value` is the protected count and [low, high] its 90% interval, all null unless
    the cell is shown; `sd` is the standard deviation of the value's noise (it depends on the
    grid and the settings only, never on the counts)."""

    municipality: str
    district: str | None
    area: str | None
    phenomenon: str
    category: str | None
    value: int | None
    status: CellStatus
    low: int | None = None
    high: int | None = None
    sd: float | None = None


class Counts(msgspec.Struct):
    """One week's protected counts for the organisation's territory, at the levels asked for."""

    week: str
    released_at: str
    geo: GeoLevel
    taxonomy: TaxonomyLevel
    k: int
    epsilon: float
    confidence: float  # of every cell's [low, high]
    charged: float  # epsilon this request took from the budget (0 when opened before)
    cells: list[CountCell]


class Alert(msgspec.Struct):
    """The EARS C2 verdict for one cell of the tested week."""

    municipality: str
    district: str | None
    area: str | None
    phenomenon: str
    category: str | None
    observed: int | None  # the protected value, null when the cell is not shown this week
    expected: float | None
    sd: float | None  # what the rise is divided by: the baseline's spread, never below noise and chance
    rise: float | None
    statistic: float | None
    flagged: bool
    reason: Literal["flagged", "within_baseline", "not_shown", "short_baseline"]


class Alerts(msgspec.Struct):
    """Aberration signals of one week, computed from protected values only."""

    week: str
    geo: GeoLevel
    taxonomy: TaxonomyLevel
    method: str
    baseline_weeks: list[str]
    guard_weeks: list[str]
    threshold: float
    charged: float  # epsilon this request took from the budget, over every week it opened
    flagged: int
    cells: list[Alert]


SCHEMAS = (Calendar, Budget, Counts, Alerts)
