"""Every table the databases actually hold is covered by a retention rule or exempt with a reason.

Walks the migrated databases themselves (SQLite and PostgreSQL, the main one and the key vault),
not the models: a table a migration creates without a model, or a link table no purge touches,
fails here.
"""

from __future__ import annotations

from sqlalchemy import inspect

from service.holdings import coverage
from retention.policy import load


COVERAGE = coverage()
EXEMPT, PURGED_WITH = COVERAGE.exempt, COVERAGE.purged_with
covered_tables, uncovered = COVERAGE.covered_tables, COVERAGE.uncovered


def test_every_table_of_both_databases_is_purged_by_a_rule_or_exempt_with_a_reason(app):
    state = app.extensions["safesignal"]
    seen = set()
    for engine in (state.engine, state.keys_engine):
        tables = inspect(engine).get_table_names()
        assert "alembic_version" in tables  # the real, migrated database
        assert uncovered(tables) == [], f"{engine.dialect.name}: tables without a retention rule or an exemption"
        seen.update(tables)
    assert "organisation_territory" in seen and covered_tables()["organisation_territory"] == "organisations"
    policies = load()
    assert set(covered_tables().values()) <= set(policies)  # every rule is one of the policy file's
    assert all(len(reason) > 20 for reason in EXEMPT.values())
    assert all(len(how) > 20 for _, how in PURGED_WITH.values())
    # Exemptions and rules that name no table of either database would hide nothing but rot.
    assert set(EXEMPT) | set(PURGED_WITH) | set(covered_tables()) <= seen


def test_a_table_without_a_rule_is_reported():
    assert uncovered(["report", "alembic_version", "new_things"]) == ["new_things"]
