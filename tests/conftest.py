"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is used when SAFESIGNAL_TEST_POSTGRES_URL is set (CI sets it). Set but unreachable, the
run stops at once: a CI that silently skipped PostgreSQL would be lying. Not set, the PostgreSQL
half of each database test is skipped and the summary says so.

Each test gets a database whose schema comes from the migrations: on SQLite a copy of a migrated
template file, on PostgreSQL the migrated schema emptied before the test.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, insert, text

from service import create_app
from service.audit.log import genesis_row
from service.audit.models import AuditHead
from database.engines import make_engine
from service.vault.models import VaultBase
from service.migrations import upgrade
from support import Clock, Partners, People
from service.models import metadata

POSTGRES_URL = os.environ.get("SAFESIGNAL_TEST_POSTGRES_URL", "")
# The key vault of the PostgreSQL tests: a database of its own beside the main one, created here.
POSTGRES_KEYS_URL = POSTGRES_URL.rsplit("/", 1)[0] + "/" + POSTGRES_URL.rsplit("/", 1)[-1].split("?")[0] + "_keys" if POSTGRES_URL else ""
POSTGRES_SKIP = "PostgreSQL not configured: set SAFESIGNAL_TEST_POSTGRES_URL (as .ci/run does) to run these"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not POSTGRES_URL:
        return
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT 1"))
            keys_database = POSTGRES_KEYS_URL.rsplit("/", 1)[-1]
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": keys_database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{keys_database}"'))
    except Exception as error:  # noqa: BLE001 - any failure to connect ends the run
        pytest.exit(f"SAFESIGNAL_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {type(error).__name__}", returncode=3)
    finally:
        engine.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if POSTGRES_URL:
        terminalreporter.write_line("databases: SQLite and PostgreSQL", green=True)
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if POSTGRES_SKIP in str(r.longrepr)]
    terminalreporter.write_line(
        f"databases: SQLite only. PostgreSQL SKIPPED ({len(skipped)} tests): "
        "set SAFESIGNAL_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run them.",
        yellow=True,
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Migrated template files of the main database and of the key vault."""
    folder = tmp_path_factory.mktemp("template")
    paths = (folder / "template.db", folder / "keys.db")
    for path, target in zip(paths, ("main", "keys")):
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine, target=target)  # type: ignore[arg-type]
        engine.dispose()
    return paths


def _fresh_postgres(url: str, tables: MetaData, target: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as connection:
        tables.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine, target=target)  # type: ignore[arg-type]
    return engine


@pytest.fixture(scope="session")
def postgres_engines() -> Iterator[tuple[Engine, Engine]]:
    engines = (_fresh_postgres(POSTGRES_URL, metadata, "main"), _fresh_postgres(POSTGRES_KEYS_URL, VaultBase.metadata, "keys"))
    yield engines
    for engine in engines:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Migrated, empty databases of each engine: the main one and the key vault."""
    if request.param == "sqlite":
        urls = []
        for template, name in zip(request.getfixturevalue("sqlite_template"), ("safesignal.db", "keys.db")):
            shutil.copyfile(template, tmp_path / name)
            urls.append(f"sqlite:///{tmp_path / name}")
        return urls[0], urls[1]
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    main, keys = request.getfixturevalue("postgres_engines")
    for engine, tables in ((main, metadata), (keys, VaultBase.metadata)):
        names = ", ".join(table.name for table in tables.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names}"))
    with main.begin() as connection:  # the audit log's empty head, as the migration leaves it
        connection.execute(insert(AuditHead).values(genesis_row()))
    return POSTGRES_URL, POSTGRES_KEYS_URL


@pytest.fixture
def database_url(databases: tuple[str, str]) -> str:
    """The main database of this test."""
    return databases[0]


@pytest.fixture
def keys_database_url(databases: tuple[str, str]) -> str:
    """The key vault of this test."""
    return databases[1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(database_url: str, keys_database_url: str, clock: Clock, tmp_path: Path) -> dict[str, object]:
    """Configuration of the app under test: real keys, generated per test."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "KEYS_DATABASE_URL": keys_database_url,
        "AUDIT_SIGNING_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "AUDIT_MAC_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "KEK": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PSEUDONYM_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "TRACING_TOKEN_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "TRACING_EXPORT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "WEB_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # No response floor: exchanges and uploads wait only for the slowest recent real one.
        "TRACING_RESPONSE_FLOOR_MS": 0,
        # A cheap argon2id: every app hashes a dummy password at start (64 MiB, 3 passes: ~0.2 s).
        # tests/service/people/test_accounts.py checks the production cost once.
        "PEOPLE_PASSWORD_MEMORY_KIB": 1024,
        "PEOPLE_PASSWORD_TIME_COST": 1,
        "CLOCK": clock,
        "MONOTONIC_CLOCK": clock.monotonic,
        # No text goes anywhere unless a test says where (development would point every provider
        # at a local emulator: tests/service/sms/conftest.py starts one and configures it).
        "SMS_EMULATOR": None,
    }


@pytest.fixture
def app(app_config: dict[str, object]):  # type: ignore[no-untyped-def]
    application = create_app(app_config)
    yield application
    application.extensions["safesignal"].engine.dispose()
    application.extensions["safesignal"].keys_engine.dispose()


@pytest.fixture
def app_with(app_config: dict[str, object]):  # type: ignore[no-untyped-def]
    """Build another app on the same database and keys, with some settings changed."""
    built = []

    def build(**overrides: object):  # type: ignore[no-untyped-def]
        application = create_app({**app_config, **overrides})
        built.append(application)
        return application

    yield build
    for application in built:
        application.extensions["safesignal"].engine.dispose()
        application.extensions["safesignal"].keys_engine.dispose()


@pytest.fixture
def db_engine(app) -> Engine:  # type: ignore[no-untyped-def]
    """The app's engine, for reading what was stored."""
    return app.extensions["safesignal"].engine


@pytest.fixture
def partners(app) -> Partners:  # type: ignore[no-untyped-def]
    return Partners(app)


@pytest.fixture
def people(app, partners) -> People:  # type: ignore[no-untyped-def]
    return People(app, partners)
