"""The week calendar: the UTC ISO week a report is counted in, its label, and its quarter."""

from __future__ import annotations

import datetime as dt


def week_of(moment: dt.datetime) -> dt.date:
    """The Monday of the UTC ISO week holding `moment`: the week a report is counted in."""
    day = moment.astimezone(dt.timezone.utc).date()
    return day - dt.timedelta(days=day.weekday())


def week_label(week: dt.date) -> str:
    """ISO week label of a Monday: 2026-W48."""
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


def parse_week(label: str) -> dt.date | None:
    """The Monday of an ISO week label such as 2026-W48, None if it is not one or its year is
    outside 2000-2999 (weeks the service cannot hold, and whose arithmetic would overflow)."""
    if len(label) != 8 or label[4:6] != "-W" or not (label[:4].isascii() and label[:4].isdigit()
                                                     and label[6:].isascii() and label[6:].isdigit()):
        return None
    if not 2000 <= int(label[:4]) <= 2999:
        return None
    try:
        return dt.date.fromisocalendar(int(label[:4]), int(label[6:]), 1)
    except ValueError:
        return None


def quarter_of(week: dt.date) -> str:
    """The calendar quarter of a week's Monday: 2026-Q4."""
    return f"{week.year}-Q{(week.month - 1) // 3 + 1}"
