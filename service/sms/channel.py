"""The SMS channel: residents text a keyword to a municipal number (service.sms.inbound).

A text becomes one report: the keyword gives the category, the postcode (or the number texted) the
area, the rest of the text is its note, screened like every note. Who counts as one reporter is
the sender's pseudonym of the day (service.sms.inbound): the contribution cap and flood control
see one sender within a day, and nothing links a sender to another day once that day's key is
destroyed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.reports.channels import ReportChannel, Reporter

# Client ids of SMS reports are scoped apart from every organisation's (their scopes are 16-byte ids).
SCOPE = b"sms"


@dataclass(frozen=True, slots=True)
class SmsReport:
    """What intake reads of one text (service.reports.channels.ReportIn)."""

    category: str
    observed_at: dt.datetime
    note: str | None
    client_id: str
    count: int = 1
    age_band: str | None = None
    sex: str | None = None
    referral: bool = False
    referral_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """The sender of a text, as intake's reporter: its pseudonym of the day and the area found."""

    pseudonym: bytes
    area: str | None


def _reporter(sender: Any) -> Reporter:
    return Reporter(SCOPE, sender.pseudonym, sender.area)


def _locate(report: Any, reporter: Reporter, areas: Any) -> tuple[str | None, dict[str, list[str]]]:
    """The area service.sms.inbound found (the postcode's, else the number texted's)."""
    if reporter.area is None:
        return None, {"area": ["Neither a postcode nor a number of this deployment's SMS file."]}
    return reporter.area, {}


CHANNEL = ReportChannel(
    name="sms",
    data_class="sms_reports",
    report=SmsReport,
    batch=None,
    reporter=_reporter,
    locate=_locate,
)
