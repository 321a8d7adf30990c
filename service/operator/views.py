"""The operator's pages, at /operator: what the `safesignal partners`, `people`, `tracing grant|withdraw`
and `signals territory` commands do, through the same service functions, so the rows and the audit
entries are the same (the actor is the person, `person:<id>`, where the CLI writes "cli").

Secrets are shown once, on the answer to the POST that made them (a token, an invitation link),
never in a URL or a later page: they are stored only as hashes. Revocations ask first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from service import per_request
from service.operator import services, sms_overview
from service.operator.forms import KIND_NAMES, InviteForm, OrganisationForm, TerritoryForm, TokenForm
from service.partners.models import Credential, Organisation
from service.partners.services import OrganisationKind, PartnerError, issue_credential, list_organisations, revoke
from service.people import services as people
from service.people.mail import MailError, send_invitation, smtp_configured
from service.people.models import Person
from service.signals.services import BadTerritory, set_territory, territory
from service.sms.counts import OUTCOMES
from service.sms.inbound import senders_today
from service.web.labels import label
from service.tracing import codes
from service.web.forms import EmptyForm
from service.web.pages import PageBlueprint, confirmation, id_or_404, page, viewer
from service.web.shell import ROLE_NAMES, language

blp = PageBlueprint("operator", __name__, url_prefix="/operator")
blp.nav("operator.organisations", _l("Organisations"), roles=("admin",))
blp.nav("operator.people", _l("People"), roles=("admin",))
blp.nav("operator.sms", _l("Text messages"), roles=("admin",))

STATUS_NAMES = {people.PersonStatus.ACTIVE: _l("Active"), people.PersonStatus.INVITED: _l("Invited"),
                people.PersonStatus.EXPIRED: _l("Invitation expired"), people.PersonStatus.REVOKED: _l("Revoked")}


def _state() -> Any:
    return current_app.extensions["safesignal"]


def _now() -> dt.datetime:
    return _state().clock()


def _actor() -> str:
    person = viewer()
    assert person is not None
    return person.actor


@blp.context_processor
def _names() -> dict[str, Any]:
    return {"kind_names": KIND_NAMES, "status_names": STATUS_NAMES, "role_of": people.role_of}


# Organisations ---------------------------------------------------------------------------------


def _area_choices() -> dict[str, list[SelectChoice]]:
    grouped: dict[str, list[SelectChoice]] = {"": [SelectChoice("", _("None"))]}
    for area in sorted(_state().intake.areas.areas(), key=lambda a: (a.district, a.name)):
        grouped.setdefault(area.district, []).append(SelectChoice(area.code, area.name))
    return grouped


def _municipality_choices() -> list[SelectChoice]:
    return [SelectChoice(code, code) for code in sorted(_state().signals.grids)]


def _organisation_form(formdata: Any = ...) -> OrganisationForm:
    form = OrganisationForm() if formdata is ... else OrganisationForm(formdata=formdata)
    form.area.choices = _area_choices()
    form.municipalities.choices = _municipality_choices()
    return form


def _organisations_page(form: OrganisationForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("operator/organisations.html", form=form,
                           organisations=list_organisations(per_request.session())), status


@blp.route("/")
@page("admin")
def organisations():  # type: ignore[no-untyped-def]
    return _organisations_page(_organisation_form(None))


def _check_organisation(form: OrganisationForm) -> bool:
    """The CLI's checks of `partners add`, as field errors."""
    ok = form.validate()
    kind = form.kind.data
    area = form.area.data or None
    if area is not None and area not in _state().intake.areas:
        form.area.errors = [*form.area.errors, _("Not an area of this deployment.")]
        ok = False
    elif kind == OrganisationKind.PHARMACY and area is None:
        form.area.errors = [*form.area.errors, _("A pharmacy needs its registered area.")]
        ok = False
    chosen = form.municipalities.data or []
    if chosen and kind != OrganisationKind.PREVENTION_SERVICE:
        form.municipalities.errors = [*form.municipalities.errors, _("Only a prevention service has a territory.")]
        ok = False
    elif set(chosen) - set(_state().signals.grids):
        form.municipalities.errors = [*form.municipalities.errors, _("Not a municipality of this deployment.")]
        ok = False
    return ok


@blp.route("/organisations", methods=["POST"])
@page("admin")
def add_organisation():  # type: ignore[no-untyped-def]
    form = _organisation_form()
    if not _check_organisation(form):
        return _organisations_page(form, 422)
    db = per_request.session()
    kind = OrganisationKind(form.kind.data)
    try:
        organisation, token = services.register(
            db, kind=kind, name=form.name.data.strip(), area=form.area.data or None,
            municipalities=form.municipalities.data or [], label=form.label.data.strip(), now=_now(),
            signals=_state().signals, audit=_state().audit, actor=_actor())
    except (PartnerError, BadTerritory):
        # Checked above; only a race (a revoked organisation) gets here.
        db.rollback()
        abort(409)
    db.commit()
    # The token is on this answer only (no redirect): it is stored as a hash and never shown again.
    return render_template("operator/created.html", organisation=organisation, token=token,
                           no_territory=kind is OrganisationKind.PREVENTION_SERVICE and not form.municipalities.data)


def _organisation(organisation_id: str) -> Organisation:
    organisation = per_request.session().get(Organisation, id_or_404(organisation_id))
    if organisation is None:
        abort(404)
    return organisation


def _organisation_page(organisation: Organisation, token_form: TokenForm | None = None,
                       territory_form: TerritoryForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    db = per_request.session()
    if territory_form is None:
        territory_form = TerritoryForm(formdata=None, municipalities=territory(db, organisation.id))
    territory_form.municipalities.choices = _municipality_choices()
    members = [(person, people.person_status(person, _now()))
               for person, _org in people.list_people(db) if person.organisation_id == organisation.id]
    return render_template(
        "operator/organisation.html", organisation=organisation,
        credentials=sorted(organisation.credentials, key=lambda c: (c.created_at, str(c.id))),
        token_form=token_form or TokenForm(formdata=None, label="default"), territory_form=territory_form,
        territory=territory(db, organisation.id), members=members, action=EmptyForm(formdata=None),
        own=organisation.id == viewer().organisation_id,  # type: ignore[union-attr]
    ), status


@blp.route("/organisations/<organisation_id>")
@page("admin")
def organisation(organisation_id: str):  # type: ignore[no-untyped-def]
    return _organisation_page(_organisation(organisation_id))


@blp.route("/organisations/<organisation_id>/tokens", methods=["POST"])
@page("admin")
def issue_token(organisation_id: str):  # type: ignore[no-untyped-def]
    organisation = _organisation(organisation_id)
    if organisation.kind == OrganisationKind.FIELD_SERVICE or organisation.revoked_at is not None:
        # As `partners token`: field services enroll devices instead; a revoked one gets nothing.
        abort(409)
    form = TokenForm()
    if not form.validate():
        return _organisation_page(organisation, token_form=form, status=422)
    db = per_request.session()
    credential, token = issue_credential(db, organisation, label=form.label.data.strip(), now=_now(), actor=_actor())
    db.commit()
    return render_template("operator/token.html", organisation=organisation, credential=credential, token=token)


@blp.route("/organisations/<organisation_id>/territory", methods=["POST"])
@page("admin")
def set_organisation_territory(organisation_id: str):  # type: ignore[no-untyped-def]
    organisation = _organisation(organisation_id)
    form = TerritoryForm()
    form.municipalities.choices = _municipality_choices()
    chosen = form.municipalities.data or []
    if organisation.kind != OrganisationKind.PREVENTION_SERVICE:
        abort(409)
    if not form.validate() or not chosen or set(chosen) - set(_state().signals.grids):
        form.municipalities.errors = [*form.municipalities.errors,
                                      _("Choose at least one municipality of this deployment.")]
        return _organisation_page(organisation, territory_form=form, status=422)
    db = per_request.session()
    try:
        set_territory(db, _state().signals, organisation, chosen, _state().audit, _actor())
    except BadTerritory:
        db.rollback()
        abort(409)
    db.commit()
    flash(_("The territory is saved."), "success")
    return redirect(url_for("operator.organisation", organisation_id=organisation.id))


def _set_tracing(organisation: Organisation, permitted: bool) -> None:
    """`safesignal tracing grant` / `withdraw`, committed; 409 where the organisation may not issue codes."""
    db = per_request.session()
    try:
        codes.set_tracing(db, organisation.id, permitted, now=_now(), audit=_state().audit, actor=_actor())
    except codes.NotPermitted:
        db.rollback()
        abort(409)
    db.commit()


@blp.route("/organisations/<organisation_id>/tracing", methods=["POST"])
@page("admin")
def grant_tracing(organisation_id: str):  # type: ignore[no-untyped-def]
    organisation = _organisation(organisation_id)
    _set_tracing(organisation, True)
    flash(_("This pharmacy may now issue verification codes."), "success")
    return redirect(url_for("operator.organisation", organisation_id=organisation.id))


@blp.route("/organisations/<organisation_id>/tracing/withdraw", methods=["GET", "POST"])
@page("admin")
def withdraw_tracing(organisation_id: str):  # type: ignore[no-untyped-def]
    organisation = _organisation(organisation_id)
    back = url_for("operator.organisation", organisation_id=organisation.id)
    form = EmptyForm()
    if form.validate_on_submit():
        _set_tracing(organisation, False)
        flash(_("This pharmacy can no longer issue verification codes."), "success")
        return redirect(back)
    return confirmation(form, title=_("Stop “%(name)s” issuing verification codes?", name=organisation.name),
                        explanation=_("Codes it has already issued stay valid until they expire. You can allow it "
                                      "again later."),
                        button=_("Withdraw"), back=back)


@blp.route("/organisations/<organisation_id>/revoke", methods=["GET", "POST"])
@page("admin")
def revoke_organisation(organisation_id: str):  # type: ignore[no-untyped-def]
    organisation = _organisation(organisation_id)
    if organisation.id == viewer().organisation_id:  # type: ignore[union-attr]
        # Revoking one's own organisation would sign every operator out of these pages; the CLI can.
        abort(409)
    form = EmptyForm()
    if form.validate_on_submit():
        db = per_request.session()
        revoke(db, organisation.id, now=_now(), actor=_actor())
        db.commit()
        flash(_("“%(name)s” is revoked, with all its tokens and devices; its people are signed out.",
                name=organisation.name), "success")
        return redirect(url_for("operator.organisations"))
    return confirmation(form, title=_("Revoke “%(name)s”?", name=organisation.name),
                        explanation=_("All its tokens and devices stop working now, and its people can no longer "
                                      "sign in. This cannot be undone."),
                        button=_("Revoke the organisation"),
                        back=url_for("operator.organisation", organisation_id=organisation.id))


@blp.route("/credentials/<credential_id>/revoke", methods=["GET", "POST"])
@page("admin")
def revoke_credential(credential_id: str):  # type: ignore[no-untyped-def]
    credential = per_request.session().get(Credential, id_or_404(credential_id))
    if credential is None:
        abort(404)
    back = url_for("operator.organisation", organisation_id=credential.organisation_id)
    form = EmptyForm()
    if form.validate_on_submit():
        db = per_request.session()
        revoke(db, credential.id, now=_now(), actor=_actor())
        db.commit()
        flash(_("The token “%(label)s” is revoked.", label=credential.label), "success")
        return redirect(back)
    return confirmation(form, title=_("Revoke the token “%(label)s”?", label=credential.label),
                        explanation=_("Whatever uses this token is refused from now on. This cannot be undone."),
                        button=_("Revoke the token"), back=back)


# People ----------------------------------------------------------------------------------------


def _organisation_choices(organisations: Iterable[Organisation]) -> list[SelectChoice]:
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(o.id), f"{o.name} ({KIND_NAMES[OrganisationKind(o.kind)]})")
        for o in organisations if o.revoked_at is None]


def _people_page(form: InviteForm, status: int = 200):  # type: ignore[no-untyped-def]
    db = per_request.session()
    form.organisation.choices = _organisation_choices(list_organisations(db))
    rows = [(person, organisation, people.person_status(person, _now())) for person, organisation in people.list_people(db)]
    return render_template("operator/people.html", form=form, rows=rows), status


@blp.route("/people", endpoint="people")
@page("admin")
def people_list():  # type: ignore[no-untyped-def]
    return _people_page(InviteForm(formdata=None))


@blp.route("/people", methods=["POST"])
@page("admin")
def invite():  # type: ignore[no-untyped-def]
    form = InviteForm()
    if not form.validate():
        return _people_page(form, 422)
    db = per_request.session()
    organisation_id = None
    try:
        organisation_id = uuid.UUID(form.organisation.data)
    except ValueError:
        pass
    organisation = db.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.revoked_at is not None:
        form.organisation.errors = [_("Choose an organisation that is not revoked.")]
        return _people_page(form, 422)
    if not people.valid_email(form.email.data or ""):
        form.email.errors = [_("This is not an e-mail address.")]
        return _people_page(form, 422)
    try:
        person, token = people.invite(db, _state().accounts, organisation_id=organisation.id, email=form.email.data,
                                      now=_now(), actor=_actor())
    except people.PeopleError:
        db.rollback()
        # The one other refusal: the address has an account, or a pending invitation elsewhere.
        form.email.errors = [_("This address already has an account, or an invitation to another organisation.")]
        return _people_page(form, 422)
    expires = person.invitation_expires_at
    db.commit()
    link = f"{current_app.config['PUBLIC_URL'].rstrip('/')}{url_for('web.invitation', token=token)}"
    # As `safesignal people invite`: e-mailed where SMTP is set, after the invitation is committed,
    # so that a mail that goes astray leaves the link to hand over another way.
    mailed = mail_failed = False
    if smtp_configured(current_app.config):
        try:
            send_invitation(current_app.config, form.email.data, link, expires, _now())
            mailed = True
        except MailError:
            mail_failed = True
    # The link is on this answer only; the address typed is not shown back (only its pseudonym is kept).
    return render_template("operator/invited.html", person=person, organisation=organisation, link=link,
                           expires=expires, role=people.role_of(organisation), mailed=mailed, mail_failed=mail_failed)


@blp.route("/people/<person_id>/revoke", methods=["GET", "POST"])
@page("admin")
def revoke_person(person_id: str):  # type: ignore[no-untyped-def]
    person = per_request.session().get(Person, id_or_404(person_id))
    if person is None:
        abort(404)
    if person.id == viewer().person_id:  # type: ignore[union-attr]
        abort(409)
    form = EmptyForm()
    if form.validate_on_submit():
        db = per_request.session()
        people.revoke(db, person.id, _now(), actor=_actor())
        db.commit()
        flash(_("The account is revoked: every session of it has ended."), "success")
        return redirect(url_for("operator.people"))
    organisation = per_request.session().get(Organisation, person.organisation_id)
    return confirmation(form, title=_("Revoke this person's account?"),
                        explanation=_("%(role)s at %(name)s. They are signed out everywhere now and cannot sign in "
                                      "again; a pending invitation stops working. This cannot be undone.",
                                      role=_role_name(organisation), name=organisation.name if organisation else "?"),
                        button=_("Revoke the account"), back=url_for("operator.people"))


def _role_name(organisation: Organisation | None) -> str:
    return str(ROLE_NAMES[people.role_of(organisation)]) if organisation else "?"


# Text messages ---------------------------------------------------------------------------------

PROVIDER_NAMES = {"twilio": "Twilio", "vonage": "Vonage", "generic": _l("Generic gateway")}
LANGUAGE_NAMES = {"nl": _l("Dutch"), "fr": _l("French"), "de": _l("German"), "en": _l("English")}
REPLY_NAMES = {"help": _l("The help lines"), "neutral": _l("Neutral"), "none": _l("No reply")}
# Why a category replies as it does, where the reason is the person's safety.
REPLY_NOTES = {
    "neutral": _l("A neutral reply says nothing to someone else who reads the phone."),
    "none": _l("Nothing is sent back: a reply on a phone that someone else reads could put the person in danger."),
}
# Each outcome of service.sms.counts, as the page names and explains it (tests check that none is missing).
OUTCOME_NAMES = {
    "reported": _l("Reported"), "throttled": _l("Throttled"), "replayed": _l("Replayed"), "refused": _l("Refused"),
    "replied": _l("Replied"), "reply_capped": _l("Reply capped"), "sent_reply": _l("Reply sent"),
    "sent_code": _l("Code sent"), "sent_notice": _l("Notice sent"), "send_retry": _l("Send retried"),
    "send_failed": _l("Send failed"), "delivered": _l("Delivered"), "undelivered_retry": _l("Undelivered, resent"),
    "undelivered": _l("Undelivered"), "expired": _l("Expired"),
}
OUTCOME_EXPLANATIONS = {
    "reported": _l("A text became an anonymous report."),
    "throttled": _l("A text past its number's limit for the day: counted here, not stored as a report, not answered."),
    "replayed": _l("The provider sent a text already received again: acknowledged, nothing changed."),
    "refused": _l("A text the intake could not take as a report."),
    "replied": _l("A reply was queued to be sent."),
    "reply_capped": _l("No reply: the number already had its replies for the day."),
    "sent_reply": _l("A reply was handed to the provider."),
    "sent_code": _l("A verification code was handed to the provider."),
    "sent_notice": _l("An alert notice was handed to the provider."),
    "send_retry": _l("The provider could not take a text for now; it is tried again later."),
    "send_failed": _l("A text was given up: the provider refused it, or every try failed."),
    "delivered": _l("The provider reports a text delivered to the phone."),
    "undelivered_retry": _l("The provider reports a text not delivered; it is sent again."),
    "undelivered": _l("The provider reports a text not delivered, and no try is left."),
    "expired": _l("A text deleted from the outbox after waiting the longest time allowed, sent or not."),
}


@blp.route("/sms")
@page("admin")
def sms():  # type: ignore[no-untyped-def]
    """What the SMS file in force says and what became of the last 14 days' texts (read only, counts only)."""
    state = _state()
    today = _now().astimezone(dt.timezone.utc).date()
    db = per_request.session()
    sms_file = state.sms.file
    areas = state.areas.areas()
    current = language()
    rows = sms_overview.keywords(sms_file, state.taxonomy) if sms_file is not None else []
    days = sms_overview.daily_counts(db, today)
    return render_template(
        "operator/sms.html", channel=sms_overview.channel(state.sms), rules=state.sms.rules,
        numbers=sms_overview.places(sms_file.numbers, areas) if sms_file is not None else [],
        postcodes=sms_overview.places(sms_file.postcodes, areas) if sms_file is not None else [],
        keywords=[(row, label(row.labels, current)) for row in rows], days=days, totals=sms_overview.totals(days),
        senders_today=senders_today(db, today), outcomes=OUTCOMES, outcome_names=OUTCOME_NAMES,
        outcome_explanations=OUTCOME_EXPLANATIONS, provider_names=PROVIDER_NAMES, language_names=LANGUAGE_NAMES,
        reply_names=REPLY_NAMES, reply_notes=REPLY_NOTES)
