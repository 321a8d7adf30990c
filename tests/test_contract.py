"""The OpenAPI document is a contract: schemathesis calls every operation with every role's
credentials (and none), and every answer must be what the document says.

Through the WSGI app (no server), on each database. Bounded: a few examples per operation and
role (CONTRACT_EXAMPLES=30 for a deeper run), derandomized, so a run is repeatable and a failure
names a request that fails again. Checks: no 5xx; the status code, the content type, the body and
the headers are the documented ones.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", 4))


def _tokens(client, partners) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """A credential of each role, and none."""
    organisation_id, pharmacy = partners.add("pharmacy", "Apotheek Contract", partners.area())
    partners.run("tracing", "grant", organisation_id)
    _, analyst = partners.add("prevention_service", "Preventiedienst Contract")
    _, dpo = partners.add("dpo_office", "DPO Contract")
    _, admin = partners.add("operator", "Operator Contract")
    return {"pharmacy": pharmacy, "field_device": partners.device(client), "analyst": analyst, "dpo": dpo,
            "admin": admin, "anonymous": None}


def test_every_answer_of_every_operation_is_what_the_document_says(app, client, partners):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    tokens = _tokens(client, partners)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 24
    failures = []
    for operation in operations:
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case):  # type: ignore[no-untyped-def]
                if token is None and case.headers:
                    case.headers.pop("Authorization", None)
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                call()
            except Exception as error:  # noqa: BLE001 - every failure is collected, named by operation and role
                failures.append(f"{operation.label} as {role}: {error}")
    assert not failures, "\n\n".join(failures)
