"""api_spec/openapi.yaml is the document the code generates, and the service serves it."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

SPEC = Path(__file__).resolve().parent.parent / "api_spec" / "openapi.yaml"


def test_the_committed_document_is_current(app):
    generated = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    committed = yaml.safe_load(SPEC.read_text())
    assert committed == generated, "api_spec/openapi.yaml is stale: run `make spec` and commit it"


def test_the_service_serves_the_document(app, client):
    served = client.get("/openapi.json").get_json()
    assert served == yaml.safe_load(SPEC.read_text())


def test_the_document_is_valid_openapi():
    validate(yaml.safe_load(SPEC.read_text()))


def test_every_operation_declares_its_errors_and_roles(app):
    spec = yaml.safe_load(SPEC.read_text())
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "security" in operation:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
                assert operation["x-roles"], (method, path)
            if method == "post":
                assert "422" in operation["responses"] or path.endswith("/enroll"), (method, path)
