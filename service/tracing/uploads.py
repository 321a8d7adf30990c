"""Uploaded temporary exposure keys: validated as the reference server does, packed, encrypted, held back.

Validation follows google/exposure-notifications-server's docs/tek_validation.md and its
TransformPublish, with one choice of ours: any invalid key rejects the whole upload with
field-level errors (the reference drops single keys and reports partial success), so an app
never believes it shared keys it did not, and can fix and retry with the same token (a rejected
upload does not spend it).

- 1 to 30 keys; key data exactly 16 bytes; rolling period 1 to 144; transmission risk 0 to 8;
  no key twice;
- no key of a UTC day before the one 15 days back (the reference's maximum age, 360 hours: a
  phone keeps 14 local days, which span 15 UTC days), none starting in the future (clock skew
  allowed);
- overlapping keys as the reference allows them: keys with the same start may coexist, at most 3
  (GAEN v1.5 reissues the day's key when it is shared); a key with another start must not begin
  before the keys of the previous start have all ended. So at most 3 keys are valid at any
  moment, and one code cannot publish 30 devices' keys for the same hours;
- a key ends by the UTC midnight after its start, as every phone's daily key does (the
  specification aligns keys to the day);
- days since onset come from the token (what the partner entered), not the app: a key further
  than 14 days from onset is dropped, as the reference recommends; the transmission risk is set
  from days since onset (`transmission_risk`) and the report type to CONFIRMED_TEST, whatever the
  app sent, so that no field can set an upload apart from the padding of an export;
- a key is published as its whole UTC day (start at midnight, rolling period 144): a phone that
  rotated early, reissued its key or started mid-day would otherwise stand out among the padding.
  Matching loses nothing: identifiers depend on the interval, and the added intervals are ones
  this key never broadcast;
- a key still valid at upload is held back until two hours after the hour it expires, so it
  cannot be matched while its phone still broadcasts it (the reference's embargo).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.orm import Session

from crypto.envelope import associated_data, encrypt
from crypto.exposure import INTERVAL_SECONDS, KEY_LENGTH, ROLLING_PERIOD, interval_number
from crypto.exposure_export import ExportKey
from crypto.keyring import KeyRing, KeyStore
from service.tracing.codes import Onset, TracingError
from service.tracing.models import KeyUpload

DATA_CLASS = "exposure_keys"
MAX_KEYS = 30
# Exports and padding look back 14 days; an upload takes keys of the UTC day 15 days back too.
MAX_AGE_DAYS = 14
MAX_KEY_AGE_DAYS = 15
MAX_DAYS_FROM_ONSET = 14
MAX_SAME_START = 3
EMBARGO = dt.timedelta(hours=2)
CONFIRMED_TEST = 1
# key data, rolling start, rolling period, transmission risk, report type, days since onset
_PACKED = struct.Struct("<16sIBBBb")
_NO_ONSET = -128


@dataclass(frozen=True)
class UploadedKey:
    """One key as the app sent it, before validation."""

    key_data: str
    rolling_start_interval_number: int
    rolling_period: int
    transmission_risk_level: int


class InvalidKeys(TracingError):
    """The upload breaks a rule; `errors` maps `keys.N.field` to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__()
        self.errors = errors


class Publishable(NamedTuple):
    """A key as it will be published, and the first hour it may be."""

    key: ExportKey
    hour: dt.datetime


@dataclass(frozen=True)
class Accepted:
    """Validated keys, split by when they may be published; `dropped` were too far from onset."""

    now: list[Publishable]
    held: list[Publishable]
    dropped: int


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def validate(keys: Sequence[UploadedKey], onset: Onset, *, now: dt.datetime, skew: dt.timedelta) -> Accepted:
    """The keys to store, or InvalidKeys naming each broken rule."""
    errors: dict[str, list[str]] = {}
    today = now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    oldest = interval_number(today - dt.timedelta(days=MAX_KEY_AGE_DAYS))
    newest = interval_number(now + skew)
    current = interval_number(now)
    seen: set[bytes] = set()
    valid_now: list[Publishable] = []
    held: list[Publishable] = []
    dropped = 0
    if not 1 <= len(keys) <= MAX_KEYS:
        raise InvalidKeys({"keys": [f"Between 1 and {MAX_KEYS} keys."]})
    for index, key in enumerate(keys):
        where = f"keys.{index}"
        data = _decode(key.key_data)
        if data is None or len(data) != KEY_LENGTH:
            errors[f"{where}.key_data"] = ["Must be 16 bytes, base64-encoded."]
        elif data in seen:
            errors[f"{where}.key_data"] = ["The same key twice."]
        else:
            seen.add(data)
        start, period = key.rolling_start_interval_number, key.rolling_period
        day_first = start - start % ROLLING_PERIOD  # the UTC midnight the key's day starts at
        if not 1 <= period <= ROLLING_PERIOD:
            errors[f"{where}.rolling_period"] = [f"Between 1 and {ROLLING_PERIOD}."]
        elif start + period > day_first + ROLLING_PERIOD:
            errors[f"{where}.rolling_period"] = ["Must end by the UTC midnight after the key's start."]
        if start < oldest:
            errors[f"{where}.rolling_start_interval_number"] = [f"Older than the UTC day {MAX_KEY_AGE_DAYS} days back."]
        elif start > newest:
            errors[f"{where}.rolling_start_interval_number"] = ["Starts in the future."]
        if not 0 <= key.transmission_risk_level <= 8:
            errors[f"{where}.transmission_risk_level"] = ["Between 0 and 8."]
        if any(name.startswith(where + ".") for name in errors):
            continue
        assert data is not None
        key_day = dt.datetime.fromtimestamp(start * INTERVAL_SECONDS, dt.timezone.utc).date()
        since_onset = (key_day - onset.date).days
        if abs(since_onset) > MAX_DAYS_FROM_ONSET:
            dropped += 1
            continue
        # Published as the whole day: see the module's docstring.
        exported = ExportKey(data, day_first, ROLLING_PERIOD, transmission_risk(since_onset), CONFIRMED_TEST, since_onset)
        publishable = Publishable(exported, publish_hour(start + period, now))
        (held if start + period > current else valid_now).append(publishable)
    for index, message in _overlaps(keys).items():
        errors.setdefault(f"keys.{index}.rolling_start_interval_number", []).append(message)
    if errors:
        raise InvalidKeys(errors)
    return Accepted(valid_now, held, dropped)


def _overlaps(keys: Sequence[UploadedKey]) -> dict[int, str]:
    """The keys (by index) that break the reference's overlap rules: more than 3 with one start,
    or one starting before the keys of the previous start have all ended."""
    found: dict[int, str] = {}
    order = sorted(range(len(keys)), key=lambda i: (keys[i].rolling_start_interval_number, keys[i].rolling_period))
    start, end, count = -1, -1, 0
    for index in order:
        key = keys[index]
        key_end = key.rolling_start_interval_number + key.rolling_period
        if key.rolling_start_interval_number == start:
            count += 1
            if count > MAX_SAME_START:
                found[index] = f"More than {MAX_SAME_START} keys with the same start."
            end = max(end, key_end)
            continue
        if key.rolling_start_interval_number < end:
            found[index] = "Overlaps a key with another start."
        start, end, count = key.rolling_start_interval_number, max(end, key_end), 1
    return found


def transmission_risk(days_since_onset: int) -> int:
    """The transmission risk level of a key, from its days since onset: highest around onset,
    as infectiousness is (our own table, in the spirit of Corona-Warn-App's)."""
    if -2 <= days_since_onset <= 2:
        return 6
    if -4 <= days_since_onset <= 5:
        return 4
    if -7 <= days_since_onset <= 9:
        return 2
    return 1


def next_hour(moment: dt.datetime) -> dt.datetime:
    hour = moment.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return hour if hour == moment else hour + dt.timedelta(hours=1)


def publish_hour(end_interval: int, received: dt.datetime) -> dt.datetime:
    """The first hour a key ending at `end_interval` may be exported: the next whole hour, or
    (a key still valid) two hours after the hour it expires."""
    expires = dt.datetime.fromtimestamp(end_interval * INTERVAL_SECONDS, dt.timezone.utc)
    return max(next_hour(received), next_hour(expires) + EMBARGO)


def pack(keys: Sequence[ExportKey | StoredKey]) -> bytes:
    """24 bytes per key."""
    return b"".join(
        _PACKED.pack(
            key.key_data, key.rolling_start_interval_number, key.rolling_period, key.transmission_risk_level,
            key.report_type, _NO_ONSET if key.days_since_onset_of_symptoms is None else key.days_since_onset_of_symptoms,
        )
        for key in keys
    )


class StoredKey(NamedTuple):
    """A stored key, with the fields of crypto.exposure_export.ExportKey (build_export reads
    either). Not checked again: `validate` checked it before it was stored, and AES-GCM vouches
    that it is what was stored. A million keys unpack in a fraction of a second this way, against
    about 4 s through ExportKey's checks (bench/tracing.py, the export's largest cost)."""

    key_data: bytes
    rolling_start_interval_number: int
    rolling_period: int
    transmission_risk_level: int
    report_type: int
    days_since_onset_of_symptoms: int | None


def unpack(data: bytes) -> list[StoredKey]:
    """The keys of `pack`."""
    return [
        StoredKey(key_data, start, period, risk, report, None if onset == _NO_ONSET else onset)
        for key_data, start, period, risk, report, onset in _PACKED.iter_unpack(data)
    ]


def store(session: Session, keyring: KeyRing, keystore: KeyStore, accepted: Accepted, *, now: dt.datetime) -> None:
    """Encrypt and add the keys to the session: one row per hour they become public."""
    epoch = now.astimezone(dt.timezone.utc).date()
    data_key = keyring.key_for_epoch(keystore, DATA_CLASS, epoch)
    groups: dict[dt.datetime, list[ExportKey]] = {}
    for key, hour in (*accepted.now, *accepted.held):
        groups.setdefault(hour, []).append(key)
    for hour, keys in groups.items():
        row_id = uuid.uuid4()
        payload = encrypt(data_key, pack(keys), associated_data(KeyUpload.__tablename__, row_id.bytes))
        session.add(KeyUpload(id=row_id, epoch=epoch, publish_at=hour, keys=len(keys), payload=payload))
