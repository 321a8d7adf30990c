"""The DPO's endpoints: read-only, for the dpo role. What they show comes from the same policy
file, purge code and audit log the jobs use, never from a copy kept for display."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_smorest import Blueprint

from retention.record import markdown, record
from service.bodies import respond, response_doc
from service.dpo import schemas, services
from service.errors import error_responses, fail
from service.partners.auth import requires
from service.partners.services import Role

blp = Blueprint("dpo", __name__, url_prefix="/v1/dpo", description="The data-protection officer's read-only view.")


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    value = services.integer(request.args.get(name), default, low, high)
    if value is None:
        fail(422, errors={"query": {name: [f"Must be an integer from {low} to {high}."]}})
    return value


def _query(name: str, description: str, default: int, low: int, high: int) -> dict:  # type: ignore[type-arg]
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default}}


@blp.route("/policies", methods=["GET"])
@blp.doc(operationId="getRetentionPolicies", responses={"200": response_doc(schemas.Policies, "The retention policies in force.")})
@requires(Role.DPO)
def policies():  # type: ignore[no-untyped-def]
    """The retention policy of every data class the service stores."""
    loaded = _state().retention.policies
    holdings = _state().retention.holdings
    document = loaded.document
    return respond(schemas.Policies(
        version=document.version,
        source=loaded.source.rsplit("/", 1)[-1],
        bounds=schemas.Bounds(document.bounds.min_days, document.bounds.max_days),
        data_classes=[
            schemas.DataClassPolicy(
                data_class=name, description=p.description, purpose=p.purpose, legal_basis=p.legal_basis,
                data_subjects=list(p.data_subjects), categories=list(p.categories), recipients=list(p.recipients),
                period_days=p.period_days, on_expiry=p.on_expiry.value, counted_from=holdings[name].counted_from,
            )
            for name, p in document.data_classes.items()
        ],
    ))


@blp.route("/record", methods=["GET"])
@blp.doc(
    operationId="getProcessingRecord",
    parameters=[{"in": "query", "name": "format", "required": False, "schema": {"type": "string", "enum": ["json", "markdown"], "default": "json"}}],
    responses={"200": {
        "description": "The GDPR Art. 30 record of processing activities, from the retention policy file.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProcessingRecord"}},
                    "text/markdown": {"schema": {"type": "string"}}},
    }, **error_responses(422)},
)
@requires(Role.DPO)
def processing_record():  # type: ignore[no-untyped-def]
    """The Art. 30 record (JSON, or Markdown with format=markdown)."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "markdown"):
        fail(422, errors={"query": {"format": ["Must be json or markdown."]}})
    if fmt == "markdown":
        return Response(markdown(record(_state().retention.policies, _state().retention.holdings)), mimetype="text/markdown")
    return respond(services.processing_record(_state().retention))


@blp.route("/retention/runs", methods=["GET"])
@blp.doc(
    operationId="listRetentionRuns",
    parameters=[_query("limit", "How many outcomes, newest first.", 100, 1, 1000)],
    responses={"200": {"description": "Retention outcomes per data class, newest first.",
                       "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/RetentionRun"}}}}},
               **error_responses(422)},
)
@requires(Role.DPO)
def retention_runs():  # type: ignore[no-untyped-def]
    """What each retention run did to each data class (from the audit log)."""
    return respond(services.retention_runs(_state().retention, _int_arg("limit", 100, 1, 1000)))


@blp.route("/retention/compliance", methods=["GET"])
@blp.doc(operationId="getRetentionCompliance",
         responses={"200": response_doc(schemas.Compliance, "Per data class: the oldest record against its period, and what is past it.")})
@requires(Role.DPO)
def compliance():  # type: ignore[no-untyped-def]
    """Compliance now: every count past its period must be 0 after a run; anything else is flagged."""
    state = _state()
    return respond(services.compliance(state.retention, state.clock()))


@blp.route("/inventory", methods=["GET"])
@blp.doc(operationId="getDataInventory",
         responses={"200": {"description": "Record counts per data class and epoch (UTC day), no content.",
                            "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/InventoryRow"}}}}}})
@requires(Role.DPO)
def inventory():  # type: ignore[no-untyped-def]
    """How much data of each epoch-keyed class is held, by age, and whether its key lives."""
    return respond(services.inventory(_state().retention))


@blp.route("/audit/verification", methods=["GET"])
@blp.doc(operationId="verifyAuditLog", responses={"200": response_doc(schemas.Verification, "The result; `valid` false names the first broken entry.")})
@requires(Role.DPO)
def audit_verification():  # type: ignore[no-untyped-def]
    """Verify the audit log now: hashes, links, head and signed checkpoints."""
    return respond(services.verification(_state().retention))


@blp.route("/audit/checkpoints", methods=["GET"])
@blp.doc(operationId="getAuditCheckpoints", responses={"200": response_doc(schemas.Checkpoints, "Signed checkpoints and the public key.")})
@requires(Role.DPO)
def audit_checkpoints():  # type: ignore[no-untyped-def]
    """The signed checkpoints, to download and keep."""
    state = _state()
    return respond(services.checkpoints(state.engine, state.retention.public_key))


@blp.route("/audit/entries", methods=["GET"])
@blp.doc(
    operationId="listAuditEntries",
    parameters=[_query("after", "Entries after this sequence number.", 0, 0, 2**62),
                _query("limit", "Entries per page.", 1000, 1, 5000)],
    responses={"200": response_doc(schemas.AuditEntries, "A page of the log, as hashed, to verify independently."), **error_responses(422)},
)
@requires(Role.DPO)
def audit_entries():  # type: ignore[no-untyped-def]
    """The audit log itself, page by page, for verification with the DPO's own tools."""
    after, limit = _int_arg("after", 0, 0, 2**62), _int_arg("limit", 1000, 1, 5000)
    return respond(services.audit_entries(_state().engine, after, limit))
