"""safesignal: the Flask application. `create_app()` builds it; nothing happens at import."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    # Imported where the app is built: a store, a model or a retention job that imports a
    # service module must not load Flask with it (the core imports no Flask).
    from flask import Flask

API_TITLE = "safesignal"
API_VERSION = "1"


def utc_now() -> dt.datetime:
    """The wall clock, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class State:
    """What requests, commands and jobs share: the database, the keys, the deployment data."""

    engine: Engine
    keys_engine: Engine
    sessions: sessionmaker[Session]
    pseudonyms: Any
    intake: Any
    credentials: Any
    retention: Any
    clock: Callable[[], dt.datetime]
    signals: Any
    tracing: Any

    def audit(self, connection: Any, kind: str, actor: str, **detail: Any) -> int:
        """Append an audit entry in the caller's transaction (see service.audit.log)."""
        from service.audit import log as audit_log

        return audit_log.append(connection, kind=kind, actor=actor, detail=detail, at=self.clock())


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from defaults, SAFESIGNAL_* variables and `config` (tests)."""
    from flask import Flask

    from crypto.keyring import KeyRing
    from crypto.pseudonym import Pseudonymizer
    from service import config as settings
    from database.engines import make_engine, new_sessionmaker
    from database.group_commit import GroupCommit
    from service import per_request
    from service import http
    from service.areas import load_areas
    from service.audit import log as audit_log
    from service.holdings import holdings as held
    from retention.purge import Retention
    from service.audit.log import with_authenticator
    from service.keys.material import (
        default_database_url, load_audit_authenticator, load_audit_public_key, load_audit_signer, load_keks, load_pseudonym_key,
    )
    from service.keys.store import SqlKeyStore
    from service.partners.services import CredentialCache
    from service.reports.services import Intake, IntakeRules
    from service.reports.store import SqlIntakeStore
    from service.signals.ears import EarsRules
    from service.signals.release import ReleaseRules
    from service.signals.services import SignalRules, Signals
    from service.taxonomy import load_taxonomy

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(settings.DEFAULTS)
    app.config.from_prefixed_env("SAFESIGNAL")
    if config:
        app.config.update(config)
    settings.check(app.config)
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app.config.update(
        MAX_CONTENT_LENGTH=app.config["MAX_BODY_BYTES"],
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    clock = app.config.get("CLOCK") or utc_now
    holdings = held()
    policies = _load_policies(app.config, holdings)
    # Every connection of the main database carries the audit MAC key: whatever appends to the
    # audit log (requests, commands, jobs) MACs its entries (service.audit.log).
    engine = with_authenticator(
        make_engine(app.config["DATABASE_URL"] or default_database_url(app.instance_path)),
        load_audit_authenticator(app.config, app.instance_path),
    )
    keys_engine = make_engine(app.config["KEYS_DATABASE_URL"] or default_database_url(app.instance_path, "keys.db"))
    pseudonyms = Pseudonymizer(load_pseudonym_key(app.config, app.instance_path))
    keyring = KeyRing(load_keks(app.config, app.instance_path))
    keystore = SqlKeyStore(keys_engine, clock)
    intake = Intake(
        store=SqlIntakeStore(engine, GroupCommit(engine)),
        keyring=keyring,
        keystore=keystore,
        pseudonyms=pseudonyms,
        taxonomy=load_taxonomy(app.config["TAXONOMY_FILE"]),
        areas=load_areas(app.config["AREAS_MODE"], app.config["AREAS_FILE"], app.config["H3_RESOLUTION"]),
        rules=IntakeRules(
            window=dt.timedelta(hours=app.config["INTAKE_WINDOW_HOURS"]),
            clock_skew=dt.timedelta(seconds=app.config["CLOCK_SKEW_SECONDS"]),
            redact_free_text=app.config["FREE_TEXT_POLICY"] == "redact",
            note_max_length=app.config["NOTE_MAX_LENGTH"],
        ),
    )
    credentials = CredentialCache(app.config["AUTH_CACHE_SECONDS"], app.config.get("MONOTONIC_CLOCK") or time.monotonic)
    audit_public_key = load_audit_public_key(app.config)
    retention = Retention(
        engine=engine,
        keys_engine=keys_engine,
        keystore=keystore,
        keyring=keyring,
        policies=policies,
        holdings=holdings,
        audit_log=audit_log,
        # With SAFESIGNAL_AUDIT_PUBLIC_KEY set, the private key is read only by a process that
        # signs (the scheduler, the CLI), never by the API, which only verifies.
        signer=functools.partial(_matching_audit_signer, app.config, app.instance_path, audit_public_key) if audit_public_key
        else load_audit_signer(app.config, app.instance_path),
        public_key=audit_public_key,
        clock=clock,
        batch_size=app.config["RETENTION_BATCH_SIZE"],
        pause_ratio=float(app.config["RETENTION_PAUSE_RATIO"]),
        lease_ttl=dt.timedelta(seconds=app.config["RETENTION_LEASE_SECONDS"]),
        erase_grace=dt.timedelta(minutes=app.config["RETENTION_VAULT_ERASE_GRACE_MINUTES"]),
    )
    signals = Signals.build(
        intake.areas.areas(), intake.taxonomy, intake.areas.etag,
        SignalRules(
            release=ReleaseRules(
                k=app.config["SIGNALS_K"], cap=app.config["SIGNALS_CONTRIBUTION_CAP"],
                epsilon=float(app.config["SIGNALS_EPSILON_PER_RELEASE"]),
            ),
            budget_per_quarter=float(app.config["SIGNALS_BUDGET_PER_QUARTER"]),
            delay=dt.timedelta(days=app.config["SIGNALS_RELEASE_DELAY_DAYS"]),
            tallies_kept=dt.timedelta(days=policies["signal_tallies"].period_days),
            ears=EarsRules(),
        ),
    )
    tracing = _tracing(app, pseudonyms, keyring, keystore, policies)
    app.extensions["safesignal"] = State(
        engine, keys_engine, new_sessionmaker(engine), pseudonyms, intake, credentials, retention, clock, signals, tracing
    )
    # Per request (an app context can outlive requests, as in tests) and per CLI command.
    app.teardown_request(per_request.close_session)
    app.teardown_appcontext(per_request.close_session)

    _register_api(app)
    http.register(app)
    from service.cli import register_commands

    register_commands(app)
    return app


def _tracing(app: Flask, pseudonyms: Any, keyring: Any, keystore: Any, policies: Any) -> Any:
    """The tracing service's collaborators (service.tracing)."""
    from crypto.exposure_export import SignatureInfo
    from service.keys.material import load_tracing_export_key, load_tracing_token_key
    from service.tracing.chaff import ResponseClock
    from service.tracing.codes import CodeRules
    from service.tracing.exports import ExportRules
    from service.tracing.services import Tracing
    from service.tracing.tokens import TokenIssuer

    config = app.config
    return Tracing(
        pseudonyms=pseudonyms,
        keyring=keyring,
        keystore=keystore,
        tokens=TokenIssuer(
            load_tracing_token_key(config, app.instance_path),
            audience=str(config["TRACING_TOKEN_AUDIENCE"]),
            ttl=dt.timedelta(minutes=config["TRACING_TOKEN_TTL_MINUTES"]),
        ),
        code_rules=CodeRules(
            ttl=dt.timedelta(minutes=config["TRACING_CODE_TTL_MINUTES"]),
            per_day=config["TRACING_CODES_PER_DAY"],
            failures_per_hour=config["TRACING_REDEEM_FAILURES_PER_HOUR"],
        ),
        export_rules=ExportRules(
            period=dt.timedelta(hours=config["TRACING_EXPORT_PERIOD_HOURS"]),
            min_keys=config["TRACING_EXPORT_MIN_KEYS"],
            padding_range=config["TRACING_EXPORT_PADDING_RANGE"],
            max_keys_per_file=config["TRACING_EXPORT_MAX_KEYS_PER_FILE"],
            region=str(config["TRACING_REGION"]),
            info=SignatureInfo(key_id=str(config["TRACING_EXPORT_KEY_ID"]), key_version=str(config["TRACING_EXPORT_KEY_VERSION"])),
        ),
        export_signer=functools.cache(functools.partial(load_tracing_export_key, config, app.instance_path)),
        clock_skew=dt.timedelta(seconds=config["CLOCK_SKEW_SECONDS"]),
        files_kept=dt.timedelta(days=policies["export_batches"].period_days),
        exchange_clock=ResponseClock(config["TRACING_RESPONSE_FLOOR_MS"] / 1000),
        upload_clock=ResponseClock(config["TRACING_RESPONSE_FLOOR_MS"] / 1000),
    )


def _matching_audit_signer(config: Mapping[str, Any], instance_path: str, public_key: bytes) -> Any:
    """The audit signing key, refused unless it is the configured public key's (read on first signature)."""
    from service.config import ConfigError
    from service.keys.material import load_audit_signer

    signer = load_audit_signer(config, instance_path)  # type: ignore[arg-type]
    if signer.public_key != public_key:
        raise ConfigError("the audit signing key does not match SAFESIGNAL_AUDIT_PUBLIC_KEY")
    return signer


def _load_policies(config: Mapping[str, Any], holdings: Any) -> Any:
    """The retention policies, checked against what the service stores: fail closed."""
    from retention import policy as retention_policy
    from service.config import ConfigError
    from service.holdings import stored_data_classes

    try:
        policies = retention_policy.load(config["RETENTION_POLICY_FILE"])
        retention_policy.check_coverage(policies, stored_data_classes(), holdings.supported_actions())
    except retention_policy.PolicyError as error:
        raise ConfigError(str(error)) from None
    # A replay inside the intake window must still find its record, or it is stored twice.
    # Records go by whole days from the start of the day received, so one day more is needed.
    if policies["idempotency_records"].period_days * 24 < config["INTAKE_WINDOW_HOURS"] + 24:
        raise ConfigError(
            "retention policy of idempotency_records: period_days must exceed SAFESIGNAL_INTAKE_WINDOW_HOURS by a day"
        )
    # A week's tallies must still be there when the week is released (it ends 7 days after its
    # Monday), with a day to spare for a scheduler that was down.
    if policies["signal_tallies"].period_days < 7 + config["SIGNALS_RELEASE_DELAY_DAYS"] + 1:
        raise ConfigError(
            "retention policy of signal_tallies: period_days must exceed 7 + SAFESIGNAL_SIGNALS_RELEASE_DELAY_DAYS by a day"
        )
    # Ledger entries count from their week's Monday, and a quarter spans up to 14 weeks: each
    # entry must outlive every release of its quarter, or purging the quarter's first entries
    # would hand its budget back while later weeks are still there to open.
    if policies["privacy_budget_ledger"].period_days < policies["signal_releases"].period_days + 98:
        raise ConfigError(
            "retention policy of privacy_budget_ledger: period_days must exceed that of signal_releases by a quarter (98 days)"
        )
    return policies


def _register_api(app: Flask) -> None:
    from service.bodies import register_schemas
    from service.devices import schemas as device_schemas
    from service.devices.views import blp as devices
    from service.dpo import schemas as dpo_schemas
    from service.dpo.views import blp as dpo
    from service.errors import Api, register_error_responses
    from service.reference.views import blp as reference
    from service.reports import schemas as report_schemas
    from service.reports.views import blp as reports
    from service.signals import schemas as signal_schemas
    from service.signals.views import blp as signals
    from service.system import blp as system
    from service.tracing import schemas as tracing_schemas
    from service.tracing.views import blp as tracing

    api = Api(app, spec_kwargs={"info": {"description": "Encrypted, short-lived reports in; protected aggregates out."}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token (ss_...) from `safesignal partners add` or device enrollment."}
    )
    register_error_responses(api.spec)
    register_schemas(
        api.spec, (*report_schemas.SCHEMAS, *device_schemas.SCHEMAS, *dpo_schemas.SCHEMAS, *signal_schemas.SCHEMAS,
                   *tracing_schemas.SCHEMAS)
    )
    for blueprint in (system, reports, devices, reference, signals, tracing, dpo):
        api.register_blueprint(blueprint)

