"""JSON request and response bodies, typed with msgspec.

Why msgspec and not marshmallow for bodies: intake validates up to 500 reports per request, and
marshmallow spends about 60 us per report where msgspec decodes and validates the same strict
schema in about 1 us (bench/validation.py). msgspec Structs are strict by construction: unknown
fields are refused, an integer field refuses 2.5 and "1", a boolean refuses "yes". Their JSON
Schema is registered in the OpenAPI document (`register_schemas`), so the document is generated
from the same types that validate. flask-smorest still provides blueprints, the error shape and
the document itself.

Validation messages are rewritten to name the field and the rule, never the offending value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from flask import Response, request

from service.decoding import decode_raw, field_errors, well_formed
from service.errors import fail

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


def parse(kind: type[T]) -> T:
    """The request body as `kind`: 415 unless JSON, 400 if malformed, 422 with field errors."""
    # Exactly application/json (a charset parameter aside): `request.is_json` would also take
    # any application/*+json, such as json-patch+json, which is not what these bodies are.
    if request.mimetype != "application/json":
        fail(415)
    data = request.get_data(cache=False)  # bounded by MAX_CONTENT_LENGTH: 413 past it
    try:
        value = decode_raw(data, kind)
        if kind is msgspec.Raw:
            # Raw checks the JSON grammar but not the bytes inside strings: invalid UTF-8 would
            # surface only where the report is decoded, after the body was taken as JSON.
            data.decode()
        return value
    except msgspec.ValidationError as error:
        # msgspec validates while it parses, so malformed JSON can surface as a schema error
        # first; malformed is malformed, whatever else is wrong with it.
        if not well_formed(data):
            fail(400)
        fail(422, errors={"json": field_errors(error)})
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # Invalid UTF-8 inside a string and nesting past the decoder's depth are malformed too.
        fail(400)


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec."""
    return Response(_encoder.encode(body), status=status, headers=headers, mimetype="application/json")


def register_schemas(spec: Any, types: Iterable[type]) -> None:
    """Add the JSON Schema of each msgspec type to the OpenAPI components."""
    _, components = msgspec.json.schema_components(
        sorted(types, key=lambda t: t.__name__), ref_template="#/components/schemas/{name}"
    )
    for name in sorted(components):
        spec.components.schema(name, component=components[name])


def body_doc(schema: type, description: str = "") -> dict[str, Any]:
    """`requestBody` of an operation taking `schema` as JSON."""
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}},
    }


def response_doc(schema: type, description: str) -> dict[str, Any]:
    """A response of an operation returning `schema` as JSON."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}},
    }
