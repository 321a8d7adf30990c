"""Aggregated signals: query latency with 100k and with 10M stored reports, and a week's release.

Issue 4's "done when": query latency (p50, p95) for a city grid (200 areas, 25 categories, 52
weeks) with 100k and with 10M stored reports, in the same run, and the time to compute a week's
release. Targets: p95 at most 50 ms, and p95 with 10M reports at most 1.2 times p95 with 100k.

For each database (SQLite files with the service's own settings; PostgreSQL when reachable, in
databases named bench_signals_*), two deployments of one generated city, "100k" and "10M" (--reports):

  fill       200 square areas in a 20 x 10 grid, 10 districts of 20, one municipality "city"
             (AREAS_MODE=polygons). 52 weeks of reports from 300 reporters (200 pharmacies at a
             fixed area, 100 field devices roaming their district, one field service per district
             counting as one reporter in the tallies), skewed: Zipf-like areas,
             categories and reporter activity, a seasonal wave, and in about one week in eight an
             outbreak in one cell. The `report` rows are what intake stores (ids with the hour
             prefix, hours, epochs, 16-byte reporter pseudonyms), except `payload`: random bytes of
             the sizes real AES-GCM payloads have, because the signals path never reads a payload
             (no data key is created). `signal_tally` holds exactly what intake would have added up
             from those reports: one row per (week, area, category, reporter) with its count
             (inserted once with its final n, where intake would have updated it in place).
             Filled through the driver in big transactions (PostgreSQL: COPY; SQLite: executemany
             with synchronous=OFF, then checkpointed), not timed as a figure.
  compute    the 52 weekly releases, oldest first, in-process (the app from create_app, its clock
             set to each week's release time) as the scheduler makes them:
             `compute_missing` on a read-only session, --compute-repeat times interleaved between
             the two deployments, best kept, p50, p95 and max over the weeks; then `store` and its
             commit, the short write (timed once per week).
             ceiling: the bare SQL aggregation of that week's tallies (the statement
             compute_missing runs) alone, so the ratio shows what the protection costs on top
             (noise on each measured part, weighted least squares over both hierarchies,
             rounding, statuses). The estimation runs on numpy's OpenBLAS, which uses every
             core unless OPENBLAS_NUM_THREADS says otherwise; the header prints which.
  check      one counts and one alerts answer per deployment read field by field, so that a
             format changed under the bench fails it rather than being timed: statuses shown /
             below_k / uncertain, [low, high] around every shown value and nothing for the
             others, every cell's sd; alerts with their own sd and a reason for every cell.
  first open an analyst organisation (fresh every round) opens all 52 weeks over HTTP, one
             request per week: the path that charges the budget ledger.
  queries    over HTTP under gunicorn as `make run` serves it (2 gthread workers x 4 threads),
             one client, sequential requests, a new connection each (latency, not throughput),
             by an organisation that has opened every week:
               counts   GET /v1/signals/weeks/{week}/counts, the 52 weeks x 6 level combinations
                        in one fixed random order
               csv      the same with format=csv
               alerts   GET /v1/signals/weeks/{week}/alerts, a fixed random sample of the same
               calendar GET /v1/signals/calendar and /budget
             ceiling: a bare Flask endpoint on the same gunicorn settings (bench/bare_app.py)
             answering a JSON body of the size the service answered to the same request.

Weeks are the service's own (service.signals.weeks: week_of, week_label, release_at), so the bench
follows when they move to local time; the fill writes each tally with its week's Monday directly
and the report rows' hours from that Monday 00:00 UTC.

Figures are printed beside their ceilings and targets as ratios; nothing here asserts on time.
Measurements are interleaved request by request: each request goes to both deployments (in
alternating order), then to the bare endpoint once for each body size they answered, so a
disturbance of the machine hits all alike. Every series runs --repeat times and the round with the
best p95 is kept, as bench/intake.py keeps the best.
Usage: .venv/bin/python bench/signals.py [--quick] [--databases sqlite,postgresql] [--reports 100000,10000000]
--quick is a smoke run of a few minutes: 20k and 2M reports, fewer requests, 2 rounds, one compute each.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.intake import INSERT_REPORT, PG_ADMIN_URL, raw_connection, start_gunicorn, stop  # noqa: E402
from bench.retention import postgres_reachable  # noqa: E402

PG_PREFIX = "bench_signals"
# Ports of their own, so this bench can run beside bench/intake.py: the bare app, then one per deployment.
BARE_PORT = 8775
MUNICIPALITY = "city"
COLUMNS, ROWS, DISTRICT_COLUMNS, DISTRICT_ROWS = 20, 10, 4, 5  # 200 areas; districts of 4 x 5
WEEKS = 52
PHARMACIES, DEVICES = 200, 100
GEO_LEVELS = ("area", "district", "municipality")
TAX_LEVELS = ("category", "phenomenon")
TARGET_P95_MS = 50.0
TARGET_GROWTH = 1.2
PAYLOAD_POOL = 4096  # distinct random payloads the fill cycles through


# --- the city ---------------------------------------------------------------------------------------


def write_area_file(path: Path) -> list[tuple[str, int]]:
    """A GeoJSON grid of 200 square areas near Mechelen; return (code, district index) per area."""
    features, areas = [], []
    for row in range(ROWS):
        for column in range(COLUMNS):
            index = row * COLUMNS + column
            district = (row // DISTRICT_ROWS) * (COLUMNS // DISTRICT_COLUMNS) + column // DISTRICT_COLUMNS
            code = f"city-{index:03d}"
            lon, lat = 4.40 + column * 0.005, 51.00 + row * 0.004
            ring = [[lon, lat], [lon + 0.005, lat], [lon + 0.005, lat + 0.004], [lon, lat + 0.004], [lon, lat]]
            features.append({
                "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"code": code, "name": f"Wijk {index}", "district": f"district-{district:02d}",
                               "municipality": MUNICIPALITY},
            })
            areas.append((code, district))
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return areas


@dataclass
class Population:
    """Who reports what where: reporters with pseudonyms, home areas or districts, activity, and
    per channel the category weights. One seed gives the same city to every deployment."""

    areas: list[str]
    districts: np.ndarray  # district index of each area
    area_weight: np.ndarray  # popularity of each area (Zipf-like over a shuffled order)
    categories: list[str]
    category_weight: dict[str, np.ndarray]  # channel -> weight of each category (0 if not allowed)
    pseudonyms: list[bytes]  # one per reporter; pharmacies first
    home: np.ndarray  # pharmacies: area index; devices: district index
    activity: np.ndarray  # reporters' share of the reports
    payload_sizes: list[int]

    @property
    def reporters(self) -> int:
        return len(self.pseudonyms)


def population(areas: list[tuple[str, int]], seed: int) -> Population:
    """The city's reporters and weights, from the seed."""
    from service.taxonomy import load_taxonomy

    rng = np.random.default_rng(seed)
    taxonomy = load_taxonomy(None)
    categories = sorted(taxonomy.categories)
    zipf = lambda n, s: 1 / np.arange(1, n + 1) ** s  # noqa: E731
    area_weight = zipf(len(areas), 0.8)[rng.permutation(len(areas))]
    area_weight /= area_weight.sum()
    category_weight = {}
    for channel in ("pharmacy", "field"):
        weight = zipf(len(categories), 1.1)[rng.permutation(len(categories))]
        weight *= [channel in taxonomy.categories[code].channels for code in categories]
        category_weight[channel] = weight / weight.sum()
    home = np.concatenate([rng.choice(len(areas), PHARMACIES, p=area_weight),
                           np.arange(DEVICES) % (max(d for _, d in areas) + 1)])
    activity = rng.lognormal(0.0, 1.0, PHARMACIES + DEVICES)
    activity[PHARMACIES:] *= 3  # a field worker reports more than a pharmacy counter
    return Population(
        areas=[code for code, _ in areas], districts=np.array([d for _, d in areas]), area_weight=area_weight,
        categories=categories, category_weight=category_weight,
        pseudonyms=[rng.bytes(16) for _ in range(PHARMACIES + DEVICES)], home=home,
        activity=activity / activity.sum(), payload_sizes=real_payload_sizes(),
    )


def real_payload_sizes() -> list[int]:
    """Sizes of real sealed payloads (bench/retention.py's twenty variants), under a throwaway key."""
    import msgspec

    from crypto.envelope import DataKey, associated_data, encrypt
    from service.reports.schemas import EncryptedPayload

    key = DataKey(secrets.token_bytes(16), secrets.token_bytes(32))  # in memory only
    sizes = []
    for i in range(20):
        payload = EncryptedPayload(
            v=1, count=1 + i % 3, referral=i % 4 == 0, age_band="25-44" if i % 4 == 0 else None,
            sex="female" if i % 4 == 0 else None, referral_kind="caw" if i % 4 == 0 else None,
            note="Vroeg naar naloxon en spuitenruil, doorverwezen naar het CAW." if i % 10 == 0 else None)
        sizes.append(len(encrypt(key, msgspec.json.encode(payload), associated_data("report", bytes(16)))))
    return sizes


def week_volumes(total: int, seed: int) -> list[int]:
    """Reports per week: a seasonal wave and some noise, summing to `total`."""
    rng = np.random.default_rng(seed + 1)
    weight = (1 + 0.15 * np.sin(2 * np.pi * np.arange(WEEKS) / WEEKS + 1.0)) * rng.lognormal(0, 0.05, WEEKS)
    counts = np.floor(weight / weight.sum() * total).astype(int)
    counts[: total - counts.sum()] += 1
    return counts.tolist()


@dataclass
class WeekReports:
    """One week of generated reports, as index arrays, sorted by id (the order they arrived in)."""

    ids: np.ndarray  # (n, 16) uint8: hour received (4 bytes) + 12 random
    reporter: np.ndarray
    area: np.ndarray
    category: np.ndarray
    observed: np.ndarray  # hours after the week's start (local Monday 00:00)
    received: np.ndarray  # hours after the week's start
    payload: np.ndarray  # index into the payload pool


def generate_week(people: Population, calendar: Any, week_index: int, monday: dt.date, count: int, seed: int) -> WeekReports:
    """`count` reports of one week of the calendar (service.signals.weeks): who, where, what, when
    observed and received, their ids."""
    rng = np.random.default_rng([seed, week_index])
    start = calendar.start(monday)
    hours = int((calendar.end(monday) - start).total_seconds()) // 3600  # 167 or 169 across a change
    reporter = rng.choice(people.reporters, count, p=people.activity)
    device = reporter >= PHARMACIES
    area = people.home[reporter].copy()
    # A device roams its district, weighted by the areas' popularity there.
    for district in np.unique(people.home[PHARMACIES:]):
        mask = device & (people.home[reporter] == district)
        members = np.flatnonzero(people.districts == district)
        weight = people.area_weight[members] / people.area_weight[members].sum()
        area[mask] = rng.choice(members, int(mask.sum()), p=weight)
    category = np.where(
        device,
        rng.choice(len(people.categories), count, p=people.category_weight["field"]),
        rng.choice(len(people.categories), count, p=people.category_weight["pharmacy"]),
    )
    if rng.random() < 1 / 8:  # an outbreak: 2% of the devices' reports of the week in one cell
        district = rng.integers(people.districts.max() + 1)
        members = np.flatnonzero(people.districts == district)
        mask = device & (rng.random(count) < 0.02)
        area[mask] = rng.choice(members)
        category[mask] = rng.choice(np.flatnonzero(people.category_weight["field"]))
    observed = rng.integers(0, hours, count)
    delay = np.where(device, np.minimum(rng.geometric(1 / 8, count) - 1, 72), rng.integers(0, 2, count))
    received = observed + delay
    hours_since_1970 = (start.timestamp() // 3600 + received).astype(">u4")
    ids = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    ids[:, :4] = hours_since_1970.view(np.uint8).reshape(count, 4)
    order = np.lexsort(ids.T[::-1])
    payload = rng.integers(0, PAYLOAD_POOL, count)
    return WeekReports(ids[order], reporter[order], area[order], category[order], observed[order], received[order],
                       payload[order])


def tallies_of(week: WeekReports, people: Population) -> list[tuple[int, int, int, int]]:
    """(area, category, reporter, n) of the week, in the order their first report arrived. The
    reporter of a tally is the reporting organisation, as intake counts it: a pharmacy, or the field
    service of a device's district (all its devices together), named by its first device."""
    first_device = {}
    for device in range(PHARMACIES, people.reporters):
        first_device.setdefault(int(people.home[device]), device)
    organisation = np.arange(people.reporters)
    organisation[PHARMACIES:] = [first_device[int(people.home[d])] for d in range(PHARMACIES, people.reporters)]
    key = (week.area.astype(np.int64) * len(people.categories) + week.category) * people.reporters + organisation[week.reporter]
    cells, first, counts = np.unique(key, return_index=True, return_counts=True)
    order = np.argsort(first)
    cells, counts = cells[order], counts[order]
    reporter = cells % people.reporters
    rest = cells // people.reporters
    return list(zip((rest // len(people.categories)).tolist(), (rest % len(people.categories)).tolist(),
                    reporter.tolist(), counts.tolist()))



# --- databases ---------------------------------------------------------------------------------------


class Databases:
    """Where a deployment's databases live: SQLite files in a scratch folder, or PostgreSQL
    databases named <prefix>_* on the --postgres server (created and dropped here). bench/tracing.py
    uses it too, with its own prefix."""

    def __init__(self, kind: str, admin_url: str, prefix: str = PG_PREFIX):
        self.kind, self.admin_url, self.prefix = kind, admin_url, prefix
        self.folder = Path(tempfile.mkdtemp(prefix=prefix.replace("_", "-") + "-"))
        self.created: set[str] = set()

    def _database(self, name: str) -> str:
        return f"{self.prefix}_{name.lower()}"

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / name}.db"
        base = self.admin_url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        return f"{base}/{self._database(name)}"

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def create(self, name: str) -> str:
        """An empty database `name` (dropped first if a previous run left it)."""
        self.drop(name)
        if self.kind == "postgresql":
            self._admin(f"CREATE DATABASE {self._database(name)}")
        self.created.add(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.kind == "sqlite":
            for suffix in (".db", ".db-wal", ".db-shm", ".db-writer.lock"):
                (self.folder / f"{name}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f"DROP DATABASE IF EXISTS {self._database(name)} WITH (FORCE)")
        self.created.discard(name)

    def size(self, name: str) -> int:
        """Bytes the database takes on disk."""
        if self.kind == "sqlite":
            return sum(p.stat().st_size for p in self.folder.glob(f"{name}.db*") if p.is_file())
        import psycopg

        with psycopg.connect(self.admin_url) as connection:
            return connection.execute("SELECT pg_database_size(%s)", (self._database(name),)).fetchone()[0]

    def settle(self, name: str, table: str | None = None) -> None:
        """SQLite: fold the log into the file. PostgreSQL: what autovacuum would have done (to one
        table, or to all tables with statistics), then a checkpoint. So every timed run starts alike."""
        connection = raw_connection(self.url(name))
        if self.kind == "sqlite":
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.autocommit = True
            connection.execute(f"VACUUM {table}" if table else "VACUUM (ANALYZE)")
            connection.execute("CHECKPOINT")
        connection.close()

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)
        shutil.rmtree(self.folder, ignore_errors=True)


def _sqlite_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DateTime format on SQLite


class Filler:
    """Writes generated weeks into one deployment's database through the driver."""

    def __init__(self, url: str, people: Population, calendar: Any):
        self.url, self.people, self.calendar = url, people, calendar
        self.sqlite = url.startswith("sqlite")
        rng = np.random.default_rng(7)
        self.payloads = [rng.bytes(people.payload_sizes[i % len(people.payload_sizes)]) for i in range(PAYLOAD_POOL)]
        self.connection = raw_connection(url)
        if self.sqlite:
            # A fill, not a figure: the rows end up the same on disk, sooner. settle() checkpoints.
            self.connection.execute("PRAGMA synchronous=OFF")
            self.connection.execute("PRAGMA cache_size=-1000000")
        else:
            self.connection.execute("SET synchronous_commit = off")

    def week(self, monday: dt.date, reports: WeekReports, tallies: list[tuple[int, int, int, int]]) -> None:
        """The week's reports and tallies, in one transaction."""
        people = self.people
        start = self.calendar.start(monday)
        hours = [start + dt.timedelta(hours=h) for h in range(int(reports.received.max()) + 1)]
        channel = np.where(reports.reporter >= PHARMACIES, 1, 0).tolist()
        channels = [("pharmacy_reports", "pharmacy"), ("field_reports", "field")]
        when = [_sqlite_time(h) if self.sqlite else h.isoformat() for h in hours]
        day = [h.date().isoformat() for h in hours]
        hexes = reports.ids.tobytes().hex()  # the Uuid column: 32 hex digits on both engines
        ids = [hexes[32 * i: 32 * i + 32] for i in range(len(reports.ids))]
        areas, categories = people.areas, people.categories
        pseudonyms, payloads = people.pseudonyms, self.payloads
        observed, received = reports.observed.tolist(), reports.received.tolist()
        rows = zip(ids, channel, reports.category.tolist(), reports.area.tolist(), observed, received,
                   reports.reporter.tolist(), reports.payload.tolist())
        tally_rows = [(monday.isoformat(), areas[a], categories[c], pseudonyms[r], n) for a, c, r, n in tallies]
        if self.sqlite:
            statement = INSERT_REPORT.format(p=", ".join(["?"] * 10))
            self.connection.execute("BEGIN")
            self.connection.executemany(statement, (
                (i, *channels[ch], categories[c], areas[a], when[o], when[r], day[r], pseudonyms[p], payloads[x])
                for i, ch, c, a, o, r, p, x in rows))
            self.connection.executemany(
                "INSERT INTO signal_tally (week, area, category, reporter, n) VALUES (?, ?, ?, ?, ?)", tally_rows)
            self.connection.execute("COMMIT")
            return
        hex_pseudonyms = ["\\\\x" + p.hex() for p in pseudonyms]
        hex_payloads = ["\\\\x" + p.hex() for p in payloads]
        prefix = [f"\t{dc}\t{ch}\t" for dc, ch in channels]
        with self.connection.cursor() as cursor:
            with cursor.copy("COPY report (id, data_class, channel, category, area, observed_hour, received_hour, "
                             "epoch, reporter, payload) FROM STDIN") as copy:
                lines = [f"{i}{prefix[ch]}{categories[c]}\t{areas[a]}\t{when[o]}\t{when[r]}\t{day[r]}\t"
                         f"{hex_pseudonyms[p]}\t{hex_payloads[x]}\n" for i, ch, c, a, o, r, p, x in rows]
                for offset in range(0, len(lines), 50_000):
                    copy.write("".join(lines[offset: offset + 50_000]))
            with cursor.copy("COPY signal_tally (week, area, category, reporter, n) FROM STDIN") as copy:
                copy.write("".join(f"{w}\t{a}\t{c}\t\\\\x{p.hex()}\t{n}\n" for w, a, c, p, n in tally_rows))
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def count_rows(url: str, table: str) -> int:
    """Rows in `table`."""
    connection = raw_connection(url)
    count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    connection.close()
    return count


# --- one deployment ---------------------------------------------------------------------------------


@dataclass
class Clock:
    """An in-process app's clock, set by the bench (here to each week's release time; in
    bench/tracing.py just after an export window)."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def __call__(self) -> dt.datetime:
        return self.now


class Deployment:
    """One deployment of the city (its databases, keys and config) holding `reports` reports."""

    def __init__(self, label: str, reports: int, databases: Databases, area_file: Path, port: int):
        self.label, self.reports, self.databases, self.port = label, reports, databases, port
        self.name = f"r{label}"
        self.clock = Clock()
        self.settings: dict[str, Any] = {
            "ENV": "production", "LOG_LEVEL": "WARNING",
            **{name: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
               for name in ("KEK", "PSEUDONYM_KEY", "AUDIT_SIGNING_KEY", "AUDIT_MAC_KEY", "TRACING_TOKEN_KEY", "WEB_SECRET_KEY")},
            "DATABASE_URL": databases.url(self.name), "KEYS_DATABASE_URL": databases.url(self.name + "_keys"),
            "AREAS_MODE": "polygons", "AREAS_FILE": str(area_file),
            # Every round opens every week for a fresh organisation; 52 weeks are 5 quarters.
            "SIGNALS_BUDGET_PER_QUARTER": 1000,
        }
        self.app: Any = None
        self.state: Any = None
        self.info: dict[str, Any] = {"label": label, "reports": reports}

    def env(self) -> dict[str, str]:
        """The deployment's settings as SAFESIGNAL_* variables, for gunicorn."""
        env = dict(os.environ)
        env.update({f"SAFESIGNAL_{key}": str(value) for key, value in self.settings.items()})
        return env

    def build(self, people: Population, weeks: list[dt.date], seed: int, say: Callable[[str], None]) -> None:
        """Migrated databases, filled with `reports` reports over `weeks` and their tallies."""
        from database.engines import make_engine
        from service.migrations import upgrade

        started = time.perf_counter()
        for database, target in ((self.name, "main"), (self.name + "_keys", "keys")):
            engine = make_engine(self.databases.create(database))
            upgrade(engine, target=target)  # type: ignore[arg-type]
            engine.dispose()
        url = self.databases.url(self.name)
        calendar = week_calendar()
        filler = Filler(url, people, calendar)
        volumes = week_volumes(self.reports, seed)
        generating = 0.0
        for index, (monday, count) in enumerate(zip(weeks, volumes)):
            begun = time.perf_counter()
            reports = generate_week(people, calendar, index, monday, count, seed)
            tallies = tallies_of(reports, people)
            generating += time.perf_counter() - begun
            filler.week(monday, reports, tallies)
            if index % 13 == 12:
                say(f"{self.label}: {index + 1} weeks filled, {time.perf_counter() - started:.0f} s")
        filler.close()
        self.databases.settle(self.name)
        self.info.update(
            fill_s=time.perf_counter() - started, generate_s=generating,
            reports_stored=count_rows(url, "report"), tallies_stored=count_rows(url, "signal_tally"),
            database_bytes=self.databases.size(self.name),
        )

    def open(self) -> None:
        """The service's state on these databases, in this process, on the bench's clock."""
        from service import create_app

        self.app = create_app({**self.settings, "CLOCK": self.clock})
        self.state = self.app.extensions["safesignal"]

    def analyst(self, name: str) -> str:
        """A prevention service with the city in its territory, made as an operator does
        (`safesignal partners add`, in-process); its token."""
        self.clock.now = dt.datetime.now(dt.timezone.utc)
        answer = self.app.test_cli_runner().invoke(args=[
            "partners", "add", "--kind", "prevention_service", "--name", name, "--municipality", MUNICIPALITY])
        token = re.search(r"token \(shown once, store it now\): (\S+)", answer.output)
        if answer.exit_code != 0 or token is None:
            raise RuntimeError(f"partners add failed: {answer.output}")
        return token[1]

    def close(self) -> None:
        """Release the in-process engines (the databases stay until Databases.close)."""
        if self.state is not None:
            self.state.engine.dispose()
            self.state.keys_engine.dispose()
            self.state = None


# --- compute -------------------------------------------------------------------------------------------


def aggregation(state: Any, week: dt.date) -> Any:
    """The statement compute_missing aggregates a week's tallies with (bounded counts per cell)."""
    from sqlalchemy import case, func, select

    from service.signals.models import Tally

    cap = state.signals.rules.protection.cap
    bounded_n = case((Tally.n > cap, cap), else_=Tally.n)
    return select(Tally.area, Tally.category, func.sum(bounded_n)).where(Tally.week == week).group_by(Tally.area, Tally.category)


@contextmanager
def reading(state: Any) -> Iterator[Any]:
    """A session on a read-only connection, as the scheduler computes releases on."""
    from database.base import READ_ONLY

    with state.engine.connect().execution_options(**{READ_ONLY: True}) as connection, state.sessions(bind=connection) as session:
        yield session


def time_week(deployment: Deployment, week: dt.date) -> tuple[float, float, list[Any]]:
    """(seconds of the bare aggregation, seconds of compute_missing, the releases computed) for
    one week, on a read-only session; nothing is stored."""
    from service.signals.services import compute_missing, release_at

    state = deployment.state
    deployment.clock.now = release_at(week, state.signals.rules)
    with reading(state) as session:
        begun = time.perf_counter()
        session.execute(aggregation(state, week)).all()
        ceiling = time.perf_counter() - begun
        session.rollback()
        begun = time.perf_counter()
        # The generated year is the deployment's history: its weeks count from before the bench's
        # organisations were created (`since`, as the demo's synthetic weeks do).
        computed = compute_missing(session, state.signals, week, deployment.clock.now, since=week)
        seconds = time.perf_counter() - begun
    return ceiling, seconds, computed


def store_week(deployment: Deployment, computed: list[Any]) -> dict[str, Any]:
    """Store computed releases as the scheduler does (a short write, its audit entries); timed."""
    from service.signals.protection import decode_cells
    from service.signals.services import store

    state = deployment.state
    with state.sessions() as session:
        begun = time.perf_counter()
        store(session, computed, state.audit, "bench")
        session.commit()
        seconds = time.perf_counter() - begun
    statuses = [cell.status for release in computed for cell in decode_cells(release.cells)]
    return {"store_s": seconds, "cells": len(statuses), "shown": statuses.count("shown")}


def compute_releases(deployments: list[Deployment], weeks: list[dt.date], repeat: int, say: Callable[[str], None]) -> None:
    """All weeks' releases, oldest first (each uses the week before's pattern), as the scheduler
    computes them: compute_missing on a read-only session, --compute-repeat times with its
    ceiling, interleaved between the deployments, best kept; then the last one stored."""
    for deployment in deployments:
        deployment.info["compute"] = []
    for index, week in enumerate(weeks):
        trials: dict[str, list[tuple[float, float]]] = {d.label: [] for d in deployments}
        computed: dict[str, list[Any]] = {}
        for round_ in range(repeat):
            for deployment in deployments if (index + round_) % 2 == 0 else deployments[::-1]:
                ceiling, seconds, computed[deployment.label] = time_week(deployment, week)
                trials[deployment.label].append((ceiling, seconds))
        for deployment in deployments:
            runs = trials[deployment.label]
            deployment.info["compute"].append({
                "week": week.isoformat(), "sql_s": min(c for c, _ in runs), "release_s": min(s for _, s in runs),
                "all_release_s": [round(s, 4) for _, s in runs], **store_week(deployment, computed[deployment.label]),
            })
        if index % 13 == 12:
            say(f"{index + 1} weeks released: last "
                + ", ".join(f"{d.label} {d.info['compute'][-1]['release_s'] * 1000:.0f} ms" for d in deployments))


# --- HTTP ----------------------------------------------------------------------------------------------


def get(port: int, path: str, token: str | None) -> tuple[int, int, float]:
    """One GET on a new connection: (status, body bytes, seconds)."""
    status, body, seconds = fetch(port, path, token)
    return status, len(body), seconds


def fetch(port: int, path: str, token: str | None) -> tuple[int, bytes, float]:
    """One GET on a new connection: (status, body, seconds)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    begun = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        raise RuntimeError(f"GET {path} on port {port}: {error!r} after {time.perf_counter() - begun:.1f} s") from error
    finally:
        connection.close()
    return response.status, body, time.perf_counter() - begun


STATUSES = {"shown", "below_k", "uncertain"}
REASONS = {"flagged", "within_baseline", "not_shown", "short_baseline"}


def check_answers(deployments: list[Deployment], week: dt.date, tokens: dict[str, str]) -> None:
    """The area/category counts and alerts of `week`, per deployment, read field by field (see
    the module docstring); what they hold goes in the deployment's info. RuntimeError names what
    does not fit."""
    from service.signals.weeks import week_label

    for deployment in deployments:
        answers = {}
        for kind in ("counts", "alerts"):
            path = f"/v1/signals/weeks/{week_label(week)}/{kind}?geo=area&taxonomy=category"
            status, body, _ = fetch(deployment.port, path, tokens[deployment.label])
            if status != 200:
                raise RuntimeError(f"{deployment.label} {path}: {status} {body[:200]!r}")
            answers[kind] = json.loads(body)
        cells, verdicts = answers["counts"]["cells"], answers["alerts"]["cells"]
        odd = [c for c in cells if c["status"] not in STATUSES or c["sd"] is None
               or ((c["value"], c["low"], c["high"]) == (None, None, None)) == (c["status"] == "shown")
               or (c["status"] == "shown" and not c["low"] <= c["value"] <= c["high"])]
        odd += [v for v in verdicts if v["reason"] not in REASONS or (v["expected"] is None) != (v["sd"] is None)
                or (v["reason"] == "not_shown") != (v["observed"] is None)]
        keys = ("municipality", "district", "area", "phenomenon", "category")
        if odd or [[c[k] for k in keys] for c in cells] != [[v[k] for k in keys] for v in verdicts]:
            raise RuntimeError(f"{deployment.label}: answers not in the format measured, e.g. {odd[:2]}")
        deployment.info["answers"] = {
            "week": week_label(week), "cells": len(cells),
            **{status: sum(c["status"] == status for c in cells) for status in sorted(STATUSES)},
            "flagged": answers["alerts"]["flagged"],
        }


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(latencies: list[float], sizes: list[int], statuses: dict[int, int]) -> dict[str, Any]:
    """p50, p95 and max of one series, with what was answered."""
    return {"p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95), "max_ms": max(latencies),
            "statuses": statuses, "latencies_ms": latencies, "sizes": sizes}


def run_interleaved(deployments: list[Deployment], paths: list[str], tokens: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each path against every deployment in turn (the order alternating), then against the bare
    endpoint with the body size each deployment answered: a disturbance of the machine lasting a
    few requests hits all of them alike. Results by deployment label and "bare-" + label."""
    seen: dict[str, tuple[list[float], list[int], dict[int, int]]] = {}
    for index, path in enumerate(paths):
        order = deployments if index % 2 == 0 else deployments[::-1]
        answered = {}
        for deployment in order:
            status, size, seconds = get(deployment.port, path, tokens[deployment.label])
            answered[deployment.label] = size
            _note(seen, deployment.label, status, size, seconds)
        for deployment in order:
            status, size, seconds = get(BARE_PORT, f"/v1/bare/json/{answered[deployment.label]}", None)
            _note(seen, "bare-" + deployment.label, status, size, seconds)
    return {key: summarise(*value) for key, value in seen.items()}


def _note(seen: dict[str, tuple[list[float], list[int], dict[int, int]]], key: str, status: int, size: int,
          seconds: float) -> None:
    latencies, sizes, statuses = seen.setdefault(key, ([], [], {}))
    latencies.append(seconds * 1000)
    sizes.append(size)
    statuses[status] = statuses.get(status, 0) + 1


def query_paths(weeks: list[dt.date], args: argparse.Namespace) -> dict[str, list[str]]:
    """The fixed request mixes of the read series."""
    from service.signals.weeks import week_label

    rng = np.random.default_rng(args.seed + 2)
    combos = [(week_label(w), geo, tax) for w in weeks for geo in GEO_LEVELS for tax in TAX_LEVELS]
    counts = [combos[i] for i in rng.permutation(len(combos))][: args.counts]
    alerts = [combos[i] for i in rng.permutation(len(combos))][: args.alerts]
    base = "/v1/signals/weeks/{}/{}?geo={}&taxonomy={}"
    return {
        "counts": [base.format(w, "counts", g, t) for w, g, t in counts],
        "csv": [base.format(w, "counts", g, t) + "&format=csv" for w, g, t in counts],
        "alerts": [base.format(w, "alerts", g, t) for w, g, t in alerts],
        "calendar": ["/v1/signals/calendar", "/v1/signals/budget"] * (args.calendar // 2),
    }


def first_open_paths(weeks: list[dt.date], seed: int) -> list[str]:
    """Every week once, in a random order, each at a random level combination."""
    from service.signals.weeks import week_label

    rng = np.random.default_rng(seed)
    return [f"/v1/signals/weeks/{week_label(weeks[i])}/counts?geo={GEO_LEVELS[rng.integers(3)]}"
            f"&taxonomy={TAX_LEVELS[rng.integers(2)]}" for i in rng.permutation(len(weeks))]


@contextmanager
def servers(deployments: list[Deployment], args: argparse.Namespace) -> Iterator[None]:
    """The bare app and one service per deployment under gunicorn, stopped on exit. Their logs go
    to bench/out/signals-gunicorn-*.log."""
    processes = []
    logs = []
    try:
        for label, port, app_spec, env in [("bare", BARE_PORT, "bench.bare_app:app", dict(os.environ))] + [
                (d.label, d.port, "service:create_app()", d.env()) for d in deployments]:
            logs.append(open(HERE / "out" / f"signals-gunicorn-{label}.log", "ab"))
            processes.append(start_gunicorn(app_spec, port, env, args.workers, args.threads, stderr=logs[-1]))
        yield
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()


def measure_queries(deployments: list[Deployment], weeks: list[dt.date], args: argparse.Namespace,
                    say: Callable[[str], None]) -> dict[str, Any]:
    """First opens and the read series over HTTP, each against the bare ceiling, interleaved."""
    paths = query_paths(weeks, args)
    readers = {d.label: d.analyst("bench readers") for d in deployments}
    openers = {d.label: [d.analyst(f"bench openers {r}") for r in range(args.repeat)] for d in deployments}
    runs: dict[str, list[dict[str, Any]]] = {}

    def record(key: str, result: dict[str, Any]) -> None:
        runs.setdefault(key, []).append({k: v for k, v in result.items() if k != "latencies_ms"})

    with servers(deployments, args):
        # Warm up, untimed: the readers open every week (their first opens), then every read path
        # once, and the bare endpoint with the same bodies.
        for name in ("first", *paths):
            series = first_open_paths(weeks, args.seed + 3) if name == "first" else paths[name]
            for key, result in run_interleaved(deployments, series, readers).items():
                if any(status != 200 for status in result["statuses"]):
                    raise RuntimeError(f"warm-up {name} {key}: {result['statuses']}")
        check_answers(deployments, weeks[-1], readers)
        say("warmed up; answers checked: " + "; ".join(f"{d.label} {d.info['answers']}" for d in deployments))
        for round_ in range(args.repeat):
            for name in ("first", *paths):
                if name == "first":  # organisations that have opened nothing yet
                    series = first_open_paths(weeks, args.seed + 10 + round_)
                    tokens = {label: tokens[round_] for label, tokens in openers.items()}
                else:
                    series, tokens = paths[name], readers
                for key, result in run_interleaved(deployments, series, tokens).items():
                    if name == "counts":
                        result["by_geo"] = by_geo(series, result)
                    record(f"{name}/{key}", result)
            say(f"round {round_ + 1}: counts p95 "
                + ", ".join(f"{d.label} {runs[f'counts/{d.label}'][-1]['p95_ms']:.1f} ms" for d in deployments)
                + f", bare {runs[f'counts/bare-{deployments[-1].label}'][-1]['p95_ms']:.1f} ms; alerts p95 "
                + ", ".join(f"{d.label} {runs[f'alerts/{d.label}'][-1]['p95_ms']:.0f} ms" for d in deployments))
    return {key: dict(min(values, key=lambda r: r["p95_ms"]), all_p95_ms=[round(r["p95_ms"], 2) for r in values])
            for key, values in runs.items()}


def by_geo(series: list[str], result: dict[str, Any]) -> dict[str, Any]:
    """p50/p95 of the counts series per geographic level (area answers are the big ones)."""
    out: dict[str, Any] = {}
    for geo in GEO_LEVELS:
        chosen = [ms for path, ms in zip(series, result["latencies_ms"]) if f"geo={geo}&" in path]
        size = [s for path, s in zip(series, result["sizes"]) if f"geo={geo}&" in path]
        if chosen:
            out[geo] = {"p50_ms": percentile(chosen, 0.5), "p95_ms": percentile(chosen, 0.95),
                        "bytes_max": max(size)}
    return out


# --- the run -------------------------------------------------------------------------------------------


def week_calendar() -> Any:
    """The deployments' week calendar: ISO weeks of local time in the default zone (the bench's
    settings name none)."""
    from service.signals.domain import DEFAULTS
    from service.signals.weeks import WeekCalendar

    return WeekCalendar.named(DEFAULTS["SIGNALS_TIME_ZONE"])


def weeks_released(now: dt.datetime) -> list[dt.date]:
    """The 52 weeks up to the last one released by now (week end + the release delay)."""
    from service.signals.domain import DEFAULTS

    calendar, delay = week_calendar(), dt.timedelta(days=DEFAULTS["SIGNALS_RELEASE_DELAY_DAYS"])
    last = calendar.week_of(now)
    while calendar.end(last) + delay > now:
        last -= dt.timedelta(days=7)
    return [last - dt.timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def label_of(count: int) -> str:
    """100000 -> "100k", 10000000 -> "10M"."""
    for unit, size in (("M", 1_000_000), ("k", 1000)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    return str(count)


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Fill, compute and query both deployments on one database engine."""
    began = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{kind} {time.perf_counter() - began:5.0f} s] {text}", flush=True)

    databases = Databases(kind, args.postgres)
    area_file = databases.folder / "city.geojson"
    people = population(write_area_file(area_file), args.seed)
    weeks = weeks_released(dt.datetime.now(dt.timezone.utc))
    deployments = [Deployment(label_of(n), n, databases, area_file, BARE_PORT + 1 + i) for i, n in enumerate(args.reports)]
    result: dict[str, Any] = {"database": kind, "weeks": [weeks[0].isoformat(), weeks[-1].isoformat()],
                              "repeat": args.repeat, "workers": args.workers, "threads": args.threads,
                              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", f"default ({os.cpu_count()} cores)")}
    try:
        for deployment in deployments:
            say(f"filling {deployment.label}: {deployment.reports:,} reports over {WEEKS} weeks")
            deployment.build(people, weeks, args.seed, say)
            say(f"{deployment.label}: {deployment.info['reports_stored']:,} reports, "
                f"{deployment.info['tallies_stored']:,} tallies, {deployment.info['database_bytes'] / 1e9:.2f} GB "
                f"in {deployment.info['fill_s']:.0f} s")
        for deployment in deployments:
            deployment.open()
        say(f"computing {WEEKS} weekly releases, {args.compute_repeat} times each")
        compute_releases(deployments, weeks, args.compute_repeat, say)
        say("queries over HTTP")
        result["queries"] = measure_queries(deployments, weeks, args, say)
    finally:
        for deployment in deployments:
            result[deployment.label] = deployment.info
            deployment.close()
        databases.close()
    result["labels"] = [d.label for d in deployments]
    result["seconds"] = time.perf_counter() - began
    return result


def compute_figures(info: dict[str, Any]) -> dict[str, float]:
    """Percentiles over the weeks of one deployment's release times."""
    release = [w["release_s"] * 1000 for w in info["compute"]]
    sql = [w["sql_s"] * 1000 for w in info["compute"]]
    ratios = [w["release_s"] / w["sql_s"] for w in info["compute"]]
    store = [w["store_s"] * 1000 for w in info["compute"]]
    return {"p50": percentile(release, 0.5), "p95": percentile(release, 0.95), "max": max(release),
            "sql_p50": percentile(sql, 0.5), "sql_p95": percentile(sql, 0.95), "ratio_p50": percentile(ratios, 0.5),
            "store_p50": percentile(store, 0.5), "store_p95": percentile(store, 0.95)}


def summary(result: dict[str, Any]) -> list[str]:
    """The figures of one database, as printed."""
    small, large = result["labels"][0], result["labels"][-1]
    q = result["queries"]
    lines = [f"## {result['database']}: city grid 200 areas x 25 categories x 52 weeks "
             f"({result['weeks'][0]} .. {result['weeks'][1]}); gunicorn {result['workers']} gthread workers x "
             f"{result['threads']} threads, one client; best of {result['repeat']} rounds"]
    for label in result["labels"]:
        info = result[label]
        lines.append(f"- {label}: {info['reports_stored']:,} reports, {info['tallies_stored']:,} tallies, "
                     f"{info['database_bytes'] / 1e9:.2f} GB, filled in {info['fill_s']:.0f} s "
                     f"(generating {info['generate_s']:.0f} s)")
    lines.append("release of one week (compute_missing in-process, best of "
                 f"{len(result[small]['compute'][0]['all_release_s'])} per week; OpenBLAS threads: "
                 f"{result['blas_threads']}), over the {WEEKS} weeks:")
    for label in result["labels"]:
        c = compute_figures(result[label])
        shown = sum(w.get("shown", 0) for w in result[label]["compute"]) / WEEKS
        cells = result[label]["compute"][-1].get("cells", 0)
        lines.append(f"- {label}: p50 {c['p50']:.0f} ms, p95 {c['p95']:.0f} ms, max {c['max']:.0f} ms vs the bare "
                     f"aggregation SQL p50 {c['sql_p50']:.1f} ms, p95 {c['sql_p95']:.1f} ms = {c['ratio_p50']:.0f}x "
                     f"(median week); then stored in p50 {c['store_p50']:.0f} / p95 {c['store_p95']:.0f} ms; "
                     f"{shown:.0f} of {cells} cells shown on average")
    for label in result["labels"]:
        if "answers" in result[label]:
            a = result[label]["answers"]
            lines.append(f"- {label}, {a['week']} area x category as read over HTTP: {a['cells']} cells, {a['shown']} shown, "
                         f"{a['uncertain']} uncertain, {a['below_k']} below k; alerts flag {a['flagged']}")
    for name, title in (("first", "first open (charges the ledger), 52 weeks"),
                        ("counts", f"counts JSON, {len(q[f'counts/{small}']['sizes'])} requests"),
                        ("csv", "counts CSV, same requests"),
                        ("alerts", f"alerts (EARS C2: the week and its 7 baseline weeks read), {len(q[f'alerts/{small}']['sizes'])} requests"),
                        ("calendar", "calendar and budget")):
        a, b = q[f"{name}/{small}"], q[f"{name}/{large}"]
        bare = q[f"{name}/bare-{large}"]
        lines.append(
            f"{title}: {small} p50 {a['p50_ms']:.1f} / p95 {a['p95_ms']:.1f} ms; {large} p50 {b['p50_ms']:.1f} / "
            f"p95 {b['p95_ms']:.1f} ms; **{large}/{small} p95 = {b['p95_ms'] / a['p95_ms']:.2f}** "
            f"(target <= {TARGET_GROWTH}); {large} p95 = {b['p95_ms'] / TARGET_P95_MS:.0%} of {TARGET_P95_MS:.0f} ms; "
            f"bare endpoint, same bodies: p50 {bare['p50_ms']:.1f} / p95 {bare['p95_ms']:.1f} ms "
            f"(service p95 = {b['p95_ms'] / bare['p95_ms']:.1f}x)")
        lines.append(f"  all rounds p95: {small} {a['all_p95_ms']}, {large} {b['all_p95_ms']}, bare {bare['all_p95_ms']}")
    geo = q[f"counts/{large}"]["by_geo"]
    lines.append(f"counts JSON by geographic level ({large}): " + ", ".join(
        f"{g} p50 {geo[g]['p50_ms']:.1f} / p95 {geo[g]['p95_ms']:.1f} ms (up to {geo[g]['bytes_max'] / 1000:.0f} kB)"
        for g in GEO_LEVELS if g in geo))
    bad = {k: v["statuses"] for k, v in q.items() if "statuses" in v and any(s != 200 for s in v["statuses"])}
    if bad:
        lines.append(f"- NON-200 answers: {bad}")
    return lines


def table(results: list[dict[str, Any]]) -> list[str]:
    """The Markdown table for docs/benchmarks.md."""
    if not results:
        return []
    small, large = results[0]["labels"][0], results[0]["labels"][-1]
    lines = [f"| | | {small} reports | {large} reports | {large} / {small} | bare endpoint ({large} bodies) |",
             "|---|---|---|---|---|---|"]
    for result in results:
        db = "SQLite" if result["database"] == "sqlite" else "PostgreSQL"
        a, b = result[small], result[large]
        lines.append(f"| {db} | stored: reports / tallies | {a['reports_stored']:,} / {a['tallies_stored']:,} | "
                     f"{b['reports_stored']:,} / {b['tallies_stored']:,} | | |")
        ca, cb = compute_figures(a), compute_figures(b)
        lines.append(f"| {db} | release of a week (compute), p50 / p95 / max | {ca['p50']:.0f} / {ca['p95']:.0f} / {ca['max']:.0f} ms "
                     f"(SQL alone p95 {ca['sql_p95']:.1f}) | {cb['p50']:.0f} / {cb['p95']:.0f} / {cb['max']:.0f} ms "
                     f"(SQL alone p95 {cb['sql_p95']:.1f}) | p95 {cb['p95'] / ca['p95']:.2f} | |")
        lines.append(f"| {db} | release of a week (store + commit), p50 / p95 | {ca['store_p50']:.0f} / {ca['store_p95']:.0f} ms | "
                     f"{cb['store_p50']:.0f} / {cb['store_p95']:.0f} ms | | |")
        q = result["queries"]
        for name, title in (("first", "first open, p50 / p95"), ("counts", "**counts JSON**, p50 / p95"),
                            ("csv", "counts CSV, p50 / p95"), ("alerts", "alerts, p50 / p95"),
                            ("calendar", "calendar + budget, p50 / p95")):
            x, y, bare = q[f"{name}/{small}"], q[f"{name}/{large}"], q[f"{name}/bare-{large}"]
            ratio = y["p95_ms"] / x["p95_ms"]
            strong = "**" if name == "counts" else ""
            lines.append(f"| {db} | {title} | {x['p50_ms']:.1f} / {x['p95_ms']:.1f} ms | {y['p50_ms']:.1f} / "
                         f"{y['p95_ms']:.1f} ms | {strong}{ratio:.2f}{strong} | {bare['p50_ms']:.1f} / {bare['p95_ms']:.1f} ms |")
    return lines


def run_databases(name: str, bench_database: Callable[[str, argparse.Namespace], dict[str, Any]],
                  summary: Callable[[dict[str, Any]], list[str]], table: Callable[[list[dict[str, Any]]], list[str]],
                  args: argparse.Namespace) -> None:
    """Bench each of --databases in turn (PostgreSQL when reachable), keep each result in
    bench/out/<name>-<database>.json with the commit, and print the summaries and the table."""
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    results, lines = [], []
    for kind in args.databases.split(","):
        if kind == "postgresql" and not postgres_reachable(args.postgres):
            print(f"PostgreSQL not reachable at {args.postgres}: skipped")
            continue
        result = bench_database(kind, args)
        result["commit"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                          text=True).stdout.strip() or "unknown"
        (out / f"{name}-{kind}.json").write_text(json.dumps(result, indent=2, default=str))
        results.append(result)
        lines += summary(result)
        print("\n".join(summary(result)), flush=True)
    print("\n" + "\n".join(lines) + "\n\n" + "\n".join(table(results)))
    print(f"\n(total {time.perf_counter() - started:.0f} s) command: .venv/bin/python bench/{name}.py {' '.join(sys.argv[1:])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20k and 2M reports, fewer requests, 2 rounds")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=PG_ADMIN_URL, help=f"PostgreSQL server (admin URL) for databases {PG_PREFIX}_*")
    parser.add_argument("--reports", default="100000,10000000", help="reports stored by the two deployments")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every HTTP series and its ceiling; best kept")
    parser.add_argument("--compute-repeat", type=int, default=3, help="timings of each week's release; best kept")
    parser.add_argument("--counts", type=int, default=WEEKS * 6, help="requests per counts series (at most 312)")
    parser.add_argument("--alerts", type=int, default=104, help="requests per alerts series")
    parser.add_argument("--calendar", type=int, default=40, help="requests per calendar+budget series")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    if args.quick:
        if args.reports == parser.get_default("reports"):
            args.reports = "20000,2000000"
        args.repeat, args.compute_repeat, args.counts, args.alerts, args.calendar = 2, 1, 104, 24, 20
    args.reports = [int(n) for n in args.reports.split(",")]
    run_databases("signals", bench_database, summary, table, args)


if __name__ == "__main__":
    main()
