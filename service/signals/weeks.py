"""The week calendar: the week a report is counted in, when a week starts and ends, its label and
its quarter.

A week is an ISO week of local time in the deployment's time zone (`SAFESIGNAL_SIGNALS_TIME_ZONE`,
Europe/Brussels by default): it starts at local Monday 00:00 and ends at the next local Monday
00:00, so the week across a daylight-saving change lasts 167 or 169 hours. The people who read the
counts live by local time: in UTC weeks, a report made at 00:30 on a Monday in Brussels (Sunday
22:30 or 23:30 UTC) counted in the week before (an outside audit found it).

A week is named by its Monday, a date, everywhere: tallies, releases, the budget ledger, labels
and quarters. Only the moments a week starts and ends depend on the zone, so `WeekCalendar`
carries it, built once from the configuration; the label and the quarter of a Monday do not.

Reports are stored by the UTC hour observed, and count in the week of that hour's start. Belgium's
offsets are whole hours, so an hour never straddles two local weeks; in a zone with a half-hour
offset, the hour across local Monday midnight would count in the week it starts in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_WEEK = dt.timedelta(days=7)


class UnknownTimeZone(ValueError):
    """No IANA time zone has this name."""


@dataclass(frozen=True)
class WeekCalendar:
    """ISO weeks of local time in one time zone."""

    zone: ZoneInfo

    @classmethod
    def named(cls, name: object) -> WeekCalendar:
        """The calendar of an IANA time zone such as Europe/Brussels; UnknownTimeZone if there is none."""
        if not isinstance(name, str):
            raise UnknownTimeZone(f"not a time zone name: {name!r}")
        try:
            return cls(ZoneInfo(name))
        except (ValueError, KeyError, OSError):
            # KeyError: no such zone (ZoneInfoNotFoundError); ValueError: not a relative path
            # ("", "../x", "/etc/localtime"); OSError: a folder of zones ("Europe").
            raise UnknownTimeZone(f"no time zone named {name!r}") from None

    def week_of(self, moment: dt.datetime) -> dt.date:
        """The Monday of the local ISO week holding `moment` (an aware datetime): the week a report
        observed then is counted in."""
        day = moment.astimezone(self.zone).date()
        return day - dt.timedelta(days=day.weekday())

    def start(self, week: dt.date) -> dt.datetime:
        """When the week of this Monday starts: local Monday 00:00, as an aware UTC datetime.

        UTC so that arithmetic on it is elapsed time: Python adds a timedelta to a datetime in a
        ZoneInfo zone on the wall clock (Sunday 12:00 + 24 hours is Monday 12:00 even across a
        change), and a delay that must outlast the intake window cannot lose an hour that way.
        """
        # A local midnight that does not exist (a zone that springs forward at 00:00) resolves
        # to the moment the clocks jump, which is when the local Monday begins.
        return dt.datetime.combine(week, dt.time(), tzinfo=self.zone).astimezone(dt.timezone.utc)

    def end(self, week: dt.date) -> dt.datetime:
        """When the week of this Monday ends (the next week's start), as an aware UTC datetime."""
        return self.start(week + _WEEK)


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
