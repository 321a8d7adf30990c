"""The ceiling for request handling: a bare Flask endpoint that parses the same JSON and answers.

Served by the same gunicorn settings as the service, so the ratio of the two isolates what
safesignal adds (authentication, validation, screening, encryption, the database).
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/v1/pharmacy/reports")
def single():  # type: ignore[no-untyped-def]
    body = request.get_json()
    return jsonify({"index": 0, "status": "accepted", "n": len(body)}), 201


@app.post("/v1/pharmacy/reports/batch")
def batch():  # type: ignore[no-untyped-def]
    body = request.get_json()
    return jsonify({"accepted": len(body["reports"])})
