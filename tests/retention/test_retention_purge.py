"""Retention runs: exact boundaries, shred before delete, backups made unreadable, idempotence.

The clock is frozen (support.Clock) and moved to the microsecond around each period's end.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from retention_support import outcome, state as app_state, submit
from sqlalchemy import func, select, text

from crypto.errors import DecryptionError
from service.audit import log as audit_log
from service.devices.models import EnrollmentCode
from service.vault.models import DataKeyRecord
from service.partners.models import Credential, Organisation
from service.reports.models import Report, Submission
from service.reports.services import read_payload

DAY = dt.timedelta(days=1)


def _midnight(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)




def _count(engine, model, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()






def test_an_epoch_is_kept_exactly_at_its_period_and_shredded_one_microsecond_later(app, client, partners, clock, db_engine):
    token = partners.pharmacy()
    submit(client, token, clock)
    epoch_start = _midnight(clock.now)
    state = app_state(app)
    keys_engine = state.keys_engine

    clock.now = epoch_start + dt.timedelta(days=35)  # exactly at the period: kept
    run = state.retention.run()
    assert outcome(run, "pharmacy_reports").rows == 0 and outcome(run, "pharmacy_reports").keys_destroyed == 0
    assert _count(db_engine, Report) == 3
    assert _count(keys_engine, DataKeyRecord, DataKeyRecord.destroyed_at.is_(None)) == 1

    clock.now += dt.timedelta(microseconds=1)  # one microsecond past: shredded, then deleted
    run = state.retention.run()
    result = outcome(run, "pharmacy_reports")
    assert (result.rows, result.keys_destroyed, result.outcome) == (3, 1, "ok")
    assert result.epochs == [epoch_start.date().isoformat()]
    assert _count(db_engine, Report) == 0
    with keys_engine.connect() as connection:
        (key,) = connection.execute(select(DataKeyRecord.__table__)).all()
    assert key.destroyed_at == clock.now and key.wrapped is None and key.kek_id is None
    assert key.logged_at is not None  # the destruction is in the audit log


def test_timestamp_classes_keep_a_record_at_its_period_and_remove_it_one_microsecond_later(app, partners, clock, db_engine):
    organisation_id, _ = partners.add("prevention_service", "Preventiedienst")
    revoked_at = clock.now
    partners.run("partners", "revoke", organisation_id)
    state = app_state(app)

    clock.now = revoked_at + dt.timedelta(days=90)
    state.retention.run()
    assert _count(db_engine, Credential) == 1
    clock.now += dt.timedelta(microseconds=1)
    assert outcome(state.retention.run(), "credentials").rows == 1
    assert _count(db_engine, Credential) == 0

    # The organisation is anonymised, not deleted, a year after its revocation.
    clock.now = revoked_at + dt.timedelta(days=365)
    state.retention.run()
    with db_engine.connect() as connection:
        assert connection.execute(select(Organisation.name)).scalar_one() == "Preventiedienst"
    clock.now += dt.timedelta(microseconds=1)
    assert outcome(state.retention.run(), "organisations").rows == 1
    with db_engine.connect() as connection:
        organisation = connection.execute(select(Organisation.__table__)).one()
    assert organisation.name == "(anonymised)" and organisation.area is None and organisation.kind == "prevention_service"
    assert outcome(state.retention.run(), "organisations").rows == 0  # anonymised once


def test_a_revoked_prevention_services_territory_goes_with_its_name_one_microsecond_after_the_period(app, partners, clock, db_engine):
    from service.signals.models import Territory

    state = app_state(app)
    municipality = next(iter(state.signals.grids))
    output = partners.run("partners", "add", "--kind", "prevention_service", "--name", "Preventiedienst", "--municipality", municipality)
    organisation_id = output.split()[1]
    revoked_at = clock.now
    partners.run("partners", "revoke", organisation_id)

    clock.now = revoked_at + dt.timedelta(days=365)  # exactly at the period: kept
    assert outcome(state.retention.run(), "organisations").rows == 0
    assert _count(db_engine, Territory) == 1
    clock.now += dt.timedelta(microseconds=1)
    status = {s.data_class: s for s in state.retention.status()}["organisations"]
    assert (status.past_period, status.compliant) == (2, False)  # the organisation and its territory
    assert outcome(state.retention.run(), "organisations").rows == 2
    assert _count(db_engine, Territory) == 0
    with db_engine.connect() as connection:
        assert connection.execute(select(Organisation.name)).scalar_one() == "(anonymised)"
    assert {s.data_class: s for s in state.retention.status()}["organisations"].compliant


def test_enrollment_codes_go_seven_days_after_their_validity(app, partners, clock, db_engine):
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    partners.enroll_code(organisation_id)
    with db_engine.connect() as connection:
        expires_at = connection.execute(select(EnrollmentCode.expires_at)).scalar_one()
    clock.now = expires_at + dt.timedelta(days=7)
    app_state(app).retention.run()
    assert _count(db_engine, EnrollmentCode) == 1
    clock.now += dt.timedelta(microseconds=1)
    app_state(app).retention.run()
    assert _count(db_engine, EnrollmentCode) == 0


def test_a_copy_of_the_database_taken_before_the_shred_cannot_decrypt_expired_payloads(app, app_with, client, partners, clock, db_engine):
    """The issue's backup test: expired payloads in an old copy are unreadable, others still readable."""
    state = app_state(app)
    token = partners.pharmacy()
    submit(client, token, clock, note="oud")  # day 0: will expire
    clock.advance(days=20)
    submit(client, token, clock, note="recent")  # day 20: kept
    # The backup: every table of the main database, as a dump would take it.
    with db_engine.connect() as connection:
        backup = connection.execute(select(Report.__table__)).all()
        tables = set(db_engine.dialect.get_table_names(connection))
    assert "data_key" not in tables  # keys never travel with the database
    assert {read_payload(state.intake, row).note for row in backup} == {"oud", "recent"}

    clock.now = _midnight(clock.now - dt.timedelta(days=20)) + dt.timedelta(days=35, microseconds=1)
    assert outcome(state.retention.run(), "pharmacy_reports").keys_destroyed == 1

    # An attacker with the backup, the KEK and the live key vault, through a fresh process's key ring.
    fresh = app_state(app_with())
    readable, unreadable = [], []
    for row in backup:
        try:
            readable.append(read_payload(fresh.intake, row).note)
        except DecryptionError:
            unreadable.append(row.observed_hour)
    assert readable == ["recent"] * 3 and len(unreadable) == 3


def test_a_second_run_finds_nothing_and_the_chain_stays_valid(app, client, partners, clock, db_engine):
    state = app_state(app)
    submit(client, partners.pharmacy(), clock)
    clock.advance(days=40)
    first = state.retention.run()
    second = state.retention.run()
    assert outcome(first, "pharmacy_reports").rows == 3
    assert outcome(first, "idempotency_records").rows == 3
    assert all(result.rows == 0 and result.keys_destroyed == 0 for result in second.classes)
    assert _count(db_engine, Submission) == 0
    with db_engine.connect() as connection:
        assert audit_log.verify(connection, state.retention.signer.public_key).valid
        kinds = [row[0] for row in connection.execute(text("SELECT kind FROM audit_entry ORDER BY seq"))]
    assert kinds.count("keys.destroyed") == 1
    assert kinds.count("retention.purged") == 2 * len(first.classes)


def test_a_destruction_the_audit_log_missed_is_logged_by_the_next_run(app, client, partners, clock, db_engine):
    """A crash between destroying keys (vault) and logging it (main database) loses no record."""
    state = app_state(app)
    submit(client, partners.pharmacy(), clock)
    (key,) = state.intake.keystore.live_through("pharmacy_reports", clock.now.date())
    state.intake.keystore.destroy([key.key_id], clock.now)  # what a crashed run did before dying
    state.retention.run()
    with db_engine.connect() as connection:
        (detail,) = connection.execute(text("SELECT detail FROM audit_entry WHERE kind = 'keys.destroyed'")).scalars()
    assert json.loads(detail)["key_ids"] == [key.key_id.hex()]
    assert state.intake.keystore.unlogged_destructions() == []


def test_dry_run_counts_and_changes_nothing(app, client, partners, clock, db_engine):
    state = app_state(app)
    submit(client, partners.pharmacy(), clock)
    clock.advance(days=36)
    with db_engine.connect() as connection:
        entries = connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
    run = state.retention.run(dry_run=True)
    assert outcome(run, "pharmacy_reports").rows == 3 and outcome(run, "pharmacy_reports").keys_destroyed == 1
    assert _count(db_engine, Report) == 3
    assert len(state.intake.keystore.live_through("pharmacy_reports", clock.now.date())) == 1
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == entries


def test_rows_go_in_bounded_batches(app_with, client, partners, clock):
    small = app_with(RETENTION_BATCH_SIZE=2)
    with small.test_client() as small_client:
        token = partners.pharmacy()
        submit(small_client, token, clock, count=5)
    clock.advance(days=36)
    result = outcome(app_state(small).retention.run(), "pharmacy_reports")
    assert result.rows == 5 and result.outcome == "ok"


def test_status_flags_what_is_past_its_period_until_a_run_removes_it(app, client, partners, clock):
    state = app_state(app)
    submit(client, partners.pharmacy(), clock)
    clock.advance(days=36)
    status = {s.data_class: s for s in state.retention.status()}
    reports = status["pharmacy_reports"]
    assert (reports.records, reports.past_period, reports.live_keys_past_period, reports.compliant) == (3, 3, 1, False)
    assert reports.oldest_age_days > 35
    result = app.test_cli_runner().invoke(args=["retention", "status"])
    assert result.exit_code == 1 and "OVERDUE" in result.output

    state.retention.run()
    assert all(s.compliant and s.past_period == 0 for s in state.retention.status())
    result = app.test_cli_runner().invoke(args=["retention", "status"])
    assert result.exit_code == 0 and "OVERDUE" not in result.output


def test_the_cli_runs_retention_and_reports_per_class(app, client, partners, clock):
    submit(client, partners.pharmacy(), clock)
    clock.advance(days=36)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0 and "would remove 3 rows, 1 keys destroyed" in dry.output
    done = runner.invoke(args=["retention", "run", "--json"])
    assert done.exit_code == 0
    outcome = json.loads(done.output)
    (reports,) = [c for c in outcome["classes"] if c["data_class"] == "pharmacy_reports"]
    assert reports["rows"] == 3 and reports["keys_destroyed"] == 1 and outcome["checkpoint"] is not None


def test_the_cli_tables_line_up_whatever_the_length_of_a_class_name(app, client, partners, clock):
    """privacy_budget_ledger and redeem_failure_counts are longer than 20 characters: the column
    after the class name must still start at the same place on every row."""
    submit(client, partners.pharmacy(), clock)
    runner = app.test_cli_runner()
    classes = {s.data_class for s in app_state(app).retention.status()}
    assert max(len(name) for name in classes) > 20
    # (command, index of the class name's word, what follows it up to the next column's edge: the
    # end of the right-aligned period, the start of a left-aligned action)
    tables = (
        (["retention", "status"], 0, r" +\d+d"),
        (["retention", "run", "--dry-run"], 0, r" +"),
        (["retention", "run"], 0, r" +"),
        (["dpo", "runs"], 1, r" +"),
    )
    for args, position, gap in tables:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        rows = [line for line in result.output.splitlines() if len(line.split()) > position and line.split()[position] in classes]
        assert {line.split()[position] for line in rows} >= {"privacy_budget_ledger", "pharmacy_reports"}, result.output
        edges = {re.search(re.escape(line.split()[position]) + gap, line).end() for line in rows}  # type: ignore[union-attr]
        assert len(edges) == 1, (args, result.output)


def test_an_expired_lease_is_taken_over_and_a_held_one_makes_the_run_skip(app, clock, db_engine):
    state = app_state(app)
    other = state.retention.lease()
    assert other.acquire()
    run = state.retention.run()
    assert run.skipped and run.classes == []
    other.release()
    assert not state.retention.run().skipped


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)  # the lease row (PostgreSQL uses an advisory lock)
def test_a_lease_row_expires_and_its_old_holder_loses_it(app, clock):
    from retention.lease import LeaseLost

    state = app_state(app)
    first, second = state.retention.lease(), state.retention.lease()
    assert first.acquire() and not second.acquire()
    first.renew()
    clock.advance(seconds=state.retention.lease_ttl.total_seconds())
    assert second.acquire()  # expired: taken over
    with pytest.raises(LeaseLost):
        first.renew()


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)  # the vault's own files
def test_a_destroyed_key_leaves_no_copy_in_the_vault_files(app, client, partners, clock, keys_database_url):
    from pathlib import Path

    state = app_state(app)
    submit(client, partners.pharmacy(), clock)
    with state.keys_engine.connect() as connection:
        wrapped = connection.execute(select(DataKeyRecord.wrapped)).scalar_one()
    vault = Path(keys_database_url.removeprefix("sqlite:///"))
    files = [vault, Path(f"{vault}-wal")]
    assert any(wrapped in path.read_bytes() for path in files if path.exists())  # the probe can see it

    clock.advance(days=36)
    assert outcome(state.retention.run(), "pharmacy_reports").keys_destroyed == 1
    for path in files:
        if path.exists():
            assert wrapped not in path.read_bytes(), path.name


def test_the_dpo_commands_list_runs_and_the_inventory(app, client, partners, clock):
    submit(client, partners.pharmacy(), clock)
    runner = app.test_cli_runner()
    inventory = runner.invoke(args=["dpo", "inventory"])
    assert inventory.exit_code == 0
    assert f"pharmacy_reports     {clock.now.date().isoformat()}     0 days          3 records  key live" in inventory.output
    clock.advance(days=36)
    app_state(app).retention.run()
    HOLDINGS = app_state(app).retention.holdings

    # One outcome per data class: the run's whole set.
    runs = runner.invoke(args=["dpo", "runs", "--limit", str(len(HOLDINGS))])
    assert runs.exit_code == 0 and len(runs.output.splitlines()) == len(HOLDINGS)
    # The class column is as wide as the longest name (test_the_cli_tables_line_up_...).
    assert any(re.search(r"pharmacy_reports +shred +3 rows, 1 keys destroyed", line) for line in runs.output.splitlines())
    assert runner.invoke(args=["dpo", "inventory"]).output == ""


def test_a_used_enrollment_code_does_not_hold_back_its_deleted_credential(app_with, partners, clock, tmp_path):
    from retention.policy import DEFAULT_POLICY_FILE

    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    text = text.replace('period_days = 90\non_expiry = "delete"\n\n[data_classes.enrollment_codes]',
                        'period_days = 1\non_expiry = "delete"\n\n[data_classes.enrollment_codes]')
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    short = app_with(RETENTION_POLICY_FILE=str(policy))
    with short.test_client() as client:
        token = partners.device(client)
    credential_id = token[3:35]
    partners.run("devices", "revoke", str(uuid.UUID(credential_id)))
    clock.advance(days=1, microseconds=1)
    result = outcome(app_state(short).retention.run(), "credentials")
    assert (result.rows, result.outcome) == (1, "ok")
    engine = app_state(short).engine
    assert _count(engine, Credential) == 0
    with engine.connect() as connection:
        assert connection.execute(select(EnrollmentCode.credential_id)).scalar_one() is None  # the code stays, unlinked
