"""The group commit: the writes of concurrent requests committed together."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, DateTime, Engine, String, Table
from sqlalchemy.types import TypeDecorator

from database.base import ACCUMULATE, upsert_insert


class _PreparedInsert:
    """An INSERT of every column of a table, compiled once, with the dialect's own conversions.

    SQLAlchemy converts each value of each row on every execution; for a batch of 500 reports that
    bookkeeping cost more than the database's own work (bench/intake.py, profiled). This applies
    the same bind processors SQLAlchemy would, and remembers the converted form of values that
    repeat across rows (the hours, the epoch, category and area codes), then hands the rows to the
    driver's executemany through `exec_driver_sql`, so engine events and logging still see it.
    """

    def __init__(self, table: Table, dialect: Any):
        statement: Any = table.insert()
        accumulate = table.info.get(ACCUMULATE)
        if accumulate is not None:
            keys, sums = accumulate
            upsert = upsert_insert(dialect.name)(table)
            statement = upsert.on_conflict_do_update(
                index_elements=list(keys), set_={name: table.c[name] + upsert.excluded[name] for name in sums}
            )
        # Columns with a server-side default (an autoincrement key) are left to the database.
        columns = [column.key for column in table.c if not _generated(column)]
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        self.statement = str(compiled)
        self._positional = bool(compiled.positional)
        names = list(compiled.positiontup) if compiled.positional else columns  # type: ignore[arg-type]
        self._columns = []
        for name in names:
            column = table.c[name]
            processor = column.type.dialect_impl(dialect).bind_processor(dialect)
            kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            repeats = isinstance(kind, (String, Date, DateTime))
            self._columns.append((name, processor, repeats))

    def parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        """The rows in the driver's form: tuples for positional paramstyles, dicts otherwise."""
        memo: dict[tuple[str, Any], Any] = {}
        converted = []
        for row in rows:
            values = []
            for name, processor, repeats in self._columns:
                value = row[name]
                if processor is not None and value is not None:
                    if repeats:
                        key = (name, value)
                        if key not in memo:
                            memo[key] = processor(value)
                        value = memo[key]
                    else:
                        value = processor(value)
                values.append(value)
            converted.append(tuple(values) if self._positional else dict(zip((c[0] for c in self._columns), values)))
        return converted


def _generated(column: Any) -> bool:
    """Whether the database fills this column itself (an integer autoincrement primary key)."""
    return column.primary_key and column.autoincrement is True


def _accumulated(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of an accumulating table merged by key and sorted: every transaction then takes the
    key locks in one order, so two processes adding to the same cells cannot deadlock."""
    keys, sums = table.info[ACCUMULATE]
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in keys)
        if key in merged:
            for name in sums:
                merged[key][name] += row[name]
        else:
            merged[key] = dict(row)
    return [merged[key] for key in sorted(merged)]


@dataclass(eq=False)
class _Entry:
    writes: Sequence[tuple[Table, list[dict[str, Any]]]]
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    """Commit the writes of concurrent requests together: one transaction, one fsync, for many.

    A commit per request is what limits small-request intake: the BEGIN/COMMIT round and the
    durable flush cost more than the insert. Leader/follower, as databases do their own group
    commit: a request that finds no commit under way becomes the leader and commits every
    entry waiting at that moment in one transaction; requests arriving meanwhile wait and go
    in the next group. Nothing is acknowledged before its group is durable, and each entry is
    all-or-nothing: when a group fails (a unique constraint, say), each of its entries is
    retried in a transaction of its own, so one request's conflict never fails another's.
    Under a sync worker (one request at a time) every group is one entry: a plain commit.
    """

    def __init__(self, engine: Engine):
        self._engine = engine
        self._condition = threading.Condition()
        self._pending: list[_Entry] = []
        self._leading = False
        self._inserts: dict[Table, _PreparedInsert] = {}
        self._autocommit_single_rows = engine.dialect.name == "postgresql"

    def write(self, writes: Sequence[tuple[Table, list[dict[str, Any]]]]) -> None:
        """Insert `rows` into each table, durably, as one unit; return once committed."""
        entry = _Entry(writes)
        group: list[_Entry] = []
        with self._condition:
            self._pending.append(entry)
            while self._leading and not entry.done:
                self._condition.wait()
            if not entry.done:  # lead: take everything waiting, this entry included
                self._leading = True
                group, self._pending = self._pending, []
        if group:
            try:
                self._commit(group)
            finally:
                with self._condition:
                    self._leading = False
                    self._condition.notify_all()
        if entry.error is not None:
            raise entry.error

    def _commit(self, group: list[_Entry]) -> None:
        try:
            self._transaction(group)
        except BaseException as error:
            if len(group) == 1:
                group[0].error = error
            else:
                for entry in group:
                    try:
                        self._transaction([entry])
                    except BaseException as own:  # noqa: BLE001 - handed to the entry's request
                        entry.error = own
        finally:
            for entry in group:
                entry.done = True

    def _transaction(self, group: list[_Entry]) -> None:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for entry in group:
            for table, rows in entry.writes:
                by_table.setdefault(table, []).extend(rows)
        writes = [
            (self._insert(table), _accumulated(table, rows) if ACCUMULATE in table.info else rows)
            for table, rows in by_table.items() if rows
        ]
        if self._autocommit_single_rows and len(writes) == 1 and len(writes[0][1]) == 1:
            # One row into one table is one statement, atomic by itself: on PostgreSQL, running it
            # in autocommit saves the BEGIN and COMMIT round trips (a third of a single report's
            # write). The commit is as durable as any other.
            insert, rows = writes[0]
            with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(insert.statement, insert.parameters(rows)[0])
            return
        with self._engine.begin() as connection:
            for insert, rows in writes:
                connection.exec_driver_sql(insert.statement, insert.parameters(rows))

    def _insert(self, table: Table) -> _PreparedInsert:
        insert = self._inserts.get(table)
        if insert is None:
            insert = self._inserts[table] = _PreparedInsert(table, self._engine.dialect)
        return insert

