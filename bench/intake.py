"""Intake end to end over HTTP under gunicorn, beside ceilings measured in the same run.

For each database (SQLite file with WAL and synchronous=FULL; PostgreSQL when reachable):

  single     POST /v1/pharmacy/reports, one report per request
             ceiling: a bare Flask endpoint parsing the same JSON on the same gunicorn settings
  batch      POST /v1/pharmacy/reports/batch, 500 reports per request
             ceiling: a raw driver executemany of the same rows, 500 per transaction, into the
             same database with the same durability
  field      POST /v1/field/reports/batch, 500 reports with fresh client ids (idempotency checked)
  at 1M      the database filled to --fill reports (and as many idempotency records), then
             batch, field and single measured again: the rate must not fall as data grows

Figures are printed as rates and as ratios to their ceilings. Nothing here asserts on time.
Each figure and its ceiling are measured in turn, --repeat times, interleaved, and the best of each is
kept, so a disturbance of the machine hits both sides alike.
Usage: .venv/bin/python bench/intake.py [--seconds 5] [--repeat 3] [--fill 1000000] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import multiprocessing
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "safesignal_bench"
SERVICE_PORT, BARE_PORT = 8765, 8766
ACCEPTED = re.compile(rb'\{"accepted":(\d+)')


# --- load generation ----------------------------------------------------------------------------


def _client(port: int, path: str, bodies: list[bytes] | str, token: str, seconds: float, seed: int, queue) -> None:  # type: ignore[no-untyped-def]
    """One client process: POST bodies in a loop until the time is up; count answers by status."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    counts: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    n = 0
    latencies: list[float] = []
    accepted = 0
    run = uuid.uuid4().hex[:12]
    while time.perf_counter() < deadline:
        if isinstance(bodies, str):  # field template: client ids never sent before, in any run
            body = _field_body(bodies, f"{run}-{seed}-{n}")
        else:
            body = bodies[n % len(bodies)]
        n += 1
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        connection.close()
        latencies.append(time.perf_counter() - start)
        counts[response.status] = counts.get(response.status, 0) + 1
        head = ACCEPTED.match(answer)
        accepted += int(head[1]) if head else (1 if response.status == 201 else 0)
    queue.put((counts, latencies, accepted))


def load(port: int, path: str, bodies, token: str, seconds: float, clients: int) -> dict:  # type: ignore[no-untyped-def]
    """Requests per second over `clients` concurrent client processes."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_client, args=(port, path, bodies, token, seconds, seed, queue))
        for seed in range(clients)
    ]
    start = time.perf_counter()
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - start
    counts: dict[int, int] = {}
    latencies: list[float] = []
    accepted = 0
    for partial, lat, acc in results:
        latencies += lat
        accepted += acc
        for status, count in partial.items():
            counts[status] = counts.get(status, 0) + count
    ok = sum(count for status, count in counts.items() if 200 <= status < 300)
    latencies.sort()
    return {
        "requests_per_s": ok / elapsed,
        "reports_per_s": accepted / elapsed,  # reports the service said it accepted
        "statuses": counts,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }


# --- request bodies -------------------------------------------------------------------------------


def _observed() -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat()


CATEGORIES = ["dv_mask19", "harm_reduction_naloxone", "housing_need", "food_insecurity", "mental_distress_acute"]
FIELD_CATEGORIES = ["public_drug_use", "harm_reduction_naloxone", "housing_need", "elderly_isolation", "youth_nuisance"]


def pharmacy_report(i: int) -> dict:
    report = {"category": CATEGORIES[i % len(CATEGORIES)], "observed_at": _observed(), "count": 1 + i % 3}
    if i % 4 == 0:
        report.update(age_band="25-44", sex="female", referral=True, referral_kind="caw")
    if i % 10 == 0:
        report["note"] = "Vroeg naar naloxon en spuitenruil, doorverwezen naar het CAW."
    return report


def field_template(area: str) -> str:
    """500 field reports with a {prefix} placeholder in each client id."""
    items = []
    for i in range(500):
        item = {"client_id": f"bench-PREFIX-{i}", "category": FIELD_CATEGORIES[i % len(FIELD_CATEGORIES)],
                "observed_at": _observed(), "area": area, "count": 1 + i % 2}
        if i % 10 == 0:
            item["note"] = "Gesprek met bewoner over overlast, doorverwezen."
        items.append(item)
    return json.dumps({"reports": items})


def _field_body(template: str, prefix: str) -> bytes:
    return template.replace("PREFIX", prefix).encode()


# --- databases --------------------------------------------------------------------------------------


def fresh_database(kind: str, workdir: Path) -> tuple[str, str]:
    """An empty, migrated database and key vault; return their SQLAlchemy URLs."""
    from database.engines import make_engine
    from service.migrations import upgrade

    if kind == "sqlite":
        urls = (f"sqlite:///{workdir / 'bench.db'}", f"sqlite:///{workdir / 'bench-keys.db'}")
    else:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            for name in (PG_DB, PG_DB + "_keys"):
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                connection.execute(f"CREATE DATABASE {name}")
        base = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
        urls = (f"{base}/{PG_DB}", f"{base}/{PG_DB}_keys")
    for url, target in zip(urls, ("main", "keys")):
        engine = make_engine(url)
        upgrade(engine, target=target)  # type: ignore[arg-type]
        engine.dispose()
    return urls


def postgres_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


def raw_connection(url: str):  # type: ignore[no-untyped-def]
    """A driver connection with the service's durability settings."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def executemany_in_transaction(connection, statement: str, rows: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    """One driver executemany of `rows` in one transaction (a raw_connection of either engine)."""
    if isinstance(connection, sqlite3.Connection):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(statement, rows)
        connection.execute("COMMIT")
    else:
        with connection.cursor() as cursor:
            cursor.executemany(statement, rows)
        connection.commit()


def report_rows(app, count: int, start_day: dt.date | None = None) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Rows as intake writes them: real AES-GCM payloads of the same size, a real data key."""
    import msgspec

    from crypto.envelope import associated_data, encrypt
    from service.reports.schemas import EncryptedPayload
    from service.reports.services import new_report_id

    state = app.extensions["safesignal"]
    intake = state.intake
    epoch = start_day or dt.datetime.now(dt.timezone.utc).date()
    key = intake.keyring.key_for_epoch(intake.keystore, "pharmacy_reports", epoch)
    hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    areas = [a.code for a in intake.areas.areas()]
    sqlite = state.engine.dialect.name == "sqlite"
    rows = []
    for i in range(count):
        report_id = new_report_id(hour)
        plaintext = msgspec.json.encode(EncryptedPayload(v=1, count=1 + i % 3, referral=False))
        payload = encrypt(key, plaintext, associated_data("report", report_id.bytes))
        when = hour.replace(tzinfo=None).isoformat(sep=" ") if sqlite else hour
        rows.append((report_id.hex if sqlite else report_id, "pharmacy_reports", "pharmacy", CATEGORIES[i % 5],
                     areas[i % len(areas)], when, when, epoch.isoformat() if sqlite else epoch,
                     secrets.token_bytes(16), payload))
    return rows


INSERT_REPORT = ("INSERT INTO report (id, data_class, channel, category, area, observed_hour, received_hour, "
                 "epoch, reporter, payload) VALUES ({p})")


def insert_rows(url: str, template: list[tuple], seconds: float, per_transaction: int = 500) -> float:
    """Raw executemany, `per_transaction` rows per commit, for about `seconds`; rows per second.

    The rows are `template` with fresh ids; only BEGIN, executemany and COMMIT are timed.
    """
    from service.reports.services import new_report_id

    connection = raw_connection(url)
    sqlite = url.startswith("sqlite")
    statement = INSERT_REPORT.format(p=", ".join(["?" if sqlite else "%s"] * 10))
    hour = dt.datetime.now(dt.timezone.utc)
    timed, rows_done, offset = 0.0, 0, 0
    wall = time.perf_counter()
    while time.perf_counter() - wall < seconds:
        chunk = []
        for row in template[offset: offset + per_transaction]:
            report_id = new_report_id(hour)
            chunk.append((report_id.hex if sqlite else report_id,) + row[1:])
        offset = (offset + per_transaction) % len(template)
        start = time.perf_counter()
        executemany_in_transaction(connection, statement, chunk)
        timed += time.perf_counter() - start
        rows_done += len(chunk)
    connection.close()
    return rows_done / timed


def forget_current_hour(url: str) -> None:
    """Delete the reports and idempotency records received in the current hour."""
    connection = raw_connection(url)
    sqlite = url.startswith("sqlite")
    hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    value = hour.replace(tzinfo=None).isoformat(sep=" ") if sqlite else hour
    ph = "?" if sqlite else "%s"
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
    for table in ("report", "submission"):
        connection.execute(f"DELETE FROM {table} WHERE received_hour >= {ph}", (value,))
    connection.execute("COMMIT") if sqlite else connection.commit()
    if not sqlite:
        connection.autocommit = True
        connection.execute("VACUUM")
    connection.close()


def settle(url: str) -> None:
    """Checkpoint, so a round starts as the first did, not paying for the writes before it."""
    connection = raw_connection(url)
    if url.startswith("sqlite"):
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        connection.autocommit = True
        connection.execute("CHECKPOINT")
        connection.execute("ANALYZE")
    connection.close()


def fill(app, url: str, total: int) -> None:  # type: ignore[no-untyped-def]
    """Grow the report and submission tables to `total` rows each, fast (big transactions)."""
    from service.reports.services import new_report_id

    connection = raw_connection(url)
    sqlite = url.startswith("sqlite")
    ph = "?" if sqlite else "%s"
    count_sql = "SELECT count(*) FROM report"
    have = connection.execute(count_sql).fetchone()[0]
    chunk = 20_000
    template = report_rows(app, chunk)
    while have < total:
        n = min(chunk, total - have)
        # A history: each chunk an hour further back, up to a month.
        past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1 + (have // chunk) % (24 * 30))).replace(minute=0, second=0, microsecond=0)
        when = past.replace(tzinfo=None).isoformat(sep=" ") if sqlite else past
        day = past.date().isoformat() if sqlite else past.date()
        ids = [new_report_id(past) for _ in range(n)]
        rows = [(rid.hex if sqlite else rid,) + row[1:5] + (when, when, day) + row[8:] for rid, row in zip(ids, template)]
        subs = [(secrets.token_bytes(32), secrets.token_bytes(32), 0, when, day) for row in rows]
        statement = INSERT_REPORT.format(p=", ".join([ph] * 10))
        sub_sql = f"INSERT INTO submission (key_hash, content_digest, redactions, received_hour, epoch) VALUES ({', '.join([ph] * 5)})"
        if sqlite:
            connection.execute("BEGIN")
            connection.executemany(statement, rows)
            connection.executemany(sub_sql, subs)
            connection.execute("COMMIT")
        else:
            with connection.cursor() as cursor:
                cursor.executemany(statement, rows)
                cursor.executemany(sub_sql, subs)
            connection.commit()
        have += n
    connection.close()


# --- servers ------------------------------------------------------------------------------------------


def start_gunicorn(app_spec: str, port: int, env: dict[str, str], workers: int, threads: int = 1,
                   stderr: Any = subprocess.PIPE) -> subprocess.Popen:
    """gunicorn serving `app_spec` on `port`, once it answers. `stderr`: where its log goes (a file
    for a long run: nobody reads the pipe until startup fails, and a full pipe would stall it)."""
    # With the service's own configuration, as `make run` serves it (its address-free logger and
    # JSON-error gthread worker); the command line sets only what a run varies. threads=1 is the
    # same worker with one thread.
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--workers", str(workers),
         "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/v1/health")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn did not start: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# --- the run ------------------------------------------------------------------------------------------


def best(runs: list[dict]) -> dict:
    """The best of repeated runs (the least disturbed by the rest of the machine), with all rates kept."""
    top = max(runs, key=lambda run: run["requests_per_s"])
    return {**top, "all_requests_per_s": [round(run["requests_per_s"], 1) for run in runs],
            "all_reports_per_s": [round(run["reports_per_s"], 1) for run in runs]}


def measure_round(args, env, url, app, tokens, bodies, suffix: str = "") -> dict:  # type: ignore[no-untyped-def]
    """One round: each figure and its ceiling, interleaved, `--repeat` times, best kept."""
    pharmacy_token, device_token = tokens
    single_bodies, batch_bodies, template = bodies
    seconds, clients = args.seconds, args.clients
    runs: dict[str, list] = {"bare_single": [], "single": [], "batch": [], "field": [], "raw": []}
    template_rows = report_rows(app, 5000)
    settle(url)
    bare = start_gunicorn("bench.bare_app:app", BARE_PORT, env, args.workers, args.threads)
    service = start_gunicorn("service:create_app()", SERVICE_PORT, env, args.workers, args.threads)
    try:
        # Warm up: data keys created, caches and connections filled, before anything is timed.
        load(SERVICE_PORT, "/v1/pharmacy/reports", single_bodies, pharmacy_token, 1, clients)
        load(SERVICE_PORT, "/v1/pharmacy/reports/batch", batch_bodies, pharmacy_token, 1, clients)
        load(BARE_PORT, "/v1/pharmacy/reports", single_bodies, "x", 1, clients)
        for _ in range(args.repeat):
            runs["bare_single"].append(load(BARE_PORT, "/v1/pharmacy/reports", single_bodies, "x", seconds, clients))
            runs["single"].append(load(SERVICE_PORT, "/v1/pharmacy/reports", single_bodies, pharmacy_token, seconds, clients))
            runs["raw"].append(insert_rows(url, template_rows, seconds))
            runs["batch"].append(load(SERVICE_PORT, "/v1/pharmacy/reports/batch", batch_bodies, pharmacy_token, seconds, clients))
            runs["field"].append(load(SERVICE_PORT, "/v1/field/reports/batch", template, device_token, seconds, clients))
    finally:
        stop(service)
        stop(bare)
    result = {name + suffix: best(value) for name, value in runs.items() if name != "raw"}
    result["raw_insert_rows_per_s" + suffix] = max(runs["raw"])
    result["raw_all" + suffix] = [round(r) for r in runs["raw"]]
    return result


def bench_database(kind: str, args: argparse.Namespace) -> dict:
    from service import create_app
    from service.devices.services import enroll, issue_code
    from service.partners.services import OrganisationKind, add_organisation, issue_credential

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    url, keys_url = fresh_database(kind, workdir)
    env = dict(os.environ)
    env.update(
        SAFESIGNAL_ENV="production",
        SAFESIGNAL_DATABASE_URL=url,
        SAFESIGNAL_KEYS_DATABASE_URL=keys_url,
        SAFESIGNAL_KEK=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SAFESIGNAL_PSEUDONYM_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SAFESIGNAL_AUDIT_SIGNING_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SAFESIGNAL_AUDIT_MAC_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SAFESIGNAL_TRACING_TOKEN_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SAFESIGNAL_WEB_SECRET_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        SAFESIGNAL_LOG_LEVEL="WARNING",
    )
    app = create_app({k.removeprefix("SAFESIGNAL_"): v for k, v in env.items() if k.startswith("SAFESIGNAL_")})
    state = app.extensions["safesignal"]
    now = state.clock()
    with state.sessions() as session:
        area = state.intake.areas.areas()[0].code
        pharmacy = add_organisation(session, kind=OrganisationKind.PHARMACY, name="bench pharmacy", area=area, now=now)
        _, pharmacy_token = issue_credential(session, pharmacy, label="bench", now=now)
        field = add_organisation(session, kind=OrganisationKind.FIELD_SERVICE, name="bench field", area=None, now=now)
        _, code = issue_code(session, state.pseudonyms, field.id, label="bench", now=now, ttl=dt.timedelta(hours=1))
        session.commit()
        _, device_token = enroll(session, state.pseudonyms, code, now=now)
        session.commit()

    bodies = (
        [json.dumps(pharmacy_report(i)).encode() for i in range(500)],
        [json.dumps({"reports": [pharmacy_report(i + j) for i in range(500)]}).encode() for j in range(5)],
        field_template(area),
    )
    tokens = (pharmacy_token, device_token)
    result: dict = {"database": kind, "workers": args.workers, "threads": args.threads, "clients": args.clients,
                    "seconds": args.seconds, "repeat": args.repeat}
    result.update(measure_round(args, env, url, app, tokens, bodies))
    if args.fill:
        # The stored million is history: past hours, as a deployment would have. The first round's
        # own rows all fell in the current hour, where the second round writes too; they go, so
        # both rounds start writing into an empty current hour and differ only in the history.
        forget_current_hour(url)
        started = time.perf_counter()
        fill(app, url, args.fill)
        result["fill_seconds"] = time.perf_counter() - started
        connection = raw_connection(url)
        result["reports_stored"] = connection.execute("SELECT count(*) FROM report").fetchone()[0]
        connection.close()
        result.update(measure_round(args, env, url, app, tokens, bodies, "_full"))
    state.engine.dispose()
    state.keys_engine.dispose()
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            for name in (PG_DB, PG_DB + "_keys"):
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return result


def summary(result: dict) -> list[str]:
    rate = lambda key: result[key]["requests_per_s"]  # noqa: E731
    server = f"{result['workers']} gthread workers x {result['threads']} threads" if result["threads"] > 1 else f"{result['workers']} sync workers"
    lines = [f"## {result['database']}: gunicorn {server}, {result['clients']} client processes, best of {result['repeat']} x {result['seconds']:g} s"]
    for suffix, label in (("", "empty database"), ("_full", f"{result.get('reports_stored', 0):,} reports stored before the round")):
        if "single" + suffix not in result:
            continue
        raw = result["raw_insert_rows_per_s" + suffix]
        single, bare = rate("single" + suffix), rate("bare_single" + suffix)
        batch, field = result["batch" + suffix]["reports_per_s"], result["field" + suffix]["reports_per_s"]
        lines.append(f"{label}:")
        lines.append(f"- single report: {single:.0f} req/s vs bare Flask endpoint {bare:.0f} req/s = {single / bare:.0%} "
                     f"(p50 {result['single' + suffix]['p50_ms']:.1f} ms, p99 {result['single' + suffix]['p99_ms']:.1f} ms)")
        lines.append(f"- pharmacy batch of 500: {batch:.0f} reports/s vs raw executemany {raw:.0f} rows/s = {batch / raw:.0%} "
                     f"(p50 {result['batch' + suffix]['p50_ms']:.0f} ms per batch)")
        lines.append(f"- field sync of 500 with client ids: {field:.0f} reports/s = {field / raw:.0%} of raw")
    if "single_full" in result:
        lines.append(f"- full vs empty: single {rate('single_full') / rate('single'):.0%}, batch {rate('batch_full') / rate('batch'):.0%}, "
                     f"field {rate('field_full') / rate('field'):.0%}, raw executemany "
                     f"{result['raw_insert_rows_per_s_full'] / result['raw_insert_rows_per_s']:.0%}")
    bad = {k: v["statuses"] for k, v in result.items() if isinstance(v, dict) and any(s >= 300 for s in v["statuses"])}
    if bad:
        lines.append(f"- NON-2xx answers: {bad}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each figure and its ceiling, interleaved; best kept")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker (1: sync workers)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--fill", type=int, default=1_000_000, help="reports to store before the second round (0: skip)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    lines = []
    for kind in args.databases.split(","):
        if kind == "postgresql" and not postgres_reachable():
            print(f"PostgreSQL not reachable at {PG_ADMIN_URL}: skipped")
            continue
        result = bench_database(kind, args)
        (out / f"intake-{kind}.json").write_text(json.dumps(result, indent=2, default=str))
        lines += summary(result)
        print("\n".join(summary(result)), flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
