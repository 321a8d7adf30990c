"""Alert subscriptions (role analyst): ask to be told, by SMS or e-mail, that a week has a flagged alert.

Thin: parse, call one service, answer. The contact is never echoed: not in a response, not in an
error (a bad number's error names the kind of problem only).
"""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Response, current_app
from flask_smorest import Blueprint

from service import errors, per_request
from service.bodies import body_doc, parse, respond, response_doc
from service.errors import error_responses
from service.notices import services
from service.notices.schemas import AlertSubscriptionOut, AlertSubscriptions, SubscriptionIn
from service.partners.auth import current_principal, requires
from service.partners.services import Role

blp = Blueprint(
    "alert_subscriptions", __name__, url_prefix="/v1/alert-subscriptions",
    description="Alert notices for prevention services: a short SMS or e-mail when a newly released week has a "
                "flagged alert. Subscribing consents to spending: see POST.",
)

errors.register(services.MediumUnavailable, 422, errors=lambda error: {"json": {"medium": [str(error)]}})
errors.register(services.BadContact, 422, errors=lambda error: {"json": {"contact": [str(error)]}})
errors.register(services.TooMany, 409, str)
errors.register(services.UnknownSubscription, 404, str)

_CONSENT = (
    "Subscribing consents to this: each time a week is released, the service opens it for your organisation "
    "and tests it for alerts at the default levels (geo=district, taxonomy=category), exactly as "
    "GET /v1/signals/weeks/{week}/alerts would. That spends your privacy budget as looking would: each week "
    "once, one release's epsilon (epsilon_per_release in GET /v1/signals/calendar), charged to its quarter; "
    "the first test also opens the baseline weeks your organisation has not opened yet (the dashboard's "
    "notices page shows what that costs today). A week the budget cannot pay for is skipped. When the week has "
    "a flagged alert, one short message says only that there is something to look at in that week, with the "
    "dashboard's address: never an area, a category or a count. The contact is stored encrypted, used only "
    "to send notices, and removed with the subscription, or by retention at expires_at. At most "
    f"{services.MAX_PER_ORGANISATION} subscriptions per organisation."
)


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _out(subscription: services.Subscription) -> AlertSubscriptionOut:
    return AlertSubscriptionOut(str(subscription.id), subscription.medium, _iso(subscription.created_at),
                                _iso(subscription.expires_at))


def _actor() -> str:
    return f"credential:{current_principal().credential_id}"


@blp.route("", methods=["POST"])
@blp.doc(
    operationId="createAlertSubscription",
    description=_CONSENT,
    requestBody=body_doc(SubscriptionIn, "The medium and the number or address (never shown again)."),
    responses={"201": response_doc(AlertSubscriptionOut, "Subscribed; the contact is not repeated."),
               **error_responses(400, 409, 415, 422)},
)
@requires(Role.ANALYST)
@per_request.transactional
def subscribe():  # type: ignore[no-untyped-def]
    """Ask to be told, by SMS or e-mail, when a newly released week has a flagged alert."""
    body = parse(SubscriptionIn)
    state = _state()
    made = services.subscribe(per_request.session(), state, current_principal().organisation_id, body.medium,
                              body.contact, state.clock(), _actor())
    return respond(_out(made), 201, headers={"Cache-Control": "no-store"})


@blp.route("", methods=["GET"])
@blp.doc(operationId="listAlertSubscriptions",
         responses={"200": response_doc(AlertSubscriptions, "The organisation's subscriptions, without their contacts.")})
@requires(Role.ANALYST)
def list_subscriptions():  # type: ignore[no-untyped-def]
    """The caller organisation's alert subscriptions."""
    state = _state()
    with per_request.read_session() as session:
        found = services.subscriptions(session, state, current_principal().organisation_id)
    return respond(AlertSubscriptions([_out(s) for s in found]), headers={"Cache-Control": "no-store"})


@blp.route("/<subscription_id>", methods=["DELETE"])
@blp.doc(operationId="deleteAlertSubscription",
         parameters=[{"in": "path", "name": "subscription_id", "required": True, "schema": {"type": "string", "format": "uuid"}}],
         responses={"204": {"description": "Deleted, with its contact: no notice goes to it any more."},
                    "404": {"$ref": "#/components/responses/NOT_FOUND"}})
@requires(Role.ANALYST)
@per_request.transactional
def delete_subscription(subscription_id: str):  # type: ignore[no-untyped-def]
    """Delete one of the organisation's subscriptions (another organisation's id: 404)."""
    try:
        wanted = uuid.UUID(subscription_id)
    except ValueError:
        raise services.UnknownSubscription("No alert subscription of your organisation has this id.") from None
    services.unsubscribe(per_request.session(), _state(), current_principal().organisation_id, wanted, _actor())
    return Response(status=204)
