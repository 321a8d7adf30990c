"""The dashboard's pages (role analyst): calendar and budget, a week, alerts, series, CSV.

Every number comes from the signals' own services, called as the API calls them, with the signed-in
person's organisation and the person as the audit actor: the page can show or spend nothing the
API would not give that organisation. Spending is a POST from an explicit button that says what it
costs; a GET never opens a week (nor computes a release): it reads what the organisation opened.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from service import per_request
from service.dashboard import drawing
from service.dashboard.forms import GEO_LABELS, SpendForm, ViewForm, geo_choices, taxonomy_choices
from service.signals import export, publication, services
from service.signals.protection import CONFIDENCE, GEO_LEVELS, TAX_LEVELS
from service.signals.weeks import parse_week, quarter_of, week_label
from service.web.pages import PageBlueprint, page, viewer

blp = PageBlueprint("dashboard", __name__, url_prefix="/dashboard")
blp.nav("dashboard.calendar", _l("Release calendar"), roles=("analyst",))
blp.nav("dashboard.series", _l("Series"), roles=("analyst",))

SERIES_LEVELS = ("district", "municipality")
# The API's default level first: the form's default.
GEO_DEFAULT_FIRST = ("district", "area", "municipality")


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["safesignal"]


def _week(label: str) -> dt.date:
    week = parse_week(label)
    if week is None:
        abort(404)
    return week


def _refusal(error: services.SignalsError) -> str:
    """A signals refusal in the person's language (the services' own messages are English)."""
    if isinstance(error, services.BudgetExhausted):
        return _("The privacy budget of %(quarter)s does not allow this: %(remaining)s of %(budget)s left, "
                 "and it needs %(needed)s. Weeks already opened stay readable.",
                 quarter=error.quarter, remaining=_eps(error.remaining), budget=_eps(error.budget), needed=_eps(error.needed))
    if isinstance(error, services.NoTerritory):
        return _("Your organisation has no municipality in its territory yet. Ask the operator to set it.")
    return _("This week is not released, or can no longer be released.")


def _eps(value: float) -> str:
    return format_decimal(round(value, 3), format="#,##0.0##")


@functools.lru_cache(maxsize=4096)
def _formatted(value: dt.date, language: str, zone: str) -> str:
    """A week's Monday (a date) or release time (a datetime), "medium", as flask_babel formats it in
    this language and time zone (called within the request, with its locale and zone as the key).
    Kept per process: the calendar lists 60 weeks, and formatting each anew cost a quarter of it."""
    if isinstance(value, dt.datetime):
        return format_datetime(value, "medium")
    return format_date(value, "medium")


def _date_text(value: dt.date) -> str:
    return _formatted(value, str(get_locale()), str(get_timezone()))


# The calendar ------------------------------------------------------------------------------------


@blp.route("/")
@page("analyst")
def calendar():  # type: ignore[no-untyped-def]
    state = _state()
    person = viewer()
    signals = state.signals
    now = state.clock()
    with per_request.read_session() as session:
        weeks = services.calendar(session, signals, person.organisation_id, now)
        quarters = services.budget(session, signals, person.organisation_id, now)
        charges = {c.week: c for c in services.charges(session, signals, person.organisation_id,
                                                       [w.week for w in weeks if not w.opened], now)}
        territory = services.territory(session, person.organisation_id)
    total = signals.rules.budget_per_quarter
    left = {q.quarter: q.remaining for q in quarters}
    eps = functools.cache(_eps)  # a few quarters' figures, each formatted once per page
    rows = []
    for week in weeks:
        quarter = quarter_of(week.week)
        charge = charges.get(week.week)
        rows.append({
            "label": week_label(week.week), "starts": _date_text(week.week),
            "release_at": _date_text(week.release_at), "status": week.status, "opened": week.opened,
            "quarter": quarter, "left": eps(left.get(quarter, total)),
            "cost": None if charge is None else charge.epsilon, "cost_text": None if charge is None else eps(charge.epsilon),
            "affordable": charge is not None and charge.epsilon <= left.get(quarter, total) + 1e-9,
        })
    protection = signals.rules.protection
    return render_template(
        "dashboard/calendar.html", weeks=rows, quarters=quarters, total=eps(total), form=SpendForm(),
        epsilon=eps(protection.epsilon), k=protection.k, delay=signals.rules.delay.days, has_territory=bool(territory),
        eps=eps,
    )


@blp.route("/weeks/<week>/open", methods=["POST"])
@page("analyst")
def open_week(week: str):  # type: ignore[no-untyped-def]
    """Open a week for the organisation: the API's first GET of its counts, on an explicit click."""
    monday = _week(week)
    if not SpendForm().validate_on_submit():
        abort(400)
    state = _state()
    person = viewer()
    session = per_request.session()
    try:
        opened = publication.open_weeks(state, (monday,), session, lambda: services.open_week(
            session, state.signals, person.organisation_id, monday, state.clock(), state.audit, person.actor))
    except services.SignalsError as error:
        session.rollback()
        flash(_refusal(error), "error")
        return redirect(url_for("dashboard.calendar"), 303)
    flash(_("Week %(week)s is open: %(charged)s taken from the budget.", week=week_label(monday), charged=_eps(opened.charged)),
          "success")
    return redirect(url_for("dashboard.week", week=week_label(monday), **_view_args()), 303)


def _view_args() -> dict[str, str]:
    # What the week page showed, carried through a POST (only known names and values are kept).
    return {name: value for name in ("geo", "show", "taxonomy") if (value := request.args.get(name))}


# A week: map, table and CSV ----------------------------------------------------------------------


def _labels(taxonomy: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Phenomenon and category labels in the page's language (German falls back to English)."""
    language = str(get_locale() or "en")

    def pick(labels: Any) -> str:
        return labels.get(language) or labels.get("en") or next(iter(labels.values()))

    phenomena = {code: pick(labels) for code, labels in taxonomy.phenomena.items()}
    categories = {code: pick(category.labels) for code, category in taxonomy.categories.items()}
    return phenomena, categories


def _show_choices(taxonomy: Any) -> list[SelectChoice]:
    phenomena, categories = _labels(taxonomy)
    choices = [SelectChoice(f"phenomenon:{code}", label, optgroup=_("Phenomena")) for code, label in phenomena.items()]
    for code, category in taxonomy.categories.items():
        choices.append(SelectChoice(f"category:{code}", categories[code], optgroup=phenomena.get(category.phenomenon, category.phenomenon)))
    return choices


def _view_form(lenient: tuple[str, ...] = (), **choices: list[SelectChoice]) -> ViewForm:
    """The GET form with these fields and choices, each defaulting to its first choice; 400 for a
    value it does not offer (but a `lenient` field falls back to its default), or a field given twice."""
    data = MultiDict({name: offered[0].value for name, offered in choices.items() if offered})
    for name, offered in choices.items():
        if len(request.args.getlist(name)) > 1:
            abort(400)
        value = request.args.get(name)
        if value and not (name in lenient and value not in {choice.value for choice in offered}):
            data[name] = value
    form = ViewForm(formdata=data)
    form.offer(choices)
    if not form.validate():
        abort(400)
    return form


def _key(row: services.Row, geo: str) -> tuple[str, str]:
    return services.place_of((row.municipality, row.district, row.area, row.phenomenon, row.category), geo)


class _Texts:
    """What a cell says, in the page's language, translated once per page (a city's area view has
    hundreds of cells, and a lookup per cell cost as much as the rest of the page)."""

    def __init__(self, k: int):
        self.status = {"below_k": _("fewer than %(k)s", k=k), "uncertain": _("uncertain (%(k)s or more, not clearly)", k=k),
                       "suppressed": _("not shown"), "shown": _("shown")}
        self.likely = _("%(value)s (likely between %(low)s and %(high)s)")

    def cell(self, row: services.Row, geo: str) -> dict[str, Any]:
        """A published cell as the page shows it: its place's name, and a value only if it is shown."""
        key = _key(row, geo)
        maps = _state().area_maps
        shown = row.status == "shown" and row.value is not None
        status = self.status.get(row.status, row.status)
        return {
            "key": key, "name": maps.name(geo, key), "municipality": row.municipality,
            "district": maps.name("district", (row.municipality, row.district)) if row.district and geo == "area" else None,
            "status": row.status, "shown": shown, "value": row.value if shown else None,
            "low": row.low if shown else None, "high": row.high if shown else None, "status_text": status,
            "text": self.likely % {"value": row.value, "low": row.low, "high": row.high} if shown else status,
        }


@blp.route("/weeks/<week>")
@page("analyst")
def week(week: str):  # type: ignore[no-untyped-def]
    monday = _week(week)
    form = _view_form(geo=geo_choices(GEO_DEFAULT_FIRST), show=_show_choices(_state().taxonomy))
    geo = form.geo.data
    level, code = form.show.data.split(":", 1)
    state = _state()
    person = viewer()
    now = state.clock()
    with per_request.read_session() as session:
        opened = services.reopen(session, state.signals, person.organisation_id, monday, cells=False)
        charge = None
        if opened is None:
            found = services.charges(session, state.signals, person.organisation_id, [monday], now)
            charge = found[0] if found else None
            quarters = {q.quarter: q.remaining for q in services.budget(session, state.signals, person.organisation_id, now)}
        else:
            # The one phenomenon or category shown, from the releases' part columns (the same cells
            # as the API's counts; not the releases' whole cells).
            chosen = services.part_rows(session, state.signals, opened.releases, geo, level, code)
    label = week_label(monday)
    if opened is None:
        left = quarters.get(quarter_of(monday), state.signals.rules.budget_per_quarter)
        return render_template("dashboard/closed.html", label=label, charge=charge, form=SpendForm(),
                               cost=None if charge is None else _eps(charge.epsilon), left=_eps(left),
                               affordable=charge is not None and charge.epsilon <= left + 1e-9,
                               quarter=quarter_of(monday), view=_view_args())
    k = state.signals.rules.protection.k
    texts = _Texts(k)
    cells = [texts.cell(row, geo) for row in chosen]
    outline = state.area_maps.outline(geo, tuple(sorted(cell["key"] for cell in cells)))
    figure = drawing.choropleth(cells, outline)
    phenomena, categories = _labels(state.taxonomy)
    return render_template(
        "dashboard/week.html", label=label, form=form, geo=geo, level=level, geo_label=GEO_LABELS[geo],
        what=(categories if level == "category" else phenomena).get(code, code), cells=cells, figure=figure, k=k,
        confidence=round(CONFIDENCE * 100), epsilon=_eps(max(r.epsilon for r in opened.releases)),
        released_at=format_datetime(min(r.computed_at for r in opened.releases), "medium"),
        csv_args={"geo": geo, "taxonomy": level},
    )


@blp.route("/weeks/<week>/counts.csv")
@page("analyst")
def counts_csv(week: str):  # type: ignore[no-untyped-def]
    """The API's CSV of the part (the same function), for a week this organisation opened only."""
    monday = _week(week)
    geo = request.args.get("geo", "district")
    taxonomy = request.args.get("taxonomy", "category")
    if geo not in GEO_LEVELS or taxonomy not in TAX_LEVELS:
        abort(400)
    state = _state()
    with per_request.read_session() as session:
        opened = services.reopen(session, state.signals, viewer().organisation_id, monday, cells=False)
        rows = None if opened is None else services.part_rows(session, state.signals, opened.releases, geo, taxonomy)
    if rows is None:
        flash(_("Open the week first: the download never opens a week."), "error")
        return redirect(url_for("dashboard.week", week=week_label(monday)), 303)
    label = week_label(monday)
    return Response(export.csv_text(label, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{export.csv_filename(label)}"'})


# Alerts ------------------------------------------------------------------------------------------


@blp.route("/weeks/<week>/alerts")
@page("analyst")
def alerts(week: str):  # type: ignore[no-untyped-def]
    monday = _week(week)
    form = _view_form(geo=geo_choices(GEO_DEFAULT_FIRST), taxonomy=taxonomy_choices())
    geo, level = form.geo.data, form.taxonomy.data
    state = _state()
    signals = state.signals
    person = viewer()
    now = state.clock()
    label = week_label(monday)
    with per_request.read_session() as session:
        result = services.realerts(session, signals, person.organisation_id, monday, geo, level, now)
        if result is None:
            weeks = services.baseline_weeks(monday, signals.rules)
            charges = services.charges(session, signals, person.organisation_id, weeks, now)
            quarters = {q.quarter: q.remaining for q in services.budget(session, signals, person.organisation_id, now)}
        else:
            # The flagged cells' intervals, from the parts the verdicts were read from (kept); the
            # alerts list the cells as counts does, so a flagged alert's place is its cell's.
            counted = Counter(cell.reason for cell in result.cells)
            flagged_at = [i for i, cell in enumerate(result.cells) if cell.flagged]
            rows = services.part_rows(session, signals, result.releases, geo, level, positions=flagged_at)
    if result is None:
        total = sum(c.epsilon for c in charges)
        by_quarter: dict[str, float] = {}
        for c in charges:
            by_quarter[c.quarter] = by_quarter.get(c.quarter, 0.0) + c.epsilon
        short = [q for q, cost in by_quarter.items() if cost > quarters.get(q, signals.rules.budget_per_quarter) + 1e-9]
        return render_template("dashboard/alerts_closed.html", label=label, form=form, spend=SpendForm(), geo=geo,
                               charges=[{"label": week_label(c.week), "quarter": c.quarter, "cost": _eps(c.epsilon)} for c in charges],
                               total=_eps(total), short=short, baseline=signals.rules.ears.baseline, view=_view_args())
    k = signals.rules.protection.k
    intervals = {(r.municipality, r.district, r.area, r.phenomenon, r.category): r for r in rows}
    phenomena, categories = _labels(state.taxonomy)
    maps = state.area_maps
    flagged = []
    for cell in result.cells:
        if not cell.flagged:
            continue
        row = intervals.get((cell.municipality, cell.district, cell.area, cell.phenomenon, cell.category))
        key = services.place_of((cell.municipality, cell.district, cell.area, cell.phenomenon, cell.category), geo)
        what = categories.get(cell.category, cell.category) if cell.category else phenomena.get(cell.phenomenon, cell.phenomenon)
        flagged.append({
            "place": maps.name(geo, key), "what": what, "observed": cell.observed,
            "low": row.low if row is not None else None, "high": row.high if row is not None else None,
            "expected": format_decimal(round(cell.expected or 0.0)), "odds": _odds(cell.statistic),
            "statistic": format_decimal(round(cell.statistic or 0.0, 1)),
        })
    reasons = {reason: counted[reason] for reason in ("flagged", "within_baseline", "not_shown", "short_baseline")}
    return render_template(
        "dashboard/alerts.html", label=label, form=form, geo=geo, flagged=flagged, reasons=reasons, k=k,
        baseline=[week_label(w) for w in result.baseline], guard=[week_label(w) for w in result.guard],
        threshold=format_decimal(signals.rules.ears.threshold), weeks_read=len(result.baseline),
    )


def _odds(statistic: float | None) -> str:
    """'Less than once in N weeks': the normal tail beyond the statistic, N rounded down to two
    significant digits (so the sentence never overstates how rare the rise is), at most a million."""
    if statistic is None or statistic <= 0:
        return format_decimal(1)
    tail = 0.5 * math.erfc(statistic / math.sqrt(2))
    weeks = 1_000_000 if tail <= 1e-6 else 1 / tail
    digits = max(0, int(math.floor(math.log10(weeks))) - 1)
    return format_decimal(int(weeks // 10 ** digits) * 10 ** digits)


@blp.route("/weeks/<week>/alerts", methods=["POST"])
@page("analyst")
def open_alerts(week: str):  # type: ignore[no-untyped-def]
    """Read the week's alerts as the API does: opening the week and its baseline weeks not opened yet."""
    monday = _week(week)
    if not SpendForm().validate_on_submit():
        abort(400)
    geo = request.args.get("geo", "district")
    level = request.args.get("taxonomy", "category")
    if geo not in GEO_LEVELS or level not in TAX_LEVELS:
        abort(400)
    state = _state()
    person = viewer()
    session = per_request.session()
    try:
        result = publication.open_weeks(state, tuple(services.baseline_weeks(monday, state.signals.rules)), session, lambda: services.alerts(
            session, state.signals, person.organisation_id, monday, geo, level, state.clock(), state.audit, person.actor))
    except services.SignalsError as error:
        session.rollback()
        flash(_refusal(error), "error")
        return redirect(url_for("dashboard.alerts", week=week_label(monday), **_view_args()), 303)
    flash(_("Alerts read: %(charged)s taken from the budget.", charged=_eps(result.charged)), "success")
    return redirect(url_for("dashboard.alerts", week=week_label(monday), **_view_args()), 303)


# Series ------------------------------------------------------------------------------------------


@blp.route("/series")
@page("analyst")
def series():  # type: ignore[no-untyped-def]
    """One place and one phenomenon or category over the weeks this organisation opened (only those)."""
    state = _state()
    person = viewer()
    geo_arg = request.args.get("geo", "district")
    geo = geo_arg if geo_arg in SERIES_LEVELS else "district"
    maps = state.area_maps
    # One read of every opened week (their releases without cells), then of the one part asked
    # for, of them all at once (service.signals.parts): never a week's whole cells.
    with per_request.read_session() as session:
        opened = services.reopened(session, state.signals, person.organisation_id)
        places = {key: maps.name(geo, key) for key in services.places(opened[-1], geo)} if opened else {}
        place_choices = [SelectChoice(f"{m}/{code}", name) for (m, code), name in sorted(places.items(), key=lambda kv: kv[1].lower())]
        if not place_choices:
            return render_template("dashboard/series.html", form=None, points=[], figure=None)
        # A place of the other level (the level just changed) falls back to the first of this one.
        form = _view_form(("place",), geo=geo_choices(SERIES_LEVELS), show=_show_choices(state.taxonomy), place=place_choices)
        level, code = form.show.data.split(":", 1)
        municipality, place = form.place.data.split("/", 1)
        found = services.series(session, state.signals, opened, geo, level, (municipality, place), code)
    k = state.signals.rules.protection.k
    texts = _Texts(k)
    points = [{**texts.cell(row, geo), "label": week_label(week)} for week, row in found]
    phenomena, categories = _labels(state.taxonomy)
    what = (categories if level == "category" else phenomena).get(code, code)
    return render_template("dashboard/series.html", form=form, points=points, figure=drawing.series_chart(points, k),
                           what=what, place=places.get((municipality, place), place), confidence=round(CONFIDENCE * 100))
