"""Report endpoints: thin, they parse, let the channel decode each report, call `services.submit`
and shape the answer."""

from __future__ import annotations

import msgspec
from flask import current_app
from flask_smorest import Blueprint

from service.bodies import body_doc, parse, respond, response_doc
from service.errors import error_responses, fail
from service.partners.auth import current_principal, requires
from service.partners.services import Role
from service.reports import services
from service.reports.channels import Decoded, ReportChannel
from service.reports.registry import CHANNELS
from service.reports.schemas import BatchResult, FieldBatchIn, PharmacyBatchIn, PharmacyReportIn, ReportResult

blp = Blueprint("reports", __name__, url_prefix="/v1", description="Report intake from pharmacies and field devices.")

BATCH_RESPONSES = {
    "200": response_doc(BatchResult, "One result per report, in request order. Valid reports are stored even when others are rejected."),
    **error_responses(400, 413, 415, 422),
}


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


PHARMACY = CHANNELS["pharmacy"]
FIELD = CHANNELS["field"]


def _submit(channel: ReportChannel, items: list[Decoded]) -> list[ReportResult]:
    state = _state()
    return services.submit(state.intake, channel, channel.reporter(current_principal()), items, state.clock())


def _batch(channel: ReportChannel):  # type: ignore[no-untyped-def]
    batch = parse(channel.batch)  # type: ignore[arg-type]
    limit = current_app.config["BATCH_MAX"]
    if len(batch.reports) > limit:
        fail(422, errors={"json": {"reports": [f"At most {limit} reports per batch."]}})
    results = _submit(channel, channel.decode_each(batch.reports))
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
    (result,) = _submit(PHARMACY, [PHARMACY.decode(body)])
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
    return _batch(PHARMACY)


@blp.route("/field/reports/batch", methods=["POST"])
@blp.doc(operationId="syncFieldReports", requestBody=body_doc(FieldBatchIn), responses=BATCH_RESPONSES)
@requires(Role.FIELD_DEVICE)
def sync_field_reports():  # type: ignore[no-untyped-def]
    """Sync a field device's offline reports; replays are acknowledged without duplicates."""
    return _batch(FIELD)
