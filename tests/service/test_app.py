"""Start-up: configuration, development keys, production refusal, health."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys

import pytest

from service import create_app
from service.config import ConfigError


def test_health_answers_without_credentials(client):
    response = client.get("/v1/health")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_unknown_paths_and_methods_get_the_error_shape(client):
    assert client.get("/v1/nothing").get_json()["code"] == 404
    response = client.get("/v1/pharmacy/reports")
    assert response.status_code == 405 and response.get_json()["code"] == 405


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    with pytest.raises(ConfigError) as caught:
        create_app({"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert str(caught.value) == (
        "production mode needs SAFESIGNAL_KEK or SAFESIGNAL_KEK_FILE, SAFESIGNAL_PSEUDONYM_KEY or SAFESIGNAL_PSEUDONYM_KEY_FILE, "
        "SAFESIGNAL_AUDIT_SIGNING_KEY or SAFESIGNAL_AUDIT_SIGNING_KEY_FILE (or SAFESIGNAL_AUDIT_PUBLIC_KEY for an API process), "
        "SAFESIGNAL_AUDIT_MAC_KEY or SAFESIGNAL_AUDIT_MAC_KEY_FILE, "
        "SAFESIGNAL_TRACING_TOKEN_KEY or SAFESIGNAL_TRACING_TOKEN_KEY_FILE, "
        "SAFESIGNAL_WEB_SECRET_KEY or SAFESIGNAL_WEB_SECRET_KEY_FILE, SAFESIGNAL_KEYS_DATABASE_URL"
    )


def test_the_command_says_what_is_missing_in_one_line(tmp_path):
    env = {"SAFESIGNAL_ENV": "production", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "db", "upgrade"],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "safesignal: production mode needs SAFESIGNAL_KEK or SAFESIGNAL_KEK_FILE, "
        "SAFESIGNAL_PSEUDONYM_KEY or SAFESIGNAL_PSEUDONYM_KEY_FILE, SAFESIGNAL_AUDIT_SIGNING_KEY or "
        "SAFESIGNAL_AUDIT_SIGNING_KEY_FILE (or SAFESIGNAL_AUDIT_PUBLIC_KEY for an API process), SAFESIGNAL_AUDIT_MAC_KEY or SAFESIGNAL_AUDIT_MAC_KEY_FILE, SAFESIGNAL_TRACING_TOKEN_KEY or SAFESIGNAL_TRACING_TOKEN_KEY_FILE, "
        "SAFESIGNAL_WEB_SECRET_KEY or SAFESIGNAL_WEB_SECRET_KEY_FILE, SAFESIGNAL_DATABASE_URL, SAFESIGNAL_KEYS_DATABASE_URL"
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [("FREE_TEXT_POLICY", "ignore"), ("AREAS_MODE", "zip"), ("BATCH_MAX", "500"), ("ENV", "staging")],
)
def test_bad_settings_are_refused(tmp_path, key, value):
    with pytest.raises(ConfigError, match=key):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", key: value})


def test_development_mode_creates_private_keys_once_and_says_so(tmp_path, caplog):
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    application = _app_in(tmp_path / "instance", config)
    keys = sorted((tmp_path / "instance" / "keys").iterdir())
    # The export signing key is made only by a process that builds exports. The SMS emulator's secret:
    # development with no provider credentials sends every text to the local emulator.
    assert [k.name for k in keys] == ["audit-mac.key", "audit-signing.key", "kek.key", "pseudonym.key", "sms-emulator.key",
                                      "tracing-token.key", "web-secret.key"]
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "DEVELOPMENT-ONLY" in caplog.text
    before = [k.read_bytes() for k in keys]
    # The key vault defaults to its own file beside the database.
    assert application.extensions["safesignal"].keys_engine.url.database == str(tmp_path / "instance" / "keys.db")
    _dispose(application)
    _dispose(_app_in(tmp_path / "instance", config))
    assert [k.read_bytes() for k in keys] == before


def _dispose(application) -> None:  # type: ignore[no-untyped-def]
    application.extensions["safesignal"].engine.dispose()
    application.extensions["safesignal"].keys_engine.dispose()


def _app_in(instance, config):  # type: ignore[no-untyped-def]
    import flask

    original = flask.Flask.auto_find_instance_path
    flask.Flask.auto_find_instance_path = lambda self: str(instance)  # type: ignore[method-assign]
    try:
        return create_app(config)
    finally:
        flask.Flask.auto_find_instance_path = original  # type: ignore[method-assign]


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)  # SQLite's locking only
def test_authentication_does_not_wait_for_a_writer_on_sqlite(app, client, partners, db_engine):
    """WAL readers never wait: a long write elsewhere must not stall every authenticated GET."""
    _, token = partners.add("prevention_service", "Preventiedienst")
    app.extensions["safesignal"].engine.dispose()
    import sqlite3

    writer = sqlite3.connect(db_engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a big batch would
    try:
        response = client.get("/v1/taxonomy", headers={"Authorization": f"Bearer {token}"})
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [("KEK", "c2hvcnQ", "SAFESIGNAL_KEK"), ("PSEUDONYM_KEY", "not base64!", "SAFESIGNAL_PSEUDONYM_KEY"),
     ("KEK_FILE", "/nonexistent/kek", "SAFESIGNAL_KEK")],
)
def test_a_bad_key_is_refused_in_one_line_without_its_value(tmp_path, key, value, named):
    valid = base64.urlsafe_b64encode(bytes(32)).decode()
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "KEK": valid, "PSEUDONYM_KEY": valid}
    config.update({"KEK": None} if key == "KEK_FILE" else {}, **{key: value})
    with pytest.raises(ConfigError) as caught:
        create_app(config)
    message = str(caught.value)
    assert named in message and "\n" not in message
    assert value not in message or key == "KEK_FILE"  # a path may be named, a secret never
