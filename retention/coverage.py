"""Which retention rule covers each table of the two databases, and the tables no rule needs.

retention.holdings maps data classes to tables; a table can still slip through (a link table
whose rows outlive the record they describe: a revoked prevention service's territory stayed
years after its name was anonymised). So the check runs the other way round too: every table a
migrated database actually holds is purged by a holding (its own table or a dependent one), goes
with another table's purge, or is exempt here with the reason. tests/test_table_coverage.py walks
the real SQLite and PostgreSQL databases, main and vault, against this.
"""

from __future__ import annotations

from collections.abc import Iterable

from retention.holdings import HOLDINGS

# Tables that hold no record of anyone, with why no retention rule applies to them.
EXEMPT: dict[str, str] = {
    "alembic_version": "the schema's migration revision (each database has its own): metadata, no record",
    "audit_head": "one row: the audit log's head hash and the anchor of its last prune; it changes with the log "
                  "and holds no entry of its own",
}

# Tables whose rows another purge removes, with the data class and how.
PURGED_WITH: dict[str, tuple[str, str]] = {
    "audit_checkpoint": ("audit_log", "checkpoints before the log's new start go with the entries they signed "
                                      "(service.audit.log.prune)"),
}


def covered_tables() -> dict[str, str]:
    """Every table a retention rule purges, with its data class."""
    covered = {table: data_class for table, (data_class, _how) in PURGED_WITH.items()}
    for holding in HOLDINGS:
        covered[holding.table.name] = holding.data_class
        for dependent in holding.dependents:
            covered[dependent.table.name] = holding.data_class  # type: ignore[attr-defined]
    return covered


def uncovered(tables: Iterable[str]) -> list[str]:
    """The tables neither purged by a retention rule nor exempt, sorted."""
    covered = covered_tables()
    return sorted(table for table in tables if table not in covered and table not in EXEMPT)
