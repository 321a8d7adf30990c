"""The one JSON error shape: `{"code": 422, "status": "Unprocessable Entity", "message": ..., "errors": ...}`.

Every failure a client can see has this shape, as flask-smorest emits it and documents it in the
OpenAPI document (component DEFAULT_ERROR). `errors` carries field-level detail keyed by location
(`json`, `headers`) and field. Messages never echo the caller's free text, tokens or coordinates.
"""

from __future__ import annotations

from typing import Any, NoReturn

import flask_smorest
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "The request body is not valid JSON.",
    401: "Missing or invalid credentials.",
    403: "This credential may not call this endpoint.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflicts with what is already stored.",
    413: "The request body is too large.",
    415: "The request body must be application/json.",
    422: "The request is not valid.",
    429: "Too many requests: try again later.",
    500: "Internal error.",
}


# The error responses the document names, one per status, all in the one shape.
RESPONSE_NAMES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "TOO_MANY_REQUESTS",
}


# The one error shape with `padding`: the answers of the contact-tracing exchange and upload are
# padded to one size, errors included (service.tracing.chaff), and the document says so.
PADDED = "PADDED_"
PADDED_ERROR = {
    "type": "object",
    "additionalProperties": False,
    "description": "The error shape, padded: `padding` is random text that brings every answer of the "
                   "operation to one size.",
    "properties": {
        "code": {"type": "integer", "description": "Error code"},
        "status": {"type": "string", "description": "Error name"},
        "message": {"type": "string", "description": "Error message"},
        "errors": {"type": "object", "additionalProperties": {}, "description": "Errors"},
        "padding": {"type": "string", "description": "Random text; ignore it."},
    },
    "required": ["code", "status", "message", "padding"],
}


def error_responses(*statuses: int, padded: bool = False) -> dict[str, Any]:
    """OpenAPI `responses` entries for these statuses, pointing at the shared error responses
    (the padded ones, and a padded `default`, for an operation whose answers are padded)."""
    prefix = PADDED if padded else ""
    responses = {str(status): {"$ref": f"#/components/responses/{prefix}{RESPONSE_NAMES[status]}"} for status in statuses}
    if padded:
        responses["default"] = {"$ref": f"#/components/responses/{PADDED}DEFAULT_ERROR"}
    return responses


def register_error_responses(spec: Any) -> None:
    """Add one response component per error status, each in the one error shape, and its padded twin."""
    spec.components.schema("PaddedError", PADDED_ERROR)
    padded = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/PaddedError"}}}}
    for status, name in RESPONSE_NAMES.items():
        spec.components.response(
            name,
            {"description": MESSAGES[status], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        )
        spec.components.response(PADDED + name, {"description": MESSAGES[status] + " Padded.", **padded})
    spec.components.response(PADDED + "DEFAULT_ERROR", {"description": "Default error response, padded.", **padded})


def fail(status: int, message: str | None = None, errors: Any = None, headers: Any = None) -> NoReturn:
    """Stop the request with the error shape."""
    kwargs: dict[str, Any] = {"message": message or MESSAGES.get(status, "")}
    if errors is not None:
        kwargs["errors"] = errors
    if headers is not None:
        kwargs["headers"] = headers
    flask_smorest.abort(status, **kwargs)
    raise AssertionError("unreachable")  # abort always raises


class Api(flask_smorest.Api):
    """flask-smorest's Api with a message on every error, including Werkzeug's own (404, 413 ...)."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", MESSAGES.get(code or 500, error.name))
        # flask-smorest drops Werkzeug's own headers, among them the Allow of a 405 (RFC 9110
        # requires it) and the Retry-After of a 429 or 503.
        for name, value in error.get_headers():
            if name.lower() in ("allow", "retry-after"):
                headers = {**(headers or {}), name: value}
        return payload, code, headers
