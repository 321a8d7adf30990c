"""The field service coordinator's pages, at /devices: the service's devices, a new enrollment
code (shown once, with a QR code for the app), and revoking a device.

A coordinator sees and revokes only the devices of their own field service: every query is
bounded by `viewer().organisation_id`, and a credential of any other organisation answers 404,
as if it did not exist. The code is shown on the answer to the POST that issued it and nowhere
else: it is stored only as a keyed hash (service.devices.services), so no later page could show it.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service import per_request
from service.coordinator.forms import CodeForm
from service.devices import services as devices
from service.partners.services import PartnerError, revoke
from service.web.forms import EmptyForm
from service.web.pages import PageBlueprint, confirmation, id_or_404, page, viewer
from service.web.qr import qr_svg

blp = PageBlueprint("coordinator", __name__, url_prefix="/devices")
blp.nav("coordinator.index", _l("Devices"), roles=("coordinator",))


def _now() -> dt.datetime:
    return current_app.extensions["safesignal"].clock()


def _index(form: CodeForm, status: int = 200):  # type: ignore[no-untyped-def]
    person = viewer()
    assert person is not None
    db = per_request.session()
    return render_template(
        "coordinator/index.html", form=form,
        devices=devices.list_devices(db, person.organisation_id),
        pending=devices.pending_codes(db, person.organisation_id, _now()),
        ttl_hours=current_app.config["ENROLLMENT_CODE_TTL_HOURS"],
    ), status


@blp.route("/")
@page("coordinator")
def index():  # type: ignore[no-untyped-def]
    return _index(CodeForm(formdata=None))


@blp.route("/codes", methods=["POST"])
@page("coordinator")
def new_code():  # type: ignore[no-untyped-def]
    form = CodeForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    person = viewer()
    assert person is not None
    db = per_request.session()
    ttl = dt.timedelta(hours=current_app.config["ENROLLMENT_CODE_TTL_HOURS"])
    try:
        record, code = devices.issue_code(db, current_app.extensions["safesignal"].pseudonyms, person.organisation_id,
                                          label=form.label.data.strip(), now=_now(), ttl=ttl)
    except PartnerError:
        # The field service was revoked meanwhile (its people are signed out with it soon after).
        abort(403)
    db.commit()
    # The answer itself carries the code, once: no redirect, so it is never in a URL, and the
    # page is no-store (service.web.shell), so neither the cache nor a reload shows it again.
    # The QR code holds exactly what POST /v1/devices/enroll needs: the code itself.
    return render_template("coordinator/code.html", code=code, label=record.label,
                           expires_at=record.expires_at, qr=qr_svg(code, _("QR code of the enrollment code, for the app to scan")))


def _device(device_id: str):  # type: ignore[no-untyped-def]
    person = viewer()
    assert person is not None
    credential = devices.device_of(per_request.session(), person.organisation_id, id_or_404(device_id))
    if credential is None:
        abort(404)
    return credential


@blp.route("/<device_id>/revoke", methods=["GET", "POST"])
@page("coordinator")
def revoke_device(device_id: str):  # type: ignore[no-untyped-def]
    credential = _device(device_id)
    form = EmptyForm()
    if form.validate_on_submit():
        person = viewer()
        assert person is not None
        db = per_request.session()
        if credential.revoked_at is None:
            # The CLI's `devices revoke` calls the same function: the same audit entry, by this person.
            revoke(db, credential.id, now=_now(), actor=person.actor)
            db.commit()
        flash(_("The device “%(label)s” is revoked: it can no longer send anything.", label=credential.label), "success")
        return redirect(url_for("coordinator.index"))
    if credential.revoked_at is not None:
        flash(_("The device “%(label)s” was already revoked.", label=credential.label), "info")
        return redirect(url_for("coordinator.index"))
    return confirmation(
        form, title=_("Revoke the device “%(label)s”?", label=credential.label),
        explanation=_("It can no longer send reports or sync its queue, from now on. This cannot be undone: to use "
                      "the device again, enroll it with a new code."),
        button=_("Revoke the device"), back=url_for("coordinator.index"))
