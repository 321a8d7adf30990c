"""Exposure Notification key derivation against the specification's published test vectors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from crypto import exposure

VECTORS = json.loads((Path(__file__).parent / "vectors" / "exposure_notification.json").read_text(encoding="utf-8"))


def test_the_interval_number_of_the_vectors_key_generation_time():
    moment = dt.datetime.fromtimestamp(VECTORS["key_generation_seconds"], tz=dt.timezone.utc)
    assert exposure.interval_number(moment) == VECTORS["interval_number"]
    assert exposure.interval_number(moment + dt.timedelta(seconds=599)) == VECTORS["interval_number"]
    assert exposure.interval_number(moment + dt.timedelta(seconds=600)) == VECTORS["interval_number"] + 1


def test_key_derivation_matches_the_vectors():
    tek = bytes.fromhex(VECTORS["tek"])
    assert exposure.rpi_key(tek).hex() == VECTORS["rpik"]
    assert exposure.metadata_key(tek).hex() == VECTORS["aemk"]


@pytest.mark.parametrize("advertised", VECTORS["advertised"], ids=lambda a: f"interval+{a['offset']}")
def test_identifiers_and_metadata_match_the_vectors(advertised):
    rpik, aemk = bytes.fromhex(VECTORS["rpik"]), bytes.fromhex(VECTORS["aemk"])
    interval = VECTORS["interval_number"] + advertised["offset"]
    rpi = exposure.rolling_identifier(rpik, interval)
    assert rpi.hex() == advertised["rpi"]
    metadata = bytes.fromhex(VECTORS["metadata"])
    assert exposure.encrypt_metadata(aemk, rpi, metadata).hex() == advertised["aem"]
    assert exposure.decrypt_metadata(aemk, rpi, bytes.fromhex(advertised["aem"])) == metadata


def test_a_days_identifiers_are_the_per_interval_ones_and_all_distinct():
    rpik = bytes.fromhex(VECTORS["rpik"])
    start = VECTORS["interval_number"]
    day = exposure.rolling_identifiers(rpik, start)
    assert len(day) == exposure.ROLLING_PERIOD == len(set(day))
    assert day[44].hex() == next(a["rpi"] for a in VECTORS["advertised"] if a["offset"] == 44)
    assert day[143] == exposure.rolling_identifier(rpik, start + 143)


def test_another_key_or_interval_gives_other_identifiers():
    tek = bytearray(bytes.fromhex(VECTORS["tek"]))
    tek[0] ^= 1
    other = exposure.rpi_key(bytes(tek))
    assert other.hex() != VECTORS["rpik"]
    rpik = bytes.fromhex(VECTORS["rpik"])
    assert exposure.rolling_identifier(rpik, VECTORS["interval_number"] + 200) not in exposure.rolling_identifiers(rpik, VECTORS["interval_number"])


@pytest.mark.parametrize("tek", [b"", bytes(15), bytes(17)])
def test_a_key_of_the_wrong_length_is_refused(tek):
    with pytest.raises(ValueError, match="16 bytes"):
        exposure.rpi_key(tek)


@pytest.mark.parametrize(("start", "count"), [(-1, 1), (2**32 - 1, 2), (0, -1)])
def test_intervals_outside_32_bits_are_refused(start, count):
    with pytest.raises(ValueError, match="32-bit"):
        exposure.rolling_identifiers(bytes(16), start, count)
