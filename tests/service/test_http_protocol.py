"""HTTP behaviour every endpoint shares: the body limit whatever the transfer encoding, media
types, 405 with Allow, and the caching and sniffing headers."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import threading

import jsonschema
import pytest
from support import bearer
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from service.reports.models import Report


def _report(clock) -> dict:  # type: ignore[no-untyped-def]
    return {"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=40)).isoformat()}


def _stored(app) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Report))


def _chunked_environ(path: str, body: bytes, token: str) -> dict:
    """The environ a WSGI server gives a chunked request: no Content-Length, the stream ends itself."""
    environ = EnvironBuilder(
        path=path, method="POST", content_type="application/json",
        headers={**bearer(token), "Transfer-Encoding": "chunked"}, input_stream=io.BytesIO(body),
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    return environ


def _call(app, environ: dict) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    """Through the WSGI app as a server would call it (the test client rebuilds the environ and
    would give the body a Content-Length)."""
    body, status, _ = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), json.loads(b"".join(body))


def test_a_chunked_body_over_the_limit_gets_413(app, client, partners, clock):
    token = partners.pharmacy()
    padded = json.dumps(_report(clock)).encode() + b" " * (3 * 1024 * 1024)
    status, answer = _call(app, _chunked_environ("/v1/pharmacy/reports", padded, token))
    assert status == 413 and answer["code"] == 413
    assert _stored(app) == 0


def test_a_chunked_body_within_the_limit_is_read_whole(app, client, partners, clock):
    token = partners.pharmacy()
    # Just under the limit: the report is at the end, so a body cut anywhere would not parse.
    body = json.dumps(_report(clock)).encode()
    body = b" " * (app.config["MAX_BODY_BYTES"] - len(body)) + body
    status, answer = _call(app, _chunked_environ("/v1/pharmacy/reports", body, token))
    assert status == 201, answer
    assert _stored(app) == 1


@pytest.fixture
def server(app):  # type: ignore[no-untyped-def]
    """The app behind a real HTTP server (Werkzeug's, which decodes chunked bodies)."""
    running = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running.server_port
    running.shutdown()
    thread.join()


def test_a_chunked_body_over_the_limit_gets_413_from_a_real_server(app, partners, clock, server):
    token = partners.pharmacy()
    limit = app.config["MAX_BODY_BYTES"]
    chunks = [json.dumps(_report(clock)).encode()] + [b" " * 65536] * (limit // 65536 + 2)
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("POST", "/v1/pharmacy/reports", body=iter(chunks), encode_chunked=True,
                       headers={**bearer(token), "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["code"] == 413
    connection.close()
    assert _stored(app) == 0


@pytest.mark.parametrize("media_type", ["application/json-patch+json", "application/merge-patch+json", "text/plain"])
def test_only_application_json_is_accepted(app, client, partners, clock, media_type):
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", data=json.dumps(_report(clock)), content_type=media_type, headers=bearer(token))
    assert response.status_code == 415 and response.get_json()["code"] == 415
    assert _stored(app) == 0


def test_application_json_with_a_charset_is_accepted(app, client, partners, clock):
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", data=json.dumps(_report(clock)),
                           content_type="application/json; charset=utf-8", headers=bearer(token))
    assert response.status_code == 201


def test_405_says_which_methods_are_allowed(client):
    response = client.get("/v1/pharmacy/reports")
    assert response.status_code == 405 and response.get_json()["code"] == 405
    assert {method.strip() for method in response.headers["Allow"].split(",")} >= {"POST"}
    assert "GET" not in {method.strip() for method in response.headers["Allow"].split(",")}


def test_authenticated_answers_are_not_stored_and_nothing_is_sniffed(app, client, partners):
    _, analyst = partners.add("prevention_service", "Preventiedienst Test")
    _, dpo = partners.add("dpo_office", "DPO Test")
    for path, token in [
        ("/v1/signals/calendar", analyst), ("/v1/signals/budget", analyst),
        ("/v1/dpo/retention/compliance", dpo), ("/v1/dpo/audit/verification", dpo), ("/v1/dpo/policies", dpo),
        ("/v1/dpo/audit/entries", dpo),
    ]:
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 200, (path, response.get_json())
        assert response.headers.get("Cache-Control") == "no-store", path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    # Refused credentials too: the answer is about a credential.
    refused = client.get("/v1/signals/calendar", headers=bearer("ss_wrong"))
    assert refused.status_code == 401 and refused.headers.get("Cache-Control") == "no-store"
    # The reference documents too, the same for every caller: the app keeps them itself and
    # revalidates with the ETag, which still answers 304.
    for path in ("/v1/taxonomy", "/v1/areas"):
        first = client.get(path, headers=bearer(analyst))
        assert first.status_code == 200 and first.headers.get("Cache-Control") == "no-store", path
        again = client.get(path, headers={**bearer(analyst), "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.headers.get("Cache-Control") == "no-store", path


def test_every_answer_says_nosniff_and_public_exports_stay_cacheable(client):
    for path in ("/v1/health", "/v1/nothing", "/openapi.json", "/v1/tracing/exports/index.txt"):
        assert client.get(path).headers.get("X-Content-Type-Options") == "nosniff", path
    index = client.get("/v1/tracing/exports/index.txt")
    assert index.headers["Cache-Control"] == "public, max-age=300" and index.headers["ETag"]


def _documented_schema(app, path: str, status: int) -> dict:  # type: ignore[no-untyped-def]
    """The JSON Schema the served document gives for this answer of POST `path`."""
    document = app.test_client().get("/openapi.json").get_json()
    responses = document["paths"][path]["post"]["responses"]
    response = responses.get(str(status), responses["default"])
    while "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_padded_tracing_errors_are_what_the_document_says(app, client):
    answers = [
        ("/v1/tracing/verify", client.post("/v1/tracing/verify", json={"code": "1"}, headers={"SafeSignal-Fake": "0"})),
        ("/v1/tracing/verify", client.post("/v1/tracing/verify", data="{", content_type="application/json")),
        ("/v1/tracing/keys", client.post("/v1/tracing/keys", json={"token": "x", "keys": []}, headers={"SafeSignal-Fake": "0"})),
        ("/v1/tracing/keys", client.post("/v1/tracing/keys", data="x", content_type="text/plain")),
    ]
    for path, response in answers:
        assert 400 <= response.status_code < 500 and len(response.get_data()) == 1024
        body = response.get_json()
        assert body["padding"]
        jsonschema.validate(body, _documented_schema(app, path, response.status_code))
