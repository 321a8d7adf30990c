"""Wire types of the analysts' endpoints. Protected values and codes only: never a report, a
tally, an exact count or a reporter."""

from __future__ import annotations

from typing import Literal

import msgspec

GeoLevel = Literal["area", "district", "municipality"]
TaxonomyLevel = Literal["category", "phenomenon"]
# One status for every hidden cell: telling a complement (at least k) from a small cell (under k)
# would narrow a suppressed cell's value, down to an exact 0 in a two-cell total.
CellStatus = Literal["shown", "suppressed"]


class CalendarWeek(msgspec.Struct):
    """A week on the release calendar."""

    week: str  # ISO week, 2026-W48
    starts: str  # its Monday (UTC)
    release_at: str  # when it is (or was) released
    status: Literal["released", "due", "scheduled"]
    opened: bool  # whether this organisation has opened it (reading it again costs nothing)


class Calendar(msgspec.Struct):
    """The release calendar and the protection every release has."""

    delay_days: int
    k: int
    contribution_cap: int
    epsilon_per_release: float
    budget_per_quarter: float
    noise_sd: float
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
    """One cell. `value` is the protected count, null when the cell is suppressed."""

    municipality: str
    district: str | None
    area: str | None
    phenomenon: str
    category: str | None
    value: int | None
    status: CellStatus


class Counts(msgspec.Struct):
    """One week's protected counts for the organisation's territory, at the levels asked for."""

    week: str
    released_at: str
    geo: GeoLevel
    taxonomy: TaxonomyLevel
    k: int
    epsilon: float
    noise_sd: float
    charged: float  # epsilon this request took from the budget (0 when opened before)
    cells: list[CountCell]


class Alert(msgspec.Struct):
    """The EARS C2 verdict for one cell of the tested week."""

    municipality: str
    district: str | None
    area: str | None
    phenomenon: str
    category: str | None
    observed: int | None
    expected: float | None
    rise: float | None
    statistic: float | None
    flagged: bool
    reason: Literal["flagged", "within_baseline", "suppressed", "short_baseline"]


class Alerts(msgspec.Struct):
    """Aberration signals of one week, computed from protected values only."""

    week: str
    geo: GeoLevel
    taxonomy: TaxonomyLevel
    method: str
    baseline_weeks: list[str]
    guard_weeks: list[str]
    threshold: float
    min_sd: float
    charged: float  # epsilon this request took from the budget, over every week it opened
    flagged: int
    cells: list[Alert]


SCHEMAS = (Calendar, Budget, Counts, Alerts)
