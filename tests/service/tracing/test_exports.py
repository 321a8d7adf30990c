"""Export batches: built once per window after it ends, padded, signed, cacheable, kept 14 days."""

from __future__ import annotations

import base64
import collections
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


def test_a_batch_is_padded_to_the_minimum_and_the_real_keys_are_in_it(client, partners, clock, app):
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


def _implied_onset(key) -> int:  # type: ignore[no-untyped-def]
    return key.rolling_start_interval_number // 144 - key.days_since_onset_of_symptoms


def test_the_real_keys_hide_among_padding_that_does_not_copy_them(client, partners, clock, app):
    """Padding that copied the real keys' metadata would show every case's onset (the only
    onset many keys share) and its transmission risk; padding drawn whatever the real keys are
    gives each real key company with the very same metadata. The generator is seeded here, so
    that the test is exact; the seed changes which keys, not the property."""
    import random

    from service.tracing import exports
    from service.tracing.uploads import transmission_risk

    real = _history()
    _upload(client, partners, real)  # onset: the test date, 2026-11-28
    state = app.extensions["safesignal"]
    tracing = state.tracing
    start, end = dt.datetime(2026, 11, 29, 8, tzinfo=UTC), dt.datetime(2026, 11, 29, 12, tzinfo=UTC)
    with state.sessions() as session:
        files = exports.prepare_window(session, tracing.keyring, tracing.keystore, tracing.export_signer(),
                                       tracing.export_rules, start, end, clock.now, rng=random.Random(5))
    (file,) = [read_export(row.data, export_public_key(app)) for row in files]
    real_data = {base64.b64decode(str(key["key_data"])) for key in real}
    published = [key for key in file.keys if key.key_data in real_data]
    padding = [key for key in file.keys if key.key_data not in real_data]
    assert len(published) == 14
    metadata = lambda key: (key.rolling_start_interval_number, key.rolling_period, key.transmission_risk_level,  # noqa: E731
                            key.report_type, key.days_since_onset_of_symptoms)
    padding_metadata = {metadata(key) for key in padding}
    assert all(metadata(key) in padding_metadata for key in published)
    # The server sets the risk from days since onset, for real keys and padding alike.
    assert all(key.transmission_risk_level == transmission_risk(key.days_since_onset_of_symptoms) for key in file.keys)
    assert len({_implied_onset(key) for key in padding}) >= 10
    # The same generator, with no real key at all, draws the same spread of onsets.
    with state.sessions() as session:
        empty = exports.padding([], tracing.export_rules, start, random.Random(5))
    assert len({_implied_onset(key) for key in empty}) == len({_implied_onset(key) for key in padding})


def test_a_key_uploaded_twice_is_published_once(client, partners, clock, app):
    keys = _history()
    _upload(client, partners, keys)
    _upload(client, partners, keys)  # the same phone, two positive tests, two codes
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    export(partners)
    (file,) = _files(client, app)
    data = [key.key_data for key in file.keys]
    assert len(data) == len(set(data))


def test_an_upload_whose_day_key_was_destroyed_is_skipped_not_fatal(client, partners, clock, app, db_engine):
    _upload(client, partners, _history())
    state = app.extensions["safesignal"]
    wrapped = state.retention.keystore.by_epoch("exposure_keys", TODAY)
    state.retention.keystore.destroy([wrapped.key_id], clock.now)
    state.tracing.keyring.forget(wrapped.key_id)
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    export(partners)
    (file,) = _files(client, app)
    assert 1000 <= len(file.keys) < 1100  # padding only; the window was built


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
    assert client.get("/v1/tracing/exports/index.txt").get_data(as_text=True).split() == names
    files = _files(client, app)
    # "Not yet supported on iOS. Use values of 1 for both": each file is batch 1 of 1, and the
    # files of one window differ (and are ordered) by their end timestamp, as the reference writes them.
    assert [(file.batch_num, file.batch_size) for file in files] == [(1, 1)] * 3
    assert [(file.start, file.end) for file in files] == [(start, end + number) for number in (1, 2, 3)]
    assert sum(len(file.keys) for file in files) >= 1000
    etags = {client.get(f"/v1/tracing/exports/{name}").headers["ETag"] for name in names}
    assert len(etags) == 3


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


def test_the_scheduler_job_builds_due_windows_and_without_its_key_leaves_the_rest_alone(app, app_with, clock, caplog, db_engine):
    from service.tracing.domain import tracing_job

    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=UTC)
    keyless = app_with(ENV="production", TRACING_EXPORT_KEY=None, DATABASE_URL=app.config["DATABASE_URL"],
                       KEYS_DATABASE_URL=app.config["KEYS_DATABASE_URL"])
    tracing_job(keyless.extensions["safesignal"])
    assert "tracing exports not built: signing or publishing exports in production mode needs" in caplog.text
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ExportFile)) == 0
    tracing_job(app.extensions["safesignal"])
    tracing_job(app.extensions["safesignal"])  # once per window
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ExportFile)) == 1


def _metadata(key):  # type: ignore[no-untyped-def]
    return (key.rolling_start_interval_number, key.rolling_period, key.transmission_risk_level, key.report_type,
            key.days_since_onset_of_symptoms)


def test_an_upload_just_before_midnight_has_padding_look_alikes_in_the_next_day_s_window(client, partners, clock, app):
    """An upload at 23:30 is published in the next day's first window, its oldest key 16 days
    before that day and today's key held back until 02:00: each has padding keys of its very shape."""
    clock.now = dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    real = _history(16)  # today and the 15 UTC days before
    assert _upload(client, partners, real)["inserted"] == 16
    clock.now = dt.datetime(2026, 11, 30, 4, 10, tzinfo=UTC)
    export(partners)
    (file,) = [file for file in _files(client, app) if file.start == int(dt.datetime(2026, 11, 30, tzinfo=UTC).timestamp())]
    real_data = {base64.b64decode(str(key["key_data"])) for key in real}
    published = [key for key in file.keys if key.key_data in real_data]
    assert len(published) == 16
    padding = collections.Counter(_metadata(key) for key in file.keys if key.key_data not in real_data)
    assert {_metadata(key): padding[_metadata(key)] for key in published if padding[_metadata(key)] < 2} == {}


def test_every_shape_an_accepted_upload_can_publish_has_padding_look_alikes_at_every_hour(app):
    """Uploads at every hour of a day (on the hour, just after it, mid-hour, within the clock skew
    of the next interval, the last second), with every onset a token can carry (codes issued that
    day or the day before, tomorrow to 14 days back), of every key an upload accepts: whole days
    from tomorrow to 16 days back, early-rotated and reissued keys, today's key rotated at upload,
    keys starting now or in the next interval. Each accepted key's published shape must have
    padding look-alikes in its window. Runs uploads.validate, what the upload endpoint runs (through
    HTTP this would be tens of thousands of uploads)."""
    import random

    from crypto.exposure import interval_number
    from service.tracing import codes, exports, uploads

    tracing = app.extensions["safesignal"].tracing
    rules, skew = tracing.export_rules, tracing.clock_skew
    data = base64.b64encode(bytes(16)).decode()
    padded: dict[dt.datetime, collections.Counter] = {}
    missing = set()
    published_windows = set()
    for hour in range(24):
        for minute, second in ((0, 0), (0, 1), (30, 0), (56, 0), (59, 59)):
            now = dt.datetime(2026, 11, 29, hour, minute, second, tzinfo=UTC)
            upload_day, current = now.date(), interval_number(now)
            candidates = [(current, 1), (current + 1, 1), (day_start(upload_day), current - day_start(upload_day))]
            for back in range(-1, 17):
                first = day_start(upload_day - dt.timedelta(days=back))
                candidates += [(first, 144), (first, 1), (first + 60, 84)]
            onsets = {issued - dt.timedelta(days=back) for issued in (upload_day - dt.timedelta(days=1), upload_day)
                      for back in range(-1, 15)}
            for onset in onsets:
                for start, period in candidates:
                    try:
                        accepted = uploads.validate([uploads.UploadedKey(data, start, period, 0)], codes.Onset("symptoms", onset),
                                                 now=now, skew=skew)
                    except uploads.InvalidKeys:
                        continue
                    for key, hour_published in (*accepted.now, *accepted.held):
                        window = exports.window_of(hour_published, rules.period)
                        published_windows.add(window)
                        if window not in padded:
                            padding = exports.padding([], rules, window, random.Random(7))
                            padded[window] = collections.Counter(_metadata(fake) for fake in padding)
                        if padded[window][_metadata(key)] < exports.LOOKALIKES:
                            missing.add((window.isoformat(), now.time().isoformat(), _metadata(key)))
    assert len(published_windows) == 8  # the day's six; the next day's first (23:xx uploads, held keys); a day later (tomorrow's key)
    assert sorted(missing)[:10] == []
