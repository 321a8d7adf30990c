"""Which retention rule covers each table of the two databases, and the tables no rule needs.

Holdings map data classes to tables; a table can still slip through (a link table whose rows
outlive the record they describe: a revoked prevention service's territory stayed years after its
name was anonymised). So the check runs the other way round too: every table a migrated database
actually holds is purged by a holding (its own table or a dependent one), goes with another
table's purge, or is exempt with the reason. The deployment declares its exemptions beside its
holdings (in the service: service/<domain>/holdings.py, collected by service.holdings);
tests/test_table_coverage.py walks the real SQLite and PostgreSQL databases, main and vault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from retention.holdings import Holdings

# What any database migrated with Alembic holds besides the deployment's own tables.
MIGRATIONS_TABLE = {"alembic_version": "the schema's migration revision (each database has its own): metadata, no record"}


@dataclass(frozen=True)
class Coverage:
    """A deployment's holdings, the tables whose rows go with another purge, and the exempt ones."""

    holdings: Holdings
    # table -> (data class, how its rows go with that class's purge)
    purged_with: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # table -> why no retention rule applies to it
    exempt: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exempt", {**MIGRATIONS_TABLE, **self.exempt})

    def covered_tables(self) -> dict[str, str]:
        """Every table a retention rule purges, with its data class."""
        covered = {table: data_class for table, (data_class, _how) in self.purged_with.items()}
        for holding in self.holdings:
            covered[holding.table.name] = holding.data_class
            for dependent in holding.dependents:
                covered[dependent.table.name] = holding.data_class  # type: ignore[attr-defined]
        return covered

    def uncovered(self, tables: Iterable[str]) -> list[str]:
        """The tables neither purged by a retention rule nor exempt, sorted."""
        covered = self.covered_tables()
        return sorted(table for table in tables if table not in covered and table not in self.exempt)
