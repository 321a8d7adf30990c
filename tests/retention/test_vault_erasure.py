"""A destroyed data key leaves the vault's files, even when a reader held the vault at the shred.

Destroying a key blanks its row, but the engine keeps the old bytes while a reader may still see
them: SQLite in its write-ahead log (and the pages not yet copied back), PostgreSQL in the dead
row version of the table's file. These tests hold a real second connection in a read transaction
during the shred, read the vault's actual files for the key's wrapped bytes, and follow the
pending state through `retention status` and the DPO's compliance view until a later run, once
the reader is gone, erases them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from support import bearer
from sqlalchemy import Engine, select, text

from retention.purge import ERASE_RETRY_DELAYS
from database.engines import make_engine
from service.vault.models import DataKeyRecord
from retention_support import outcome, state as app_state, submit


def _vault_bytes(engine: Engine, url: str) -> Callable[[], bytes]:
    """What the vault's files hold on disk right now."""
    if engine.dialect.name == "sqlite":
        vault = Path(url.removeprefix("sqlite:///"))

        def read() -> bytes:
            return b"".join(path.read_bytes() for path in (vault, Path(f"{vault}-wal")) if path.exists())
        return read

    def read_postgres() -> bytes:
        # The test runs as the server's superuser: flush the buffers, then read the table's file.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CHECKPOINT"))
            return connection.execute(text("SELECT pg_read_binary_file(pg_relation_filepath('data_key'))")).scalar_one()
    return read_postgres


class Reader:
    """A second connection to the vault holding a read transaction open, as a backup or a slow
    key look-up would."""

    def __init__(self, url: str):
        if url.startswith("sqlite"):
            self._sqlite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self._sqlite.execute("BEGIN")
            self._sqlite.execute("SELECT count(*) FROM data_key").fetchone()
            self._engine = None
        else:
            self._engine = make_engine(url)
            self._connection = self._engine.connect().execution_options(isolation_level="REPEATABLE READ")
            self._connection.execute(select(DataKeyRecord.key_id)).all()

    def release(self) -> None:
        if self._engine is None:
            self._sqlite.rollback()
            self._sqlite.close()
        else:
            self._connection.rollback()
            self._connection.close()
            self._engine.dispose()


def _run_until_erased(state, run):  # type: ignore[no-untyped-def]
    """Later runs until nothing is pending. On SQLite and on a PostgreSQL server of its own the
    first run is enough; on a shared server another database's open transaction holds the
    horizon for a while (the suites of several checkouts run side by side), and erasure waits."""
    runs = 1
    while run.vault.pending_keys and runs < 30:
        run = state.retention.run()
        runs += 1
    return run


def test_a_key_a_reader_held_during_the_shred_stays_pending_until_a_later_run_erases_it(
    app, client, partners, clock, keys_database_url
):
    state = app_state(app)
    dpo = bearer(partners.add("dpo_office", "DPO")[1])
    submit(client, partners.pharmacy(), clock)
    with state.keys_engine.connect() as connection:
        wrapped = connection.execute(select(DataKeyRecord.wrapped)).scalar_one()
    vault_bytes = _vault_bytes(state.keys_engine, keys_database_url)
    assert wrapped in vault_bytes()  # the probe can see it
    runner = app.test_cli_runner()

    reader = Reader(keys_database_url)
    try:
        clock.advance(days=36)
        destroyed_at = clock.now
        run = state.retention.run()
        assert outcome(run, "pharmacy_reports").keys_destroyed == 1
        # Retried with backoff within the run, then left pending, and said so.
        assert (run.vault.pending_keys, run.vault.erased_keys, run.vault.attempts) == (1, 0, 1 + len(ERASE_RETRY_DELAYS))
        assert wrapped in vault_bytes()
        compliance = client.get("/v1/dpo/retention/compliance", headers=dpo).get_json()
        assert compliance["vault"] == {"pending_keys": 1, "pending_since": destroyed_at.isoformat(), "compliant": True}
        assert compliance["compliant"] is True  # within the grace: the next run retries
        status = runner.invoke(args=["retention", "status"])
        assert status.exit_code == 0 and "1 destroyed keys not yet erased" in status.output

        clock.advance(minutes=app.config["RETENTION_VAULT_ERASE_GRACE_MINUTES"], microseconds=1)
        assert state.retention.run().vault.pending_keys == 1  # still held: still pending
        compliance = client.get("/v1/dpo/retention/compliance", headers=dpo).get_json()
        assert compliance["vault"]["compliant"] is False and compliance["compliant"] is False
        status = runner.invoke(args=["retention", "status"])
        assert status.exit_code == 1 and "OVERDUE" in status.output
    finally:
        reader.release()

    run = _run_until_erased(state, state.retention.run())  # the next run, the reader gone
    assert (run.vault.pending_keys, run.vault.erased_keys) == (0, 1)
    assert wrapped not in vault_bytes()
    compliance = client.get("/v1/dpo/retention/compliance", headers=dpo).get_json()
    assert compliance["vault"] == {"pending_keys": 0, "pending_since": None, "compliant": True} and compliance["compliant"]
    status = runner.invoke(args=["retention", "status"])
    assert status.exit_code == 0 and "no destroyed key left in them" in status.output
    with state.keys_engine.connect() as connection:
        assert connection.execute(select(DataKeyRecord.erased_at)).scalar_one() == clock.now


def test_without_a_reader_the_shredding_run_itself_erases_the_key_from_the_files(app, client, partners, clock, keys_database_url):
    state = app_state(app)
    submit(client, partners.pharmacy(), clock)
    with state.keys_engine.connect() as connection:
        wrapped = connection.execute(select(DataKeyRecord.wrapped)).scalar_one()
    vault_bytes = _vault_bytes(state.keys_engine, keys_database_url)
    assert wrapped in vault_bytes()
    clock.advance(days=36)
    run = state.retention.run()
    assert outcome(run, "pharmacy_reports").keys_destroyed == 1
    run = _run_until_erased(state, run)
    assert (run.vault.erased_keys, run.vault.pending_keys) == (1, 0)
    assert wrapped not in vault_bytes()
