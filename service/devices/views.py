"""Device enrollment endpoint."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from service import errors, per_request
from service.bodies import body_doc, parse, respond, response_doc
from service.devices import services
from service.devices.schemas import EnrollIn, EnrollOut
from service.errors import error_responses

blp = Blueprint("devices", __name__, url_prefix="/v1/devices", description="Field device enrollment.")

errors.register(services.EnrollmentError, 403, "Unknown, used or expired enrollment code.")


@blp.route("/enroll", methods=["POST"])
@blp.doc(
    operationId="enrollDevice",
    requestBody=body_doc(EnrollIn),
    responses={
        "201": response_doc(EnrollOut, "Enrolled: the device credential, shown once."),
        **error_responses(400, 403, 415, 422),
    },
)
@per_request.transactional
def enroll():  # type: ignore[no-untyped-def]
    """Exchange a one-time enrollment code for a device credential.

    No credential needed: the code is the credential. An unknown, used or expired code gets 403,
    the same answer for all three.
    """
    body = parse(EnrollIn)
    state = current_app.extensions["safesignal"]
    credential, token = services.enroll(per_request.session(), state.pseudonyms, body.code, now=state.clock())
    return respond(EnrollOut(str(credential.id), token, credential.label), 201)
