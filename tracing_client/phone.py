"""A simulated phone: daily temporary exposure keys, rolling identifiers, encounters and matching.

Derivations are those of the Exposure Notification cryptography specification (crypto.exposure,
checked against the specification's test vectors): RPIK = HKDF-SHA256(TEK, "EN-RPIK"),
RPI = AES-128(RPIK, "EN-RPI" || 0^6 || LE32(interval)).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from crypto.exposure import INTERVAL_SECONDS, ROLLING_PERIOD, interval_number, rolling_identifier, rolling_identifiers, rpi_key
from crypto.exposure_export import ExportKey

# Keys a phone keeps and shares: today and the 14 days before.
KEPT_DAYS = 15
# A heard identifier matches a published key's interval within this many intervals (the
# specification's tolerance for clock drift between phones: two hours).
TOLERANCE = 12


def day_start(day: dt.date) -> int:
    """The interval number of a UTC day's midnight (keys roll at UTC midnight here)."""
    return int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp()) // INTERVAL_SECONDS


@dataclass(frozen=True)
class Exposure:
    """A match: a published key whose identifiers this phone heard."""

    day: dt.date
    intervals: int  # 10-minute intervals heard
    transmission_risk_level: int
    days_since_onset_of_symptoms: int | None


@dataclass
class Phone:
    """One phone's exposure-notification state."""

    name: str
    keys: dict[dt.date, bytes] = field(default_factory=dict)
    # Heard identifier -> the intervals it was heard in.
    heard: dict[bytes, set[int]] = field(default_factory=dict)

    def key_of(self, day: dt.date) -> bytes:
        """The day's temporary exposure key, generated on first use."""
        if day not in self.keys:
            self.keys[day] = secrets.token_bytes(16)
        return self.keys[day]

    def broadcast(self, moment: dt.datetime) -> bytes:
        """The rolling proximity identifier sent at `moment`."""
        return rolling_identifier(rpi_key(self.key_of(moment.astimezone(dt.timezone.utc).date())), interval_number(moment))

    def hear(self, identifier: bytes, moment: dt.datetime) -> None:
        self.heard.setdefault(identifier, set()).add(interval_number(moment))

    def keys_to_share(self, now: dt.datetime) -> list[dict[str, object]]:
        """The keys of today and the 14 days before, as the upload API takes them (today's
        key is still valid: the server holds it back until it expires)."""
        today = now.astimezone(dt.timezone.utc).date()
        days = [today - dt.timedelta(days=back) for back in range(KEPT_DAYS)]
        return [
            {
                "key_data": base64.b64encode(self.key_of(day)).decode(),
                "rolling_start_interval_number": day_start(day),
                "rolling_period": ROLLING_PERIOD,
                "transmission_risk_level": 4,
            }
            for day in days
            if day in self.keys or day == today
        ]

    def match(self, published: Iterable[ExportKey]) -> list[Exposure]:
        """Published keys whose identifiers this phone heard within the tolerance."""
        exposures = []
        for key in published:
            identifiers = rolling_identifiers(rpi_key(key.key_data), key.rolling_start_interval_number, key.rolling_period)
            intervals = 0
            for offset, identifier in enumerate(identifiers):
                heard_at = self.heard.get(identifier)
                interval = key.rolling_start_interval_number + offset
                if heard_at and any(abs(when - interval) <= TOLERANCE for when in heard_at):
                    intervals += 1
            if intervals:
                day = dt.datetime.fromtimestamp(key.rolling_start_interval_number * INTERVAL_SECONDS, dt.timezone.utc).date()
                exposures.append(Exposure(day, intervals, key.transmission_risk_level, key.days_since_onset_of_symptoms))
        return exposures


def meet(first: Phone, second: Phone, start: dt.datetime, minutes: int) -> None:
    """Two phones near each other from `start` for `minutes`: each hears the other every interval."""
    moment = start
    while moment < start + dt.timedelta(minutes=minutes):
        first.hear(second.broadcast(moment), moment)
        second.hear(first.broadcast(moment), moment)
        moment += dt.timedelta(seconds=INTERVAL_SECONDS)
