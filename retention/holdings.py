"""Where each data class lives, what its period counts from, and what can be done at expiry.

The policy file says how long; this module says where: the table, the column a record's age is
counted from, and the actions its storage supports (only encrypted classes can be shredded, only
classes with identifying fields to overwrite can be anonymised). Each domain declares its own
holdings beside its models; `Holdings` is the ordered collection a deployment builds at start.
Every stored table names its data class in `__data_class__`; `stored_data_classes()` walks the
models, so a new table without a policy stops the service at start
(retention.policy.check_coverage) and fails CI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Date, Table, and_, select, true

from retention.policy import Expiry


def last_expired_epoch(cutoff: dt.datetime) -> dt.date:
    """The newest epoch (UTC day) whose start lies strictly before `cutoff`."""
    day = cutoff.astimezone(dt.timezone.utc)
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.date() if day > midnight else day.date() - dt.timedelta(days=1)


def epoch_start(epoch: dt.date) -> dt.datetime:
    return dt.datetime.combine(epoch, dt.time(), tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Holding:
    """One data class's rows: table, filter, age column and possible actions."""

    data_class: str
    database: Literal["main", "keys"]
    table: Table
    age: Column[Any]
    counted_from: str
    actions: frozenset[Expiry]
    where: ColumnElement[bool] = field(default_factory=true)
    # For anonymise: the values written, and how to tell a row that already has them.
    anonymise: dict[str, Any] | None = None
    anonymised: ColumnElement[bool] | None = None
    # Foreign keys of rows in other tables that belong to a record and are deleted once it is
    # past its period (what an anonymised record keeps must not be more than its own fields).
    dependents: tuple[Column[Any], ...] = ()
    # Whether the database keeps this class's rows counted per age value in `held_count`
    # (retention.models: triggers on the table, added by a migration), so that the DPO's
    # compliance and inventory read those counts instead of counting the rows. Only for a class
    # of the main database kept by epoch whose rows are all held as they are (nothing anonymised,
    # no dependents): then every figure they show follows from the counts per day.
    counted: bool = False

    def __post_init__(self) -> None:
        if self.counted and not (self.by_epoch and self.database == "main" and self.anonymised is None
                                 and not self.dependents):
            raise ValueError(f"data class {self.data_class} cannot be counted per day: only a main-database class "
                             "kept by epoch, without anonymisation or dependents")

    @property
    def by_epoch(self) -> bool:
        return isinstance(self.age.type, Date)

    @property
    def key(self) -> Column[Any]:
        (column,) = self.table.primary_key.columns
        return column

    def past(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        """Rows past their period at `cutoff`, handled already or not."""
        if self.by_epoch:
            return and_(self.where, self.age <= last_expired_epoch(cutoff))
        return and_(self.where, self.age < cutoff)

    def expired(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        """Rows past their period at `cutoff` that the action still has to handle."""
        if self.anonymised is not None:
            return and_(self.past(cutoff), ~self.anonymised)
        return self.past(cutoff)

    def dependents_past(self, dependent: Column[Any], cutoff: dt.datetime) -> ColumnElement[bool]:
        """Rows of a dependent table whose record is past its period at `cutoff`."""
        return dependent.in_(select(self.key).where(self.past(cutoff)))

    def age_of(self, value: dt.date | dt.datetime, now: dt.datetime) -> dt.timedelta:
        """How old a record with this age value is at `now`."""
        start = epoch_start(value) if self.by_epoch and not isinstance(value, dt.datetime) else value
        return now - start  # type: ignore[operator]


class Holdings:
    """Every data class a deployment stores, in the order a retention run handles them.

    Built once at start from what each domain declares beside its models (in the service:
    service/<domain>/holdings.py, collected by service.holdings) and handed to Retention: this
    package knows no domain. The order is behaviour: a run purges in it (a used enrollment code
    points at the credential it became, so codes go before credentials).
    """

    def __init__(self, holdings: Iterable[Holding]):
        self._holdings = tuple(holdings)
        self._by_class: dict[str, Holding] = {}
        for holding in self._holdings:
            if holding.data_class in self._by_class:
                raise ValueError(f"data class {holding.data_class} is declared twice")
            self._by_class[holding.data_class] = holding

    def __iter__(self) -> Iterator[Holding]:
        return iter(self._holdings)

    def __len__(self) -> int:
        return len(self._holdings)

    def __contains__(self, data_class: object) -> bool:
        return data_class in self._by_class

    def __getitem__(self, data_class: str) -> Holding:
        return self._by_class[data_class]

    def supported_actions(self) -> dict[str, frozenset[Expiry]]:
        """What can be done at expiry, per data class (for retention.policy.check_coverage)."""
        return {holding.data_class: holding.actions for holding in self._holdings}


def _declared(mappers: Any) -> Iterator[tuple[str, str]]:
    for mapper in mappers:
        declared = getattr(mapper.class_, "__data_class__", None)
        names = (declared,) if isinstance(declared, str) else tuple(declared or ())
        for name in names:
            yield mapper.class_.__name__, name


def stored_data_classes(*bases: Any) -> set[str]:
    """Every data class a model of these declarative bases declares (every base of every database)."""
    return {name for _, name in _declared(mapper for base in bases for mapper in base.registry.mappers)}
