"""Export batches: every key published in a window, padded, signed, split into files of the standard format.

Windows are whole multiples of SAFESIGNAL_TRACING_EXPORT_PERIOD_HOURS since the Unix epoch, and a
window is built once, after it has ended plus a margin that outlasts any upload transaction still
open. Every window gets a batch, with or without real keys: a batch is padded with random keys
up to TRACING_EXPORT_MIN_KEYS plus a random number below TRACING_EXPORT_PADDING_RANGE, so neither
its presence nor its size tells how few cases there were (the reference server's padding). The
padding imitates real uploads, drawn from one generator whatever the real keys are: look-alikes
of every shape a real key of the window can have (`window_shapes`), then simulated phones
uploading a day-by-day history from an onset, with the transmission risk the server sets.

Batch contents are public by design (every phone downloads them), so files are kept as built;
the keys they came from stay encrypted in key_upload until retention shreds them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import logging
import operator
import os
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto.envelope import associated_data
from crypto.errors import CryptoError
from crypto.exposure import INTERVAL_SECONDS, KEY_LENGTH, ROLLING_PERIOD
from crypto.exposure_export import ExportKey, SignatureInfo, build_export
from crypto.keyring import KeyRing, KeyStore
from service.tracing.uploads import (
    CONFIRMED_TEST, EMBARGO, MAX_AGE_DAYS, MAX_DAYS_FROM_ONSET, MAX_KEY_AGE_DAYS, StoredKey, transmission_risk, unpack,
)
from service.tracing.models import ExportFile, KeyUpload

log = logging.getLogger(__name__)
# Held-back keys expire at midnight (UTC) and are published two hours later.
EMBARGO_HOUR = int(EMBARGO.total_seconds()) // 3600
# An upload's transaction is milliseconds long; a window is built only this long after it ends,
# so no key published inside it can still be committed after it was read.
MARGIN = dt.timedelta(minutes=5)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# Padding keys of every shape a real key of the window can have (`window_shapes`), each this many times.
LOOKALIKES = 2
# The earliest onset a token can carry, in days before its upload's day: 14 days before the day
# the code was issued, which the code's and the token's lifetimes (at most a day each) can put two
# days before the upload. The latest is tomorrow (check_onset).
_ONSET_BEFORE_UPLOAD = MAX_AGE_DAYS + 2
_ONSET_AFTER_UPLOAD = 1
_HOUR = dt.timedelta(hours=1)
_TICK = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class ExportRules:
    period: dt.timedelta
    min_keys: int
    padding_range: int
    max_keys_per_file: int
    region: str
    info: SignatureInfo


def window_of(moment: dt.datetime, period: dt.timedelta) -> dt.datetime:
    """The start of the window holding `moment`."""
    seconds = int((moment - _EPOCH).total_seconds())
    step = int(period.total_seconds())
    return _EPOCH + dt.timedelta(seconds=seconds - seconds % step)


def due_windows(session: Session, rules: ExportRules, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Windows that have ended (plus the margin) and have no batch yet, oldest first.

    After the last built window; on a first run, from the first window holding an unexported key
    (at most 14 days back), or else only the last window that ended.
    """
    last_end = window_of(now - MARGIN, rules.period)
    built = session.scalar(select(func.max(ExportFile.window_end)))
    if built is not None:
        start = built
    else:
        earliest = session.scalar(select(func.min(KeyUpload.publish_at)))
        floor = window_of(now - dt.timedelta(days=MAX_AGE_DAYS), rules.period)
        start = max(window_of(earliest, rules.period), floor) if earliest is not None else last_end - rules.period
    windows = []
    while start + rules.period <= last_end:
        windows.append((start, start + rules.period))
        start += rules.period
    return windows


def window_keys(session: Session, keyring: KeyRing, keystore: KeyStore, start: dt.datetime, end: dt.datetime) -> list[StoredKey]:
    """The real keys published in [start, end), decrypted, each key once.

    A row whose day key was destroyed already (an export that fell more than 14 days behind,
    meeting retention halfway) is skipped, not fatal: its keys are too old to match anyway.
    """
    keys: list[StoredKey] = []
    unreadable = 0
    rows = session.execute(
        select(KeyUpload.id, KeyUpload.payload).where(KeyUpload.publish_at >= start, KeyUpload.publish_at < end)
    )
    for row_id, payload in rows:
        try:
            plaintext = keyring.decrypt(keystore, payload, associated_data(KeyUpload.__tablename__, row_id.bytes))
        except CryptoError:
            unreadable += 1
            continue
        keys.extend(unpack(plaintext))
    if unreadable:
        log.warning("export window %s: %d uploads skipped, their data key is destroyed", start.isoformat(), unreadable)
    # A key uploaded twice (one phone, two codes) is published once: its first upload wins.
    return list({key.key_data: key for key in reversed(keys)}.values())


def padding(real: Sequence[StoredKey], rules: ExportRules, start: dt.datetime, rng: random.Random) -> list[ExportKey]:
    """Random keys to add: none once the batch reaches the minimum, else up to it plus a random few.

    Drawn from one generator whatever the real keys are (their number decides only how many):
    padding that copied the real keys' metadata would show each case's onset in the file. It
    holds LOOKALIKES keys of every shape a real key of this window can have (`window_shapes`),
    so that no real key is the only one of its kind, and simulated uploads for the rest (the
    batch holds more than the minimum if the shapes need it).
    """
    if len(real) >= rules.min_keys:
        return []
    count = rules.min_keys - len(real) + rng.randrange(max(1, rules.padding_range))
    fake = [shape for shape in sorted(window_shapes(start, start + rules.period)) for _ in range(LOOKALIKES)]
    fake.extend(simulated_metadata(max(0, count - len(fake)), start, rules.period, rng))
    data = os.urandom(KEY_LENGTH * len(fake))
    return [ExportKey(data[i * KEY_LENGTH:(i + 1) * KEY_LENGTH], *fake[i]) for i in range(len(fake))]


Shape = tuple[int, int, int, int, int | None]


def window_shapes(start: dt.datetime, end: dt.datetime) -> set[Shape]:
    """Every metadata (start, rolling period, risk, report type, days since onset) a real key
    published in [start, end) can have, under the rules of service.tracing.uploads.

    A key is published as its whole UTC day, so its shape is its day and days since onset. For
    each hour h of the window:
    - keys not held back were uploaded in (h - 1 h, h]: on one or (h at midnight) two UTC days
      U, each key of a day from U - 15 to U (today's, when it ended before the upload);
    - a held-back key expired in (h - 3 h, h - 2 h], so it is the key of that day k (or of the day
      before, one that expired at midnight), uploaded on k or, within the clock skew before
      midnight, on k - 1;
    days since onset then range over every onset a token of that upload day can carry.
    """
    shapes: set[Shape] = set()

    def add(key_day: dt.date, upload_day: dt.date) -> None:
        first = int(dt.datetime.combine(key_day, dt.time(), dt.timezone.utc).timestamp()) // INTERVAL_SECONDS
        for back in range(-_ONSET_AFTER_UPLOAD, _ONSET_BEFORE_UPLOAD + 1):
            since = (key_day - (upload_day - dt.timedelta(days=back))).days
            if abs(since) <= MAX_DAYS_FROM_ONSET:
                shapes.add((first, ROLLING_PERIOD, transmission_risk(since), CONFIRMED_TEST, since))

    hour = start
    while hour < end:
        for upload_day in {(hour - _HOUR + _TICK).date(), hour.date()}:
            for age in range(MAX_KEY_AGE_DAYS + 1):
                add(upload_day - dt.timedelta(days=age), upload_day)
        expired = hour - EMBARGO
        for key_day in {(expired - _HOUR).date(), (expired - _TICK).date()}:
            for upload_day in (key_day - dt.timedelta(days=1), key_day):
                add(key_day, upload_day)
        hour += _HOUR
    return shapes


def simulated_metadata(count: int, start: dt.datetime, period: dt.timedelta, rng: random.Random) -> list[tuple[int, int, int, int, int | None]]:
    """Metadata of `count` keys as phones uploading in the window starting at `start` give it.

    Each simulated phone shares its keys of the days before the upload day (all 14 most often;
    fewer if it was installed lately), with days since onset from an onset drawn anywhere a
    pharmacy may enter it (tomorrow to 14 days back), and the transmission risk the server sets
    from it. The window holding 02:00 also gets yesterday's keys one by one: the held-back keys
    of the day before, which real uploads publish then (about a third of that window's keys).
    """
    upload_day = start.date()
    out: list[tuple[int, int, int, int, int | None]] = []

    def add(day: dt.date, onset: dt.date) -> None:
        since = (day - onset).days
        if abs(since) <= MAX_DAYS_FROM_ONSET:
            first = int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp()) // INTERVAL_SECONDS
            out.append((first, ROLLING_PERIOD, transmission_risk(since), CONFIRMED_TEST, since))

    def onset(day: dt.date) -> dt.date:
        return day - dt.timedelta(days=rng.randrange(-1, MAX_AGE_DAYS + 1))

    if start.hour <= EMBARGO_HOUR < start.hour + period.total_seconds() / 3600:
        yesterday = upload_day - dt.timedelta(days=1)
        while len(out) < count // 3:
            add(yesterday, onset(yesterday))
    while len(out) < count:
        days = MAX_AGE_DAYS if rng.random() < 0.8 else rng.randrange(1, MAX_AGE_DAYS)
        started = onset(upload_day)
        for back in range(1, days + 1):
            add(upload_day - dt.timedelta(days=back), started)
    rng.shuffle(out)
    return out[:count]


def file_name(start: dt.datetime, end: dt.datetime, batch_num: int) -> str:
    return f"{int(start.timestamp())}-{int(end.timestamp())}-{batch_num:05d}.zip"


def build_files(
    keys: list[ExportKey | StoredKey], start: dt.datetime, end: dt.datetime, rules: ExportRules,
    private_key: ec.EllipticCurvePrivateKey,
) -> list[tuple[str, int, int, int, bytes]]:
    """(name, number, files, keys, zip) of each file of a window's batch. Sorted once here so
    that each file holds a run of the order (build_export's own sort then finds it done).

    Every file says batch 1 of 1: the format's batch_num/batch_size are "not yet supported on
    iOS, use values of 1 for both", and the reference server writes 1/1 since 2020. A window
    split into n files instead gives file i the end timestamp end + i seconds (as the
    reference does), so each file is a distinct export whose end orders it; the window's own
    end stays in the file name, and `number` orders the index.
    """
    keys.sort(key=operator.attrgetter("key_data"))
    size = max(1, -(-len(keys) // rules.max_keys_per_file))
    files = []
    for number in range(1, size + 1):
        part = keys[(number - 1) * rules.max_keys_per_file:number * rules.max_keys_per_file]
        data = build_export(
            part, start=int(start.timestamp()), end=int(end.timestamp()) + (number if size > 1 else 0),
            region=rules.region, batch_num=1, batch_size=1, private_key=private_key, info=rules.info,
        )
        files.append((file_name(start, end, number), number, size, len(part), data))
    return files


def prepare_window(
    session: Session, keyring: KeyRing, keystore: KeyStore, private_key: ec.EllipticCurvePrivateKey,
    rules: ExportRules, start: dt.datetime, end: dt.datetime, now: dt.datetime, rng: random.Random | None = None,
) -> list[ExportFile]:
    """One window's files, built and signed from what `session` reads (they are not added to it)."""
    rng = rng or random.SystemRandom()
    with _cycle_collector_paused():
        keys: list[ExportKey | StoredKey] = list(window_keys(session, keyring, keystore, start, end))
        keys.extend(padding(keys, rules, start, rng))
        files = build_files(keys, start, end, rules, private_key)
    return [
        ExportFile(name=name, window_start=start, window_end=end, batch_num=number, batch_size=size, keys=count,
                   etag=hashlib.sha256(data).hexdigest(), data=data, created_at=now)
        for name, number, size, count, data in files
    ]


@contextlib.contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """A million keys are a million small objects that hold no cycles: each allocation burst set
    off Python's cycle collector again (0.9 of 1.7 s unpacking a 1M-key window, measured).
    Reference counting frees them all the same; the collector is back on afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# The names `file_name` gives; anything else is not looked up.
_FILE_NAME = re.compile(r"\d{1,12}-\d{1,12}-\d{5}\.zip")


@dataclass(frozen=True)
class Download:
    """An export file as a download answers it: `data` is empty when the caller's copy is current."""

    etag: str
    window_end: dt.datetime
    data: bytes


def download(session: Session, name: str, cached: Callable[[str], bool]) -> Download | None:
    """The export file of this name (None if there is none); a copy the caller holds already
    (`cached(etag)`) is answered from the ETag alone, without reading the file."""
    if not _FILE_NAME.fullmatch(name):
        return None
    found = session.execute(select(ExportFile.etag, ExportFile.window_end).where(ExportFile.name == name)).first()
    if found is None:
        return None
    etag, window_end = found
    data = b"" if cached(etag) else session.scalar(select(ExportFile.data).where(ExportFile.name == name))
    return Download(etag, window_end, data)  # type: ignore[arg-type]


def index(session: Session) -> list[str]:
    """Names of the files kept, oldest window first."""
    return list(session.scalars(select(ExportFile.name).order_by(ExportFile.window_end, ExportFile.batch_num)))
