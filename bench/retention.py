"""Retention over a million expired reports, beside ceilings measured in the same run.

For each database (SQLite files with the service's own settings: WAL, synchronous=FULL,
secure_delete; PostgreSQL when reachable), on copies of one filled template, so every trial
starts from the same bytes:

  purge      Retention.run() over --rows expired pharmacy reports (--days epochs, each with a real
             data key in the key vault) beside --live reports still within their period:
             rows per second and the longest single transaction.
             ceiling: one plain `DELETE ... WHERE data_class = ? AND epoch <= ?` of the same rows,
             through the service's engine settings, on an identical copy
  shred      the shred step alone (Retention._shred: look up the keys, destroy them in the vault,
             write the audit entry) for an epoch holding 1k, 10k, 100k and 1M rows: it should take
             the same time whatever the row count; ratio slowest / fastest
  intake     single pharmacy reports at a steady rate (--rate, open loop: latency counted from the
             moment each request was due, so a stall counts for every request it delays) under
             gunicorn as bench/intake.py runs it: p50 and p99 with no purge, then while another
             process runs `Retention.run()` over a copy of the same expired million; ratio of the
             p99s (target: at most 1.5)
  batch size (--batch-sizes) the same intake figure while a purge with smaller batches runs for a
             fixed window (stopped at its end; a stopped run leaves the rest for the next one)

Figures are printed as rates and as ratios to what they are measured against. Nothing here
asserts on time. Trials are repeated and interleaved (--purge-repeat, --repeat, --sweep-repeat); purge
and ceiling keep the best of each, as bench/intake.py does, intake latencies the median of the rounds.
Usage: .venv/bin/python bench/retention.py [--quick] [--databases sqlite,postgresql] [--postgres URL]
PostgreSQL: the server at --postgres (default $BENCH_POSTGRES_ADMIN, as bench/intake.py), where it
creates and drops databases named safesignal_bench_retention_*.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.intake import (  # noqa: E402
    CATEGORIES,
    INSERT_REPORT,
    PG_ADMIN_URL,
    SERVICE_PORT,
    executemany_in_transaction,
    pharmacy_report,
    raw_connection,
    start_gunicorn,
    stop,
)
from service.retention.domain import DEFAULTS  # noqa: E402

PG_PREFIX = "safesignal_bench_retention"
DATA_CLASS = "pharmacy_reports"
PERIOD_DAYS = 35  # retention/default_policy.toml: the fills put expired epochs well past it
FILL_CHUNK = 50_000  # rows per fill transaction


# --- databases: one template per fill, copied for each trial -----------------------------------


class SqliteFiles:
    """Databases as files in a scratch folder; a copy is a file copy of a checkpointed template."""

    kind = "sqlite"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench-retention-"))

    def url(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.db"

    def create(self, name: str) -> str:
        self.drop(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        self.drop(name)
        shutil.copyfile(self.folder / f"{source}.db", self.folder / f"{name}.db")
        # On disk before the trial starts: otherwise its first fsyncs wait for the copy's writeback.
        descriptor = os.open(self.folder / f"{name}.db", os.O_RDONLY)
        os.fsync(descriptor)
        os.close(descriptor)
        return self.url(name)

    def drop(self, name: str) -> None:
        for suffix in (".db", ".db-wal", ".db-shm", ".db-writer.lock"):
            (self.folder / f"{name}{suffix}").unlink(missing_ok=True)

    def settle(self, url: str) -> None:
        """Fold the write-ahead log into the file, so a copy of the file is the whole database."""
        connection = raw_connection(url)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgresDatabases:
    """Databases on one server; a copy is CREATE DATABASE ... TEMPLATE (a file copy)."""

    kind = "postgresql"

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.created: set[str] = set()

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def url(self, name: str) -> str:
        base = self.admin_url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        return f"{base}/{PG_PREFIX}_{name}"

    def create(self, name: str) -> str:
        self._admin(f"DROP DATABASE IF EXISTS {PG_PREFIX}_{name} WITH (FORCE)", f"CREATE DATABASE {PG_PREFIX}_{name}")
        self.created.add(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        self._admin(f"DROP DATABASE IF EXISTS {PG_PREFIX}_{name} WITH (FORCE)",
                    f"CREATE DATABASE {PG_PREFIX}_{name} TEMPLATE {PG_PREFIX}_{source} STRATEGY FILE_COPY")
        self.created.add(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {PG_PREFIX}_{name} WITH (FORCE)")
        self.created.discard(name)

    def settle(self, url: str) -> None:
        """What autovacuum would have done to a table filled over weeks: visibility map, statistics."""
        connection = raw_connection(url)
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE)")
        connection.execute("CHECKPOINT")
        connection.close()

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)


def postgres_reachable(admin_url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(admin_url, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


class Deployment:
    """The keys and databases of one bench deployment, as app config and as SAFESIGNAL_* env."""

    def __init__(self, databases: SqliteFiles | PostgresDatabases):
        self.databases = databases
        self.secrets = {
            name: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            for name in ("KEK", "PSEUDONYM_KEY", "AUDIT_SIGNING_KEY", "AUDIT_MAC_KEY", "TRACING_TOKEN_KEY", "WEB_SECRET_KEY")
        }
        self.token = ""  # the bench pharmacy's token, issued into the templates

    def config(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"ENV": "production", "LOG_LEVEL": "WARNING", **self.secrets,
                "DATABASE_URL": self.databases.url(name), "KEYS_DATABASE_URL": self.databases.url(name + "_keys"), **extra}

    def env(self, name: str, **extra: Any) -> dict[str, str]:
        env = dict(os.environ)
        env.update({f"SAFESIGNAL_{key}": str(value) for key, value in self.config(name, **extra).items()})
        return env

    def copy(self, template: str, name: str) -> None:
        self.databases.copy(template, name)
        self.databases.copy(template + "_keys", name + "_keys")

    def drop(self, name: str) -> None:
        self.databases.drop(name)
        self.databases.drop(name + "_keys")


@contextmanager
def opened(deployment: Deployment, name: str, **extra: Any) -> Iterator[Any]:
    """The service's state (engines, key ring, retention) on the databases `name`."""
    from service import create_app

    state = create_app(deployment.config(name, **extra)).extensions["safesignal"]
    try:
        yield state
    finally:
        state.engine.dispose()
        state.keys_engine.dispose()


# --- fills ------------------------------------------------------------------------------------------


def _sqlite_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DateTime format on SQLite


def _payloads(state: Any, epoch: dt.date) -> list[bytes]:
    """Real ciphertexts under the epoch's data key (created in the vault now, as intake would)."""
    import msgspec

    from crypto.envelope import associated_data, encrypt
    from service.reports.schemas import EncryptedPayload
    from service.reports.services import new_report_id

    key = state.intake.keyring.key_for_epoch(state.intake.keystore, DATA_CLASS, epoch)
    variants = [
        EncryptedPayload(v=1, count=1 + i % 3, referral=i % 4 == 0, age_band="25-44" if i % 4 == 0 else None,
                         sex="female" if i % 4 == 0 else None, referral_kind="caw" if i % 4 == 0 else None,
                         note="Vroeg naar naloxon en spuitenruil, doorverwezen naar het CAW." if i % 10 == 0 else None)
        for i in range(20)
    ]
    # Bound to one id each; the rows reuse them (the bench never decrypts a row).
    return [encrypt(key, msgspec.json.encode(p), associated_data("report", new_report_id(epoch_hour(epoch, 0)).bytes))
            for p in variants]


def epoch_hour(epoch: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(epoch, dt.time(hour), tzinfo=dt.timezone.utc)


def fill_epochs(state: Any, url: str, plan: list[tuple[dt.date, int]]) -> None:
    """Store `count` pharmacy reports in each epoch of `plan`, as intake writes them, fast.

    Each epoch gets its real data key in the vault; rows are spread over the epoch's 24 hours with
    ids as intake makes them (hour prefix, random rest), a raw executemany of FILL_CHUNK rows per
    transaction.
    """
    from service.reports.services import new_report_id

    sqlite = url.startswith("sqlite")
    statement = INSERT_REPORT.format(p=", ".join(["?" if sqlite else "%s"] * 10))
    areas = [area.code for area in state.intake.areas.areas()]
    reporters = [secrets.token_bytes(16) for _ in range(200)]
    connection = raw_connection(url)
    for epoch, count in plan:
        payloads = _payloads(state, epoch)
        hours = [epoch_hour(epoch, h) for h in range(24)]
        clear = [(_sqlite_time(h), epoch.isoformat()) if sqlite else (h, epoch) for h in hours]
        done = 0
        while done < count:
            rows = []
            for i in range(done, min(count, done + FILL_CHUNK)):
                h = i * 24 // count  # the epoch's rows in the order of the hours they arrived in
                report_id = new_report_id(hours[h])
                when, day = clear[h]
                rows.append((report_id.hex if sqlite else report_id, DATA_CLASS, "pharmacy", CATEGORIES[i % 5],
                             areas[i % len(areas)], when, when, day, reporters[i % 200], payloads[i % 20]))
            executemany_in_transaction(connection, statement, rows)
            done += len(rows)
    connection.close()


def build_template(deployment: Deployment, name: str, plan: list[tuple[dt.date, int]], *, pharmacy: bool = False) -> float:
    """Migrated databases `name` and `name`_keys holding `plan` (and the bench pharmacy); seconds taken."""
    from database.engines import make_engine
    from service.migrations import upgrade

    started = time.perf_counter()
    databases = deployment.databases
    for database, target in ((name, "main"), (name + "_keys", "keys")):
        engine = make_engine(databases.create(database))
        upgrade(engine, target=target)  # type: ignore[arg-type]
        engine.dispose()
    with opened(deployment, name) as state:
        if pharmacy:
            _add_pharmacy(deployment, state)
        fill_epochs(state, databases.url(name), plan)
    for database in (name, name + "_keys"):
        databases.settle(databases.url(database))
    return time.perf_counter() - started


def _add_pharmacy(deployment: Deployment, state: Any) -> None:
    """A pharmacy and its token, so that every copy of the template can take intake."""
    from service.partners.services import OrganisationKind, add_organisation, issue_credential

    with state.sessions() as session:
        now = state.clock()
        area = state.intake.areas.areas()[0].code
        pharmacy = add_organisation(session, kind=OrganisationKind.PHARMACY, name="bench pharmacy", area=area, now=now)
        _, deployment.token = issue_credential(session, pharmacy, label="bench", now=now)
        session.commit()


def purge_plan(today: dt.date, rows: int, days: int, live: int) -> tuple[list[tuple[dt.date, int]], list[tuple[dt.date, int]]]:
    """`rows` expired reports over `days` epochs ending 36 days ago, and `live` over the last 10 days."""
    expired = [(today - dt.timedelta(days=PERIOD_DAYS + days - i), rows // days) for i in range(days)]
    recent = [(today - dt.timedelta(days=10 - i), live // 10) for i in range(10)] if live else []
    return expired, recent


def count_reports(url: str, through: dt.date | None = None) -> int:
    """Reports stored, or only those of epochs up to `through`."""
    connection = raw_connection(url)
    if through is None:
        count = connection.execute("SELECT count(*) FROM report").fetchone()[0]
    else:
        ph = "?" if url.startswith("sqlite") else "%s"
        count = connection.execute(f"SELECT count(*) FROM report WHERE epoch <= {ph}",
                                   (through.isoformat() if url.startswith("sqlite") else through,)).fetchone()[0]
    connection.close()
    return count


# --- 1. purge against a plain DELETE --------------------------------------------------------------


def record_transactions(engine: Any) -> list[tuple[float, str]]:
    """(ms, kind) of every transaction `engine` runs from now on; kind is "batch" (deleted reports),
    "empty" (a report delete that found nothing: how each class's last batch ends) or "other"."""
    from sqlalchemy import event

    transactions: list[tuple[float, str]] = []
    open_: dict[int, list[Any]] = {}

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        open_[id(connection)] = [time.perf_counter(), "other"]

    @event.listens_for(engine, "after_cursor_execute")
    def _statement(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if id(connection) in open_ and statement.lstrip().upper().startswith("DELETE FROM REPORT"):
            open_[id(connection)][1] = "batch" if cursor.rowcount > 0 else "empty"

    def _end(connection: Any) -> None:
        begun = open_.pop(id(connection), None)
        if begun is not None:
            transactions.append(((time.perf_counter() - begun[0]) * 1000, begun[1]))

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)
    return transactions


def run_retention(state: Any) -> dict[str, Any]:
    """One Retention.run() with its wall time, its outcome and its main-database transactions."""
    transactions = record_transactions(state.engine)
    started = time.perf_counter()
    outcome = state.retention.run(actor="bench")
    wall = time.perf_counter() - started
    reports = [c for c in outcome.classes if c.data_class == DATA_CLASS][0]
    batches = [ms for ms, kind in transactions if kind == "batch"]
    tenth = max(1, len(batches) // 10)
    return {
        "wall_s": wall, "rows": reports.rows, "keys_destroyed": reports.keys_destroyed,
        "class_duration_ms": reports.duration_ms, "longest_transaction_ms": reports.longest_transaction_ms,
        "errors": {c.data_class: c.error for c in outcome.classes if c.outcome != "ok"},
        "skipped": outcome.skipped, "batches": len(batches),
        "batch_p50_ms": statistics.median(batches) if batches else None,
        "batch_max_ms": max(batches, default=None),
        "empty_batch_max_ms": max((ms for ms, kind in transactions if kind == "empty"), default=None),
        # A purge whose batches slow down as it goes would show here (dead index entries, say).
        "first_tenth_ms": statistics.fmean(batches[:tenth]) if batches else None,
        "last_tenth_ms": statistics.fmean(batches[-tenth:]) if batches else None,
    }


def purge_trial(deployment: Deployment, expected: int, days: int, live: int, batch_size: int, pause: float) -> dict[str, Any]:
    deployment.copy("purge", "trial")
    try:
        with opened(deployment, "trial", RETENTION_BATCH_SIZE=batch_size, RETENTION_PAUSE_RATIO=pause) as state:
            result = run_retention(state)
        result["left"] = count_reports(deployment.databases.url("trial"))
        result["rows_per_s"] = result["rows"] / result["wall_s"]
        problems = []
        if result["rows"] != expected or result["left"] != live:
            problems.append(f"purged {result['rows']} of {expected} expired rows, {result['left']} left (expected {live})")
        if result["keys_destroyed"] != days:
            problems.append(f"{result['keys_destroyed']} keys destroyed, expected {days}")
        if result["errors"] or result["skipped"]:
            problems.append(f"errors {result['errors']} skipped {result['skipped']}")
        result["problems"] = problems
        return result
    finally:
        deployment.drop("trial")


def delete_trial(deployment: Deployment, last_expired: dt.date, expected: int) -> dict[str, Any]:
    """The ceiling: one DELETE statement, one transaction, through the service's engine settings."""
    from sqlalchemy import text

    from database.engines import make_engine

    deployment.copy("purge", "trial")
    engine = make_engine(deployment.databases.url("trial"))
    try:
        statement = text("DELETE FROM report WHERE data_class = :data_class AND epoch <= :epoch")
        started = time.perf_counter()
        with engine.begin() as connection:
            rows = connection.execute(statement, {"data_class": DATA_CLASS, "epoch": last_expired}).rowcount
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
        deployment.drop("trial")
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
            "problems": [] if rows == expected else [f"deleted {rows}, expected {expected}"]}


# --- 2. shredding against the epoch's row count ---------------------------------------------------


def shred_times(deployment: Deployment, plan: list[tuple[dt.date, int]], repeat: int) -> dict[str, Any]:
    """Retention._shred of one epoch at a time, each epoch's key made live again before it is timed."""
    from sqlalchemy import select, update

    from retention.holdings import epoch_start
    from retention.purge import ClassOutcome
    from service.holdings import holdings
    from service.vault.models import DataKeyRecord

    table = DataKeyRecord.__table__
    holding = holdings()[DATA_CLASS]
    cutoff = epoch_start(max(epoch for epoch, _ in plan) + dt.timedelta(days=1))  # every planned epoch expired
    times: dict[int, list[float]] = {count: [] for _, count in plan}
    destroy: dict[int, list[float]] = {count: [] for _, count in plan}
    with opened(deployment, "shred") as state:
        with state.keys_engine.connect() as connection:
            stored = {row.epoch: row for row in connection.execute(select(table).where(table.c.data_class == DATA_CLASS))}
        order = list(plan)
        for round_ in range(repeat + 1):  # round 0 warms connections and caches, untimed
            for epoch, count in order[round_ % len(order):] + order[: round_ % len(order)]:
                now = state.clock()
                with state.keys_engine.begin() as connection:  # only this epoch's key live
                    connection.execute(update(table).where(table.c.data_class == DATA_CLASS, table.c.epoch != epoch)
                                       .values(wrapped=None, kek_id=None, destroyed_at=now, logged_at=now))
                    connection.execute(update(table).where(table.c.key_id == stored[epoch].key_id)
                                       .values(wrapped=stored[epoch].wrapped, kek_id=stored[epoch].kek_id,
                                               destroyed_at=None, logged_at=None))
                if deployment.databases.kind == "sqlite":  # outside a transaction: the driver's connection
                    raw = state.keys_engine.raw_connection()
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    raw.close()
                result = ClassOutcome(DATA_CLASS, "shred", cutoff.isoformat(), PERIOD_DAYS)
                started = time.perf_counter()
                state.retention._shred(holding, cutoff, result, "bench")
                elapsed = (time.perf_counter() - started) * 1000
                if result.keys_destroyed != 1 or result.epochs != [epoch.isoformat()]:
                    raise RuntimeError(f"shred of {epoch} destroyed {result.keys_destroyed} keys: {result.epochs}")
                if round_:
                    times[count].append(elapsed)
                    destroy[count].append(result.longest_transaction_ms)
    medians = {count: statistics.median(values) for count, values in times.items()}
    return {"median_ms": medians, "all_ms": times, "destroy_median_ms": {c: statistics.median(v) for c, v in destroy.items()},
            "ratio": max(medians.values()) / min(medians.values())}


# --- 3. intake latency with and without a purge ---------------------------------------------------


def _paced_client(port: int, bodies: list[bytes], token: str, rate: float, seconds: float, phase: float,
                  ready: Any, go: Any, start_at: Any, stop_event: Any, queue: Any) -> None:
    """Send requests due every 1/rate s from the common start; latency runs from when each was due."""
    import http.client

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    interval = 1 / rate
    ready.release()
    go.wait()
    start, n = start_at.value, 0
    while not stop_event.is_set():
        due = start + (n + phase) * interval
        if due >= start + seconds:
            break
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", "/v1/pharmacy/reports", body=bodies[n % len(bodies)], headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        latencies.append(time.perf_counter() - due)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        n += 1
    queue.put((latencies, statuses))


class Load:
    """Single reports at `rate` per second from `clients` processes, until `seconds` pass or stop().

    The clock starts once every client process is up (time.perf_counter is the system's monotonic
    clock, the same in every process), so no request is due before its sender exists.
    """

    def __init__(self, token: str, rate: float, clients: int, seconds: float):
        self.queue: Any = multiprocessing.Queue()
        self.stop_event = multiprocessing.Event()
        ready, go = multiprocessing.Semaphore(0), multiprocessing.Event()
        start_at = multiprocessing.Value("d", 0.0)
        bodies = [json.dumps(pharmacy_report(i)).encode() for i in range(500)]
        self.processes = [
            multiprocessing.Process(target=_paced_client, args=(
                SERVICE_PORT, bodies, token, rate / clients, seconds, k / clients, ready, go, start_at,
                self.stop_event, self.queue))
            for k in range(clients)
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            ready.acquire()
        self.start_at = start_at.value = time.perf_counter() + 0.01
        go.set()

    def stop(self) -> None:
        self.stop_event.set()

    def result(self) -> dict[str, Any]:
        parts = [self.queue.get() for _ in self.processes]
        for process in self.processes:
            process.join()
        elapsed = time.perf_counter() - self.start_at
        latencies = sorted(latency for part, _ in parts for latency in part)
        statuses: dict[int, int] = {}
        for _, part in parts:
            for status, count in part.items():
                statuses[status] = statuses.get(status, 0) + count
        pick = lambda q: 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * q))] if latencies else None  # noqa: E731
        return {"requests": len(latencies), "seconds": elapsed, "statuses": statuses,
                "p50_ms": pick(0.5), "p99_ms": pick(0.99), "p999_ms": pick(0.999), "max_ms": pick(1.0)}


def load_for(token: str, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    load = Load(token, args.rate, args.clients, seconds)
    return load.result()


def purge_child() -> None:
    """--purge-child: build the app from SAFESIGNAL_*, say ready, run retention on `go`, print JSON."""
    from service import create_app

    state = create_app().extensions["safesignal"]
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(run_retention(state)), flush=True)


def start_purge(env: dict[str, str]) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, __file__, "--purge-child"], cwd=ROOT, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError("the purge process did not start")
    return child


def intake_trial(deployment: Deployment, args: argparse.Namespace, last_expired: dt.date, batch_size: int,
                 pause: float, window: float | None) -> dict[str, Any]:
    """On a fresh copy of the purge template: intake alone, then intake while a purge runs.

    window None: the purge runs to its end and the load with it; otherwise both stop after
    `window` seconds (the purge process is killed; what it committed stays committed).
    """
    deployment.copy("purge", "trial")
    server = start_gunicorn("service:create_app()", SERVICE_PORT, deployment.env("trial"), args.workers, args.threads)
    purge: dict[str, Any] = {}
    try:
        load_for(deployment.token, args, 1.0)  # warm up: workers, connections, today's data key, caches
        baseline = load_for(deployment.token, args, window or args.seconds)
        child = start_purge(deployment.env("trial", RETENTION_BATCH_SIZE=batch_size, RETENTION_PAUSE_RATIO=pause))
        load = Load(deployment.token, args.rate, args.clients, window or 3600)
        try:
            child.stdin.write("go\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
            if window is None:
                line = child.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise RuntimeError("the purge process ended without an outcome")
                purge = json.loads(line)
        finally:
            if window is None:
                load.stop()
            during = load.result()
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
            child.wait()
    finally:
        stop(server)
    left = count_reports(deployment.databases.url("trial"), last_expired)
    deployment.drop("trial")
    purged = args.rows - left
    seconds = purge["wall_s"] if purge else during["seconds"]
    return {"batch_size": batch_size, "pause_ratio": pause, "baseline": baseline, "during": during, "purge": purge,
            "purged_rows": purged, "purge_rows_per_s": purged / seconds,
            "ratio": during["p99_ms"] / baseline["p99_ms"]}


# --- the run --------------------------------------------------------------------------------------


def bench_database(databases: SqliteFiles | PostgresDatabases, args: argparse.Namespace) -> dict[str, Any]:
    deployment = Deployment(databases)
    today = dt.datetime.now(dt.timezone.utc).date()
    expired, recent = purge_plan(today, args.rows, args.days, args.live)
    last_expired = expired[-1][0]
    shred_plan = [(today - dt.timedelta(days=80 - i), count) for i, count in enumerate(args.shred_sizes)]
    began = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{databases.kind} {time.perf_counter() - began:5.0f} s] {text}", flush=True)

    result: dict[str, Any] = {"database": databases.kind, "rows": args.rows, "days": args.days, "live": args.live,
                              "batch_size": args.batch_size, "pause_ratio": args.pause_ratio, "rate": args.rate,
                              "repeat": args.repeat}
    say(f"filling: {args.rows:,} expired + {args.live:,} live reports; {sum(args.shred_sizes):,} for shredding")
    result["fill_purge_s"] = build_template(deployment, "purge", expired + recent, pharmacy=True)
    if "shred" in args.parts:
        result["fill_shred_s"] = build_template(deployment, "shred", shred_plan)

    if "shred" in args.parts:
        say("shred step against epoch size")
        result["shred"] = shred_times(deployment, shred_plan, args.shred_repeat)

    if "purge" in args.parts:
        say("purge against a plain DELETE")
    purges, deletes = [], []
    for round_ in range(args.purge_repeat if "purge" in args.parts else 0):
        pair = [lambda: purges.append(purge_trial(deployment, args.rows, args.days, args.live, args.batch_size, args.pause_ratio)),
                lambda: deletes.append(delete_trial(deployment, last_expired, args.rows))]
        for trial in pair if round_ % 2 == 0 else pair[::-1]:
            trial()
    result["purges"], result["deletes"] = purges, deletes

    result["intake"], result["sweep"] = [], []
    rounds = max(args.repeat, args.sweep_repeat if args.batch_sizes else 0) if "intake" in args.parts else 0
    for round_ in range(rounds):  # interleaved, so a disturbance of the machine hits all alike
        if round_ < args.repeat:
            say(f"intake at {args.rate:g} req/s alone, then during a whole purge in batches of {args.batch_size}, "
                f"pause x{args.pause_ratio:g}")
            result["intake"].append(intake_trial(deployment, args, last_expired, args.batch_size, args.pause_ratio, None))
        for size, pause in args.batch_sizes if round_ < args.sweep_repeat else []:
            say(f"intake at {args.rate:g} req/s alone, then during {args.sweep_seconds:g} s of a purge in batches of {size}, "
                f"pause x{pause:g}")
            result["sweep"].append(intake_trial(deployment, args, last_expired, size, pause, args.sweep_seconds))
    deployment.drop("purge")
    deployment.drop("shred")
    result["seconds"] = time.perf_counter() - began
    say("done")
    return result


def summary(result: dict[str, Any]) -> list[str]:
    lines = [f"## {result['database']}: {result['rows']:,} expired reports over {result['days']} epochs, "
             f"{result['live']:,} live; batches of {result['batch_size']}, pause x{result['pause_ratio']:g} (the defaults)"]
    if result["purges"]:
        purge = max(result["purges"], key=lambda r: r["rows_per_s"])
        delete = max(result["deletes"], key=lambda r: r["rows_per_s"])
        lines += [
            f"purge (best of {len(result['purges'])}, interleaved with the ceiling):",
            f"- Retention.run(): {purge['rows']:,} rows in {purge['wall_s']:.1f} s = {purge['rows_per_s']:,.0f} rows/s "
            f"vs one plain DELETE {delete['rows_per_s']:,.0f} rows/s ({delete['seconds']:.1f} s) = "
            f"{purge['rows_per_s'] / delete['rows_per_s']:.0%}",
            f"- longest single transaction {purge['longest_transaction_ms']:.0f} ms vs the plain DELETE's one of "
            f"{delete['seconds'] * 1000:,.0f} ms = {purge['longest_transaction_ms'] / (delete['seconds'] * 1000):.1%}; "
            f"{purge['batches']} delete batches: p50 {purge['batch_p50_ms']:.0f} ms, max {purge['batch_max_ms']:.0f} ms, "
            f"first tenth {purge['first_tenth_ms']:.0f} ms vs last tenth {purge['last_tenth_ms']:.0f} ms; "
            f"the final batch that finds nothing left {purge['empty_batch_max_ms']:.0f} ms",
            f"- all runs: purge {[round(r['rows_per_s']) for r in result['purges']]} rows/s, longest transaction "
            f"{[round(r['longest_transaction_ms']) for r in result['purges']]} ms; "
            f"DELETE {[round(r['rows_per_s']) for r in result['deletes']]} rows/s",
        ]
    if "shred" in result:
        shred = result["shred"]
        rounds = len(next(iter(shred["all_ms"].values())))
        lines.append(f"shred step alone (median of {rounds}): "
                     + ", ".join(f"{count:,} rows {ms:.1f} ms" for count, ms in shred["median_ms"].items())
                     + f"; slowest/fastest = {shred['ratio']:.2f} (destroying the key: "
                     + ", ".join(f"{ms:.1f}" for ms in shred["destroy_median_ms"].values()) + " ms)")
    intake = result["intake"]
    if intake:
        lines.append(f"intake, single reports offered at {result['rate']:g} req/s "
                     f"(median of {len(intake)} rounds, each: alone, then during a whole purge):")
        lines += intake_lines(intake, result["batch_size"], result["pause_ratio"])
    for size, pause in dict.fromkeys((trial["batch_size"], trial["pause_ratio"]) for trial in result["sweep"]):
        trials = [trial for trial in result["sweep"] if (trial["batch_size"], trial["pause_ratio"]) == (size, pause)]
        lines += intake_lines(trials, size, pause, window=trials[0]["during"]["seconds"])
    problems = [p for r in result["purges"] + result["deletes"] for p in r["problems"]]
    problems += [f"intake answered {t[k]['statuses']}" for t in intake + result["sweep"] for k in ("baseline", "during")
                 if any(s >= 300 for s in t[k]["statuses"])]
    if problems:
        lines.append(f"- PROBLEMS: {problems}")
    return lines


def intake_lines(trials: list[dict[str, Any]], batch_size: int, pause: float, window: float | None = None) -> list[str]:
    """Median p50/p99 alone and during the purge, their ratio, and what the service kept up with."""
    median = lambda phase, key: statistics.median(t[phase][key] for t in trials)  # noqa: E731
    served = statistics.median(t["during"]["requests"] / t["during"]["seconds"] for t in trials)
    base, during = median("baseline", "p99_ms"), median("during", "p99_ms")
    what = f"{window:.0f} s of a purge" if window else "a whole purge"
    return [
        f"- batches of {batch_size}, pause x{pause:g}, {what}: p99 {base:.1f} ms alone, {during:.1f} ms during = **{during / base:.2f}x** "
        f"(p50 {median('baseline', 'p50_ms'):.1f} / {median('during', 'p50_ms'):.1f} ms); "
        f"served {served:.0f} req/s during; purge {statistics.median(t['purge_rows_per_s'] for t in trials):,.0f} rows/s",
        f"  rounds: p99 alone {[round(t['baseline']['p99_ms'], 1) for t in trials]}, during "
        f"{[round(t['during']['p99_ms'], 1) for t in trials]}, max during {[round(t['during']['max_ms']) for t in trials]} ms",
    ]


def main() -> None:
    if "--purge-child" in sys.argv:
        purge_child()
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50k rows, one round of each, short windows")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=PG_ADMIN_URL, help="PostgreSQL server (admin URL) for databases %s_*" % PG_PREFIX)
    parser.add_argument("--parts", default="shred,purge,intake", help="what to measure (intake includes --batch-sizes)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="expired reports to purge")
    parser.add_argument("--days", type=int, default=10, help="expired epochs they fall in")
    parser.add_argument("--live", type=int, default=100_000, help="reports within their period, kept")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["RETENTION_BATCH_SIZE"],
                        help="RETENTION_BATCH_SIZE of the measured purges (default: the service's)")
    parser.add_argument("--pause-ratio", type=float, default=DEFAULTS["RETENTION_PAUSE_RATIO"],
                        help="RETENTION_PAUSE_RATIO of the measured purges (default: the service's)")
    parser.add_argument("--purge-repeat", type=int, default=2, help="purge and ceiling rounds, interleaved; best kept")
    parser.add_argument("--shred-sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--shred-repeat", type=int, default=15, help="rounds of the shred step per epoch; median kept")
    parser.add_argument("--repeat", type=int, default=3, help="intake rounds (alone, then during a purge); median kept")
    parser.add_argument("--seconds", type=float, default=8.0, help="intake window without a purge")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="single reports per second, open loop (bench/intake.py measured 1,100-1,300 at most)")
    parser.add_argument("--clients", type=int, default=4, help="client processes sharing the rate")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch-sizes", default="5000:0,1000:0",
                        help="other batch size:pause ratio settings to try under intake ('' for none)")
    parser.add_argument("--sweep-seconds", type=float, default=8.0, help="intake window alone and during each of those purges")
    parser.add_argument("--sweep-repeat", type=int, default=3, help="rounds of the batch-size trials; median kept")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.live, args.days = 50_000, 5_000, 5
        args.shred_sizes, args.shred_repeat = "100,1000,10000", 3
        args.purge_repeat, args.repeat, args.seconds, args.sweep_seconds, args.sweep_repeat = 1, 1, 2.0, 2.0, 1
        args.batch_sizes = "5000:0" if args.batch_sizes == parser.get_default("batch_sizes") else args.batch_sizes
    args.rows -= args.rows % args.days  # whole epochs
    args.shred_sizes = [int(n) for n in args.shred_sizes.split(",")]
    args.batch_sizes = [(int(size), float(pause)) for size, _, pause in (n.partition(":") for n in args.batch_sizes.split(",") if n)]
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    lines: list[str] = []
    started = time.perf_counter()
    for kind in args.databases.split(","):
        if kind == "postgresql" and not postgres_reachable(args.postgres):
            print(f"PostgreSQL not reachable at {args.postgres}: skipped")
            continue
        databases = SqliteFiles() if kind == "sqlite" else PostgresDatabases(args.postgres)
        try:
            result = bench_database(databases, args)
        finally:
            databases.close()
        result["commit"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                          text=True).stdout.strip()
        (out / f"retention-{kind}.json").write_text(json.dumps(result, indent=2, default=str))
        lines += summary(result)
        print("\n".join(summary(result)), flush=True)
    print("\n" + "\n".join(lines) + f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
