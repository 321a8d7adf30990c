"""Three phones, two of which met; one tests positive at a pharmacy; only the contact is notified."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from tracing_support import FlaskTransport, export, export_public_key, granted_pharmacy

from crypto.exposure_export import ExportError, read_export
from tracing_client import api
from tracing_client.phone import Phone, meet


def _tampered(data: bytes, position: int) -> bytes:
    """The same zip with one byte of export.bin changed (export.sig untouched)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        binary = bytearray(archive.read("export.bin"))
        signature = archive.read("export.sig")
    binary[position] ^= 0x01
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("export.bin", bytes(binary))
        archive.writestr("export.sig", signature)
    return out.getvalue()


def test_the_contact_is_notified_and_the_stranger_is_not(app, client, partners, clock):
    transport = FlaskTransport(client)
    alice, bob, carol = Phone("alice"), Phone("bob"), Phone("carol")
    met = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.timezone.utc)
    meet(alice, bob, met, minutes=30)
    # Carol is out that day, and meets a fourth phone that never uploads.
    meet(carol, Phone("dave"), met, minutes=30)
    for phone in (alice, bob, carol):
        for back in range(15):
            phone.key_of(clock.now.date() - dt.timedelta(days=back))

    # Bob tests positive at the pharmacy and types the code it reads out into his app.
    _, pharmacy = granted_pharmacy(partners)
    code = api.issue_code(transport, pharmacy, test_date=clock.now.date().isoformat())
    # Apps send fake exchanges and uploads too; they change nothing.
    api.upload(transport, api.exchange(transport, "", fake=True), alice.keys_to_share(clock.now), fake=True)
    token = api.exchange(transport, code)
    answer = api.upload(transport, token, bob.keys_to_share(clock.now))
    assert answer["inserted"] == 15 and answer["held_back"] == 1

    # The batch of the window holding the next hour is built once the window has ended.
    assert "nothing due" in export(partners)
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=dt.timezone.utc)
    export(partners)

    downloader = api.Downloader(transport, export_public_key(app))
    files = downloader.files(downloader.index())
    published = [key for file in files for key in file.keys]
    assert len(published) >= 1000  # padded
    bob_keys = {bytes(key) for key in bob.keys.values()}
    assert len(bob_keys & {key.key_data for key in published}) == 14  # today's key is held back
    assert not {bytes(key) for key in alice.keys.values()} & {key.key_data for key in published}  # the fake upload stored nothing

    exposures = alice.match(published)
    assert [exposure.day for exposure in exposures] == [met.date()]
    assert exposures[0].intervals == 3
    assert exposures[0].days_since_onset_of_symptoms == (met.date() - clock.now.date()).days
    assert carol.match(published) == []
    assert bob.match(published) == []


@pytest.mark.parametrize("position", [0, 15, 16, 40, -1])
def test_a_byte_changed_in_export_bin_fails_verification(app, client, partners, clock, position):
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=dt.timezone.utc)
    export(partners)
    transport = FlaskTransport(client)
    (name,) = api.Downloader(transport, export_public_key(app)).index()
    data = client.get(f"/v1/tracing/exports/{name}").get_data()
    read_export(data, export_public_key(app))  # the genuine file verifies
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        length = len(archive.read("export.bin"))
    with pytest.raises(ExportError):
        read_export(_tampered(data, position % length), export_public_key(app))
