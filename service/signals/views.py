"""The analysts' endpoints (role analyst): the release calendar, the budget, counts and signals.

The grid is fixed: a week from the calendar, one geographic level and one taxonomy level. There
is no filter, no date range and no area parameter, so no two requests overlap in a way that could
be differenced; an analyst always gets the whole territory of their organisation.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from werkzeug.exceptions import MethodNotAllowed

from service import errors, per_request
from service.bodies import respond, response_doc
from service.errors import error_responses, fail
from service.partners.auth import current_principal, requires
from service.partners.services import Role
from service.signals import export, noise, publication, schemas, services
from service.signals.protection import CONFIDENCE, GEO_LEVELS, PARTS, TAX_LEVELS, ProtectionRules, part_name
from service.signals.weeks import parse_week, week_label

blp = Blueprint("signals", __name__, url_prefix="/v1/signals", description="Protected aggregates for prevention-service analysts.")

# The answers of the signals errors (service.errors): their messages are the services' own.
errors.register(services.NoTerritory, 403, str)
errors.register(services.NotReleased, 404, str)
errors.register(services.BudgetExhausted, 403, str, errors=lambda error: {"budget": {
    "quarter": error.quarter, "budget": error.budget, "remaining": error.remaining, "needed": error.needed}})


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _only(*names: str) -> None:
    """422 for a query parameter the endpoint does not take (there are no free filters), or one
    given twice (which one would count is a guess). A name that is not an identifier is not echoed."""
    takes = "this endpoint takes only " + ", ".join(names) + "." if names else "this endpoint takes no parameters."
    for name in request.args:
        shown = name if _NAME.fullmatch(name) else "(unnamed)"
        if name not in names:
            fail(422, errors={"query": {shown: ["Unknown parameter: " + takes]}})
        if len(request.args.getlist(name)) > 1:
            fail(422, errors={"query": {shown: ["Given more than once: give it once."]}})


def _no_head() -> None:
    """405 for HEAD where a GET would open a week: opening charges the privacy budget, and a HEAD
    (a link checker, a monitor) would spend it without anyone reading the numbers."""
    if request.method == "HEAD":
        raise MethodNotAllowed(valid_methods=["GET"])


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        fail(422, errors={"query": {name: ["Must be one of: " + ", ".join(allowed) + "."]}})
    return value


def _week(label: str):  # type: ignore[no-untyped-def]
    week = parse_week(label)
    if week is None:
        fail(422, errors={"path": {"week": ["Must be an ISO week such as 2026-W48, of a year from 2000 to 2999."]}})
    return week


def _param(name: str, allowed: tuple[str, ...], default: str, description: str) -> dict[str, Any]:
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": "string", "enum": list(allowed), "default": default}}


WEEK_PARAM = {"in": "path", "name": "week", "required": True, "description": "ISO week from the calendar, e.g. 2026-W48.",
              "schema": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"}}
LEVEL_PARAMS = [
    _param("geo", GEO_LEVELS, "district", "Geographic level: area, district or municipality."),
    _param("taxonomy", TAX_LEVELS, "category", "Taxonomy level: category or phenomenon."),
]


@blp.route("/calendar", methods=["GET"])
@blp.doc(operationId="getReleaseCalendar", responses={"200": response_doc(
    schemas.Calendar, "Released, due and scheduled weeks, newest first. A week is an ISO week of local time in "
    "`time_zone`, from Monday 00:00 to Monday 00:00; `starts` is its Monday, `release_at` a UTC time.")})
@requires(Role.ANALYST)
def release_calendar():  # type: ignore[no-untyped-def]
    """The release calendar: a week is released once it has ended plus the release delay."""
    _only()
    state = _state()
    signals = state.signals
    rules = signals.rules
    with per_request.read_session() as session:
        weeks = services.calendar(session, signals, current_principal().organisation_id, state.clock())
    protection = rules.protection
    return respond(schemas.Calendar(
        delay_days=rules.delay.days, time_zone=rules.weeks.zone.key,
        k=protection.k, contribution_cap=protection.cap,
        epsilon_per_release=protection.epsilon, budget_per_quarter=rules.budget_per_quarter, confidence=CONFIDENCE,
        noise=[_noise(protection, part) for part in PARTS],
        weeks=[schemas.CalendarWeek(week_label(w.week), w.week.isoformat(), w.release_at.isoformat(), w.status, w.opened)  # type: ignore[arg-type]
               for w in weeks],
    ))


@blp.route("/budget", methods=["GET"])
@blp.doc(operationId="getPrivacyBudget", responses={"200": response_doc(schemas.Budget, "Spent and remaining epsilon per quarter.")})
@requires(Role.ANALYST)
def privacy_budget():  # type: ignore[no-untyped-def]
    """The organisation's privacy-budget ledger."""
    _only()
    state = _state()
    with per_request.read_session() as session:
        quarters = services.budget(session, state.signals, current_principal().organisation_id, state.clock())
    return respond(schemas.Budget([
        schemas.QuarterBudget(q.quarter, q.budget, q.spent, q.remaining, [week_label(w) for w in q.weeks]) for q in quarters
    ]))


@blp.route("/weeks/<week>/counts", methods=["GET"])
@blp.doc(
    operationId="getWeekCounts",
    parameters=[WEEK_PARAM, *LEVEL_PARAMS, _param("format", ("json", "csv"), "json", "json, or csv with one row per cell.")],
    responses={"200": {
        "description": "Protected counts of the week for the organisation's territory. The first request of an "
                       "organisation for a week charges its quarter's budget; later ones return the same numbers free.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Counts"}},
                    "text/csv": {"schema": {"type": "string"}}},
    }, "404": {"$ref": "#/components/responses/NOT_FOUND"}, **error_responses(422)},
)
@requires(Role.ANALYST)
def week_counts(week: str):  # type: ignore[no-untyped-def]
    """Counts per cell of one week, at one geographic and one taxonomy level."""
    _no_head()
    _only("geo", "taxonomy", "format")
    monday = _week(week)
    geo = _choice("geo", GEO_LEVELS, "district")
    taxonomy = _choice("taxonomy", TAX_LEVELS, "category")
    fmt = _choice("format", ("json", "csv"), "json")
    state = _state()
    principal = current_principal()
    # A week opened before is read without a write transaction (no write lock on SQLite).
    with per_request.read_session() as session:
        opened = services.reopen(session, state.signals, principal.organisation_id, monday)
    if opened is None:
        session = per_request.session()
        opened = publication.open_weeks(state, (monday,), session, lambda: services.open_week(
            session, state.signals, principal.organisation_id, monday, state.clock(), state.audit, _actor(principal)
        ))
    rows = services.rows(opened.releases, geo, taxonomy)
    if fmt == "csv":
        return _csv(week_label(monday), rows)
    release = opened.releases[0]
    rules = state.signals.rules.protection
    return respond(schemas.Counts(
        week=week_label(monday), released_at=min(r.computed_at for r in opened.releases).isoformat(),
        geo=geo, taxonomy=taxonomy, k=rules.k, epsilon=release.epsilon, confidence=CONFIDENCE,  # type: ignore[arg-type]
        charged=opened.charged,
        cells=rows,
    ))


@blp.route("/weeks/<week>/alerts", methods=["GET"])
@blp.doc(
    operationId="getWeekAlerts",
    parameters=[WEEK_PARAM, *LEVEL_PARAMS],
    responses={"200": response_doc(schemas.Alerts, "EARS C2 verdicts for every cell of the week. Opening the week "
                                                   "and its baseline weeks charges the budget once per week."),
               "404": {"$ref": "#/components/responses/NOT_FOUND"}, **error_responses(422)},
)
@requires(Role.ANALYST)
def week_alerts(week: str):  # type: ignore[no-untyped-def]
    """Cells whose protected count rose above their baseline (EARS C2, weekly)."""
    _no_head()
    _only("geo", "taxonomy")
    monday = _week(week)
    geo = _choice("geo", GEO_LEVELS, "district")
    taxonomy = _choice("taxonomy", TAX_LEVELS, "category")
    state = _state()
    principal = current_principal()
    # Weeks all opened before are read without a write transaction.
    with per_request.read_session() as session:
        result = services.realerts(session, state.signals, principal.organisation_id, monday, geo, taxonomy)
    if result is None:
        session = per_request.session()
        result = publication.open_weeks(state, tuple(services.baseline_weeks(monday, state.signals.rules)), session, lambda: services.alerts(
            session, state.signals, principal.organisation_id, monday, geo, taxonomy, state.clock(), state.audit,
            _actor(principal),
        ))
    ears = state.signals.rules.ears
    return respond(schemas.Alerts(
        week=week_label(monday), geo=geo, taxonomy=taxonomy,  # type: ignore[arg-type]
        method="EARS C2 on weekly protected counts", baseline_weeks=[week_label(w) for w in result.baseline],
        guard_weeks=[week_label(w) for w in result.guard], threshold=ears.threshold, charged=result.charged,
        flagged=result.flagged, cells=result.cells,
    ))


def _noise(protection: ProtectionRules, part: tuple[str, str]) -> schemas.PartNoise:
    scale = protection.scale(part)
    return schemas.PartNoise(
        part_name(part), protection.share(part), round(protection.epsilon * protection.share(part), 6),
        None if scale is None else round(scale, 6), None if scale is None else round(math.sqrt(noise.variance(scale)), 3),
    )


def _actor(principal) -> str:  # type: ignore[no-untyped-def]
    return f"credential:{principal.credential_id}"


def _csv(week: str, rows: list[services.Row]) -> Response:
    return Response(export.csv_text(week, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{export.csv_filename(week)}"'})
