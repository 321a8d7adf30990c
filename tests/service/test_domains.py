"""The domains plug into the application through their declarations (service.domains)."""

from __future__ import annotations

from service.domains import DOMAINS
from service.scheduler import build


def test_the_scheduler_runs_every_domains_jobs_at_their_configured_intervals(app_with):
    app = app_with(RETENTION_INTERVAL_MINUTES=7, AUDIT_CHECKPOINT_MINUTES=11, TRACING_EXPORT_INTERVAL_MINUTES=13)
    jobs = {job.id: job for job in build(app.extensions["safesignal"], app.config).get_jobs()}
    assert {name: job.trigger.interval.total_seconds() / 60 for name, job in jobs.items()} == {
        "retention": 7, "signals": 7, "tracing": 13, "audit-checkpoint": 11,
    }
    assert {job.id for domain in DOMAINS for job in domain.jobs} == set(jobs)


def test_what_each_domain_builds_is_on_the_state_under_its_name(app):
    state = app.extensions["safesignal"]
    built = {domain.state_name for domain in DOMAINS if domain.build}
    assert built == {"intake", "credentials", "signals", "tracing", "retention"}
    for name in built:
        assert getattr(state, name) is state.built[name]
    # The intake and the signals read the same deployment data.
    assert state.intake.areas is state.areas and state.intake.taxonomy is state.taxonomy


def test_every_domain_blueprint_is_served_in_the_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    prefixes = {"reports": "/v1/pharmacy/", "devices": "/v1/devices/", "signals": "/v1/signals", "tracing": "/v1/tracing/",
                "dpo": "/v1/dpo/", "reference": "/v1/areas"}
    for domain in DOMAINS:
        if domain.blueprint:
            assert any(path.startswith(prefixes[domain.name]) for path in paths), domain.name
