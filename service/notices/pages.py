"""The notices page (role analyst), at /dashboard/notices: the organisation's alert subscriptions,
a form to add one, and deleting one after a confirmation.

The page says plainly what subscribing spends (each new week's epsilon, and what the first test
would take today), as the dashboard says what opening a week costs. The number or address typed is
never shown back: not in the list (only the medium), not on a form with an error.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service import per_request
from service.notices import services
from service.notices.forms import MEDIUM_LABELS, SubscribeForm
from service.signals.weeks import week_label
from service.web.forms import EmptyForm
from service.web.pages import PageBlueprint, confirmation, id_or_404, page, viewer

blp = PageBlueprint("notices", __name__, url_prefix="/dashboard/notices")
blp.nav("notices.index", _l("Notices"), roles=("analyst",))


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _eps(value: float) -> str:
    return format_decimal(round(value, 3), format="#,##0.0##")


def _form() -> SubscribeForm:
    form = SubscribeForm()
    form.medium.choices = [(medium, MEDIUM_LABELS[medium]) for medium in services.available_media(_state())]
    return form


def _index(form: SubscribeForm, status: int = 200):  # type: ignore[no-untyped-def]
    state = _state()
    person = viewer()
    assert person is not None
    form.forget_contact()
    with per_request.read_session() as session:
        found = services.subscriptions(session, state, person.organisation_id)
        price = services.price(session, state, person.organisation_id, state.clock())
    rows = [{"id": s.id, "medium": MEDIUM_LABELS[s.medium], "created_at": s.created_at, "expires_at": s.expires_at,
             "told": week_label(s.notified_week) if s.notified_week else None} for s in found]
    return render_template(
        "notices/index.html", form=form, subscriptions=rows, media=bool(form.medium.choices),
        full=len(found) >= services.MAX_PER_ORGANISATION, limit=services.MAX_PER_ORGANISATION,
        per_week=_eps(price.per_week), first=_eps(price.first), first_weeks=price.first_weeks,
        budget=_eps(state.signals.rules.budget_per_quarter),
    ), status


@blp.route("/")
@page("analyst")
def index():  # type: ignore[no-untyped-def]
    return _index(_form())


@blp.route("/", methods=["POST"])
@page("analyst")
def add():  # type: ignore[no-untyped-def]
    form = _form()
    if not form.validate_on_submit():
        return _index(form, 422)
    state = _state()
    person = viewer()
    assert person is not None
    session = per_request.session()
    try:
        services.subscribe(session, state, person.organisation_id, form.medium.data, form.contact.data, state.clock(),
                           person.actor)
    except services.BadContact:
        session.rollback()
        form.contact.errors = [_("This is not a mobile number a text can go to.") if form.medium.data == "sms"
                               else _("This is not an e-mail address.")]
        return _index(form, 422)
    except services.TooMany:
        session.rollback()
        flash(_("Your organisation has %(n)s subscriptions already: delete one first.", n=services.MAX_PER_ORGANISATION),
              "error")
        return redirect(url_for("notices.index"), 303)
    except services.MediumUnavailable:
        session.rollback()
        abort(400)  # the form offers only the media this deployment sends by
    session.commit()
    flash(_("Subscribed. From the next run, each newly released week is opened and tested for your organisation."),
          "success")
    return redirect(url_for("notices.index"), 303)


@blp.route("/<subscription_id>/delete", methods=["GET", "POST"])
@page("analyst")
def delete(subscription_id: str):  # type: ignore[no-untyped-def]
    wanted = id_or_404(subscription_id)
    state = _state()
    person = viewer()
    assert person is not None
    form = EmptyForm()
    if form.validate_on_submit():
        session = per_request.session()
        try:
            services.unsubscribe(session, state, person.organisation_id, wanted, person.actor)
        except services.UnknownSubscription:
            abort(404)
        session.commit()
        flash(_("The subscription is deleted, with its number or address: no notice goes to it any more."), "success")
        return redirect(url_for("notices.index"), 303)
    with per_request.read_session() as session:
        if wanted not in {s.id for s in services.subscriptions(session, state, person.organisation_id)}:
            abort(404)
    return confirmation(
        form, title=_("Delete this subscription?"),
        explanation=_("No notice will go to its number or address any more, and they are deleted. Weeks already "
                      "opened stay open."),
        button=_("Delete the subscription"), back=url_for("notices.index"))
