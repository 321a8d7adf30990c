"""Test-only WSGI app for tests/test_gunicorn.py: the real `create_app()`, loaded as gunicorn loads
the service, plus `/_probe/blas`, which answers threadpoolctl's view of the worker's BLAS, and
`/_probe/log-address`, which logs the caller's address as careless application code might. Never
part of the service (it is not in the package) nor of its API."""

from __future__ import annotations

import json
import logging
from typing import Any

from service import create_app

service_app = create_app()


def app(environ: dict[str, Any], start_response: Any) -> Any:
    """The service, or the BLAS libraries and their threads for `/_probe/blas`."""
    if environ.get("PATH_INFO") == "/_probe/log-address":
        logging.getLogger("probe").warning("request from %s", environ.get("REMOTE_ADDR"))
        start_response("204 No Content", [])
        return []
    if environ.get("PATH_INFO") != "/_probe/blas":
        return service_app(environ, start_response)
    from threadpoolctl import threadpool_info

    body = json.dumps(threadpool_info()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
