"""The providers' webhooks: inbound texts and delivery receipts. Thin: verify, hand over, acknowledge.

Every webhook is verified with the provider's own algorithm before anything is read
(service.sms.gateways): a bad or missing signature gets 403 and nothing is stored or counted.
The answer is the provider's acknowledgement (Twilio: an empty TwiML response, so Twilio itself
sends nothing back); the reply goes out from the outbox, tried as soon as the answer is sent.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint

from service import per_request
from service.errors import error_responses, fail
from service.sms import inbound, outbox
from service.sms.domain import PROVIDERS

log = logging.getLogger(__name__)

blp = Blueprint("sms", __name__, url_prefix="/v1/sms",
                description="Text messages: the SMS providers' webhooks (inbound texts and delivery receipts).")

_PROVIDER = f"<any({', '.join(PROVIDERS)}):provider>"
_BODY = {
    "required": True,
    "description": "The provider's own webhook format: Twilio posts a form (From, To, Body, MessageSid, NumSegments, "
                   "signed with X-Twilio-Signature); Vonage's Messages API posts JSON signed with a JWT (Authorization: Bearer, "
                   "HS256, payload_hash); a self-hosted gateway posts JSON signed with X-Safesignal-Signature (docs/sms.md).",
    "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        "application/json": {"schema": {"type": "object"}},
    },
}


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _gateway(provider: str) -> Any:
    sms = _state().sms
    gateway = sms.gateways.get(provider) if sms.file is not None else None
    if gateway is None:
        fail(404, "This SMS provider is not configured here.")
    return gateway


def _signed_url() -> str:
    """The URL the provider called, as it was configured there (Twilio signs it)."""
    query = request.query_string.decode("latin-1")
    return _state().sms.webhook_url + request.path + (f"?{query}" if query else "")


def _verified(call: Any) -> Any:
    from service.sms.gateways import BadSignature, MalformedWebhook

    try:
        return call(_signed_url(), request.headers, request.get_data(cache=False))
    except BadSignature:
        fail(403, "The webhook's signature is missing or does not verify.")
    except MalformedWebhook as error:
        # Signed, but not a form or JSON object (400), or its fields are wrong (422).
        unreadable = "_body" in error.errors
        fail(400 if unreadable else 422, "The webhook could not be read." if unreadable else "The webhook's fields are not valid.",
             errors={"form" if "form" in request.mimetype else "json": error.errors})


def _acknowledge(gateway: Any) -> Response:
    body, content_type = gateway.acknowledgement()
    return Response(body, 200, content_type=content_type, headers={"Cache-Control": "no-store"})


@blp.route(f"/{_PROVIDER}/inbound", methods=["POST"])
@blp.doc(
    operationId="receiveSms",
    requestBody=_BODY,
    responses={"200": {"description": "Acknowledged (stored once, even when delivered twice)."},
               **error_responses(400, 403, 404, 413, 422, 429)},
)
def receive(provider: str):  # type: ignore[no-untyped-def]
    """An inbound text from the provider: becomes an anonymous report of the sms channel.

    The sender's number is used for its pseudonym of the day and the reply, and never stored.
    A message id seen before is acknowledged and stores nothing. Past SAFESIGNAL_SMS_INBOUND_PER_MINUTE
    webhooks a minute (per worker): 429 with Retry-After, before anything is read.
    """
    gateway = _gateway(provider)
    state = _state()
    wait = state.sms.guard.allow()
    if wait:
        fail(429, "Too many texts at once; send again later.", headers={"Retry-After": str(wait)})
    message = _verified(gateway.inbound)
    session = per_request.session()
    now = state.clock()
    with per_request.read_session() as reader:
        received = inbound.receive(session, reader, state, state.sms, provider, message, now)
    session.commit()
    response = _acknowledge(gateway)
    if received.reply is not None:
        reply = received.reply
        response.call_on_close(lambda: _send(state, [reply]))
    return response


def _send(state: Any, row_ids: list[Any]) -> None:
    """Try the queued text now, once the provider has its answer (the scheduler retries)."""
    sms = state.sms
    try:
        outbox.deliver(state.sessions, state, sms.gateways, row_ids, status_url=sms.status_url, now=state.clock,
                       rules=sms.outbox_rules, claimed=True)
    except Exception:  # noqa: BLE001 - the answer is gone already; the scheduler tries again
        log.exception("sms outbox: sending right after the webhook failed")


@blp.route(f"/{_PROVIDER}/status", methods=["POST"])
@blp.doc(
    operationId="receiveSmsStatus",
    requestBody=_BODY,
    responses={"200": {"description": "Acknowledged."}, **error_responses(400, 403, 404, 413, 422)},
)
def status(provider: str):  # type: ignore[no-untyped-def]
    """A delivery receipt: a delivered text leaves the outbox; a failed one is tried again with backoff."""
    gateway = _gateway(provider)
    state = _state()
    receipt = _verified(gateway.receipt)
    if receipt.state == "pending":  # queued, sent, accepted ...: nothing changes until the phone has it
        return _acknowledge(gateway)
    session = per_request.session()
    outbox.receipt(session, state.pseudonyms, provider, receipt.provider_id, receipt.state, state.clock(),
                   state.sms.outbox_rules)
    session.commit()
    return _acknowledge(gateway)
