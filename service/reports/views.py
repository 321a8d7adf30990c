"""Report endpoints: thin, they parse, call `services.submit` and shape the answer."""

from __future__ import annotations

import msgspec
from flask import current_app
from flask_smorest import Blueprint

from service.bodies import body_doc, parse, respond, response_doc
from service.errors import error_responses, fail
from service.partners.auth import current_principal, requires
from service.partners.services import Role
from service.reports import services
from service.reports.schemas import (
    BatchResult,
    FieldBatchIn,
    PharmacyBatchIn,
    PharmacyReportIn,
    ReportResult,
)
from service.reports.services import Channel, Reporter

blp = Blueprint("reports", __name__, url_prefix="/v1", description="Report intake from pharmacies and field devices.")

BATCH_RESPONSES = {
    "200": response_doc(BatchResult, "One result per report, in request order. Valid reports are stored even when others are rejected."),
    **error_responses(400, 413, 415, 422),
}


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _reporter(channel: Channel) -> Reporter:
    principal = current_principal()
    # A pharmacy is one reporter whatever terminal it uses; a field device is its own.
    ident = principal.organisation_id if channel is Channel.PHARMACY else principal.credential_id
    return Reporter(principal.organisation_id, ident, principal.area if channel is Channel.PHARMACY else None)


def _submit(channel: Channel, items: list[bytes]) -> list[ReportResult]:
    state = _state()
    return services.submit(state.intake, channel, _reporter(channel), items, state.clock())


def _batch(channel: Channel, kind: type[PharmacyBatchIn] | type[FieldBatchIn]):  # type: ignore[no-untyped-def]
    batch = parse(kind)
    limit = current_app.config["BATCH_MAX"]
    if len(batch.reports) > limit:
        fail(422, errors={"json": {"reports": [f"At most {limit} reports per batch."]}})
    results = _submit(channel, batch.reports)  # type: ignore[arg-type]
    counts = {status: sum(1 for r in results if r.status == status) for status in ("accepted", "rejected", "conflict")}
    return respond(BatchResult(counts["accepted"], counts["rejected"], counts["conflict"], results))


@blp.route("/pharmacy/reports", methods=["POST"])
@blp.doc(
    operationId="submitPharmacyReport",
    requestBody=body_doc(PharmacyReportIn),
    responses={
        "201": response_doc(ReportResult, "Stored (or, for a replayed client_id, stored before)."),
        **error_responses(400, 409, 413, 415, 422),
    },
)
@requires(Role.PHARMACY)
def submit_pharmacy_report():  # type: ignore[no-untyped-def]
    """Submit one anonymised report from a pharmacy."""
    body = parse(msgspec.Raw)
    (result,) = _submit(Channel.PHARMACY, [body])  # type: ignore[list-item]
    if result.status == "rejected":
        fail(422, errors={"json": result.errors})
    if result.status == "conflict":
        fail(409, "This client_id was already used for a different report.", errors={"json": result.errors})
    return respond(result, 201)


@blp.route("/pharmacy/reports/batch", methods=["POST"])
@blp.doc(operationId="submitPharmacyBatch", requestBody=body_doc(PharmacyBatchIn), responses=BATCH_RESPONSES)
@requires(Role.PHARMACY)
def submit_pharmacy_batch():  # type: ignore[no-untyped-def]
    """Submit a batch of pharmacy reports; each is accepted or refused on its own."""
    return _batch(Channel.PHARMACY, PharmacyBatchIn)


@blp.route("/field/reports/batch", methods=["POST"])
@blp.doc(operationId="syncFieldReports", requestBody=body_doc(FieldBatchIn), responses=BATCH_RESPONSES)
@requires(Role.FIELD_DEVICE)
def sync_field_reports():  # type: ignore[no-untyped-def]
    """Sync a field device's offline reports; replays are acknowledged without duplicates."""
    return _batch(Channel.FIELD, FieldBatchIn)
