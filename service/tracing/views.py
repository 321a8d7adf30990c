"""Contact tracing endpoints: pharmacies issue codes; apps exchange them, upload keys and download exports.

Apps call without credentials: the code, then the token, are the credential. Nothing on this
path logs or stores an IP address, a user agent, a code or a token (gunicorn runs without an
access log; the one log line here names an error's class, nothing else).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from typing import Any

from flask import Response, current_app, g, request
from flask_smorest import Blueprint

from service import errors, per_request
from service.bodies import body_doc, parse, respond, response_doc
from service.errors import error_responses, fail
from service.partners.auth import current_principal, requires
from service.partners.services import Role
# The module under another name: `exchange` is this blueprint's view (and its endpoint's name).
from service.tracing import codes, exchange as redemption, exports, services, uploads
from service.tracing.chaff import FAKE_HEADER, is_fake, padded
from service.sms import services as sms
from service.tracing.schemas import (
    ExchangeIn,
    ExchangeOut,
    IssueCodeBySmsIn,
    IssueCodeIn,
    IssuedCode,
    IssuedCodeBySms,
    UploadIn,
    UploadOut,
)
from service.tracing.tokens import InvalidToken

log = logging.getLogger(__name__)

blp = Blueprint("tracing", __name__, url_prefix="/v1/tracing", description="Decentralised contact tracing (exposure notification).")

_ONSET_FIELDS = {"test": "test_date", "symptoms": "symptom_onset"}
_CODE_TYPO = "Not a valid code: twelve digits, the last a check digit. Check for a typo."


def _retry_after(error: Any) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after)}


# The answers of the tracing errors (service.errors); on /verify and /keys they leave padded,
# at the response clock's deadline, like every other answer there (_pad_and_hold).
errors.register(codes.BadOnset, 422, errors=lambda error: {"json": {_ONSET_FIELDS.get(error.kind, "_schema"): [str(error)]}})
errors.register(codes.NotPermitted, 403, "This pharmacy may not issue verification codes: the operator grants it (safesignal tracing grant).")
errors.register(codes.QuotaExceeded, 429, "This pharmacy has issued its quota of codes for today (UTC).", headers=_retry_after)
errors.register(codes.MalformedCode, 422, errors=lambda _: {"json": {"code": [_CODE_TYPO]}})
errors.register(codes.InvalidCode, 403, "Unknown, used or expired code: ask the pharmacy for a new one.")
errors.register(codes.TooManyFailures, 429, "Too many wrong codes were tried this hour; try again later.", headers=_retry_after)
errors.register(InvalidToken, 403, "Invalid or expired upload token: exchange a new code.")
errors.register(uploads.InvalidKeys, 422, errors=lambda error: {"json": error.errors})
errors.register(services.ReplayedToken, 409, "This upload token was used already.")
# 409, not 422: the request is valid, but this deployment has no SMS provider, a state of the
# server the body cannot change (the caller falls back to POST /v1/tracing/codes and reads it out).
errors.register(services.NoSms, 409, "Texts cannot be sent from this deployment (no SMS provider is configured): "
                                     "issue the code with POST /v1/tracing/codes and read it out.")
errors.register(services.BadPhone, 422, errors=lambda error: {"json": {"phone": [str(error)]}})

INDEX_MAX_AGE = 300
FILE_MAX_AGE = 86400
_FAKE_PARAMETER = {
    "in": "header", "name": FAKE_HEADER, "required": False, "schema": {"type": "string", "enum": ["0", "1"]},
    "description": "1 marks a fake request (plausible deniability): it is answered like a real success, with "
                   "the same status, size and timing, and changes nothing. Real requests send 0.",
}


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


@blp.route("/codes", methods=["POST"])
@blp.doc(
    operationId="issueVerificationCode",
    requestBody=body_doc(IssueCodeIn),
    responses={"201": response_doc(IssuedCode, "The code, shown once."), **error_responses(400, 415, 422, 429)},
)
@requires(Role.PHARMACY)
@per_request.transactional
def issue_code():  # type: ignore[no-untyped-def]
    """Issue a one-time verification code after a positive test.

    Only pharmacies the operator has granted tracing (`safesignal tracing grant`). The code
    expires after SAFESIGNAL_TRACING_CODE_TTL_MINUTES; each pharmacy may issue
    SAFESIGNAL_TRACING_CODES_PER_DAY codes per UTC day (429 with Retry-After past it).
    """
    body = parse(IssueCodeIn)
    onset = _onset(body)
    state = _state()
    record, code = codes.issue_code(
        per_request.session(), state.pseudonyms, current_principal().organisation_id, onset,
        now=state.clock(), rules=state.tracing.code_rules,
    )
    return respond(
        IssuedCode(code, _iso(record.expires_at), onset.kind, onset.date.isoformat()), 201, headers={"Cache-Control": "no-store"}
    )


def _onset(body: IssueCodeIn | IssueCodeBySmsIn) -> codes.Onset:
    """The one date given, or 422."""
    if (body.test_date is None) == (body.symptom_onset is None):
        fail(422, errors={"json": {"_schema": ["Give exactly one of test_date and symptom_onset."]}})
    if body.test_date is not None:
        return codes.Onset("test", body.test_date)
    return codes.Onset("symptoms", body.symptom_onset)  # type: ignore[arg-type]


@blp.route("/codes/sms", methods=["POST"])
@blp.doc(
    operationId="issueVerificationCodeBySms",
    requestBody=body_doc(IssueCodeBySmsIn),
    responses={"201": response_doc(IssuedCodeBySms, "Issued and texted (or queued): the answer never holds the code."),
               **error_responses(400, 409, 415, 422, 429)},
)
@requires(Role.PHARMACY)
def issue_code_by_sms():  # type: ignore[no-untyped-def]
    """Issue a one-time verification code and send it by SMS to the person's mobile number.

    As POST /v1/tracing/codes (the grant, the daily quota, the dates), but the code goes only to the
    phone, in one text in `language`, and the answer says whether the provider took it (`delivery`).
    The number is used once, through the encrypted outbox, and is never stored elsewhere, logged or
    answered back. A number that is not a mobile one gets 422 on `phone`; a deployment without an
    SMS provider gets 409. In either case, or when the text cannot be queued, no code is issued.
    """
    body = parse(IssueCodeBySmsIn)
    onset = _onset(body)
    state = _state()
    session = per_request.session()
    record, queued = services.issue_code_by_sms(session, state, current_principal().organisation_id, onset,
                                                phone=body.phone, language=body.language, now=state.clock())
    session.commit()
    # Before the session is used again: on SQLite its next transaction would hold the write lock
    # that the outbox's own session waits for.
    delivery = _send(state, queued)
    answer = IssuedCodeBySms(_iso(record.expires_at), onset.kind, onset.date.isoformat(), delivery)
    return respond(answer, 201, headers={"Cache-Control": "no-store"})


def _send(state: Any, queued: Any) -> str:
    """Try the committed text now; the scheduler retries what did not go."""
    try:
        return services.delivery(sms.send_now(state, [queued]))
    except Exception as error:  # noqa: BLE001 - the code and its text are committed: the outbox job sends it
        # The class only: nothing of the row, the number or the text reaches the log.
        log.warning("sms outbox: sending a code right after issuing it failed (%s); the outbox job retries",
                    type(error).__name__)
        return "queued"


def _begin(clock: Any) -> None:
    """Mark this request for `_pad_and_hold`: its answer, whatever it is, goes out padded and held."""
    g.tracing_hold = (clock, time.perf_counter())


@blp.after_request
def _pad_and_hold(response: Response) -> Response:
    """Every answer of /verify and /keys, success or error, real or fake: padded to one size,
    not cacheable, and sent at a deadline drawn from one distribution (service.tracing.chaff)."""
    hold = g.pop("tracing_hold", None)
    if hold is None:
        return response
    body = response.get_json(silent=True) if response.mimetype == "application/json" else None
    if isinstance(body, dict):
        response.set_data(padded(body))
    response.headers["Cache-Control"] = "no-store"
    clock, started = hold
    clock.hold(started)
    return response


_PADDED = "Padded: every answer of this endpoint, success or error, is 1024 bytes (more only for a long list of field errors)."


@blp.route("/verify", methods=["POST"])
@blp.doc(
    operationId="exchangeVerificationCode",
    parameters=[_FAKE_PARAMETER],
    requestBody=body_doc(ExchangeIn),
    responses={
        "200": response_doc(ExchangeOut, "An upload token. " + _PADDED),
        **error_responses(400, 403, 413, 415, 422, 429, padded=True),
    },
)
def exchange():  # type: ignore[no-untyped-def]
    """Exchange a verification code for a short-lived, one-time upload token.

    No credential: the code is the credential. An unknown, used or expired code gets 403 (one
    answer for all three) and counts against SAFESIGNAL_TRACING_REDEEM_FAILURES_PER_HOUR, past
    which every exchange, real or fake, gets 429 until the hour ends. A code with a wrong check
    digit is a typo: 422, not counted.
    """
    state = _state()
    tracing = state.tracing
    _begin(tracing.exchange_clock)
    fake = is_fake(request.headers)
    body = parse(ExchangeIn)
    if not codes.well_formed(codes.normalise_code(body.code)):  # a fake's code is checked alike
        raise codes.MalformedCode()
    now = state.clock()
    if fake:
        with per_request.read_session() as reading:
            token, expires = services.fake_exchange(reading, tracing, now=now)
    else:
        token, expires = redemption.exchange(state, body.code, now)
    return respond({"token": token, "expires_at": _iso(expires)})


@blp.route("/keys", methods=["POST"])
@blp.doc(
    operationId="uploadExposureKeys",
    parameters=[_FAKE_PARAMETER],
    requestBody=body_doc(UploadIn),
    responses={
        "200": response_doc(UploadOut, "Stored. " + _PADDED),
        **error_responses(400, 403, 409, 413, 415, 422, padded=True),
    },
)
def upload_keys():  # type: ignore[no-untyped-def]
    """Upload one's own temporary exposure keys, spending an upload token.

    1 to 30 keys, none starting before the UTC day 14 days back or in the future, none twice,
    at most 3 with the same start (422 names each broken rule and leaves the token unspent). A
    key still valid is held back until two hours after it expires. An invalid or expired token
    gets 403, a used one 409.
    """
    state = _state()
    tracing = state.tracing
    _begin(tracing.upload_clock)
    fake = is_fake(request.headers)
    body = parse(UploadIn)
    uploaded = [
        uploads.UploadedKey(key.key_data, key.rolling_start_interval_number, key.rolling_period, key.transmission_risk_level)
        for key in body.keys
    ]
    now = state.clock()
    if fake:
        return _upload_response(services.check_fake_upload(tracing, uploaded, now=now))
    session = per_request.session()
    accepted = services.upload(session, tracing, body.token, uploaded, now=now)
    session.commit()
    return _upload_response(accepted)


def _upload_response(accepted: uploads.Accepted) -> Response:
    stored = len(accepted.now) + len(accepted.held)
    return respond({"inserted": stored, "held_back": len(accepted.held), "dropped": accepted.dropped})


@blp.route("/exports/index.txt", methods=["GET"])
@blp.doc(
    operationId="exportIndex",
    responses={
        "200": {"description": "The names of the export files kept, one per line, oldest window first.",
                "content": {"text/plain": {"schema": {"type": "string"}}}},
        "304": {"description": "Not modified (If-None-Match)."},
    },
)
def export_index():  # type: ignore[no-untyped-def]
    """The index of export files. Cacheable (ETag; Cache-Control public, 5 minutes)."""
    with per_request.read_session() as session:
        names = exports.index(session)
    body = "".join(name + "\n" for name in names).encode()
    response = Response(body, mimetype="text/plain")
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = INDEX_MAX_AGE
    return response.make_conditional(request)


@blp.route("/exports/<name>", methods=["GET"])
@blp.doc(
    operationId="exportFile",
    responses={
        "200": {"description": "A signed key export file: a zip of export.bin and export.sig.",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        "304": {"description": "Not modified (If-None-Match)."},
        **error_responses(404),
    },
)
def export_file(name: str):  # type: ignore[no-untyped-def]
    """One export file, as named in the index. Immutable: cacheable until retention deletes it."""
    state = _state()
    with per_request.read_session() as session:
        found = exports.download(session, name, request.if_none_match.contains)
    if found is None:
        fail(404)
    response = Response(found.data, mimetype="application/zip")
    response.set_etag(found.etag)
    response.cache_control.public = True
    remaining = found.window_end + state.tracing.files_kept - state.clock()
    response.cache_control.max_age = max(0, min(FILE_MAX_AGE, int(remaining.total_seconds())))
    response.cache_control.immutable = True
    return response.make_conditional(request)
