"""Every role against every endpoint: only the roles an endpoint declares get through."""

from __future__ import annotations

import pytest
from support import bearer

ENDPOINTS = {
    ("POST", "/v1/pharmacy/reports"): {"pharmacy"},
    ("POST", "/v1/pharmacy/reports/batch"): {"pharmacy"},
    ("POST", "/v1/field/reports/batch"): {"field_device"},
    ("GET", "/v1/taxonomy"): {"pharmacy", "field_device", "analyst", "dpo", "admin"},
    ("GET", "/v1/areas"): {"pharmacy", "field_device", "analyst", "dpo", "admin"},
    **{("GET", f"/v1/signals/{path}"): {"analyst"} for path in (
        "calendar", "budget", "weeks/<week>/counts", "weeks/<week>/alerts",
    )},
    ("POST", "/v1/tracing/codes"): {"pharmacy"},
    ("POST", "/v1/tracing/codes/sms"): {"pharmacy"},
    ("GET", "/v1/alert-subscriptions"): {"analyst"},
    ("POST", "/v1/alert-subscriptions"): {"analyst"},
    ("DELETE", "/v1/alert-subscriptions/<subscription_id>"): {"analyst"},
    **{("GET", f"/v1/dpo/{path}"): {"dpo"} for path in (
        "policies", "record", "retention/runs", "retention/compliance", "inventory",
        "audit/verification", "audit/checkpoints", "audit/entries",
    )},
}
PUBLIC = {
    ("GET", "/v1/health"), ("POST", "/v1/devices/enroll"), ("GET", "/openapi.json"),
    # Exposure-notification apps call without credentials: the code, then the token, is the credential.
    ("POST", "/v1/tracing/verify"), ("POST", "/v1/tracing/keys"),
    ("GET", "/v1/tracing/exports/index.txt"), ("GET", "/v1/tracing/exports/<name>"),
    # The SMS providers call with no bearer token: each webhook is signed with the provider's secret
    # instead (tests/service/sms: a missing or bad signature gets 403 and stores nothing).
    ("POST", "/v1/sms/<any(twilio, vonage, generic):provider>/inbound"),
    ("POST", "/v1/sms/<any(twilio, vonage, generic):provider>/status"),
}


@pytest.fixture
def tokens(client, partners) -> dict[str, str]:  # type: ignore[no-untyped-def]
    area = partners.area()
    return {
        "pharmacy": partners.add("pharmacy", "Apotheek", area)[1],
        "field_device": partners.device(client),
        "analyst": partners.add("prevention_service", "Preventiedienst")[1],
        "dpo": partners.add("dpo_office", "DPO")[1],
        "admin": partners.add("operator", "Operator")[1],
    }


def _call(client, method, path, headers):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json={} if method == "POST" else None, headers=headers)


def test_the_table_covers_every_route(app):
    """Every route of the API (the pages' role x page matrix is tests/web/test_role_matrix.py)."""
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.rule.startswith("/v1/")
    }
    assert routes == set(ENDPOINTS) | (PUBLIC - {("GET", "/openapi.json")})


@pytest.mark.parametrize(("method", "path"), sorted(ENDPOINTS))
def test_each_role_gets_in_only_where_declared(client, tokens, method, path):
    allowed = ENDPOINTS[(method, path)]
    for role, token in tokens.items():
        response = _call(client, method, path, bearer(token))
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.get_json())
        else:
            assert response.status_code == 403, role
            assert response.get_json()["code"] == 403


@pytest.mark.parametrize(("method", "path"), sorted(ENDPOINTS))
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer ss_" + "0" * 32 + "A" * 43},
        {"Authorization": "Bearer not-a-token"},
    ],
)
def test_missing_or_bad_credentials_get_401(client, method, path, headers):
    response = _call(client, method, path, headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_with_one_changed_character_is_refused(client, tokens):
    token = tokens["analyst"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/v1/taxonomy", headers=bearer(forged)).status_code == 401
    assert client.get("/v1/taxonomy", headers=bearer(token)).status_code == 200


def test_a_revoked_organisation_is_refused_once_the_credential_cache_expires(app, client, partners, clock):
    ttl = app.config["AUTH_CACHE_SECONDS"]
    organisation_id, token = partners.add("prevention_service", "Te herroepen")
    assert client.get("/v1/areas", headers=bearer(token)).status_code == 200
    partners.run("partners", "revoke", organisation_id)
    # Documented: a worker that verified the token may trust it for AUTH_CACHE_SECONDS more.
    clock.advance(seconds=ttl, microseconds=-1)
    assert client.get("/v1/areas", headers=bearer(token)).status_code == 200
    clock.advance(microseconds=1)
    assert client.get("/v1/areas", headers=bearer(token)).status_code == 401


def test_without_the_cache_a_revocation_is_immediate(app_with, partners):
    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    organisation_id, token = partners.add("prevention_service", "Te herroepen")
    assert client.get("/v1/areas", headers=bearer(token)).status_code == 200
    partners.run("partners", "revoke", organisation_id)
    assert client.get("/v1/areas", headers=bearer(token)).status_code == 401
