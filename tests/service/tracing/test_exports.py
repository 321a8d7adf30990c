"""Export batches: built once per window after it ends, padded, signed, cacheable, kept 14 days."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import statistics

from sqlalchemy import func, select
from tracing_support import FlaskTransport, export, export_public_key, granted_pharmacy

from crypto.exposure_export import read_export
from service.tracing.models import ExportFile, KeyUpload
from tracing_client import api
from tracing_client.phone import day_start

UTC = dt.timezone.utc
TODAY = dt.date(2026, 11, 29)


def _upload(client, partners, keys):  # type: ignore[no-untyped-def]
    transport = FlaskTransport(client)
    _, pharmacy = granted_pharmacy(partners)
    token = api.exchange(transport, api.issue_code(transport, pharmacy, test_date="2026-11-28"))
    return api.upload(transport, token, keys)


def _history(days: int = 15) -> list[dict[str, object]]:
    return [
        {"key_data": base64.b64encode(secrets.token_bytes(16)).decode(),
         "rolling_start_interval_number": day_start(TODAY - dt.timedelta(days=back)), "rolling_period": 144,
         "transmission_risk_level": 5}
        for back in range(days)
    ]


def _files(client, app):  # type: ignore[no-untyped-def]
    downloader = api.Downloader(FlaskTransport(client), export_public_key(app))
    return downloader.files(downloader.index())


def test_nothing_is_built_before_a_window_has_ended_plus_the_margin(client, partners, clock, db_engine):
    _upload(client, partners, _history())
    clock.now = dt.datetime(2026, 11, 29, 12, 4, 59, tzinfo=UTC)
    assert "nothing due" in export(partners)
    clock.now = dt.datetime(2026, 11, 29, 12, 5, tzinfo=UTC)
    output = export(partners)
    assert output.startswith(f"{int(dt.datetime(2026, 11, 29, 8, tzinfo=UTC).timestamp())}-")
    assert "nothing due" in export(partners)  # built once


def test_a_batch_is_padded_with_keys_that_look_like_the_real_ones(client, partners, clock, app):
    real = _history()
    _upload(client, partners, real)
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    export(partners)
    (file,) = _files(client, app)
    assert 1000 <= len(file.keys) < 1100
    assert (file.start, file.end) == (int(dt.datetime(2026, 11, 29, 8, tzinfo=UTC).timestamp()),
                                      int(dt.datetime(2026, 11, 29, 12, tzinfo=UTC).timestamp()))
    assert file.region == "BE" and (file.batch_num, file.batch_size) == (1, 1)
    real_data = {base64.b64decode(str(key["key_data"])) for key in real}
    assert len(real_data & {key.key_data for key in file.keys}) == 14
    assert [key.key_data for key in file.keys] == sorted(key.key_data for key in file.keys)
    # Padding copies the real keys' metadata, so no field sets it apart.
    starts = {key.rolling_start_interval_number for key in file.keys}
    assert starts == {day_start(TODAY - dt.timedelta(days=back)) for back in range(1, 15)}
    assert {key.transmission_risk_level for key in file.keys} == {5}


def test_every_window_gets_a_padded_batch_even_without_cases(client, partners, clock, app):
    sizes = []
    for hour in (12, 16, 20):
        clock.now = dt.datetime(2026, 11, 29, hour, 10, tzinfo=UTC)
        export(partners)
    files = _files(client, app)
    sizes = [len(file.keys) for file in files]
    assert len(files) == 3 and all(1000 <= size < 1100 for size in sizes)
    keys = [key for file in files for key in file.keys]
    # Simulated uploads: whole days, within 14 days, onset within 14 days.
    assert all(key.rolling_period == 144 for key in keys)
    assert all(-14 <= key.days_since_onset_of_symptoms <= 14 for key in keys)
    assert statistics.pstdev(key.rolling_start_interval_number for key in keys) > 144


def test_the_held_back_key_is_published_after_it_expires(client, partners, clock, app):
    real = _history()
    _upload(client, partners, real)
    todays = base64.b64decode(str(real[0]["key_data"]))
    clock.now = dt.datetime(2026, 11, 30, 4, 10, tzinfo=UTC)
    export(partners)
    windows = {(file.start, file.end): {key.key_data for key in file.keys} for file in _files(client, app)}
    holding = [window for window, keys in windows.items() if todays in keys]
    assert holding == [(int(dt.datetime(2026, 11, 30, 0, tzinfo=UTC).timestamp()), int(dt.datetime(2026, 11, 30, 4, tzinfo=UTC).timestamp()))]
    assert len(windows) == 5  # 08-12, 12-16, 16-20, 20-24, 00-04: one batch per window


def test_a_large_window_is_split_into_signed_files_of_one_batch(app_with, partners, clock):
    from service.tracing.jobs import export_due

    app = app_with(TRACING_EXPORT_MAX_KEYS_PER_FILE=400)
    client = app.test_client()
    _upload(client, partners, _history())
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    # This app's own settings (the CLI runner would run the fixture's app).
    names = [name for name, _ in export_due(app.extensions["safesignal"], "test")]
    start, end = (int(dt.datetime(2026, 11, 29, hour, tzinfo=UTC).timestamp()) for hour in (8, 12))
    assert names == [f"{start}-{end}-0000{number}.zip" for number in (1, 2, 3)]
    files = _files(client, app)
    assert [file.batch_num for file in files] == [1, 2, 3]
    assert {file.batch_size for file in files} == {3}
    assert sum(len(file.keys) for file in files) >= 1000


def test_the_index_and_files_are_cacheable_and_a_repeat_is_answered_from_the_etag(client, partners, clock, app):
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    export(partners)
    index = client.get("/v1/tracing/exports/index.txt")
    assert index.status_code == 200 and index.mimetype == "text/plain"
    assert index.headers["Cache-Control"] == "public, max-age=300"
    (name,) = index.get_data(as_text=True).split()
    again = client.get("/v1/tracing/exports/index.txt", headers={"If-None-Match": index.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    first = client.get(f"/v1/tracing/exports/{name}")
    assert first.status_code == 200 and first.mimetype == "application/zip"
    assert first.headers["Cache-Control"] == "public, max-age=86400, immutable"
    read_export(first.get_data(), export_public_key(app))
    repeat = client.get(f"/v1/tracing/exports/{name}", headers={"If-None-Match": first.headers["ETag"]})
    assert repeat.status_code == 304 and repeat.get_data() == b""
    assert repeat.headers["ETag"] == first.headers["ETag"]
    # A cache keeps a file no longer than retention does.
    clock.now = dt.datetime(2026, 12, 13, 11, 0, tzinfo=UTC)
    late = client.get(f"/v1/tracing/exports/{name}")
    assert late.headers["Cache-Control"] == "public, max-age=3600, immutable"


def test_unknown_or_odd_file_names_are_404(client):
    for name in ("1-2-00001.zip", "../../etc/passwd", "index.json", "1764403200-1764417600-1.zip"):
        response = client.get(f"/v1/tracing/exports/{name}")
        assert response.status_code == 404
        assert response.get_json()["code"] == 404


def test_retention_deletes_batches_and_shreds_keys_after_14_days(client, partners, clock, db_engine):
    _upload(client, partners, _history())
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    export(partners)
    clock.now = dt.datetime(2026, 12, 13, 0, 0, 1, tzinfo=UTC)  # 14 days after the upload's day
    partners.run("retention", "run")
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(KeyUpload)) == 0
        assert connection.scalar(select(func.count()).select_from(ExportFile)) == 1  # its window ends at 12:00
    clock.now = dt.datetime(2026, 12, 13, 12, 0, 1, tzinfo=UTC)
    partners.run("retention", "run")
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ExportFile)) == 0
    assert client.get("/v1/tracing/exports/index.txt").get_data() == b""


def test_a_numeric_key_id_from_the_environment_is_carried_as_text(app_with, clock, monkeypatch):
    from service.tracing.jobs import export_due

    # SAFESIGNAL_TRACING_EXPORT_KEY_ID=206 arrives as the JSON number 206.
    monkeypatch.setenv("SAFESIGNAL_TRACING_EXPORT_KEY_ID", "206")
    monkeypatch.setenv("SAFESIGNAL_TRACING_EXPORT_KEY_VERSION", "2")
    app = app_with()
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    (name, _), = export_due(app.extensions["safesignal"], "test")
    data = app.test_client().get(f"/v1/tracing/exports/{name}").get_data()
    info = read_export(data, export_public_key(app)).info
    assert (info.key_id, info.key_version) == ("206", "2")
