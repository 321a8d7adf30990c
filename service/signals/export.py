"""The CSV form of a week's counts: what the API's `format=csv` answers and the dashboard's
download gives, byte for byte (one function, so the two cannot drift)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from service.signals.schemas import CountCell

CSV_COLUMNS = ("week", "municipality", "district", "area", "phenomenon", "category", "value", "status", "low", "high", "sd")


def csv_text(week: str, rows: Sequence[CountCell]) -> str:
    """One row per cell of the part, in the order given, with a header; lines end in CRLF (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow((week, _cell(r.municipality), _cell(r.district or ""), _cell(r.area or ""), r.phenomenon,
                         r.category or "", *("" if v is None else v for v in (r.value, r.status, r.low, r.high, r.sd))))
    return out.getvalue()


def csv_filename(week: str) -> str:
    """The attachment's name."""
    return f"signals-{week}.csv"


def _cell(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (district names come from the
    area file, which allows any text): a leading = + - @ gets a quote, as OWASP advises."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
