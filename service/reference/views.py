"""Taxonomy and area downloads. Both are fixed for the life of the process, so their ETags are too."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_smorest import Blueprint

from service.partners.auth import requires
from service.partners.services import Role

blp = Blueprint("reference", __name__, url_prefix="/v1", description="Reference data for clients.")

EVERY_ROLE = tuple(Role)


def _document(body: bytes, etag: str) -> Response:
    response = Response(body, mimetype="application/json")
    response.set_etag(etag.strip('"'))
    # No Cache-Control here: as every answer to a request with credentials, service.http marks it
    # no-store. Clients keep the document themselves and revalidate it with If-None-Match.
    # Werkzeug answers 304 when If-None-Match matches, weak tags (W/"...") from proxies included.
    return response.make_conditional(request)


@blp.route("/taxonomy", methods=["GET"])
@blp.doc(
    operationId="getTaxonomy",
    responses={
        "200": {"description": "The deployment's taxonomy: phenomena, categories (labels nl/fr/en, channels) and referral kinds.", "content": {"application/json": {"schema": {"type": "object"}}}},
        "304": {"description": "Not modified (If-None-Match matched the ETag)."},
    },
)
@requires(*EVERY_ROLE)
def taxonomy():  # type: ignore[no-untyped-def]
    """Download the taxonomy (supports If-None-Match)."""
    document = current_app.extensions["safesignal"].intake.taxonomy
    return _document(document.document, document.etag)


@blp.route("/areas", methods=["GET"])
@blp.doc(
    operationId="getAreas",
    responses={
        "200": {"description": "The deployment's areas (code, name, district, municipality).", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}},
        "304": {"description": "Not modified (If-None-Match matched the ETag)."},
    },
)
@requires(*EVERY_ROLE)
def areas():  # type: ignore[no-untyped-def]
    """Download the area list (supports If-None-Match)."""
    resolver = current_app.extensions["safesignal"].intake.areas
    return _document(resolver.document, resolver.etag)
