"""The ceiling for request handling: a bare Flask endpoint that parses the same JSON and answers.

Served by the same gunicorn settings as the service, so the ratio of the two isolates what
safesignal adds (authentication, validation, screening, encryption, the database).
bench/signals.py uses GET /v1/bare/json/<size>: a JSON body of exactly that many bytes, the
size of what the service answered to a signals query; bench/web.py GET /v1/bare/html/<size>, an HTML
page of the size a web page answered.
"""

import functools

from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.post("/v1/pharmacy/reports")
def single():  # type: ignore[no-untyped-def]
    body = request.get_json()
    return jsonify({"index": 0, "status": "accepted", "n": len(body)}), 201


@app.post("/v1/pharmacy/reports/batch")
def batch():  # type: ignore[no-untyped-def]
    body = request.get_json()
    return jsonify({"accepted": len(body["reports"])})


@functools.lru_cache(maxsize=4096)
def _padded(size: int) -> bytes:
    return b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'


@app.get("/v1/bare/json/<int:size>")
def sized(size: int):  # type: ignore[no-untyped-def]
    return Response(_padded(size), mimetype="application/json")


@functools.lru_cache(maxsize=4096)
def _page(size: int) -> bytes:
    head = b"<!doctype html><html lang=en><title>bare</title><p>"
    return head + b"x" * max(0, size - len(head))


@app.get("/v1/bare/html/<int:size>")
def sized_page(size: int):  # type: ignore[no-untyped-def]
    """bench/web.py's ceiling: an HTML page of exactly `size` bytes, as fast as Flask answers one."""
    return Response(_page(size), mimetype="text/html")
