"""The declarative base, the column types and the table conventions every model shares.

The same models run on the embedded SQLite database and on PostgreSQL. Timestamps are stored
timezone-aware in UTC on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite keeps no zone, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC timestamps only")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    """Base of every model. Each model names its retention data class in `__data_class__`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Execution option for a transaction that will only read (see database.engines).
READ_ONLY = "safesignal_read_only"
# Table info key: (key columns, summed columns). GroupCommit writes such a table as an upsert
# that adds the summed columns to an existing row with the same key.
ACCUMULATE = "accumulate"


def upsert_insert(dialect_name: str) -> Callable[..., Any]:
    """The INSERT construct of a dialect, the one with ON CONFLICT: PostgreSQL's or SQLite's."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert

