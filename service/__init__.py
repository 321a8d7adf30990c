"""safesignal: the Flask application. `create_app()` builds it; nothing happens at import."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    """What requests, commands and jobs share: the database, the keys, the deployment data, and
    what each domain built (`state.intake`, `state.signals`, ...: service.domains)."""

    engine: Engine
    keys_engine: Engine
    sessions: sessionmaker[Session]
    pseudonyms: Any
    keyring: Any
    keystore: Any
    taxonomy: Any
    areas: Any
    policies: Any
    holdings: Any
    # The week calendar (service.signals.weeks): intake counts tallies in its weeks and the
    # signals release those weeks, so both carry this one, built from SAFESIGNAL_SIGNALS_TIME_ZONE.
    weeks: Any
    clock: Callable[[], dt.datetime]
    instance_path: str
    # Domain name (Domain.state_name) -> what its build() returned.
    built: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Only for names that are not fields: what a domain built.
        try:
            return self.__dict__["built"][name]
        except KeyError:
            raise AttributeError(name) from None

    def audit(self, connection: Any, kind: str, actor: str, **detail: Any) -> int:
        """Append an audit entry in the caller's transaction (see service.audit.log)."""
        from service.audit import log as audit_log

        return audit_log.append(connection, kind=kind, actor=actor, detail=detail, at=self.clock())


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application from defaults, SAFESIGNAL_* variables and `config` (tests)."""
    from flask import Flask

    from crypto.keyring import KeyRing
    from crypto.pseudonym import Pseudonymizer
    from database.engines import make_engine, new_sessionmaker
    from service import config as settings
    from service import http, per_request
    from service.areas import load_areas
    from service.audit.log import with_authenticator
    from service.domains import DOMAINS
    from service.holdings import holdings as held
    from service.secrets import default_database_url, load_audit_authenticator, load_keks, load_pseudonym_key
    from service.signals.weeks import WeekCalendar
    from service.taxonomy import load_taxonomy
    from service.vault.store import SqlKeyStore

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(settings.DEFAULTS)
    for domain in DOMAINS:
        app.config.update(domain.defaults)
    app.config.from_prefixed_env("SAFESIGNAL")
    if config:
        app.config.update(config)
    settings.check(app.config)
    for domain in DOMAINS:
        if domain.check is not None:
            domain.check(app.config)
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
    state = State(
        engine=engine,
        keys_engine=keys_engine,
        sessions=new_sessionmaker(engine),
        pseudonyms=Pseudonymizer(load_pseudonym_key(app.config, app.instance_path)),
        keyring=KeyRing(load_keks(app.config, app.instance_path)),
        keystore=SqlKeyStore(keys_engine, clock),
        taxonomy=load_taxonomy(app.config["TAXONOMY_FILE"]),
        areas=load_areas(app.config["AREAS_MODE"], app.config["AREAS_FILE"], app.config["H3_RESOLUTION"]),
        policies=policies,
        holdings=holdings,
        weeks=WeekCalendar.named(app.config["SIGNALS_TIME_ZONE"]),
        clock=clock,
        instance_path=app.instance_path,
    )
    for domain in DOMAINS:
        if domain.build is not None:
            state.built[domain.state_name] = domain.build(app.config, state)
    app.extensions["safesignal"] = state
    # Per request (an app context can outlive requests, as in tests) and per CLI command.
    app.teardown_request(per_request.close_session)
    app.teardown_appcontext(per_request.close_session)

    _register_api(app, DOMAINS)
    _register_pages(app, DOMAINS)
    http.register(app)
    from service.cli import register_commands

    register_commands(app, DOMAINS)
    return app


def _load_policies(config: Mapping[str, Any], holdings: Any) -> Any:
    """The retention policies, checked against what the service stores: fail closed."""
    from retention import policy as retention_policy
    from service.config import ConfigError
    from service.domains import DOMAINS
    from service.holdings import stored_data_classes

    try:
        policies = retention_policy.load(config["RETENTION_POLICY_FILE"])
        retention_policy.check_coverage(policies, stored_data_classes(), holdings.supported_actions())
    except retention_policy.PolicyError as error:
        raise ConfigError(str(error)) from None
    for domain in DOMAINS:
        if domain.check_policies is not None:
            domain.check_policies(config, policies)
    return policies


def _register_pages(app: Flask, domains: Any) -> None:
    """The web pages: each domain's page blueprint, then what spans them (service.web)."""
    from werkzeug.utils import import_string

    for domain in domains:
        if domain.pages:
            app.register_blueprint(import_string(domain.pages))
    for domain in domains:
        if domain.install:
            import_string(domain.install)(app)


def _register_api(app: Flask, domains: Any) -> None:
    """The API: the shared parts, then each domain's blueprint and schemas, in the domains' order."""
    from werkzeug.utils import import_string

    from service.bodies import register_schemas
    from service.errors import Api, register_error_responses
    from service.system import blp as system

    api = Api(app, spec_kwargs={"info": {"description": "Encrypted, short-lived reports in; protected aggregates out."}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token (ss_...) from `safesignal partners add` or device enrollment."}
    )
    register_error_responses(api.spec)
    register_schemas(api.spec, tuple(schema for domain in domains if domain.schemas for schema in import_string(domain.schemas)))
    api.register_blueprint(system)
    for domain in domains:
        if domain.blueprint:
            api.register_blueprint(import_string(domain.blueprint))
