"""HTTP behaviour every endpoint shares, registered once by `create_app`.

- The body limit holds whatever the transfer encoding. Werkzeug enforces MAX_CONTENT_LENGTH
  against a Content-Length header; a chunked body has none, and Werkzeug then reads it through a
  stream that stops at the limit without an error, so a report followed by megabytes of
  whitespace was cut at the limit, parsed and stored. `BodyLimit` reads such a body itself, at
  most one byte past the limit, and hands the app a body with a Content-Length: past the limit,
  Werkzeug answers 413 as for any other body.
- An answer to a request that carried credentials is never stored by a cache (`no-store`): it is
  about, or for, that credential, and "any cache" includes the browser's and the device's HTTP cache.
  Whatever policy a view chose is overruled. Clients that keep a document (the taxonomy, the areas)
  keep it themselves and revalidate it with its ETag. The public tracing exports, fetched without
  credentials, keep their own policy.
- No answer is sniffed for another media type than the one it declares (`nosniff`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from service.errors import MESSAGES


class BodyLimit:
    """WSGI middleware: a body without Content-Length (chunked) is read here, up to one byte
    past `limit`, and passed on with its length, so that Werkzeug's 413 applies to it too."""

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int):
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # A server sets wsgi.input_terminated when it ends the stream itself (chunked bodies);
        # without it and without a length, Werkzeug reads no body at all.
        if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            try:
                body = _read_at_most(environ["wsgi.input"], self.limit + 1)
            except HTTPException as error:
                # The server found the body unparsable (service.gunicorn: a broken chunk). This
                # runs outside Flask's handlers, so the answer is built here, in the one shape.
                return _error_answer(error)(environ, start_response)
            environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
            del environ["wsgi.input_terminated"]
            # Werkzeug ignores Content-Length beside chunked; the body is no longer chunked here.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def _error_answer(error: HTTPException) -> Response:
    code = error.code or 400
    message = (getattr(error, "data", None) or {}).get("message") or MESSAGES.get(code, error.name)
    body = json.dumps({"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message})
    return Response(body, status=code, mimetype="application/json", headers={"X-Content-Type-Options": "nosniff"})


def _read_at_most(stream: Any, size: int) -> bytes:
    # A raw stream (Werkzeug's dechunking one) may return fewer bytes than asked before its end.
    parts, remaining = [], size
    while remaining > 0:
        part = stream.read(min(remaining, 65536))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    if "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """Install the body limit and the shared response headers on `app`."""
    app.wsgi_app = BodyLimit(app.wsgi_app, app.config["MAX_BODY_BYTES"])  # type: ignore[method-assign]
    app.after_request(_headers)
