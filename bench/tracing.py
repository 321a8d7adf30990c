"""Contact tracing: key uploads per second over HTTP, building exports of 100k and 1M keys, repeated downloads.

Issue 5's "done when": bench/ measures uploads per second over HTTP and the time to build and
sign an export of 100k and of 1M keys, in the same run. Targets: export time grows linearly, at
most 1 s per 100k keys; a repeated download is answered from the ETag without rebuilding.

For each database (SQLite files with the service's own settings; PostgreSQL when reachable, in
databases named bench_tracing_*), three deployments: "uploads" (empty) and two export windows,
"100k" and "1M" keys (--keys):

  exports    key_upload filled as uploads fill it: simulated phones (tracing_client.phone: today's
             key and the 14 days before; a test date or symptom onset up to a week back, from
             which the service sets days since onset and the risk), each upload checked and stored by the service's own
             service.tracing.uploads.validate and .store under the deployment's key ring, at random
             times from an hour before one 4-hour window two days back to an hour before its
             end. So each upload is a row of 14 keys published inside the window and a row of one
             (today's key, held back to the next day, outside it), as the service writes them;
             100k and 1M keys in the window. Filled in-process, not timed as a figure.
             Then `export_due` (service.tracing.jobs, what `safesignal tracing export` runs: find the
             due window, read and decrypt its rows on a read-only connection, pad, sort, split into
             files of 100,000, build and sign each zip, store them in one write transaction),
             in-process with the app's clock just after the window (its end plus the margin).
             --export-repeat rounds, the two sizes interleaved (alternating order), the export_file
             rows deleted and the database settled before each, best kept. Where the time goes is
             timed in the same runs: exports.window_keys (read + decrypt + unpack),
             exports.build_files (sort, protobuf, sign, zip) and exports.prepare_window are wrapped
             with timers for the run (three calls per window; restored after), so the parts are
             read + decrypt, build + sign, the rest of prepare (padding, file hashes) and the rest of
             the job (finding the window; the write transaction: files, audit entry, commit).
  uploads    POST /v1/tracing/keys over HTTP under gunicorn as `make run` serves it (2 gthread
             workers x 4 threads), from --clients client processes (a new connection per request),
             each upload 15 keys of a fresh simulated phone in a body padded to the app's 6,144
             bytes (tracing_client.api's request size), with a token got beforehand the real way: the
             granted pharmacy issues a code (POST /v1/tracing/codes) and the app exchanges it (POST
             /v1/tracing/verify), both over HTTP with tracing_client.api, untimed, on the floor-0
             server below (its exchanges are not held for the default floor). The bench deployment
             allows that many codes (SAFESIGNAL_TRACING_CODES_PER_DAY, _REDEEM_FAILURES_PER_HOUR) and
             keeps tokens valid for the run (SAFESIGNAL_TRACING_TOKEN_TTL_MINUTES=240). Series:
               real     at the default response floor (SAFESIGNAL_TRACING_RESPONSE_FLOOR_MS): every
                        answer, real or fake, is held until a random deadline, uniform in [D, 2D]
                        after the request began, D the floor (service.tracing.chaff.ResponseClock),
                        so the rate is bounded, by design, by that deadline and by how many
                        requests are in flight (server threads, clients): in flight / 1.5 D
               fake     the same with `SafeSignal-Fake: 1` and a decoy token from a fake exchange:
                        nothing stored, answered after the same deadline (it should look the same)
               mixed    real and fake in turn from every client, on the same server: the two
                        kinds' latencies side by side in one stream, and the two-sample
                        Kolmogorov-Smirnov distance between them (an observer's test)
               floor 0  real uploads to a second gunicorn on the same databases with the floor at
                        0: no hold, so the server's own cost shows
             ceiling: a bare Flask endpoint on the same gunicorn settings (bench/bare_app.py's app,
             plus a route this file adds: bench.tracing:bare_app()) that parses the same 6,144-byte
             JSON and answers 1,024 bytes, the size every upload answer is padded to.
             Warm-up, untimed: real uploads to each server until each worker has answered about
             WARM_UP_UPLOADS (its first ones compile SQL, open connections, fetch the day's data
             key), then a second of each other series. Each round then runs every series for
             --seconds, in a rotating order; --repeat rounds, the best rate kept with its
             latencies, as bench/intake.py does. The shortest answer of a held series is about D.
  downloads  the 1M window's first file (100,000 keys) over HTTP under gunicorn, on the 1M
             deployment: GET, and GET with its ETag in If-None-Match (the service answers 304 from
             the ETag without reading the file), request by request with the bare endpoint
             answering a body of the file's size (the ceiling of the GET) and a 10-byte one;
             --downloads requests of each per round, --repeat rounds, the best p95 kept.

Figures are printed beside their ceilings and targets as ratios; nothing here asserts on time.
Usage: .venv/bin/python bench/tracing.py [--quick] [--databases sqlite,postgresql] [--keys 100000,1000000]
--quick: 20k and 200k keys, 2 s series, one round of each part, fewer downloads: a few minutes.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import http.client
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# Light imports only up here: gunicorn imports this module to serve bare_app().
from bench.intake import PG_ADMIN_URL, start_gunicorn, stop  # noqa: E402
from bench.signals import Clock, Databases, run_databases  # noqa: E402

PG_PREFIX = "bench_tracing"
# Ports of their own, so this bench can run beside the others: the bare app, the service at the
# default floor, at floor 0 (both on the uploads deployment), and on the 1M deployment.
BARE_PORT, REAL_PORT, FLOOR0_PORT, DOWNLOAD_PORT = 8785, 8786, 8787, 8788
PREFIX = "/v1/tracing"
BARE_UPLOAD = "/v1/bare/tracing/keys"
KEPT_DAYS = 15  # a phone shares today's key and the 14 days before (tracing_client.phone)
TARGET_S_PER_100K = 1.0
SERIES = ("real", "fake", "mixed", "floor0", "bare")
WARM_UP_UPLOADS = 100  # real uploads per server worker before the figures
SERIES_TITLES = {"real": "real, default floor", "fake": "fake, default floor", "mixed": "real and fake in turn, default floor",
                 "floor0": "real, floor 0", "bare": "bare endpoint"}


# --- the ceiling -------------------------------------------------------------------------------------


def bare_app() -> Any:
    """bench/bare_app.py's app with the ceiling of an upload: parse a POST's JSON, answer as many
    bytes as the service pads every upload answer to. gunicorn serves 'bench.tracing:bare_app()'."""
    from flask import Response, request

    from bench.bare_app import _padded, app
    from service.tracing.chaff import RESPONSE_BYTES

    def upload():  # type: ignore[no-untyped-def]
        request.get_json()
        return Response(_padded(RESPONSE_BYTES), mimetype="application/json")

    if "bare_tracing_upload" not in app.view_functions:
        app.add_url_rule(BARE_UPLOAD, "bare_tracing_upload", upload, methods=["POST"])
    return app


# --- deployments -------------------------------------------------------------------------------------


class Deployment:
    """One deployment (its databases, keys and config); `keys` keys in its export window, or none."""

    def __init__(self, label: str, databases: Databases, keys: int = 0):
        self.label, self.databases, self.keys = label, databases, keys
        self.name = re.sub(r"\W", "", label.lower())
        self.clock = Clock()
        self.settings: dict[str, Any] = {
            "ENV": "production", "LOG_LEVEL": "WARNING",
            **{name: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
               for name in ("KEK", "PSEUDONYM_KEY", "AUDIT_SIGNING_KEY", "AUDIT_MAC_KEY", "TRACING_TOKEN_KEY", "TRACING_EXPORT_KEY", "WEB_SECRET_KEY")},
            "DATABASE_URL": databases.url(self.name), "KEYS_DATABASE_URL": databases.url(self.name + "_keys"),
            # The bench's one pharmacy issues thousands of codes; tokens got at the start are spent
            # minutes later.
            "TRACING_CODES_PER_DAY": 10_000_000, "TRACING_REDEEM_FAILURES_PER_HOUR": 10_000_000,
            "TRACING_TOKEN_TTL_MINUTES": 240,
        }
        self.app: Any = None
        self.state: Any = None
        self.info: dict[str, Any] = {"label": label, "keys": keys}

    def create(self) -> None:
        """Empty, migrated databases."""
        from database.engines import make_engine
        from service.migrations import upgrade

        for database, target in ((self.name, "main"), (self.name + "_keys", "keys")):
            engine = make_engine(self.databases.create(database))
            upgrade(engine, target=target)  # type: ignore[arg-type]
            engine.dispose()

    def open(self) -> None:
        """The service's state on these databases, in this process, on the bench's clock."""
        from service import create_app

        self.app = create_app({**self.settings, "CLOCK": self.clock})
        self.state = self.app.extensions["safesignal"]

    def env(self, **extra: Any) -> dict[str, str]:
        """The deployment's settings as SAFESIGNAL_* variables, for gunicorn."""
        env = dict(os.environ)
        env.update({f"SAFESIGNAL_{key}": str(value) for key, value in {**self.settings, **extra}.items()})
        return env

    def cli(self, *args: str) -> str:
        """A `safesignal` command, in-process, as an operator runs it; its output."""
        answer = self.app.test_cli_runner().invoke(args=list(args))
        if answer.exit_code != 0:
            raise RuntimeError(f"safesignal {' '.join(args)}: {answer.output}")
        return answer.output

    def close(self) -> None:
        """Release the in-process engines (the databases stay until Databases.close)."""
        if self.state is not None:
            self.state.engine.dispose()
            self.state.keys_engine.dispose()
            self.state = self.app = None


def phone_keys(now: dt.datetime, days: int = KEPT_DAYS) -> list[dict[str, object]]:
    """What a phone shares (tracing_client.phone): today's key and the days - 1 before, fresh."""
    from tracing_client.phone import Phone

    phone = Phone("bench")
    today = now.astimezone(dt.timezone.utc).date()
    for back in range(days):
        phone.key_of(today - dt.timedelta(days=back))
    return phone.keys_to_share(now)


def export_window(now: dt.datetime, period: dt.timedelta) -> dt.datetime:
    """The start of the window the exports are built for: the one holding 08:00 UTC two days back
    (the held-back keys of its uploads publish at 02:00 the next day, in another window)."""
    from service.tracing.exports import window_of

    return window_of(dt.datetime.combine((now - dt.timedelta(days=2)).date(), dt.time(8), dt.timezone.utc), period)


def fill(deployment: Deployment, start: dt.datetime, seed: int, say: Callable[[str], None]) -> None:
    """`deployment.keys` keys published in the window from `start`, as uploads store them:
    validated and stored by service.tracing.uploads (14 in the window and today's held back per
    phone; the last phone shares fewer days so the window holds exactly `keys`)."""
    from sqlalchemy import func, select

    from service.tracing import codes, uploads
    from service.tracing.models import KeyUpload

    state = deployment.state
    tracing = state.tracing
    period = tracing.export_rules.period.total_seconds()
    rng = random.Random(seed)
    began = time.perf_counter()
    remaining, phones = deployment.keys, 0
    with state.sessions() as session:
        while remaining > 0:
            moment = start - dt.timedelta(hours=1) + dt.timedelta(seconds=rng.uniform(1, period - 1))
            days = min(KEPT_DAYS - 1, remaining)
            risk = rng.randrange(9)  # what the app sends; the service sets its own from days since onset
            uploaded = [uploads.UploadedKey(k["key_data"], k["rolling_start_interval_number"], k["rolling_period"], risk)  # type: ignore[arg-type]
                        for k in phone_keys(moment, days + 1)]
            onset = codes.Onset(rng.choice(codes.ONSET_KINDS), moment.date() - dt.timedelta(days=rng.randrange(8)))
            accepted = uploads.validate(uploaded, onset, now=moment, skew=tracing.clock_skew)
            if len(accepted.now) != days or accepted.dropped:
                raise RuntimeError(f"fill: {len(accepted.now)} keys publishable of {days}, {accepted.dropped} dropped")
            uploads.store(session, tracing.keyring, tracing.keystore, accepted, now=moment)
            remaining -= days
            phones += 1
            if phones % 2000 == 0:
                session.commit()
            if phones % 20000 == 0:
                say(f"{deployment.label}: {deployment.keys - remaining:,} keys, {time.perf_counter() - began:.0f} s")
        session.commit()
        rows = session.scalar(select(func.count()).select_from(KeyUpload))
        in_window = session.scalar(select(func.sum(KeyUpload.keys)).where(
            KeyUpload.publish_at >= start, KeyUpload.publish_at < start + tracing.export_rules.period))
    deployment.databases.settle(deployment.name)
    deployment.info.update(fill_s=time.perf_counter() - began, uploads=phones, rows=rows, keys_in_window=in_window,
                           window_start=start.isoformat(), database_bytes=deployment.databases.size(deployment.name))


# --- exports -----------------------------------------------------------------------------------------


@contextmanager
def phases() -> Iterator[dict[str, float]]:
    """Seconds spent in exports.window_keys, build_files and prepare_window while the block runs
    (the module's functions wrapped with timers, and restored on exit)."""
    from service.tracing import exports

    spent = {"read_decrypt_s": 0.0, "build_sign_s": 0.0, "prepare_s": 0.0}
    originals = {name: getattr(exports, name) for name in ("window_keys", "build_files", "prepare_window")}

    def timed(name: str, key: str) -> Callable[..., Any]:
        original = originals[name]

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - begun

        return wrapper

    exports.window_keys = timed("window_keys", "read_decrypt_s")
    exports.build_files = timed("build_files", "build_sign_s")
    exports.prepare_window = timed("prepare_window", "prepare_s")
    try:
        yield spent
    finally:
        for name, original in originals.items():
            setattr(exports, name, original)


def clear_exports(deployment: Deployment) -> None:
    """Delete the window's files (so it is due again), then settle the database."""
    from sqlalchemy import delete

    from service.tracing.models import ExportFile

    with deployment.state.sessions() as session:
        session.execute(delete(ExportFile))
        session.commit()
    deployment.databases.settle(deployment.name, "export_file")


def time_export(deployment: Deployment) -> dict[str, Any]:
    """One run of export_due on the deployment's due window, timed, with its parts."""
    from service.tracing.jobs import export_due

    clear_exports(deployment)
    gc.collect()  # the last run's garbage is not this run's cost
    with phases() as spent:
        begun = time.perf_counter()
        stored = export_due(deployment.state, "bench")
        total = time.perf_counter() - begun
    exported = sum(keys for _, keys in stored)
    if exported != deployment.keys:
        raise RuntimeError(f"{deployment.label}: exported {exported:,} keys in {len(stored)} files, expected {deployment.keys:,}")
    return {"total_s": total, **spent, "rest_of_prepare_s": spent["prepare_s"] - spent["read_decrypt_s"] - spent["build_sign_s"],
            "job_rest_s": total - spent["prepare_s"], "files": len(stored)}


def measure_exports(deployments: list[Deployment], repeat: int, say: Callable[[str], None]) -> dict[str, Any]:
    """export_due for each deployment's window, `repeat` rounds, sizes interleaved, best kept."""
    from sqlalchemy import func, select

    from service.tracing.exports import MARGIN
    from service.tracing.models import ExportFile

    for deployment in deployments:
        start = dt.datetime.fromisoformat(deployment.info["window_start"])
        deployment.clock.now = start + deployment.state.tracing.export_rules.period + MARGIN + dt.timedelta(minutes=1)
    runs: dict[str, list[dict[str, Any]]] = {d.label: [] for d in deployments}
    for round_ in range(repeat):
        for deployment in deployments if round_ % 2 == 0 else deployments[::-1]:
            runs[deployment.label].append(time_export(deployment))
        say(f"export round {round_ + 1}: " + ", ".join(
            f"{d.label} {runs[d.label][-1]['total_s']:.2f} s" for d in deployments))
    out = {}
    for deployment in deployments:
        with deployment.state.sessions() as session:
            files, size = session.execute(select(func.count(), func.sum(func.length(ExportFile.data)))).one()
        best = min(runs[deployment.label], key=lambda run: run["total_s"])
        out[deployment.label] = {**best, "keys": deployment.keys, "bytes": int(size), "files_stored": files,
                                 "all_total_s": [round(run["total_s"], 3) for run in runs[deployment.label]]}
    return out


# --- HTTP ----------------------------------------------------------------------------------------------


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes, float]:
    """One request on a new connection: (status, headers with lower-case names, body, seconds)."""
    begun = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, answer, time.perf_counter() - begun


def upload_body(token: str, keys: list[dict[str, object]]) -> bytes:
    """What tracing_client.api.upload sends: the token and keys, padded with random text to the
    app's upload size. The padding is drawn as base64url here: the client's character-by-character
    draw costs milliseconds, which would weigh on the client side of every figure."""
    from tracing_client.api import UPLOAD_BYTES

    bare = json.dumps({"token": token, "keys": keys, "padding": ""}, separators=(",", ":")).encode()
    room = UPLOAD_BYTES - len(bare)
    if room < 0:
        raise ValueError("upload larger than its padded size")
    return bare[:-2] + base64.urlsafe_b64encode(os.urandom(room))[:room] + b'"}'


def _upload_client(index: int, port: int, path: str, tokens: list[str], decoy: str, pattern: tuple[str, ...],
                   start_at: float, seconds: float, queue: Any) -> None:
    """One client process: from `start_at` (wall clock) for `seconds`, uploads 15 fresh keys per
    request, each request of the next kind in `pattern` (from its own place in it): "real" spends
    the next of `tokens`, "fake" and "bare" send `decoy`. Reports what was answered, by kind."""
    latencies: dict[str, list[float]] = {kind: [] for kind in pattern}
    statuses: dict[int, int] = {}
    sizes: set[int] = set()
    stored = used = n = 0
    ran_out = False
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        kind = pattern[(index + n) % len(pattern)]
        n += 1
        if kind == "real":
            if used >= len(tokens):
                ran_out = True
                break
            token, used = tokens[used], used + 1
        else:
            token = decoy
        headers = {"Content-Type": "application/json", "SafeSignal-Fake": "1" if kind == "fake" else "0"}
        body = upload_body(token, phone_keys(dt.datetime.now(dt.timezone.utc)))
        try:
            status, _, answer, seconds_taken = call(port, "POST", path, body, headers)
        except (OSError, http.client.HTTPException):
            status, answer, seconds_taken = 0, b"", 0.0
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            latencies[kind].append(seconds_taken * 1000)
            sizes.add(len(answer))
            if kind == "real":
                stored += json.loads(answer)["inserted"]
    queue.put((index, used, statuses, latencies, sorted(sizes), stored, time.perf_counter() - started, ran_out))


def ks_distance(first: list[float], second: list[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov distance, and the distance past which the two differ at the
    5% level (1.36 * sqrt((n + m) / (n m)))."""
    a, b = sorted(first), sorted(second)
    i = j = 0
    distance = 0.0
    while i < len(a) and j < len(b):
        value = min(a[i], b[j])
        while i < len(a) and a[i] == value:
            i += 1
        while j < len(b) and b[j] == value:
            j += 1
        distance = max(distance, abs(i / len(a) - j / len(b)))
    return distance, 1.36 * math.sqrt((len(a) + len(b)) / (len(a) * len(b)))


def load(port: int, path: str, slices: list[list[str]], decoy: str, pattern: tuple[str, ...], seconds: float) -> dict[str, Any]:
    """Uploads per second from one client process per token slice, for `seconds`; latencies by kind."""
    from bench.signals import percentile

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 0.3  # every client forked and waiting before the first request
    processes = [context.Process(target=_upload_client, args=(i, port, path, tokens, decoy, pattern, start_at, seconds, queue))
                 for i, tokens in enumerate(slices)]
    for process in processes:
        process.start()
    results = sorted((queue.get(timeout=seconds + 300) for _ in processes), key=lambda result: result[0])
    for process in processes:
        process.join()
    statuses: dict[int, int] = {}
    latencies: dict[str, list[float]] = {kind: [] for kind in pattern}
    sizes: set[int] = set()
    for _, _, counts, by_kind, size, _, _, _ in results:
        for kind, values in by_kind.items():
            latencies[kind] += values
        sizes.update(size)
        for status, count in counts.items():
            statuses[status] = statuses.get(status, 0) + count
    elapsed = max(result[6] for result in results)
    every = [ms for values in latencies.values() for ms in values]
    out = {
        "per_s": statuses.get(200, 0) / elapsed, "p50_ms": percentile(every, 0.5) if every else math.nan,
        "p95_ms": percentile(every, 0.95) if every else math.nan, "max_ms": max(every, default=math.nan),
        "min_ms": min(every, default=math.nan), "statuses": statuses, "answer_bytes": sorted(sizes),
        "keys_stored": sum(result[5] for result in results), "ran_out": any(result[7] for result in results),
        "used": [result[1] for result in results],
    }
    if len(latencies) > 1:  # each kind's own figures, and how far apart their distributions are
        out["by_kind"] = {kind: {"n": len(values), "p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95)}
                          for kind, values in latencies.items()}
        out["ks"], out["ks_critical"] = ks_distance(latencies["real"], latencies["fake"])
    return out


class TokenPool:
    """Upload tokens got the real way, over HTTP and untimed: the granted pharmacy issues a code
    and the app exchanges it (tracing_client.api), from `threads` threads at once."""

    def __init__(self, port: int, pharmacy_token: str, threads: int):
        from tracing_client.api import HttpTransport

        self.transport = HttpTransport(f"http://127.0.0.1:{port}")
        self.pharmacy_token, self.threads = pharmacy_token, threads
        self.tokens: list[str] = []
        self.got, self.seconds = 0, 0.0

    def _one(self, _: int) -> str:
        from tracing_client.api import exchange, issue_code

        code = issue_code(self.transport, self.pharmacy_token, test_date=dt.datetime.now(dt.timezone.utc).date().isoformat())
        return exchange(self.transport, code)

    def take(self, count: int) -> list[str]:
        """`count` unspent tokens (more are got first when the pool holds fewer)."""
        if len(self.tokens) < count:
            missing = count - len(self.tokens)
            begun = time.perf_counter()
            with ThreadPoolExecutor(self.threads) as pool:
                self.tokens += pool.map(self._one, range(missing))
            self.seconds += time.perf_counter() - begun
            self.got += missing
        taken, self.tokens = self.tokens[:count], self.tokens[count:]
        return taken

    def give_back(self, tokens: list[str]) -> None:
        """Tokens handed out but not spent."""
        self.tokens += tokens


def measure_uploads(pool: TokenPool, decoy: str, args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """The upload series and their ceiling, in rotating order, --repeat rounds after a warm-up."""
    # port, path, the kinds of request each client sends in turn
    targets = {"real": (REAL_PORT, PREFIX + "/keys", ("real",)), "fake": (REAL_PORT, PREFIX + "/keys", ("fake",)),
               "mixed": (REAL_PORT, PREFIX + "/keys", ("real", "fake")),
               "floor0": (FLOOR0_PORT, PREFIX + "/keys", ("real",)), "bare": (BARE_PORT, BARE_UPLOAD, ("bare",))}
    # Tokens handed to each client: enough for half as much again as the best rate seen (first
    # guesses above what the series reach); what a client leaves goes back to the pool.
    expected = {"real": 200.0, "mixed": 200.0, "floor0": 600.0}

    def run(name: str, seconds: float) -> dict[str, Any]:
        port, path, pattern = targets[name]
        slices: list[list[str]] = [[] for _ in range(args.clients)]
        if "real" in pattern:
            per_client = math.ceil(expected[name] * seconds * 1.5 / args.clients) + 5
            slices = [pool.take(per_client) for _ in range(args.clients)]
        result = load(port, path, slices, decoy, pattern, seconds)
        for tokens, used in zip(slices, result["used"]):
            pool.give_back(tokens[used:])
        if name in expected:
            expected[name] = max(expected[name], result["per_s"])
        return result

    # Warm-up, untimed, 1 s at a time: a worker's first real uploads are slow (SQL compiled,
    # connections opened, the day's data key fetched), so real uploads go on until every worker
    # has answered about WARM_UP_UPLOADS; fakes and the bare endpoint get a second each.
    warm_up: dict[str, list[float]] = {}
    for name in SERIES:
        done = 0
        while True:
            result = run(name, 1.0)
            if set(result["statuses"]) != {200}:
                raise RuntimeError(f"warm-up {name}: {result['statuses']}")
            warm_up.setdefault(name, []).append(round(result["p50_ms"], 1))
            done += result["statuses"][200]
            if targets[name][2] != ("real",) or done >= WARM_UP_UPLOADS * args.workers or len(warm_up[name]) >= 60:
                break
    say(f"warmed up ({pool.got:,} tokens got so far at {pool.got / pool.seconds:.0f}/s); p50 of each second: "
        + ", ".join(f"{name} {values}" for name, values in warm_up.items()))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SERIES}
    for round_ in range(args.repeat):
        for name in SERIES[round_ % len(SERIES):] + SERIES[:round_ % len(SERIES)]:
            runs[name].append(run(name, args.seconds))
        say(f"upload round {round_ + 1}: " + ", ".join(
            f"{name} {runs[name][-1]['per_s']:.0f}/s (p50 {runs[name][-1]['p50_ms']:.0f} ms)" for name in SERIES))
    out: dict[str, Any] = {name: dict(max(values, key=lambda r: r["per_s"]), all_per_s=[round(r["per_s"], 1) for r in values])
                           for name, values in runs.items()}
    out["mixed"]["all_ks"] = [round(r["ks"], 3) for r in runs["mixed"]]
    out["tokens"] = {"got": pool.got, "seconds": pool.seconds}
    out["warm_up_p50_ms"] = warm_up
    return out


def measure_downloads(public_key: Any, args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """The 1M window's first file: GET and conditional GET, beside the bare endpoint, interleaved."""
    from bench.signals import percentile
    from crypto.exposure_export import read_export

    status, _, index, _ = call(DOWNLOAD_PORT, "GET", PREFIX + "/exports/index.txt")
    if status != 200 or not index:
        raise RuntimeError(f"GET {PREFIX}/exports/index.txt: {status}, {len(index)} bytes")
    name = index.decode().split()[0]  # oldest window first, then by batch number
    path = f"{PREFIX}/exports/{name}"
    status, headers, body, _ = call(DOWNLOAD_PORT, "GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path}: {status}")
    etag, size = headers["etag"], len(body)
    verified = read_export(body, public_key)  # a phone's check: the signature and the keys
    info = {"file": name, "bytes": size, "keys": len(verified.keys), "batch": f"{verified.batch_num} of {verified.batch_size}",
            "etag": etag, "cache_control": headers.get("cache-control", "")}
    del verified
    requests = {"get": (DOWNLOAD_PORT, path, {}, 200, size), "if_none_match": (DOWNLOAD_PORT, path, {"If-None-Match": etag}, 304, 0),
                "bare_get": (BARE_PORT, f"/v1/bare/json/{size}", {}, 200, size), "bare_small": (BARE_PORT, "/v1/bare/json/0", {}, 200, 10)}
    names = list(requests)
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in names}
    for round_ in range(args.repeat + 1):  # the first round warms up
        seen: dict[str, list[float]] = {key: [] for key in names}
        wrong: dict[str, list[tuple[int, int]]] = {key: [] for key in names}
        for i in range(args.downloads):
            for key in names[i % 4:] + names[:i % 4]:
                port, target, extra, want_status, want_size = requests[key]
                status, answered, body, seconds = call(port, "GET", target, headers=extra)
                seen[key].append(seconds * 1000)
                if status != want_status or len(body) != want_size or (key == "if_none_match" and answered.get("etag") != etag):
                    wrong[key].append((status, len(body)))
        if round_ == 0:
            continue
        for key in names:
            runs[key].append({"p50_ms": percentile(seen[key], 0.5), "p95_ms": percentile(seen[key], 0.95),
                              "max_ms": max(seen[key]), "wrong": wrong[key][:5], "wrong_count": len(wrong[key])})
        say(f"download round {round_}: " + ", ".join(f"{key} p95 {runs[key][-1]['p95_ms']:.1f} ms" for key in names))
    out: dict[str, Any] = {key: dict(min(values, key=lambda r: r["p95_ms"]), all_p95_ms=[round(r["p95_ms"], 2) for r in values])
                           for key, values in runs.items()}
    out["file"] = info
    return out


@contextmanager
def servers(entries: list[tuple[str, int, str, dict[str, str]]], args: argparse.Namespace) -> Iterator[None]:
    """(label, port, app, env) each under gunicorn, stopped on exit; logs in bench/out/tracing-gunicorn-*.log."""
    processes, logs = [], []
    try:
        for label, port, app_spec, env in entries:
            logs.append(open(HERE / "out" / f"tracing-gunicorn-{label}.log", "ab"))
            processes.append(start_gunicorn(app_spec, port, env, args.workers, args.threads, stderr=logs[-1]))
        yield
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()


# --- the run -------------------------------------------------------------------------------------------


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Fill and export both windows, then uploads and downloads over HTTP, on one database engine."""
    from bench.signals import label_of
    from service.tracing.domain import DEFAULTS
    from tracing_client.api import HttpTransport, exchange

    began = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{kind} {time.perf_counter() - began:5.0f} s] {text}", flush=True)

    databases = Databases(kind, args.postgres, PG_PREFIX)
    uploads = Deployment("uploads", databases)
    windows = [Deployment(label_of(n), databases, n) for n in args.keys]
    result: dict[str, Any] = {"database": kind, "workers": args.workers, "threads": args.threads, "clients": args.clients,
                              "seconds": args.seconds, "repeat": args.repeat, "export_repeat": args.export_repeat,
                              "downloads_per_round": args.downloads, "floor_ms": DEFAULTS["TRACING_RESPONSE_FLOOR_MS"]}
    try:
        for deployment in windows:
            deployment.create()
            deployment.open()
            start = export_window(dt.datetime.now(dt.timezone.utc), deployment.state.tracing.export_rules.period)
            say(f"filling {deployment.label}: {deployment.keys:,} keys in the window from {start:%Y-%m-%d %H:%M} UTC")
            fill(deployment, start, args.seed, say)
            info = deployment.info
            say(f"{deployment.label}: {info['uploads']:,} uploads, {info['rows']:,} rows, {info['keys_in_window']:,} keys in the "
                f"window, {info['database_bytes'] / 1e6:.0f} MB, in {info['fill_s']:.0f} s")
        say(f"building exports, {args.export_repeat} rounds")
        result["exports"] = measure_exports(windows, args.export_repeat, say)
        public_key = windows[-1].state.tracing.export_signer().public_key()
        for deployment in windows:
            deployment.close()
        uploads.create()
        uploads.open()
        area = uploads.state.intake.areas.areas()[0].code
        added = uploads.cli("partners", "add", "--kind", "pharmacy", "--name", "bench pharmacy", "--area", area)
        organisation = re.search(r"organisation (\S+)", added)
        token = re.search(r"token \(shown once, store it now\): (\S+)", added)
        if organisation is None or token is None:
            raise RuntimeError(f"partners add: {added}")
        uploads.cli("tracing", "grant", organisation[1])
        uploads.close()
        entries = [("bare", BARE_PORT, "bench.tracing:bare_app()", dict(os.environ)),
                   ("real", REAL_PORT, "service:create_app()", uploads.env()),
                   ("floor0", FLOOR0_PORT, "service:create_app()", uploads.env(TRACING_RESPONSE_FLOOR_MS=0)),
                   ("downloads", DOWNLOAD_PORT, "service:create_app()", windows[-1].env())]
        with servers(entries, args):
            pool = TokenPool(FLOOR0_PORT, token[1], args.clients)
            decoy = exchange(HttpTransport(f"http://127.0.0.1:{REAL_PORT}"), "", fake=True)
            say("uploads over HTTP")
            result["uploads"] = measure_uploads(pool, decoy, args, say)
            say("downloads over HTTP")
            result["downloads"] = measure_downloads(public_key, args, say)
    finally:
        for deployment in (*windows, uploads):
            result.setdefault("deployments", {})[deployment.label] = deployment.info
            deployment.close()
        databases.close()
    result["labels"] = [d.label for d in windows]
    result["seconds_total"] = time.perf_counter() - began
    return result


def export_line(label: str, e: dict[str, Any]) -> str:
    """One window's export figures, as printed."""
    per = e["total_s"] / (e["keys"] / 100_000)
    return (f"- {label}: {e['total_s']:.2f} s for {e['keys']:,} keys in {e['files']} files ({e['bytes'] / 1e6:.1f} MB) = "
            f"**{per:.2f} s per 100k keys** (target <= {TARGET_S_PER_100K:.0f} s: {per / TARGET_S_PER_100K:.0%}); read + decrypt "
            f"{e['read_decrypt_s']:.2f} s, build + sign {e['build_sign_s']:.2f} s, rest of prepare {e['rest_of_prepare_s']:.2f} s, "
            f"find + store + commit {e['job_rest_s']:.2f} s; all rounds {e['all_total_s']}")


def summary(result: dict[str, Any]) -> list[str]:
    """The figures of one database, as printed."""
    small, large = result["labels"][0], result["labels"][-1]
    ex, up, dl = result["exports"], result["uploads"], result["downloads"]
    deployments = result["deployments"]
    in_flight = min(result["clients"], result["workers"] * result["threads"])
    bound = in_flight / (1.5 * result["floor_ms"] / 1000)
    lines = [f"## {result['database']}: gunicorn {result['workers']} gthread workers x {result['threads']} threads, "
             f"{result['clients']} client processes, best of {result['repeat']} x {result['seconds']:g} s"]
    for label in result["labels"]:
        info = deployments[label]
        lines.append(f"- {label} window: {info['keys_in_window']:,} keys from {info['uploads']:,} uploads, {info['rows']:,} key_upload "
                     f"rows, {info['database_bytes'] / 1e6:.0f} MB, filled in {info['fill_s']:.0f} s")
    lines.append(f"exports (export_due in-process, best of {result['export_repeat']}, sizes interleaved):")
    lines += [export_line(label, ex[label]) for label in result["labels"]]
    lines.append(f"- **{large}/{small} = {ex[large]['total_s'] / ex[small]['total_s']:.2f}** (linear: "
                 f"{ex[large]['keys'] / ex[small]['keys']:.0f})")
    bare = up["bare"]
    lines.append(f"uploads of 15 keys ({up['tokens']['got']:,} tokens got over HTTP beforehand, issue + exchange, at "
                 f"{up['tokens']['got'] / up['tokens']['seconds']:.0f}/s, untimed):")
    lines.append("- warm-up, p50 of each second: " + "; ".join(f"{SERIES_TITLES[name]} {values} ms"
                                                            for name, values in up["warm_up_p50_ms"].items()))
    for name in SERIES:
        run = up[name]
        extra = ""
        if name in ("real", "fake"):
            held = in_flight / (1.5 * run["min_ms"] / 1000)
            extra = (f"; the deadline's bound at the floor: {in_flight} in flight / mean {1.5 * result['floor_ms']:.0f} ms = "
                     f"{bound:.0f}/s ({run['per_s'] / bound:.0%}); shortest answer {run['min_ms']:.0f} ms (about D), so at most "
                     f"{held:.0f}/s ({run['per_s'] / held:.0%})")
        if name != "bare":
            extra += f"; = {run['per_s'] / bare['per_s']:.1%} of bare"
        if name == "mixed":
            real, fake = run["by_kind"]["real"], run["by_kind"]["fake"]
            extra += (f"; in it real p50 {real['p50_ms']:.1f} / p95 {real['p95_ms']:.1f} ms ({real['n']}), fake p50 "
                      f"{fake['p50_ms']:.1f} / p95 {fake['p95_ms']:.1f} ms ({fake['n']}); KS distance {run['ks']:.3f} "
                      f"(different at 5% past {run['ks_critical']:.3f}; all rounds {run['all_ks']})")
        if name == "fake":
            extra += f"; fake/real p50 {run['p50_ms'] / up['real']['p50_ms']:.2f}, p95 {run['p95_ms'] / up['real']['p95_ms']:.2f}"
        lines.append(f"- {SERIES_TITLES[name]}: **{run['per_s']:.0f}/s** (p50 {run['p50_ms']:.1f} ms, p95 {run['p95_ms']:.1f} ms, "
                     f"max {run['max_ms']:.0f} ms){extra}; all rounds {run['all_per_s']}")
    f = dl["file"]
    g, c = dl["get"], dl["if_none_match"]
    lines.append(f"downloads of {f['file']} ({f['keys']:,} keys, batch {f['batch']}, {f['bytes'] / 1e6:.2f} MB, "
                 f"Cache-Control: {f['cache_control']}), best p95 of {result['repeat']} x {result['downloads_per_round']}:")
    lines.append(f"- GET: p50 {g['p50_ms']:.1f} / p95 {g['p95_ms']:.1f} ms; bare endpoint, same size: p50 {dl['bare_get']['p50_ms']:.1f} / "
                 f"p95 {dl['bare_get']['p95_ms']:.1f} ms")
    lines.append(f"- GET with If-None-Match: 304, empty body: p50 {c['p50_ms']:.1f} / p95 {c['p95_ms']:.1f} ms = "
                 f"**{c['p50_ms'] / g['p50_ms']:.1%} of the GET** (p50; p95 {c['p95_ms'] / g['p95_ms']:.1%}); bare 10-byte answer "
                 f"p50 {dl['bare_small']['p50_ms']:.1f} / p95 {dl['bare_small']['p95_ms']:.1f} ms")
    bad = {name: up[name]["statuses"] for name in SERIES if set(up[name]["statuses"]) != {200}}
    bad.update({key: dl[key]["wrong"] for key in ("get", "if_none_match", "bare_get", "bare_small") if dl[key]["wrong_count"]})
    ran_out = [name for name in SERIES if up[name]["ran_out"]]
    if bad:
        lines.append(f"- UNEXPECTED ANSWERS: {bad}")
    if ran_out:
        lines.append(f"- clients ran out of tokens (rates are lower bounds): {ran_out}")
    return lines


def table(results: list[dict[str, Any]]) -> list[str]:
    """The Markdown table for docs/benchmarks.md."""
    if not results:
        return []
    names = ["SQLite" if r["database"] == "sqlite" else "PostgreSQL" for r in results]
    small, large = results[0]["labels"][0], results[0]["labels"][-1]
    rows: dict[str, list[str]] = {}

    def cell(row: str, text: str) -> None:
        rows.setdefault(row, []).append(text)

    for r in results:
        up, ex, dl = r["uploads"], r["exports"], r["downloads"]
        bare = up["bare"]
        in_flight = min(r["clients"], r["workers"] * r["threads"])
        bound = in_flight / (1.5 * r["floor_ms"] / 1000)
        cell(f"**uploads/s, default floor ({r['floor_ms']} ms)**",
             f"{up['real']['per_s']:.0f}/s (p50 {up['real']['p50_ms']:.0f} / p95 {up['real']['p95_ms']:.0f} ms) = "
             f"{up['real']['per_s'] / bound:.0%} of the bound at the floor, {bound:.0f}/s; shortest answer {up['real']['min_ms']:.0f} ms")
        cell("fake uploads/s, default floor", f"{up['fake']['per_s']:.0f}/s (p50 {up['fake']['p50_ms']:.0f} / p95 {up['fake']['p95_ms']:.0f} ms)")
        mixed = up["mixed"]
        cell("real and fake in turn, one stream: p50 / p95", f"real {mixed['by_kind']['real']['p50_ms']:.0f} / "
             f"{mixed['by_kind']['real']['p95_ms']:.0f} ms, fake {mixed['by_kind']['fake']['p50_ms']:.0f} / "
             f"{mixed['by_kind']['fake']['p95_ms']:.0f} ms; KS distance {mixed['ks']:.3f} (5% critical {mixed['ks_critical']:.3f}; "
             f"rounds {', '.join(f'{k:.3f}' for k in mixed['all_ks'])})")
        cell("**uploads/s, floor 0**", f"{up['floor0']['per_s']:.0f}/s (p50 {up['floor0']['p50_ms']:.1f} / p95 {up['floor0']['p95_ms']:.1f} ms; "
             f"shortest {up['floor0']['min_ms']:.0f} ms) = **{up['floor0']['per_s'] / bare['per_s']:.0%}** of bare")
        cell("bare endpoint (same body sizes)", f"{bare['per_s']:.0f}/s (p50 {bare['p50_ms']:.1f} / p95 {bare['p95_ms']:.1f} ms)")
        for label in r["labels"]:
            e = ex[label]
            cell(f"**export of {label} keys** (export_due)", f"{e['total_s']:.2f} s = **{e['total_s'] / (e['keys'] / 100_000):.2f} s per 100k**")
        cell(f"{large}: read + decrypt / build + sign / rest", f"{ex[large]['read_decrypt_s']:.2f} / {ex[large]['build_sign_s']:.2f} / "
             f"{ex[large]['rest_of_prepare_s'] + ex[large]['job_rest_s']:.2f} s")
        cell(f"**{large} / {small}** (linear: {ex[large]['keys'] / ex[small]['keys']:.0f})", f"**{ex[large]['total_s'] / ex[small]['total_s']:.2f}**")
        cell(f"download, first file of the {large} window ({dl['file']['bytes'] / 1e6:.1f} MB)",
             f"p50 {dl['get']['p50_ms']:.1f} / p95 {dl['get']['p95_ms']:.1f} ms (bare, same size: {dl['bare_get']['p50_ms']:.1f} / "
             f"{dl['bare_get']['p95_ms']:.1f} ms)")
        cell("**repeated download** (If-None-Match: 304, empty body)",
             f"p50 {dl['if_none_match']['p50_ms']:.1f} / p95 {dl['if_none_match']['p95_ms']:.1f} ms = "
             f"**{dl['if_none_match']['p50_ms'] / dl['get']['p50_ms']:.0%}** of the download")
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {row} | " + " | ".join(values) + " |" for row, values in rows.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20k and 200k keys, 2 s series, one round of each")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=PG_ADMIN_URL, help=f"PostgreSQL server (admin URL) for databases {PG_PREFIX}_*")
    parser.add_argument("--keys", default="100000,1000000", help="keys in the two export windows")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each upload series")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the upload and download series; best kept")
    parser.add_argument("--export-repeat", type=int, default=3, help="builds of each window's export; best kept")
    parser.add_argument("--downloads", type=int, default=50, help="requests of each download series per round")
    parser.add_argument("--clients", type=int, default=8, help="client processes uploading at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        if args.keys == parser.get_default("keys"):
            args.keys = "20000,200000"
        args.seconds, args.repeat, args.export_repeat, args.downloads = 2.0, 1, 1, 20
    args.keys = [int(n) for n in args.keys.split(",")]
    run_databases("tracing", bench_database, summary, table, args)


if __name__ == "__main__":
    main()
