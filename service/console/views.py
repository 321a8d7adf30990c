"""The DPO's console: read-only pages over the same services as GET /v1/dpo/... (service.dpo.services).

The audit page checks the log twice: the server's verdict (the same verification as the API's),
and the DPO's own browser, which fetches the entries and the signed checkpoints from the two JSON
routes here and checks the hash chain and the Ed25519 signatures itself (web/static/js/
audit-page.js). Those routes answer exactly the API's bodies, authenticated by the session cookie
instead of a bearer token, so the browser needs no token and checks what any verifier would.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any

from flask import abort, current_app, render_template, request
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import lazy_gettext as _l

from crypto.audit import public_key_id
from service.bodies import respond
from service.console.chart import stacked
from service.dpo import services
from service.web.pages import PageBlueprint, page

blp = PageBlueprint("console", __name__, url_prefix="/dpo")
blp.nav("console.overview", _l("Compliance"), roles=("dpo",))
blp.nav("console.runs", _l("Retention runs"), roles=("dpo",))
blp.nav("console.inventory", _l("Inventory"), roles=("dpo",))
blp.nav("console.processing_record", _l("Record of processing"), roles=("dpo",))
blp.nav("console.audit", _l("Audit log"), roles=("dpo",))

# The runs page shows the outcomes of this many runs (one outcome per data class per run).
RUNS_SHOWN = 10


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _when(value: str | dt.datetime | None) -> str:
    """A stored ISO time in the person's language and the deployment's time zone."""
    if value is None:
        return ""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return format_datetime(moment, "medium")


def _number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return format_decimal(round(value, digits) if digits else value, format="#,##0" + ("." + "#" * digits if digits else ""))


def _day(value: str | dt.date, fmt: str = "medium") -> str:
    return format_date(value if isinstance(value, dt.date) else dt.date.fromisoformat(value), fmt)


# What the policy's on_expiry and the inventory's key states are called on the pages.
EXPIRY_NAMES = {"shred": _l("Crypto-shredding"), "delete": _l("Deletion"), "anonymise": _l("Anonymisation")}
KEY_NAMES = {"live": _l("exists"), "destroyed": _l("destroyed"), "none": _l("not encrypted")}
# The record's words for the same (retention/record.py's EXPIRY_TEXT, translated).
EXPIRY_DETAILS = {
    "shred": _l("data key destroyed (crypto-shredding), then rows deleted"),
    "delete": _l("rows deleted"),
    "anonymise": _l("identifying fields overwritten"),
}
# The policy file's fields that the record lists under to_complete.
FIELD_NAMES = {
    "processors": _l("Processors (Art. 28)"),
    "dpia_reference": _l("Data-protection impact assessment (Art. 35)"),
    "data_subject_rights": _l("How data subjects exercise their rights (Art. 12-22)"),
}

# The in-browser check's texts (web/static/js/audit-page.js reads them from data-msg-*); the
# {name} placeholders are the script's, filled in the browser.
BROWSER_MESSAGES = {
    "working": _l("Fetching the audit log and checking it in this browser…"),
    "ok": _l("Verified in this browser: entries {first} to {last}; signed checkpoints that match: {checkpoints} "
             "(key {key_id}); later entries not signed yet: {unsigned}."),
    "broken": _l("The audit log does not verify in this browser, first at entry {seq}: {problem}"),
    "invalid": _l("The audit log cannot be checked: {problem}"),
    "nokey": _l("This browser cannot verify Ed25519 signatures: use a current browser (or safesignal audit verify)."),
    "fetch-error": _l("The audit log could not be fetched (status {status})."),
    "saved-ok": _l("The saved checkpoints still match the audit log (key {key_id}): checkpoints compared: "
                   "{matched}; of them before entries pruned since: {pruned}."),
    "saved-broken": _l("The audit log no longer matches the saved checkpoints, first at entry {seq}: {problem}"),
    "file-error": _l("The file could not be read as saved checkpoints."),
    "not-saved": _l("Not saved: the audit log does not verify."),
    "mac": _l("The entries' MACs can only be checked by the server: this check rests on the hash chain and the "
              "signatures."),
    # audit-verify.js's CHECKS: what is wrong at the entry named.
    "check-unsupported": _l("this browser cannot verify Ed25519 signatures (or has no WebCrypto)"),
    "check-malformed": _l("the data is not in the audit log's format"),
    "check-public-key": _l("the public key is not a 32-byte Ed25519 key in hex"),
    "check-key-changed": _l("the saved checkpoints name another public key than the one given"),
    "check-entry-missing": _l("an entry is missing (removed, or the entries are out of order)"),
    "check-entry-order": _l("an entry is out of order or repeated"),
    "check-entry-link": _l("an entry does not follow the entry before it (removed or reordered)"),
    "check-entry-hash": _l("an entry was altered: its content does not match its hash"),
    "check-entry-time": _l("an entry's time is before the previous entry's, or in the future"),
    "check-checkpoint-key": _l("a checkpoint was signed by another key"),
    "check-checkpoint-signature": _l("a checkpoint's signature does not verify"),
    "check-checkpoint-mismatch": _l("a signed checkpoint does not match the hash recomputed at its entry"),
    "check-checkpoint-beyond": _l("a signed checkpoint covers an entry past the end of the log: entries were removed"),
    "check-start-unanchored": _l("the start of the pruned log is not anchored by a signed checkpoint"),
    "check-start-unrecorded": _l("the log starts after entry 1 but no audit.pruned entry records the prune"),
    "check-prune-invalid": _l("an audit.pruned entry does not justify the log's start"),
}


@blp.context_processor
def _helpers() -> dict[str, Any]:
    return {"when": _when, "number": _number, "day": _day, "expiry_names": EXPIRY_NAMES, "key_names": KEY_NAMES}


def _class_count(retention: Any) -> int:
    return len(list(retention.holdings))


@blp.route("/")
@page("dpo")
def overview():  # type: ignore[no-untyped-def]
    """Compliance per data class now, and when retention last ran."""
    state = _state()
    compliance = services.compliance(state.retention, state.clock())
    latest = services.retention_runs(state.retention, 1)
    overdue = [c for c in compliance.data_classes if not c.compliant]
    return render_template("console/overview.html", compliance=compliance, overdue=overdue,
                           on_time=len(compliance.data_classes) - len(overdue),
                           last_run=latest[0] if latest else None)


@blp.route("/runs")
@page("dpo")
def runs():  # type: ignore[no-untyped-def]
    """The latest retention runs, newest first, one table per run."""
    retention = _state().retention
    # One run more than shown, so that the last run shown is whole; each in its purge order.
    outcomes = services.retention_runs(retention, min(1000, (RUNS_SHOWN + 1) * _class_count(retention)))
    grouped = [(run_id, list(items)[::-1]) for run_id, items in groupby(outcomes, key=lambda run: run.run_id)]
    return render_template("console/runs.html", runs=grouped[:RUNS_SHOWN])


@blp.route("/inventory")
@page("dpo")
def inventory():  # type: ignore[no-untyped-def]
    """Records per data class and UTC day: a chart drawn here, and the table it is drawn from."""
    rows = services.inventory(_state().retention)
    return render_template("console/inventory.html", rows=rows, chart=stacked(rows))


@blp.route("/record")
@page("dpo")
def processing_record():  # type: ignore[no-untyped-def]
    """The GDPR Art. 30 record of processing activities, to read or print."""
    state = _state()
    return render_template("console/record.html", record=services.processing_record(state.retention),
                           printed=state.clock(), expiry_details=EXPIRY_DETAILS, field_names=FIELD_NAMES,
                           policy_language=current_app.config["CONSOLE_POLICY_LANGUAGE"])


@blp.route("/audit")
@page("dpo")
def audit():  # type: ignore[no-untyped-def]
    """The server's verdict on the audit log, and the DPO's own check in this browser."""
    retention = _state().retention
    public_key = retention.public_key
    return render_template("console/audit.html", verification=services.verification(retention),
                           public_key=public_key.hex(), key_id=public_key_id(public_key),
                           period_days=retention.policies["audit_log"].period_days,
                           browser_messages=BROWSER_MESSAGES)


# The in-browser check's data: the API's bodies, for the signed-in DPO (GET only, so no CSRF;
# no-store like every page, set by the shell).


def _query_int(name: str, default: int, low: int, high: int) -> int:
    value = services.integer(request.args.get(name), default, low, high)
    if value is None:
        abort(422)
    return value


@blp.route("/audit/entries.json")
@page("dpo")
def audit_entries():  # type: ignore[no-untyped-def]
    """A page of the audit log, as GET /v1/dpo/audit/entries answers it."""
    after, limit = _query_int("after", 0, 0, 2**62), _query_int("limit", 1000, 1, 5000)
    return respond(services.audit_entries(_state().engine, after, limit))


@blp.route("/audit/checkpoints.json")
@page("dpo")
def audit_checkpoints():  # type: ignore[no-untyped-def]
    """The signed checkpoints, as GET /v1/dpo/audit/checkpoints answers them."""
    state = _state()
    return respond(services.checkpoints(state.engine, state.retention.public_key))
