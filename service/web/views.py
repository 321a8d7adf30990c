"""The shell's pages: home, sign-in with password then second factor, sign-out, invitation, language.

Every sign-in failure says the same thing, whatever failed (address, password, code, lock): the
pages never tell whether an account exists.
"""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from service import per_request
from service.people import services
from service.people.models import Person
from service.web.forms import CodeForm, EmptyForm, LanguageForm, NewPasswordForm, SignInForm
from service.web.pages import PageBlueprint, safe_next, sign_in_url, viewer
from service.web.qr import qr_svg
from service.web.shell import LANGUAGES, language

blp = PageBlueprint("web", __name__)

# A sign-in whose password was right waits this long for its second factor.
PENDING_SECONDS = 300


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _now():  # type: ignore[no-untyped-def]
    return _state().clock()


def landing(role: str) -> str | None:
    for entry in current_app.extensions.get("safesignal_nav", []):
        if role in entry.roles:
            return url_for(entry.endpoint)
    return None


@blp.route("/")
def home():  # type: ignore[no-untyped-def]
    person = viewer()
    if person is None:
        return redirect(sign_in_url())
    target = landing(person.role)
    if target is not None:
        return redirect(target)
    return render_template("web/home.html")


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in():  # type: ignore[no-untyped-def]
    if viewer() is not None:
        return redirect(url_for("web.home"))
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    failed = False
    if form.validate_on_submit():
        db = per_request.session()
        person = services.check_password(db, _state().accounts, form.email.data or "", form.password.data or "", _now())
        db.commit()
        if person is not None:
            language = session.get("lang")
            session.clear()
            if language:
                session["lang"] = language
            session["pending"] = {"person": str(person.id), "at": _now().timestamp(),
                                  "next": safe_next(form.next.data)}
            return redirect(url_for("web.second_factor"))
        failed = True
    elif request.method == "POST":
        failed = True
    return render_template("web/sign_in.html", form=form, failed=failed,
                           ended=g.get("session_ended", False) or request.args.get("ended") == "1")


def _pending_person() -> Person | None:
    pending = session.get("pending")
    if not isinstance(pending, dict):
        return None
    try:
        person_id = uuid.UUID(str(pending.get("person")))
        started = float(pending.get("at", 0))
    except (TypeError, ValueError):
        return None
    if _now().timestamp() - started > PENDING_SECONDS:
        return None
    return per_request.session().get(Person, person_id)


@blp.route("/sign-in/code", methods=["GET", "POST"])
def second_factor():  # type: ignore[no-untyped-def]
    person = _pending_person()
    if person is None:
        session.pop("pending", None)
        return redirect(url_for("web.sign_in"))
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        db = per_request.session()
        accounts = _state().accounts
        if services.check_second_factor(db, accounts, person, form.code.data or "", _now()):
            target = safe_next(session["pending"].get("next"))
            language = session.get("lang")
            sid = services.open_session(db, accounts, person, _now())
            db.commit()
            # A new cookie for the signed-in browser: nothing of the anonymous session carries
            # over (a fixed session id or CSRF token planted before sign-in is worthless).
            session.clear()
            session["sid"] = sid
            if language:
                session["lang"] = language
            session.permanent = True
            return redirect(target or url_for("web.home"))
        db.commit()
        failed = True
        if services.locked(db, accounts, person.email_key, _now()):
            session.pop("pending", None)
            return render_template("web/sign_in.html", form=SignInForm(), failed=True, ended=False)
    elif request.method == "POST":
        failed = True
    return render_template("web/second_factor.html", form=form, failed=failed)


@blp.route("/sign-out", methods=["POST"])
def sign_out():  # type: ignore[no-untyped-def]
    sid = session.get("sid")
    if sid:
        db = per_request.session()
        services.close_session(db, sid)
        db.commit()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You are signed out."), "info")
    return redirect(url_for("web.sign_in"))


@blp.route("/language", methods=["POST"])
def choose_language():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    if not form.validate_on_submit() or form.language.data not in LANGUAGES:
        abort(400)
    session["lang"] = form.language.data
    person = viewer()
    if person is not None:
        db = per_request.session()
        row = db.get(Person, person.person_id)
        if row is not None:
            services.set_language(db, row, form.language.data)
            db.commit()
    return redirect(safe_next(form.next.data) or url_for("web.home"))


# Invitation: password, then the authenticator app ------------------------------------------------


def _invited(token: str) -> Person:
    person = services.invited_person(per_request.session(), token, _now())
    if person is None:
        abort(404)
    return person


@blp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):  # type: ignore[no-untyped-def]
    if viewer() is not None:
        return redirect(url_for("web.home"))
    person = _invited(token)
    accounts = _state().accounts
    if person.password_hash is not None:
        return _enrol_page(token, person, CodeForm(), failed=False)
    form = NewPasswordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        problems = services.password_problems(form.password.data or "")
        if not problems:
            db = per_request.session()
            services.set_password(person, accounts, form.password.data or "")
            services.new_totp(person, accounts)
            db.commit()
            return redirect(url_for("web.invitation", token=token))
    return render_template("web/invitation.html", form=form, problems=problems,
                           minimum=services.PASSWORD_MIN)


def _enrol_page(token: str, person: Person, form: CodeForm, failed: bool):  # type: ignore[no-untyped-def]
    secret = _state().accounts.totp_secret(person)
    uri = services.provisioning_uri(secret, f"{person.id.hex[:8]}")
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("web/enrol.html", form=form, failed=failed, qr=qr_svg(uri, _("QR code for your authenticator app")), secret=grouped,
                           action=url_for("web.confirm_invitation", token=token))


@blp.route("/invitation/<token>/confirm", methods=["POST"])
def confirm_invitation(token: str):  # type: ignore[no-untyped-def]
    person = _invited(token)
    if person.password_hash is None:
        return redirect(url_for("web.invitation", token=token))
    form = CodeForm()
    if form.validate_on_submit():
        db = per_request.session()
        if services.confirm_totp(db, person, _state().accounts, form.code.data or "", _now()):
            db.commit()
            flash(_("Your account is ready. Sign in with your e-mail address, password and a code from your app."), "success")
            return redirect(url_for("web.sign_in"))
    return _enrol_page(token, person, form, failed=True)


@blp.app_context_processor
def _forms():  # type: ignore[no-untyped-def]
    # The header's language and sign-out forms, on every page.
    return {"language_form": lambda: LanguageForm(formdata=None, language=language(),
                                                  next=request.full_path.rstrip("?") if request.method == "GET" else None),
            "sign_out_form": lambda: EmptyForm(formdata=None)}
