"""The pharmacy counter's pages: a report in one click, and verification codes where granted.

Both call the API's own service functions with the signed-in person's pharmacy, so a page can
store or issue nothing the API would not for that pharmacy:

- a report goes through the pharmacy channel's decoder and `reports.services.submit`, with the
  pharmacy as its reporter (one reporter whatever terminal or person sends, as on the API);
- a code comes from `tracing.codes.issue_code`, under the same grant and daily quota; sent by SMS,
  from `tracing.services.issue_code_by_sms`, as POST /v1/tracing/codes/sms issues and queues it.

A shared counter computer keeps nothing of a report: the form posts and is redirected (303) to a
confirmation that is shown once (its data leaves the session cookie when it is read), the URL
never carries report data, the note has autocomplete off, and every page is no-store (the
shell). A verification code is shown only in the answer to its POST; that form carries a
one-time nonce, so a reload or a resent form issues nothing and shows nothing again. A code sent
by SMS is never shown at all, nor is the number it went to: the number typed is never written back
into a page, not even beside its error, and is kept only in the outbox's sealed row until sent.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from service import per_request
from service.counter.forms import TEXT_LANGUAGES, CodeForm, ReportForm, SmsCodeForm
from service.reports import services as reports
from service.reports.registry import CHANNELS
from service.screening import PersonalDataKind, screen
from service.sms import services as sms
from service.tracing import codes
from service.tracing import services as tracing
from service.web.labels import Label, label
from service.web.pages import PageBlueprint, Viewer, page, viewer
from service.web.qr import qr_svg
from service.web.shell import language

log = logging.getLogger(__name__)

blp = PageBlueprint("counter", __name__, url_prefix="/counter")
blp.nav("counter.report", _l("Report"), roles=("pharmacy",))
blp.nav("counter.code", _l("Verification code"), roles=("pharmacy",))

PHARMACY = CHANNELS["pharmacy"]

# The categories a pharmacy reports most, as large buttons in this order ("Masker 19" first);
# the taxonomy's other pharmacy categories are one step away. A code the deployment's taxonomy
# does not have (or not for pharmacies) is left out.
FREQUENT = (
    "dv_mask19",
    "harm_reduction_naloxone",
    "harm_reduction_syringe_exchange",
    "medication_unaffordable",
    "elderly_isolation",
    "mental_distress_acute",
)
# The name of the code word a victim says at the counter, as the campaign calls it in each language.
SHORT_NAMES = {"dv_mask19": _l("Masker 19")}

SENT_KEY = "counter_sent"
NONCE_KEY = "counter_code_nonces"
NONCES_KEPT = 5  # a few code forms open at once (two tabs) each keep theirs


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _now() -> dt.datetime:
    return _state().clock()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Choice:
    code: str
    label: Label
    short: str | None = None


def _choices() -> tuple[list[Choice], list[tuple[Label, list[Choice]]]]:
    """The frequent pharmacy categories in order, and the others grouped by phenomenon."""
    taxonomy = _state().intake.taxonomy
    current = language()
    allowed = {code: category for code, category in taxonomy.categories.items() if PHARMACY.name in category.channels}
    frequent = [Choice(code, label(allowed[code].labels, current), str(SHORT_NAMES[code]) if code in SHORT_NAMES else None)
                for code in FREQUENT if code in allowed]
    shown = {choice.code for choice in frequent}
    groups = []
    for phenomenon, labels in taxonomy.phenomena.items():
        rest = [Choice(code, label(category.labels, current)) for code, category in allowed.items()
                if category.phenomenon == phenomenon and code not in shown]
        if rest:
            groups.append((label(labels, current), rest))
    return frequent, groups


def _referral_kinds() -> list[Choice]:
    current = language()
    return [Choice(code, label(labels, current)) for code, labels in _state().intake.taxonomy.referral_kinds.items()]


@dataclass(frozen=True)
class _Pharmacy:
    """The signed-in person's pharmacy as a report channel reads its caller
    (service.reports.channels.Principal): the pharmacy is the reporter, not the person."""

    credential_id: uuid.UUID  # unused by the pharmacy channel; a person signs in without a credential
    organisation_id: uuid.UUID
    area: str | None


def _pharmacy(person: Viewer) -> _Pharmacy:
    return _Pharmacy(person.person_id, person.organisation_id, person.area)


# Report ------------------------------------------------------------------------------------------


@blp.route("/", methods=["GET", "POST"])
@page("pharmacy")
def report():  # type: ignore[no-untyped-def]
    """The report form; a category button sends it."""
    form = ReportForm()
    errors: dict[str, list[str]] = {}
    notice = None
    if request.method == "POST":
        if form.validate_on_submit():
            outcome = _send(form)
            if isinstance(outcome, Sent):
                session[SENT_KEY] = outcome.shown()
                return redirect(url_for("counter.report_sent"), 303)
            errors = outcome
        else:
            errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
        if "client_id" in errors or "conflict" in errors:
            # A tampered or reused form: start from a fresh one, nothing stored.
            notice = _("This form was already used. Nothing new was stored; choose the category again.")
            errors.pop("client_id", None)
            errors.pop("conflict", None)
    form.client_id.data = secrets.token_urlsafe(16)
    frequent, groups = _choices()
    status = 422 if errors or notice else 200
    return render_template("counter/report.html", form=form, errors=errors, notice=notice, frequent=frequent,
                           groups=groups, referral_kinds=_referral_kinds(),
                           note_max=_state().intake.rules.note_max_length), status


@dataclass(frozen=True)
class Sent:
    """What the confirmation shows of a stored report: its category, whether it had a note, and
    how many findings of each kind were removed from it. Never the note."""

    category: str
    had_note: bool
    removed: dict[str, int]

    def shown(self) -> dict[str, Any]:
        return {"category": self.category, "note": self.had_note, "removed": self.removed}


def _send(form: ReportForm) -> Sent | dict[str, list[str]]:
    """Submit the form's report through the pharmacy channel: what the confirmation shows, or field errors."""
    state = _state()
    now = _now()
    person = viewer()
    assert person is not None
    errors: dict[str, list[str]] = {}
    category = form.category.data or ""
    if not state.intake.taxonomy.allows(category, PHARMACY.name):
        errors["category"] = [_("Choose one of the categories shown.")]
    referral, referral_kind = False, None
    chosen = form.referral.data or ""
    if chosen == "yes":
        referral = True
    elif chosen:
        if chosen not in state.intake.taxonomy.referral_kinds:
            errors["referral"] = [_("Choose a referral from the list.")]
        referral, referral_kind = True, chosen
    note = (form.note.data or "").strip() or None
    limit = state.intake.rules.note_max_length
    if note is not None and len(note) > limit:
        errors["note"] = [_("The note is too long: at most %(limit)d characters.", limit=limit)]
    observed = now
    if form.observed_time.data is not None:
        # The pages' time zone (the deployment's, Europe/Brussels), with its own DST rules.
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        local = now.astimezone(zone)
        observed = dt.datetime.combine(local.date(), form.observed_time.data, zone).astimezone(dt.timezone.utc)
        if observed > now:
            errors["observed_time"] = [_("This time is later than now: enter a time earlier today.")]
    if errors:
        return errors

    body: dict[str, Any] = {"category": category, "observed_at": observed.isoformat(), "referral": referral,
                            "client_id": form.client_id.data}
    if referral_kind is not None:
        body["referral_kind"] = referral_kind
    if note is not None:
        body["note"] = note
    # The API's own path: the channel decodes the JSON report, intake checks and stores it.
    decoded = PHARMACY.decode(msgspec.json.encode(body))
    (result,) = reports.submit(state.intake, PHARMACY, PHARMACY.reporter(_pharmacy(person)), [decoded], now)
    if result.status == "conflict":
        return {"conflict": ["conflict"]}
    if result.status == "rejected":
        return _service_errors(result.errors or {}, note)
    found = screen(note).found if note and result.redactions else ()
    return Sent(category, note is not None, dict(Counter(str(kind) for kind in found)))


def _service_errors(errors: Mapping[str, list[str]], note: str | None) -> dict[str, list[str]]:
    """Intake's refusals (in English, for the API) as the person's language says them, by field."""
    said: dict[str, list[str]] = {}
    for name in errors:
        if name == "note" and note:
            kinds = ", ".join(str(KIND_NAMES[kind]) for kind in screen(note).kinds)
            said["note"] = [_("The note contains personal data (%(kinds)s): remove it and send again.", kinds=kinds)]
        elif name == "observed_at":
            said["observed_time"] = [_("This time is outside what can be reported: enter a time earlier today.")]
        elif name == "referral_kind":
            said["referral"] = [_("Choose a referral from the list.")]
        elif name == "category":
            said["category"] = [_("Choose one of the categories shown.")]
        else:
            said["_schema"] = [_("This pharmacy has no registered area yet: ask the service operator to set it.")]
    return said


KIND_NAMES = {
    PersonalDataKind.EMAIL: _l("e-mail address"),
    PersonalDataKind.PHONE: _l("phone number"),
    PersonalDataKind.NATIONAL_NUMBER: _l("national register number"),
    PersonalDataKind.IBAN: _l("bank account number"),
    PersonalDataKind.LICENCE_PLATE: _l("licence plate"),
}


def removed_sentences(removed: Mapping[str, int]) -> list[str]:
    """'A phone number was removed.' and the like, one sentence per kind, in the person's language."""
    sentences = []
    for kind in PersonalDataKind:
        n = int(removed.get(str(kind), 0))
        if n <= 0:
            continue
        if kind is PersonalDataKind.EMAIL:
            sentences.append(ngettext("An e-mail address was removed.", "%(num)d e-mail addresses were removed.", n))
        elif kind is PersonalDataKind.PHONE:
            sentences.append(ngettext("A phone number was removed.", "%(num)d phone numbers were removed.", n))
        elif kind is PersonalDataKind.NATIONAL_NUMBER:
            sentences.append(ngettext("A national register number was removed.",
                                      "%(num)d national register numbers were removed.", n))
        elif kind is PersonalDataKind.IBAN:
            sentences.append(ngettext("A bank account number was removed.", "%(num)d bank account numbers were removed.", n))
        elif kind is PersonalDataKind.LICENCE_PLATE:
            sentences.append(ngettext("A licence plate was removed.", "%(num)d licence plates were removed.", n))
    return sentences


@blp.route("/sent")
@page("pharmacy")
def report_sent():  # type: ignore[no-untyped-def]
    """The confirmation, shown once: a reload or a visit from the history goes back to the form."""
    sent = session.pop(SENT_KEY, None)
    if not isinstance(sent, dict) or not isinstance(sent.get("category"), str):
        return redirect(url_for("counter.report"), 303)
    category = _state().intake.taxonomy.categories.get(sent["category"])
    if category is None:
        return redirect(url_for("counter.report"), 303)
    shown = Choice(category.code, label(category.labels, language()),
                   str(SHORT_NAMES[category.code]) if category.code in SHORT_NAMES else None)
    removed = sent.get("removed") if isinstance(sent.get("removed"), dict) else {}
    return render_template("counter/sent.html", sent=shown, had_note=bool(sent.get("note")),
                           removed=removed_sentences(removed))  # type: ignore[arg-type]


# Verification codes ------------------------------------------------------------------------------


def _issuing() -> tracing.Issuing:
    person = viewer()
    assert person is not None
    return tracing.issuing(per_request.session(), _state().tracing, person.organisation_id, now=_now())


def _new_nonce() -> str:
    nonce = secrets.token_urlsafe(16)
    kept = [value for value in session.get(NONCE_KEY, []) if isinstance(value, str)][-(NONCES_KEPT - 1):]
    session[NONCE_KEY] = [*kept, nonce]
    return nonce


def _spend_nonce(nonce: str | None) -> bool:
    """Whether `nonce` is one this browser's code forms were given and not used yet (it is used now)."""
    kept = [value for value in session.get(NONCE_KEY, []) if isinstance(value, str)]
    for value in kept:
        if nonce and hmac.compare_digest(value, nonce):
            kept.remove(value)
            session[NONCE_KEY] = kept
            return True
    return False


def _code_page(form: CodeForm, status: int = 200, problem: str | None = None):  # type: ignore[no-untyped-def]
    issuing = _issuing()
    form.nonce.data = _new_nonce() if issuing.permitted else None
    today = _now().astimezone(dt.timezone.utc).date()
    # The SMS way's fields: the number is never written back (the template's input is always
    # empty), only its error and the language chosen are.
    phone_errors = list(form.phone.errors) if isinstance(form, SmsCodeForm) else []
    text_language = form.text_language.data if isinstance(form, SmsCodeForm) else None
    return render_template("counter/code.html", form=form, issuing=issuing, problem=problem,
                           earliest=(today - codes.MAX_ONSET_AGE).isoformat(),
                           latest=(today + dt.timedelta(days=1)).isoformat(),
                           sms=sms.available(_state()), phone_errors=phone_errors,
                           text_languages=TEXT_LANGUAGES,
                           text_language=text_language if text_language in dict(TEXT_LANGUAGES) else language()), status


@blp.route("/code", methods=["GET", "POST"])
@page("pharmacy")
def code():  # type: ignore[no-untyped-def]
    """Verification codes: where the pharmacy may, the form; otherwise why not. A POST issues a
    code and shows it in its answer only (never in a URL, never again)."""
    if request.method == "GET":
        return _code_page(CodeForm(formdata=None))
    form = CodeForm()
    refused = _refused(form)
    if refused is not None:
        return refused
    state = _state()
    issued, refusal = _issue(form, lambda db, organisation_id, onset: codes.issue_code(
        db, state.pseudonyms, organisation_id, onset, now=_now(), rules=state.tracing.code_rules))
    if issued is None:
        return refusal
    record, digits = issued
    onset = _onset(form)
    # The tracing app has no deep link: it takes the twelve digits as typed (POST
    # /v1/tracing/verify ignores spaces), so the QR code holds the digits alone.
    qr = qr_svg(digits.replace(" ", ""), _("QR code of the verification code, for the app"))
    return render_template("counter/issued.html", code=digits, groups=digits.split(" "), qr=qr,
                           expires_at=format_time(record.expires_at, "short"),
                           minutes=int(state.tracing.code_rules.ttl.total_seconds() // 60),
                           onset=onset, onset_date=format_date(onset.date, "long"), issuing=_issuing())


@blp.route("/code/sms", methods=["POST"])
@page("pharmacy")
def code_sms():  # type: ignore[no-untyped-def]
    """The code form's second button: issue a code and text it to the number typed. The answer says
    whether it was sent and until when it is valid; never the code, never the number."""
    form = SmsCodeForm()
    state = _state()
    if _issuing().permitted and not sms.available(state):
        # A form from before the provider was removed, or a crafted post: nothing is issued.
        return _code_page(CodeForm(formdata=None), 409, str(NO_SMS))
    refused = _refused(form)
    if refused is not None:
        return refused
    issued, refusal = _issue(form, lambda db, organisation_id, onset: tracing.issue_code_by_sms(
        db, state, organisation_id, onset, phone=form.phone.data or "", language=form.text_language.data or "nl",
        now=_now()))
    if issued is None:
        return refusal
    record, queued = issued
    # Before the request's session is used again: on SQLite its next transaction would hold the
    # write lock that the outbox's own session waits for.
    delivery = _deliver(queued)
    onset = _onset(form)
    return render_template("counter/texted.html", delivery=delivery,
                           expires_at=format_time(record.expires_at, "short"),
                           minutes=int(state.tracing.code_rules.ttl.total_seconds() // 60),
                           onset=onset, onset_date=format_date(onset.date, "long"), issuing=_issuing())


NO_SMS = _l("Texts cannot be sent from this service: no SMS provider is set up. Issue the code and read it out.")


def _onset(form: CodeForm) -> codes.Onset:
    return codes.Onset(form.kind.data or "test", form.day.data)  # type: ignore[arg-type]


def _refused(form: CodeForm):  # type: ignore[no-untyped-def]
    """The code page saying why this post issues nothing (no grant, a bad field, a used form), or None."""
    if not _issuing().permitted:
        # As the API answers a pharmacy without the grant: 403, whatever the form says.
        return _code_page(CodeForm(formdata=None), 403)
    if not form.validate_on_submit():
        return _code_page(form, 422)
    if not _spend_nonce(form.nonce.data):
        return _code_page(CodeForm(formdata=None), 409,
                          _("This form was already used: no new code was issued, and a code is never shown twice. "
                            "Fill in the form again for a new code."))
    return None


def _issue(form: CodeForm, issue: Callable[[Any, uuid.UUID, codes.Onset], tuple[Any, Any]]) -> tuple[Any, Any]:
    """Run `issue` (codes.issue_code or its SMS twin) for the signed-in person's pharmacy and commit:
    (its result, None), or (None, the code page saying why not) with everything rolled back."""
    person = viewer()
    assert person is not None
    db = per_request.session()
    onset = _onset(form)
    try:
        result = issue(db, person.organisation_id, onset)
    except codes.BadOnset:
        db.rollback()
        today = _now().astimezone(dt.timezone.utc).date()
        form.day.errors = [_("This date lies in the future.") if onset.date > today
                           else _("This date lies more than 14 days back: no code can be issued for it.")]
        return None, _code_page(form, 422)
    except codes.NotPermitted:
        db.rollback()
        return None, _code_page(CodeForm(formdata=None), 403)
    except codes.QuotaExceeded:
        db.rollback()  # the count raised by the refused attempt goes too (codes.issue_code)
        return None, _code_page(CodeForm(formdata=None), 429,
                                _("This pharmacy has issued all its codes for today. New codes can be issued tomorrow."))
    except tracing.BadPhone:
        db.rollback()
        form.phone.errors = [_("This is not a mobile number a text can be sent to. Check it and type it again.")]
        return None, _code_page(form, 422)
    except tracing.NoSms:
        db.rollback()
        return None, _code_page(CodeForm(formdata=None), 409, str(NO_SMS))
    db.commit()
    return result, None


def _deliver(queued: uuid.UUID) -> str:
    """Try the committed text now (the outbox job retries what did not go): sent, queued or failed."""
    try:
        return tracing.delivery(sms.send_now(_state(), [queued]))
    except Exception as error:  # noqa: BLE001 - the code and its text are committed: the outbox job sends it
        # The class only: nothing of the row, the number or the text reaches the log.
        log.warning("sms outbox: sending a code right after issuing it failed (%s); the outbox job retries",
                    type(error).__name__)
        return "queued"
