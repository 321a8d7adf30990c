"""The one JSON error shape: `{"code": 422, "status": "Unprocessable Entity", "message": ..., "errors": ...}`.

Every failure a client can see has this shape, as flask-smorest emits it and documents it in the
OpenAPI document (component DEFAULT_ERROR). `errors` carries field-level detail keyed by location
(`json`, `headers`) and field. Messages never echo the caller's free text, tokens or coordinates.

Domain errors (one base class per domain, raised by services that know nothing of HTTP) become
answers through one table: each domain's views register their errors here (`register`), and
the Api installs one Flask error handler per registered class, so views do not catch and map
errors themselves. An answer leaves like any `fail`, so a blueprint's after-request hooks (the
padding and response clock of contact tracing) apply to it alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import flask_smorest
from flask import Flask, current_app
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


@dataclass(frozen=True)
class Answer:
    """How a domain error is answered: its status, message (None: the status's default; or made
    from the error, whose text must never carry the caller's content), field errors and headers."""

    status: int
    message: str | Callable[[Any], str] | None = None
    errors: Callable[[Any], Any] | None = None
    headers: Callable[[Any], dict[str, str]] | None = None


# The one table from domain errors to HTTP answers; a subclass inherits its base's answer.
ANSWERS: dict[type[Exception], Answer] = {}


def register(
    kind: type[Exception],
    status: int,
    message: str | Callable[[Any], str] | None = None,
    *,
    errors: Callable[[Any], Any] | None = None,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> None:
    """Answer every `kind` error (and its subclasses) raised by a view with this status and message."""
    ANSWERS[kind] = Answer(status, message, errors, headers)


def answer_for(error: Exception) -> Answer | None:
    """The answer registered for this error's class or its nearest registered base."""
    for kind in type(error).__mro__:
        if kind in ANSWERS:
            return ANSWERS[kind]
    return None


def _answer(error: Exception) -> Any:
    answer = answer_for(error)
    if answer is None:  # only registered classes reach here
        raise error
    message = answer.message(error) if callable(answer.message) else answer.message
    try:
        fail(answer.status, message, answer.errors(error) if answer.errors else None,
             answer.headers(error) if answer.headers else None)
    except HTTPException as http_error:
        # Answered as if the view had called fail(): same handler, same hooks after it.
        return current_app.handle_http_exception(http_error)


def install(app: Flask) -> None:
    """Let `app` answer every registered domain error (again for classes registered since)."""
    installed = app.extensions.setdefault("safesignal_domain_errors", set())
    for kind in ANSWERS.keys() - installed:
        app.register_error_handler(kind, _answer)
        installed.add(kind)


class Api(flask_smorest.Api):
    """flask-smorest's Api with a message on every error, including Werkzeug's own (404, 413 ...),
    and the domain errors' table installed with each blueprint (whose views registered them)."""

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        super().register_blueprint(blp, parameters=parameters, **options)
        install(self._app)

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", MESSAGES.get(code or 500, error.name))
        # flask-smorest drops Werkzeug's own headers, among them the Allow of a 405 (RFC 9110
        # requires it) and the Retry-After of a 429 or 503.
        for name, value in error.get_headers():
            if name.lower() in ("allow", "retry-after"):
                headers = {**(headers or {}), name: value}
        return payload, code, headers
