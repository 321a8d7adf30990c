"""Export batches: every key published in a window, padded, signed, split into files of the standard format.

Windows are whole multiples of SAFESIGNAL_TRACING_EXPORT_PERIOD_HOURS since the Unix epoch, and a
window is built once, after it has ended plus a margin that outlasts any upload transaction still
open. Every window gets a batch, with or without real keys: a batch is padded with random keys
up to TRACING_EXPORT_MIN_KEYS plus a random number below TRACING_EXPORT_PADDING_RANGE, so neither
its presence nor its size tells how few cases there were (the reference server's padding). The
padding imitates real uploads: it copies the metadata of the window's real keys, or with none
simulates phones uploading a day-by-day history from a symptom onset.

Batch contents are public by design (every phone downloads them), so files are kept as built;
the keys they came from stay encrypted in key_upload until retention shreds them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto.envelope import associated_data
from crypto.exposure import INTERVAL_SECONDS, KEY_LENGTH, ROLLING_PERIOD
from crypto.exposure_export import ExportKey, SignatureInfo, build_export
from crypto.keyring import KeyRing, KeyStore
from service.tracing.keys import CONFIRMED_TEST, MAX_AGE_DAYS, MAX_DAYS_FROM_ONSET, unpack
from service.tracing.models import ExportFile, KeyUpload

# An upload's transaction is milliseconds long; a window is built only this long after it ends,
# so no key published inside it can still be committed after it was read.
MARGIN = dt.timedelta(minutes=5)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


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


def window_keys(session: Session, keyring: KeyRing, keystore: KeyStore, start: dt.datetime, end: dt.datetime) -> list[ExportKey]:
    """The real keys published in [start, end), decrypted."""
    keys: list[ExportKey] = []
    rows = session.execute(
        select(KeyUpload.id, KeyUpload.payload).where(KeyUpload.publish_at >= start, KeyUpload.publish_at < end)
    )
    for row_id, payload in rows:
        keys.extend(unpack(keyring.decrypt(keystore, payload, associated_data(KeyUpload.__tablename__, row_id.bytes))))
    return keys


def padding(real: Sequence[ExportKey], rules: ExportRules, end: dt.datetime, rng: random.Random) -> list[ExportKey]:
    """Random keys to add: none once the batch reaches the minimum, else up to it plus a random few."""
    if len(real) >= rules.min_keys:
        return []
    count = rules.min_keys - len(real) + rng.randrange(max(1, rules.padding_range))
    data = os.urandom(KEY_LENGTH * count)
    fake = _metadata_like(real, count, end, rng)
    return [ExportKey(data[i * KEY_LENGTH:(i + 1) * KEY_LENGTH], *fake[i]) for i in range(count)]


def _metadata_like(real: Sequence[ExportKey], count: int, end: dt.datetime, rng: random.Random) -> list[tuple[int, int, int, int, int | None]]:
    if real:
        return [
            (key.rolling_start_interval_number, key.rolling_period, key.transmission_risk_level, key.report_type,
             key.days_since_onset_of_symptoms)
            for key in (rng.choice(real) for _ in range(count))
        ]
    # Simulated uploads: a phone shares the days from a few before onset until yesterday.
    last_day = (end - dt.timedelta(days=1)).date()
    out: list[tuple[int, int, int, int, int | None]] = []
    while len(out) < count:
        onset = last_day - dt.timedelta(days=rng.randrange(0, 10))
        risk = rng.randrange(0, 9)
        for back in range(rng.randrange(1, MAX_AGE_DAYS + 1)):
            day = last_day - dt.timedelta(days=back)
            since = (day - onset).days
            if abs(since) > MAX_DAYS_FROM_ONSET:
                continue
            start = int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp()) // INTERVAL_SECONDS
            out.append((start, ROLLING_PERIOD, risk, CONFIRMED_TEST, since))
    return out[:count]


def file_name(start: dt.datetime, end: dt.datetime, batch_num: int) -> str:
    return f"{int(start.timestamp())}-{int(end.timestamp())}-{batch_num:05d}.zip"


def build_files(
    keys: list[ExportKey], start: dt.datetime, end: dt.datetime, rules: ExportRules, private_key: ec.EllipticCurvePrivateKey,
) -> list[tuple[str, int, int, int, bytes]]:
    """(name, batch_num, batch_size, keys, zip) of each file of a window's batch."""
    keys.sort(key=lambda key: key.key_data)
    size = max(1, -(-len(keys) // rules.max_keys_per_file))
    files = []
    for number in range(1, size + 1):
        part = keys[(number - 1) * rules.max_keys_per_file:number * rules.max_keys_per_file]
        data = build_export(
            part, start=int(start.timestamp()), end=int(end.timestamp()), region=rules.region,
            batch_num=number, batch_size=size, private_key=private_key, info=rules.info,
        )
        files.append((file_name(start, end, number), number, size, len(part), data))
    return files


def prepare_window(
    session: Session, keyring: KeyRing, keystore: KeyStore, private_key: ec.EllipticCurvePrivateKey,
    rules: ExportRules, start: dt.datetime, end: dt.datetime, now: dt.datetime, rng: random.Random | None = None,
) -> list[ExportFile]:
    """One window's files, built and signed from what `session` reads (they are not added to it)."""
    rng = rng or random.SystemRandom()
    keys = window_keys(session, keyring, keystore, start, end)
    keys.extend(padding(keys, rules, end, rng))
    return [
        ExportFile(name=name, window_start=start, window_end=end, batch_num=number, batch_size=size, keys=count,
                   etag=hashlib.sha256(data).hexdigest(), data=data, created_at=now)
        for name, number, size, count, data in build_files(keys, start, end, rules, private_key)
    ]


def index(session: Session) -> list[tuple[str, dt.datetime]]:
    """Names of the files kept, oldest window first, with their window's end."""
    return [
        (row.name, row.window_end)
        for row in session.execute(select(ExportFile.name, ExportFile.window_end).order_by(ExportFile.window_end, ExportFile.batch_num))
    ]
