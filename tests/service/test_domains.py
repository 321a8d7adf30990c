"""The domains plug into the application through their declarations (service.domains)."""

from __future__ import annotations

from service.domains import DOMAINS
from service.scheduler import build


def test_the_scheduler_runs_every_domains_jobs_at_their_configured_intervals(app_with):
    app = app_with(RETENTION_INTERVAL_MINUTES=7, AUDIT_CHECKPOINT_MINUTES=11, TRACING_EXPORT_INTERVAL_MINUTES=13)
    jobs = {job.id: job for job in build(app.extensions["safesignal"], app.config).get_jobs()}
    assert {name: job.trigger.interval.total_seconds() / 60 for name, job in jobs.items()} == {
        "retention": 7, "signals": 7, "tracing": 13, "audit-checkpoint": 11, "sms": 1, "notices": 60,
    }
    assert {job.id for domain in DOMAINS for job in domain.jobs} == set(jobs)


def test_what_each_domain_builds_is_on_the_state_under_its_name(app):
    state = app.extensions["safesignal"]
    built = {domain.state_name for domain in DOMAINS if domain.build}
    assert built == {"intake", "credentials", "signals", "tracing", "retention", "accounts", "area_maps", "web_secret", "sms", "notices"}
    for name in built:
        assert getattr(state, name) is state.built[name]
    # The intake and the signals read the same deployment data, and count in the same weeks.
    assert state.intake.areas is state.areas and state.intake.taxonomy is state.taxonomy
    assert state.intake.weeks is state.weeks and state.signals.rules.weeks is state.weeks


def test_every_domain_blueprint_is_served_in_the_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    prefixes = {"reports": "/v1/pharmacy/", "devices": "/v1/devices/", "signals": "/v1/signals", "tracing": "/v1/tracing/",
                "dpo": "/v1/dpo/", "reference": "/v1/areas", "sms": "/v1/sms/",
                "notices": "/v1/alert-subscriptions"}
    for domain in DOMAINS:
        if domain.blueprint:
            assert any(path.startswith(prefixes[domain.name]) for path in paths), domain.name


def test_each_setting_has_one_owner_and_the_readme_documents_it():
    from pathlib import Path

    from service import config

    owners: dict[str, str] = dict.fromkeys(config.DEFAULTS, "service.config")
    for domain in DOMAINS:
        for key in domain.defaults:
            assert key not in owners, f"{key}: declared by {owners[key]} and {domain.name}"
            owners[key] = domain.name
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("## Configuration"):readme.index("## Tests")]
    for key in owners:
        # A row may name several: `SAFESIGNAL_TRACING_REGION` / `_EXPORT_KEY_ID` / ...
        assert f"SAFESIGNAL_{key}`" in table or f"`_{key.split('_', 1)[1]}`" in table, key


def test_the_cli_has_the_shared_groups_and_every_domains_commands(app):
    from service.partners.services import OrganisationKind

    assert sorted(app.cli.list_commands(None)) == [
        "areas", "audit", "db", "demo", "devices", "dpo", "keys", "openapi", "partners", "people", "retention", "scheduler",
        "signals", "sms", "tracing",
    ]
    add = app.cli.get_command(None, "partners").get_command(None, "add")
    kind = next(param for param in add.params if param.name == "kind")
    assert list(kind.type.choices) == [kind.value for kind in OrganisationKind]


def test_the_schema_is_the_tables_of_the_domains_models():
    """service.models imports each declared models module: a table joins the schema, and the
    migrations, by its domain's declaration alone, and no table comes from anywhere else."""
    import importlib

    from sqlalchemy import Table

    from database.base import Base
    from service.models import metadata

    assert metadata is Base.metadata
    declared = set()
    for domain in DOMAINS:
        if domain.models:
            module = importlib.import_module(domain.models)
            declared |= {value.__table__.name for value in vars(module).values()
                         if isinstance(value, type) and issubclass(value, Base) and hasattr(value, "__table__")}
            # A table that holds no record of its own is a Core table of the same module
            # (retention.models.held_count).
            declared |= {value.name for value in vars(module).values() if isinstance(value, Table)}
    assert declared == set(metadata.tables)
    assert {"report", "lease", "audit_entry", "organisation_territory"} <= declared
