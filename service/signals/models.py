"""What aggregated signals keep: exact tallies at intake, computed releases, and the budget ledger.

Three data classes, each with its own retention policy:

- `signal_tallies`: how many reports one reporter (by pseudonym) made in one cell (local ISO week
  observed: service.signals.weeks; area; category). Kept up to date in the transaction that
  stores the reports, so a release never scans reports and costs the same whatever their volume.
  Per reporter, because contribution bounding caps what one reporter adds to a cell. They never
  leave the service.
- `signal_releases`: a municipality's protected table for one week, computed once and stored; what
  analysts read. Only protected values (post-processed noisy measurements, never an exact count),
  their noise sd and each cell's status are in it.
- `privacy_budget_ledger`: which analyst organisation opened which week, and the epsilon that cost.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class Tally(Base):
    """Reports of one reporter in one cell; intake adds to `n` with an upsert on the cell key."""

    __tablename__ = "signal_tally"
    __table_args__ = (
        UniqueConstraint("week", "area", "category", "reporter"),
        # Intake writes this table through GroupCommit, which turns a conflict on the cell key
        # into n = n + the new n (database.base.ACCUMULATE).
        {"info": {"accumulate": (("week", "area", "category", "reporter"), ("n",))}},
    )
    __data_class__ = "signal_tallies"

    # A surrogate key: retention deletes in batches by one key column.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    # The Monday of the ISO week (local time in the deployment's zone) the report was observed in.
    week: Mapped[dt.date] = mapped_column(Date)
    area: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    reporter: Mapped[bytes] = mapped_column(LargeBinary(16))
    n: Mapped[int] = mapped_column(Integer)


class Release(Base):
    """One municipality's protected table for one week. Immutable once stored."""

    __tablename__ = "signal_release"
    __table_args__ = (UniqueConstraint("municipality", "week"),)
    __data_class__ = "signal_releases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    municipality: Mapped[str] = mapped_column(String(64))
    week: Mapped[dt.date] = mapped_column(Date, index=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    epsilon: Mapped[float] = mapped_column(Float)
    # The parameters the table was computed with (k, cap, noise scales, taxonomy and area
    # versions), as JSON; see service.signals.services.compute_missing.
    params: Mapped[bytes] = mapped_column(LargeBinary)
    # The cells, one list per part (see service.signals.protection.encode_table). One immutable
    # document rather than a row per cell: a read is one row whatever the grid's size.
    cells: Mapped[bytes] = mapped_column(LargeBinary)
    # Each part again, column by column (protection.encode_columns): what alerts read, one part of
    # eight weeks in one query, without fetching and parsing the whole document (on PostgreSQL
    # that was most of a request whose parts were not cached yet). Loaded only when asked for.
    # NULL in releases stored before revision 0007: those are read from `cells`.
    part_area_category: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    part_area_phenomenon: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    part_district_category: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    part_district_phenomenon: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    part_municipality_category: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    part_municipality_phenomenon: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


def part_column(geo: str, taxonomy: str) -> str:
    """The attribute (and column) of Release holding one part column by column."""
    return f"part_{geo}_{taxonomy}"


class BudgetSpend(Base):
    """That an analyst organisation opened a week, and what it cost. One row per (organisation, week)."""

    __tablename__ = "privacy_budget_spend"
    __table_args__ = (UniqueConstraint("organisation_id", "week"),)
    __data_class__ = "privacy_budget_ledger"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    week: Mapped[dt.date] = mapped_column(Date)
    # The calendar quarter whose budget paid, "2026-Q4" (the quarter of the week's Monday).
    quarter: Mapped[str] = mapped_column(String(7))
    epsilon: Mapped[float] = mapped_column(Float)
    # The municipalities whose releases the organisation has seen for this week, comma-separated
    # and sorted: a territory that grows later gets the rest recorded and audited.
    municipalities: Mapped[str] = mapped_column(String(1000))
    spent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Territory(Base):
    """A municipality an analyst organisation may see. Configuration, not personal data."""

    __tablename__ = "organisation_territory"
    __data_class__ = "organisations"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    municipality: Mapped[str] = mapped_column(String(64), primary_key=True)
