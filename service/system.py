"""Liveness: no credential, no database content."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from service import per_request
from service.bodies import respond

blp = Blueprint("system", __name__, url_prefix="/v1", description="Service status.")


@blp.route("/health", methods=["GET"])
@blp.doc(operationId="health", responses={"200": {"description": "The service and its database answer."}})
def health():  # type: ignore[no-untyped-def]
    """Check that the service and its database answer."""
    with per_request.read_connection() as connection:  # no write lock: anyone may call this
        connection.execute(text("SELECT 1"))
    return respond({"status": "ok", "database": current_app.extensions["safesignal"].engine.dialect.name})
